import type { Command } from 'commander';
import { FvcError } from '../../errors.js';
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
    .option('--strict', 'fail when a sampled frame was decoded from damaged data (decoder errors or concealment)')
    .action(async (video: string, o: { numFrames?: number; json?: boolean; timeout?: number; strict?: boolean }) => {
      const numFrames = o.numFrames ?? defaultNumFrames();
      const r = await extractHandcraftedFeatures(video, { numFrames, ...(o.timeout ? { timeoutMs: o.timeout * 1000 } : {}) });
      for (const w of r.warnings) process.stderr.write(`fvc: warning: ${video}: ${w}\n`);
      if (o.strict && r.damagedFrames) throw new FvcError('ERR_DECODE', `${video}: ${r.damagedFrames} of ${r.frames} sampled frames were decoded from damaged data (--strict)`);
      if (o.json) return printJson({ path: r.path, frames: r.frames, damagedFrames: r.damagedFrames, features: r.features, warnings: r.warnings });
      process.stdout.write(
        formatTable(
          Object.entries(r.features).map(([k, v]) => [k, v === null ? 'missing' : Number(v.toPrecision(6))]),
          ['feature', 'value'],
        ),
      );
    });
}
