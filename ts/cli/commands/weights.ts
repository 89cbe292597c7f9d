/** `fvc weights list|fetch`: published weights by name, and the cache that holds them. */
import type { Command } from 'commander';
import { FvcError } from '../../errors.js';
import { allWeights } from '../../weights/registry.js';
import { fetchWeights, listCached, weightsCacheDir, weightsSpec } from '../../weights/cache.js';
import { formatTable, printJson } from '../output.js';

export function registerWeights(program: Command): void {
  const cmd = program.command('weights').description('published pretrained weights by name (torchvision, PyTorchVideo, timm, TimeSformer), downloaded once into $FVC_HOME/weights');

  cmd
    .command('list')
    .description('every published name, with its file, hash, input preset and licence; --cached: what the cache holds')
    .option('--cached', "the cache's files and where each came from")
    .option('--json', 'print JSON')
    .action((o: { cached?: boolean; json?: boolean }) => {
      if (o.cached) {
        const files = listCached();
        if (o.json) return printJson({ dir: weightsCacheDir(), files });
        process.stdout.write(
          `${weightsCacheDir()}\n${formatTable(
            files.map((f) => [f.id ?? '-', f.path.slice(weightsCacheDir().length + 1), f.sha256.slice(0, 16), f.check, f.fetched]),
            ['name', 'file', 'sha256', 'checked against', 'fetched'],
          )}`,
        );
        return;
      }
      const cached = new Set(listCached().map((f) => f.id));
      if (o.json) return printJson(allWeights().map((w) => ({ ...w, cached: cached.has(w.id) })));
      process.stdout.write(
        formatTable(
          allWeights().map((w) => [
            w.id,
            w.classes,
            [
              w.preset.numFrames ? `${w.preset.numFrames} frames` : '',
              w.preset.frameSize ? `${w.preset.frameSize}/${w.preset.cropSize}` : `crop ${w.preset.cropSize}`,
              `mean ${w.preset.mean.join('/')} std ${w.preset.std.join('/')}`,
            ]
              .filter(Boolean)
              .join(', '),
            w.sha256 ? `sha256 ${w.sha256.slice(0, 12)}...` : w.sha256Prefix ? `sha256 ${w.sha256Prefix}... (name)` : 'none published',
            w.architectures?.length ? `also ${w.architectures.join(', ')}` : '',
            w.licence,
            cached.has(w.id) ? 'yes' : '',
            w.url,
          ]),
          ['name', 'classes', 'preset', 'hash', 'initialises', 'licence', 'cached', 'url'],
        ),
      );
    });

  cmd
    .command('fetch')
    .description('download weights into the cache ahead of a job (login nodes have the internet, compute nodes often not)')
    .argument('<refs...>', 'published names (r2plus1d_18:kinetics400) or https:// URLs (with --sha256)')
    .option('--sha256 <hex>', "a URL's expected SHA-256 (64 hex digits)")
    .option('--json', 'print JSON')
    .action(async (refs: string[], o: { sha256?: string; json?: boolean }) => {
      if (o.sha256 && refs.length !== 1) throw new FvcError('ERR_INVALID_ARGUMENT', '--sha256 goes with one URL');
      const done = [];
      for (const ref of refs) done.push(await fetchWeights(weightsSpec(ref, o.sha256 ? { sha256: o.sha256 } : {}), { offline: false, quiet: !!o.json }));
      if (o.json) return printJson(done);
      for (const f of done) process.stdout.write(`${f.path}\n`);
    });
}
