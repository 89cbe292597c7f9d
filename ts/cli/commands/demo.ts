import type { Command } from 'commander';
import { DEMO_EPOCHS, DEMO_MODELS, runDemo } from '../../demo.js';
import { FvcError } from '../../errors.js';
import { formatTable } from '../output.js';
import { intOption } from '../parse.js';
import { printOutcome } from '../study-outcome.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the whole job on a generated corpus: corpus -> pipeline (stages 1-5) -> model summary and HTML report')
    .option('--out <dir>', 'working folder', 'demo-output')
    .option('--videos <n>', 'clips in the corpus', intOption(2), 200)
    .option('--seed <n>', 'random seed', intOption(0), 1)
    .option('-n, --num <count>', "frames per clip (default 8); given, the deep models' too (they otherwise keep their presets)", intOption(1, 10000))
    .option('--models <list>', `Stage 5 models (default ${DEMO_MODELS.join(',')})`)
    .option('--epochs <n>', `deep models: epochs (default ${DEMO_EPOCHS})`, intOption(1))
    .action(async (o: { out: string; videos: number; seed: number; num?: number; models?: string; epochs?: number }) => {
      const s = await runDemo({
        out: o.out,
        videos: o.videos,
        seed: o.seed,
        ...(o.num ? { frames: o.num } : {}),
        ...(o.epochs ? { epochs: o.epochs } : {}),
        ...(o.models
          ? {
              models: o.models
                .split(',')
                .map((m) => m.trim())
                .filter(Boolean),
            }
          : {}),
      });
      process.stdout.write(`\nfvc demo: ${s.clips} clips, ${s.seconds.toFixed(1)} s\n\n`);
      process.stdout.write(
        formatTable(
          s.pipeline.stages.map((r) => [r.stage, r.status, Number(r.seconds.toFixed(2)), r.log]),
          ['stage', 'status', 'seconds', 'log'],
        ),
      );
      printOutcome(s.summary, s.chance);
      process.stdout.write(`\nreport: ${s.report}\n`);
      if (!s.pipeline.ok) throw new FvcError('ERR_TRAINING_FAILED', 'demo: a pipeline stage failed (see the logs above)');
    });
}
