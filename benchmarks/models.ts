/**
 * Every model's detection on the default synthetic corpus at two manipulation strengths
 * (issue 21): 200 clips (seed 1), Stage 2 features (8 frames), 5-fold cross-validation;
 * per model the mean validation AUC, TPR at 5% FPR, the out-of-fold AUC with its 95%
 * bootstrap interval and whether that reaches chance, and the wall time of its training.
 *
 *   npm run bench:models                               (writes benchmarks/results/models-<date>.md)
 *   BENCH_MODELS=logistic_regression,svm,xgboost,naive_cnn,stack:svm+xgboost   (the default)
 *   BENCH_STRENGTHS=1,2  BENCH_EPOCHS=3  BENCH_VIDEOS=200
 *
 * Deep models train from a random initialisation (no weights can be fetched here) for
 * BENCH_EPOCHS epochs; the large ones (inception, the 3D CNNs, SlowFast, the
 * transformers) take hours per strength on a 2-core CPU and are left to a GPU run with
 * BENCH_MODELS set: the table says which models it covers.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chanceVerdict } from '../ts/train/chance.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const fvc = join(root, 'bin', 'fvc.js');
const models = (process.env.BENCH_MODELS ?? 'logistic_regression,svm,xgboost,naive_cnn,stack:svm+xgboost').split(',');
const strengths = (process.env.BENCH_STRENGTHS ?? '1,2').split(',').map(Number);
const epochs = process.env.BENCH_EPOCHS ?? '3';
const videos = process.env.BENCH_VIDEOS ?? '200';

const run = (args: string[]) => execFileSync(process.execPath, [fvc, ...args], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, FVC_NUM_FRAMES: '8' } });
const seconds = (f: () => void) => {
  const t = performance.now();
  f();
  return (performance.now() - t) / 1000;
};
const fmt = (x: number | null | undefined, d = 3) => (typeof x === 'number' ? x.toFixed(d) : 'n/a');

const rows: string[] = [];
for (const strength of strengths) {
  const work = join(here, '.work', 'models', `strength-${strength}`);
  mkdirSync(work, { recursive: true });
  const corpus = join(work, 'corpus');
  const prep = seconds(() => {
    run(['corpus', '--out', corpus, '--videos', videos, '--seed', '1', '--strength', String(strength)]);
    run(['stage2', '--metadata', join(corpus, 'metadata.csv'), '--out', join(work, 'stage2'), '-n', '8']);
  });
  process.stderr.write(`strength ${strength}: corpus and Stage 2 in ${prep.toFixed(0)} s\n`);
  for (const model of models) {
    const out = join(work, 'stage5');
    const took = seconds(() =>
      run([
        'train',
        '--models',
        model,
        '--stage2-dir',
        join(work, 'stage2'),
        '--videos',
        join(corpus, 'metadata.csv'),
        '--frame-cache-dir',
        join(work, 'cache'),
        '--output-dir',
        out,
        '--epochs',
        epochs,
        '--no-tracking',
        '--no-plots',
        '--delete-existing',
      ]),
    );
    const name = model.replace(':', '_');
    const metricsPath = join(out, name, 'metrics.json');
    if (!existsSync(metricsPath)) {
      rows.push(`| ${strength} | ${model} | failed | | | | |`);
      continue;
    }
    const m = JSON.parse(readFileSync(metricsPath, 'utf8')) as Record<string, number>;
    const v = chanceVerdict(out, name);
    rows.push(
      `| ${strength} | ${model} | ${fmt(m.mean_val_auc)} ± ${fmt(m.std_val_auc)} | ${fmt(m.mean_val_tpr_at_fpr_5)} | ${fmt(v.auc)} (${fmt(v.low)}–${fmt(v.high)}) | ${v.atChance ? 'AT CHANCE' : 'above chance'} | ${took.toFixed(1)} |`,
    );
    process.stderr.write(`${rows.at(-1)}\n`);
  }
}

const date = new Date().toISOString().slice(0, 10);
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim();
const md = `# Models on the synthetic corpus, ${date}

Command: \`npm run bench:models\` (BENCH_MODELS=${models.join(',')}, BENCH_STRENGTHS=${strengths.join(',')}, BENCH_EPOCHS=${epochs}, BENCH_VIDEOS=${videos}) at ${commit}.
Machine: ${cpus().length} x ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB. Corpus: \`fvc corpus --videos ${videos} --seed 1 --strength S\`; features: Stage 2 schema 2, 8 frames; 5 folds, grouped by source, seed 42.
AUC and TPR at 5% FPR are means over the folds' validation sets; the out-of-fold AUC pools every fold's validation predictions, with a 95% bootstrap interval over videos; "AT CHANCE" where that interval reaches 0.5. Seconds: the whole \`fvc train\` of that model (all folds, grid search, deep clips decoded into the frame cache on first use).

| strength | model | AUC (mean ± std over folds) | TPR @ 5% FPR | out-of-fold AUC (95% CI) | verdict | seconds |
|---|---|---|---|---|---|---|
${rows.join('\n')}
`;
const path = join(here, 'results', `models-${date}.md`);
writeFileSync(path, md);
process.stdout.write(md);
process.stderr.write(`wrote ${path}\n`);
