import type { Command } from 'commander';
import { generateCorpus } from '../../corpus/generate.js';
import { MANIPULATIONS, type Manipulation } from '../../corpus/manipulations.js';
import { intOption, numberOption } from '../parse.js';

export function registerCorpus(program: Command): void {
  program
    .command('corpus')
    .description('generate a deterministic synthetic corpus of real and fake H.264 clips with metadata.csv')
    .requiredOption('--out <dir>', 'output folder')
    .option('--videos <n>', 'number of clips, reals and fakes together', intOption(2, 1_000_000), 200)
    .option('--seed <n>', 'random seed', intOption(-(2 ** 31), 2 ** 31 - 1), 1)
    .option('--width <px>', 'base width (clips vary around it)', intOption(32, 4096), 320)
    .option('--height <px>', 'base height', intOption(32, 4096), 240)
    .option('--duration <s>', 'base duration in seconds', numberOption(0.2, 600), 2)
    .option('--fake-ratio <r>', 'fraction of fakes', numberOption(0, 1), 0.5)
    .option('--manipulations <list>', `fakes' manipulations, comma-separated, of ${MANIPULATIONS.join(', ')} (default all but lag)`)
    .option('--strength <s>', "how plain the fakes' traces are: 1 subtle, larger exaggerates them (smoke tests), smaller hides them", numberOption(0, 10), 1)
    .option('--jobs <n>', 'parallel ffmpeg processes (default: one per core)', intOption(1, 256))
    .option('--force', 'replace a corpus made with other options')
    .action(
      async (o: {
        out: string;
        videos: number;
        seed: number;
        width: number;
        height: number;
        duration: number;
        fakeRatio: number;
        manipulations?: string;
        strength: number;
        jobs?: number;
        force?: boolean;
      }) => {
        const r = await generateCorpus({
          out: o.out,
          videos: o.videos,
          seed: o.seed,
          width: o.width,
          height: o.height,
          duration: o.duration,
          fakeRatio: o.fakeRatio,
          strength: o.strength,
          ...(o.manipulations
            ? {
                manipulations: o.manipulations
                  .split(',')
                  .map((m) => m.trim())
                  .filter(Boolean) as Manipulation[],
              }
            : {}),
          force: o.force ?? false,
          ...(o.jobs ? { concurrency: o.jobs } : {}),
        });
        const fakes = r.clips.filter((c) => c.label === 1).length;
        process.stdout.write(`corpus: ${r.clips.length} clips (${r.clips.length - fakes} real, ${fakes} fake; ${r.generated} new, ${r.skipped} kept) in ${r.dir}\nmetadata: ${r.metadataPath}\n`);
      },
    );
}
