/** `fvc compare A B`: two trained models' out-of-fold AUCs, DeLong's test and a bootstrap interval of the difference. */
import type { Command } from 'commander';
import { compareModels } from '../../evaluation/compare.js';
import { printJson } from '../output.js';
import { modelFolder, runSources, stage5DirOf } from '../run-sources.js';
import { intOption, numberOption } from '../parse.js';

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description("two trained models on the same folds: their out-of-fold ROC AUCs, DeLong's test of the difference and its bootstrap interval")
    .argument('<modelA>', 'a model folder name under the output folder (e.g. xgboost, ensemble_svm+naive_cnn) or its request (ensemble:svm+naive_cnn)')
    .argument('<modelB>', 'the other (e.g. logistic_regression)')
    .option('--output-dir <dir>', 'Stage 5 results (default: FVC_STAGE5_OUTPUT_DIR or data/stage5)')
    .option('--config <file>', 'the run configuration (YAML or JSON) the run was trained from: its output folder is read from it')
    .option('--bootstrap <n>', 'bootstrap resamples of the difference (0: none)', intOption(0, 100000), 1000)
    .option('--level <p>', 'interval level', numberOption(0.5, 0.999), 0.95)
    .option('--seed <n>', 'seed of the resampling', intOption(0), 0)
    .option('--json', 'print JSON')
    .action(async (modelA: string, modelB: string, flags: { config?: string; outputDir?: string; bootstrap: number; level: number; seed: number; json?: boolean }) => {
      const o = await runSources(flags);
      const dir = stage5DirOf(o);
      const [a, b] = [modelFolder(dir, modelA), modelFolder(dir, modelB)];
      const r = compareModels(dir, a, b, { n: o.bootstrap, level: o.level, seed: o.seed });
      if (o.json) return printJson(r);
      const f = (x: number) => x.toFixed(4);
      process.stdout.write(
        `${r.videos} videos scored out of fold by both\n` +
          `AUC ${a} ${f(r.aucA)}, ${b} ${f(r.aucB)}; difference ${f(r.difference)} (SE ${f(r.se)})\n` +
          `DeLong: z = ${r.z.toFixed(3)}, two-sided p = ${r.p.toPrecision(3)}\n` +
          (r.interval
            ? `${Math.round(r.interval.level * 100)}% bootstrap interval of the difference: [${f(r.interval.low)}, ${f(r.interval.high)}] (${r.interval.resamples} resamples of ${r.interval.units} ${r.interval.over})\n`
            : ''),
      );
    });
}
