/**
 * Every model's detection on the default synthetic corpus at two manipulation strengths
 * (issue 21): 200 clips (seed 1), Stage 2 features (8 frames), 5-fold cross-validation;
 * per model the mean validation AUC, TPR at 5% FPR, the out-of-fold AUC with its 95%
 * bootstrap interval and whether that reaches chance, and the wall time of its training.
 *
 *   npm run bench:models                  (every built model; writes benchmarks/results/models-<date>.md)
 *   BENCH_MODELS=svm,x3d,stack:svm+xgboost   BENCH_STRENGTHS=1,2  BENCH_EPOCHS=3  BENCH_VIDEOS=200
 *   BENCH_PROFILE=cpu | full   BENCH_DRY=1 (list what each model would train as, run nothing)
 *   BENCH_MANIPULATIONS=lag    (fakes made with these manipulations only; default the corpus's default)
 *   BENCH_TAG=lag              (writes models-lag-<date>.md)
 *   BENCH_FEATURES=2,3         (feature models also on schema 1+2's 100 features alone: what the motion features add)
 *
 * Deep models start from a seeded random initialisation (no weights can be fetched
 * here) and train BENCH_EPOCHS epochs. The `cpu` profile (the default) fits every
 * model into a 2-core machine's hour: the large architectures at a quarter of their
 * channels and one block per stage, the transformers on ViT-Ti/16, X3D-XS, every clip
 * 8 frames cropped to 112 px. `full` trains the published architectures at their
 * presets (hours per model on a CPU: a GPU run). The table names what each row trained.
 */
import { resultsDir, workDir } from './env.js';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chanceVerdict } from '../ts/evaluation/chance.js';
import { ALL_MODELS, isBuilt, resolveModel, type ModelSpec } from '../ts/train/registry.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const fvc = join(root, 'bin', 'fvc.js');

// Models on a deep backbone come after the deep models whose fold checkpoints they read.
const built = ALL_MODELS.filter((m: ModelSpec) => isBuilt(m));
const everyModel = [...built.filter((m: ModelSpec) => !m.backbone).map((m) => m.name), ...built.filter((m: ModelSpec) => m.backbone).map((m) => m.name), 'stack:svm+xgboost'];
const models = process.env.BENCH_MODELS?.split(',') ?? everyModel;
const strengths = (process.env.BENCH_STRENGTHS ?? '1,2').split(',').map(Number);
const epochs = process.env.BENCH_EPOCHS ?? '3';
const videos = process.env.BENCH_VIDEOS ?? '200';
const profile = process.env.BENCH_PROFILE ?? 'cpu';
const manipulations = process.env.BENCH_MANIPULATIONS;
// Handcrafted feature schemas the feature models train on: 3 is every Stage 2 feature; 2 the first 100 (schemas 1 and 2).
const schemas = (process.env.BENCH_FEATURES ?? '3').split(',').map(Number);
if (schemas.some((x) => x !== 2 && x !== 3)) throw new Error(`BENCH_FEATURES=${process.env.BENCH_FEATURES}: expected 2 and/or 3`);
const SCHEMA_2_FEATURES = 100;
if (profile !== 'cpu' && profile !== 'full') throw new Error(`BENCH_PROFILE=${profile}: expected cpu or full`);

// The cpu profile: what each deep model trains as (5c, 5e, MesoNet and the residual CNNs are small already and keep their width).
const CPU_ARCHITECTURES: Record<string, string> = { vit_gru: 'vit_gru_ti16', vit_transformer: 'vit_transformer_ti16', timesformer: 'timesformer_ti16', vivit: 'vivit_ti16', x3d: 'x3d_xs' };
const SMALL = new Set(['naive_cnn', 'variable_ar_cnn', 'meso4', 'meso_inception4', 'srm_cnn', 'constrained_cnn']);
const CPU_INPUT = { frames: 8, crop: 112, frameSize: 128 };

/** The flags and the table's description of one model's run. */
function setup(model: string): { flags: string[]; trained: string } {
  const spec = model.includes(':') ? undefined : resolveModel(model, 'stage2').spec;
  if (!spec?.architectures && !spec?.backbone)
    return {
      flags: [],
      trained: spec
        ? 'Stage 2 features'
        : `${model.startsWith('stack:') ? 'logistic regression on the nested out-of-fold probabilities' : 'the mean of the probabilities'} of ${model.slice(model.indexOf(':') + 1).replaceAll('+', ' and ')}`,
    };
  const deepName = spec.foldModel ?? spec.name;
  const archOf = (name: string) => (profile === 'cpu' ? CPU_ARCHITECTURES[name] : undefined) ?? ALL_MODELS.find((m: ModelSpec) => m.name === name)?.architectures?.[0] ?? name;
  const reduced = profile === 'cpu' && !SMALL.has(deepName);
  const flags = ['--random-init', '--epochs', epochs];
  if (profile === 'cpu') {
    flags.push('--num-frames', String(CPU_INPUT.frames), '--crop-size', String(CPU_INPUT.crop), '--frame-size', String(CPU_INPUT.frameSize));
    flags.push(
      '--architecture',
      Object.entries(CPU_ARCHITECTURES)
        .map(([m, a]) => `${m}=${a}`)
        .join(','),
    );
    if (reduced) flags.push('--width', '0.25', '--depth', '1');
  }
  const shape = profile === 'cpu' ? `${reduced ? ' at 1/4 width, 1 block per stage,' : ','} ${CPU_INPUT.frames} frames at ${CPU_INPUT.crop} px` : ' at its preset';
  const net = `${spec.backbone && !spec.foldModel ? spec.backbone : archOf(deepName)}${shape}, random init`;
  return {
    flags,
    trained: spec.backbone ? `XGBoost on the features of ${spec.foldModel ? `${spec.foldModel}'s fold checkpoints (${net}, ${epochs} epochs)` : net}` : `${net}, ${epochs} epochs`,
  };
}

// BENCH_DRY=1: list what each model would train as, and its flags, without running.
if (process.env.BENCH_DRY) {
  for (const model of models) process.stdout.write(`${model}: ${setup(model).trained}\n  ${setup(model).flags.join(' ')}\n`);
  process.exit(0);
}

const run = (args: string[]) => execFileSync(process.execPath, [fvc, ...args], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, FVC_NUM_FRAMES: '8' } });
const seconds = (f: () => void) => {
  const t = performance.now();
  f();
  return (performance.now() - t) / 1000;
};
const fmt = (x: number | null | undefined, d = 3) => (typeof x === 'number' ? x.toFixed(d) : 'n/a');

const date = new Date().toISOString().slice(0, 10);
// BENCH_TAG names a partial run's file (models-<tag>-<date>.md) so it does not replace the full table of that day.
const resultPath = join(resultsDir(), `models-${process.env.BENCH_TAG ? `${process.env.BENCH_TAG}-` : ''}${date}.md`);
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root }).toString().trim();
const rows: string[] = [];
// Rewritten after every row, so an interrupted run keeps what it measured.
function write() {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const md = `# Models on the synthetic corpus, ${date}

Command: \`npm run bench:models\` (BENCH_MODELS=${models.join(',')}, BENCH_STRENGTHS=${strengths.join(',')}, BENCH_EPOCHS=${epochs}, BENCH_VIDEOS=${videos}, BENCH_PROFILE=${profile}) at ${commit}.
Machine: ${cpus().length} x ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB. Corpus: \`fvc corpus --videos ${videos} --seed 1 --strength S${manipulations ? ` --manipulations ${manipulations}` : ''}\`; features: Stage 2 (schema 3: 120 features; "schema 2" rows use the first 100 alone), 8 frames; 5 folds, grouped by source, seed 42.
AUC and TPR at 5% FPR are means over the folds' validation sets; the out-of-fold AUC pools every fold's validation predictions, with a 95% bootstrap interval resampling whole sources (each fake with its real); "AT CHANCE" where that interval reaches 0.5, "weak" where it does not but the AUC is below 0.6. Seconds: the whole \`fvc train\` of that model (all folds, grid search, deep clips decoded into the frame cache on first use, deep features extracted).

| strength | model | trained as | AUC (mean ± std over folds) | TPR @ 5% FPR | out-of-fold AUC (95% CI) | verdict | seconds |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}
`;
  writeFileSync(resultPath, md);
  return md;
}

/** A Stage 2 folder whose schema lists only schema 1 and 2's features (the table is shared): the models pick their columns by those names. */
function schema2View(stage2: string): string {
  const view = `${stage2}-schema2`;
  mkdirSync(view, { recursive: true });
  const table = join(view, 'features_metadata.parquet');
  if (!existsSync(table)) symlinkSync(join(stage2, 'features_metadata.parquet'), table);
  const schema = JSON.parse(readFileSync(join(stage2, 'feature_schema.json'), 'utf8')) as { features: string[] };
  writeFileSync(join(view, 'feature_schema.json'), JSON.stringify({ ...schema, schema_version: 2, features: schema.features.slice(0, SCHEMA_2_FEATURES) }, null, 2));
  return view;
}

for (const strength of strengths) {
  const work = workDir('models', `${manipulations ? `${manipulations.replaceAll(',', '+')}-` : ''}strength-${strength}`);
  mkdirSync(work, { recursive: true });
  const corpus = join(work, 'corpus');
  const prep = seconds(() => {
    run(['corpus', '--out', corpus, '--videos', videos, '--seed', '1', '--strength', String(strength), ...(manipulations ? ['--manipulations', manipulations] : [])]);
    run(['stage2', '--metadata', join(corpus, 'metadata.csv'), '--out', join(work, 'stage2'), '-n', '8']);
  });
  process.stderr.write(`strength ${strength}: corpus and Stage 2 in ${prep.toFixed(0)} s\n`);
  const runs = models.flatMap((model) => {
    const s = setup(model);
    const onFeatures = !s.flags.length;
    return (onFeatures ? schemas : [3]).map((schema) => ({
      model,
      schema,
      ...s,
      trained: onFeatures && schemas.length > 1 ? `${s.trained} (schema ${schema}: ${schema === 2 ? 100 : 120})` : s.trained,
    }));
  });
  for (const { model, schema, flags, trained } of runs) {
    const out = join(work, schema === 2 ? 'stage5-schema2' : 'stage5');
    const stage2 = schema === 2 ? schema2View(join(work, 'stage2')) : join(work, 'stage2');
    const dirs = ['--stage2-dir', stage2, '--videos', join(corpus, 'metadata.csv'), '--frame-cache-dir', join(work, 'cache'), '--features-dir', join(work, 'features')];
    let failed = false;
    const took = seconds(() => {
      try {
        run(['train', '--models', model, ...dirs, '--output-dir', out, ...flags, '--no-tracking', '--no-plots', '--delete-existing']);
      } catch {
        failed = true;
      }
    });
    const name = model.replace(':', '_');
    const metricsPath = join(out, name, 'metrics.json');
    if (failed || !existsSync(metricsPath)) {
      rows.push(`| ${strength}${manipulations ? ` (${manipulations})` : ''} | ${model} | ${trained} | failed | | | | ${took.toFixed(1)} |`);
    } else {
      const m = JSON.parse(readFileSync(metricsPath, 'utf8')) as Record<string, number>;
      const v = chanceVerdict(out, name);
      rows.push(
        `| ${strength}${manipulations ? ` (${manipulations})` : ''} | ${model} | ${trained} | ${fmt(m.mean_val_auc)} ± ${fmt(m.std_val_auc)} | ${fmt(m.mean_val_tpr_at_fpr_5)} | ${fmt(v.auc)} (${fmt(v.low)}–${fmt(v.high)}) | ${v.atChance ? 'AT CHANCE' : v.weak ? 'above chance, weak' : 'above chance'} | ${took.toFixed(1)} |`,
      );
    }
    process.stderr.write(`${rows.at(-1)}\n`);
    write();
  }
}

process.stdout.write(write());
process.stderr.write(`wrote ${resultPath}\n`);
