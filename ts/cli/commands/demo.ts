import type { Command } from 'commander';
import { runDemo } from '../../demo.js';
import { formatTable } from '../output.js';
import { intOption } from '../parse.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the main job on a generated corpus: corpus -> probe -> sampled frames -> Stage 2 features')
    .option('--out <dir>', 'working folder', 'demo-output')
    .option('--videos <n>', 'clips in the corpus', intOption(2), 200)
    .option('--seed <n>', 'random seed', intOption(0), 1)
    .option('-n, --num <count>', 'frames per clip', intOption(1, 10000), 8)
    .action(async (o: { out: string; videos: number; seed: number; num: number }) => {
      const s = await runDemo({ out: o.out, videos: o.videos, seed: o.seed, frames: o.num });
      process.stdout.write(`\nfvc demo: ${s.clips} clips, mean duration ${s.meanDuration.toFixed(2)} s, frames in ${o.out}/frames, features in ${s.featuresPath}\n\n`);
      process.stdout.write(formatTable(Object.entries(s.byManipulation).map(([k, v]) => [k, v]), ['manipulation', 'clips']));
      process.stdout.write('\n' + formatTable(Object.entries(s.seconds).map(([k, v]) => [k, Number(v.toFixed(2))]), ['step', 'seconds']));
    });
}
