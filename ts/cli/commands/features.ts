import type { Command } from 'commander';
import { extractHandcraftedFeatures } from '../../features/handcrafted.js';
import { formatTable, printJson } from '../output.js';
import { defaultNumFrames, intOption, numberOption } from '../parse.js';

export function registerFeatures(program: Command): void {
  program
    .command('features')
    .description("print one video's named Stage 2 handcrafted feature vector")
    .argument('<video>', 'video file')
    .option('-n, --num-frames <count>', 'frames sampled uniformly (default: FVC_NUM_FRAMES or 8)', intOption(1, 10000))
    .option('--json', 'print JSON')
    .option('--timeout <seconds>', 'give up after this many seconds', numberOption(0))
    .action(async (video: string, o: { numFrames?: number; json?: boolean; timeout?: number }) => {
      const numFrames = o.numFrames ?? defaultNumFrames();
      const r = await extractHandcraftedFeatures(video, { numFrames, ...(o.timeout ? { timeoutMs: o.timeout * 1000 } : {}) });
      for (const w of r.warnings) process.stderr.write(`fvc: warning: ${video}: ${w}\n`);
      if (o.json) return printJson({ path: r.path, frames: r.frames, features: r.features, warnings: r.warnings });
      process.stdout.write(formatTable(Object.entries(r.features).map(([k, v]) => [k, v === null ? 'missing' : Number(v.toPrecision(6))]), ['feature', 'value']));
    });
}
