import type { Command } from 'commander';
import { loadMetadata } from '../../data/metadata.js';
import { FvcError } from '../../errors.js';
import { definedOnly } from '../../util/object.js';
import { train } from '../../train/engine.js';
import { predictVideos } from '../../train/predict.js';
import { evaluate } from '../../train/evaluate.js';
import { loadRunConfig, trainOptionsOf, type RunConfig } from '../../config/run-config.js';
import type { TrainConfigInput } from '../../train/config.js';
import { ALL_MODELS, FEATURE_SETS, isBuilt, type ModelRequest } from '../../train/registry.js';
import { formatTable, printJson } from '../output.js';
import { bestModelDir, runSources } from '../run-sources.js';
import { deepInputOptions } from '../deep-options.js';
import { addFaceOptions, faceOptionsFrom, type FaceFlags } from '../face-options.js';
import { addDeepTrainFlags, deepTrainFlagsFrom } from '../deep-train-flags.js';
import { choiceOption, deviceOption, intOption, numberOption, withGpu } from '../parse.js';
import type { DeviceRequest } from '../../runtime.js';
import { interruptible } from '../interrupt.js';
import { parseShard, type Shard } from '../../util/shard.js';
import { availableParallelism } from 'node:os';
import { rankFromEnvironment } from '../../distributed/environment.js';
import { launchLocal } from '../../distributed/launch.js';
import { finishRendezvous, followRankZero, joinRendezvous } from '../../distributed/session.js';

interface TrainFlags extends FaceFlags {
  config?: string;
  innerValidation?: number;
  models?: string;
  nSplits?: number;
  seed?: number;
  outputDir?: string;
  featureSet?: (typeof FEATURE_SETS)[number];
  stage2Dir?: string;
  stage4Dir?: string;
  features?: string;
  labelColumn: string;
  groupColumn?: string;
  idColumn?: string;
  metric?: 'f1' | 'accuracy' | 'roc_auc' | 'average_precision';
  gridSearch: boolean;
  resume: boolean;
  deleteExisting?: boolean;
  tracking: boolean;
  trackingUri?: string;
  plots: boolean;
  threads?: number;
  nprocPerNode?: number;
  distTimeout?: number;
  device?: DeviceRequest;
  gpu?: number;
  folds?: string;
  videos?: string;
  stage3Dir?: string;
  frameCacheDir?: string;
  frameSize?: number;
  cropSize?: number;
  width?: number;
  depth?: number;
  weights?: string;
  randomInit?: boolean;
  numFrames?: number;
  featuresDir?: string;
  architecture?: string;
  only?: 'grid_search' | 'aggregate' | 'extract';
  shard?: Shard;
  json?: boolean;
}

function architectureChoices(v: string): Record<string, string> {
  const pairs = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((p) => p.split('='));
  if (!pairs.length || pairs.some((p) => p.length !== 2 || !p[0] || !p[1]))
    throw new FvcError('ERR_INVALID_ARGUMENT', `--architecture: '${v}' is not a list of model=architecture (e.g. x3d=x3d_m,r2plus1d=r3d_18)`);
  return Object.fromEntries(pairs);
}

/** `FILE` for every deep model, or `architecture=FILE,...` per architecture or model. */
export function weightsOption(v: string): string | Record<string, string> {
  // A file, a published name (r2plus1d_18:kinetics400) or a URL (whose #sha256= is no pair).
  if (!v.includes('=') || /^https?:\/\//i.test(v)) return v;
  const pairs = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]);
  if (pairs.some(([k, f]) => !k || !f)) throw new FvcError('ERR_INVALID_ARGUMENT', `--weights: '${v}' is neither a file nor a list of architecture=file (e.g. inception_v3=inception_v3_google.pth)`);
  return Object.fromEntries(pairs);
}

/** Flags over a run configuration: what a flag sets wins, `deep` merged key by key. */
export function withConfig(rc: RunConfig | null, flags: Record<string, unknown> & { deep: Record<string, unknown> }): TrainConfigInput {
  const base = rc ? trainOptionsOf(rc) : {};
  return { ...base, ...definedOnly(flags), deep: { ...((base.deep as object | undefined) ?? {}), ...definedOnly(flags.deep) } } as TrainConfigInput;
}

function foldList(v: string): number[] {
  const folds = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (!folds.length || folds.some((f) => !Number.isInteger(f) || f < 1)) throw new FvcError('ERR_INVALID_ARGUMENT', `--folds: '${v}' is not a list of fold numbers (1-based, e.g. 2 or 1,3)`);
  return folds;
}

export function registerTrain(program: Command): void {
  addDeepTrainFlags(addFaceOptions(deepInputOptions(program.command('train').description('Stage 5: k-fold training with grid search for the chosen models'), 'deep models')))
    .option('--config <file>', 'a run configuration (YAML or JSON: models, folds, seed, dirs, weights, train: { deep: {...} }, ...); flags override it')
    .option(
      '--models <list>',
      `comma-separated model names or ids (${ALL_MODELS.filter(isBuilt)
        .map((m) => m.name)
        .join(', ')}; a _stage4 or _stage2_stage4 suffix picks the features; ensemble:a+b averages models a and b, stack:a+b fits a logistic regression on their nested out-of-fold predictions)`,
    )
    .option('--n-splits <k>', 'folds (default: FVC_N_SPLITS or 5)', intOption(2, 100))
    .option('--seed <n>', 'seed of folds and models (default 42)', intOption(0))
    .option('--output-dir <dir>', 'results folder (default: FVC_STAGE5_OUTPUT_DIR or data/stage5)')
    .option('--feature-set <set>', 'handcrafted features to use (default stage2)', choiceOption(FEATURE_SETS))
    .option('--stage2-dir <dir>', 'Stage 2 output (default: FVC_STAGE2_OUTPUT_DIR or data/stage2)')
    .option('--stage4-dir <dir>', 'Stage 4 output (default: FVC_STAGE4_OUTPUT_DIR or data/stage4)')
    .option('--features <table>', 'train on your own feature table (.csv or .parquet) instead')
    .option('--label-column <name>', 'label column of --features (0 real, 1 fake)', 'label')
    .option('--group-column <name>', 'rows sharing this value share a fold (--features)')
    .option('--id-column <name>', 'row id written to predictions.csv (--features)')
    .option('--metric <name>', 'grid search selects by this mean metric (default f1)', choiceOption(['f1', 'accuracy', 'roc_auc', 'average_precision'] as const))
    .option('--no-grid-search', "use the first point of each model's grid")
    .option('--no-resume', 'retrain folds that are already done')
    .option('--delete-existing', 'remove earlier results of the chosen models first (FVC_DELETE_EXISTING)')
    .option('--no-tracking', 'no MLflow tracking (FVC_USE_TRACKING); the JSONL files are written either way')
    .option('--tracking-uri <uri>', 'MLflow store: a folder or file: URI, or an http(s) server (default: MLFLOW_TRACKING_URI, else ./mlruns)')
    .option('--no-plots', 'skip the plots drawn after training (fvc plots draws them later)')
    .option('--threads <n>', 'threads per model (default: one per core)', intOption(1, 1024))
    .option('--device <device>', 'auto (CUDA when the model library can reach a GPU), cpu, cuda or cuda:<index>', deviceOption)
    .option('--gpu <index>', 'run on GPU <index> (--device cuda:<index>)', intOption(0, 1023))
    .option('--videos <table>', "deep models: the video table to train on (default Stage 3's scaled_metadata.parquet)")
    .option('--stage3-dir <dir>', 'Stage 3 output (default: FVC_STAGE3_OUTPUT_DIR or data/stage3)')
    .option('--frame-cache-dir <dir>', 'deep models: the frame cache (default: FVC_FRAME_CACHE_DIR or data/cache/frames)')
    .option(
      '--inner-validation <fraction>',
      "deep models: hold out this fraction of each training fold's sources to pick the best epoch, so the fold's held-out videos only score it (default: they pick it too, as in the seed)",
      numberOption(0.01, 0.5),
    )
    .option(
      '--weights <file|arch=file,...>',
      'deep models and backbones: pretrained weights (.safetensors, or .pth / .pt as torchvision and PyTorchVideo publish them); a pretrained backbone then trains at 5e-6',
    )
    .option('--random-init', 'backbones without a weights file start from a seeded random initialisation (tests, CPU demos); recorded in the results')
    .option('--features-dir <dir>', 'deep-feature tables (default: FVC_FEATURES_DIR or data/features)')
    .option('--architecture <list>', 'deep models: model=architecture pairs, e.g. x3d=x3d_m,r2plus1d=r3d_18 (fvc models lists them)')
    .option('--folds <list>', 'train only these folds (1-based) and write no summary: one task of a fold array')
    .option(
      '--only <phase>',
      'grid_search: search (and --delete-existing) without training folds; aggregate: summarise the folds on disk; extract: extract the deep features models on a pretrained backbone read, train nothing',
      choiceOption(['grid_search', 'aggregate', 'extract'] as const),
    )
    .option('--shard <i/n>', 'with --only extract: extract shard i of n of the videos (rows i, i + n, ...) into parts; the unsharded --only extract job writes the tables', (v: string) =>
      parseShard(v),
    )
    .option('--nproc-per-node <n>', 'deep models: train each fold data-parallel on n local ranks (CPU: Gloo, the cores split between them; CUDA: one GPU each, NCCL)', intOption(1, 1024))
    .option('--dist-timeout <seconds>', 'data-parallel runs: how long the rendezvous and any collective may wait for a rank (default 1800)', intOption(1, 604800))
    .option('--json', 'print the summaries as JSON')
    .action(async (o: TrainFlags, cmd: Command) => {
      // With a run configuration, only flags given on the command line override it.
      const rc = o.config ? await loadRunConfig(o.config) : null;
      if (rc) for (const k of Object.keys(o)) if (cmd.getOptionValueSource(k) === 'default') delete (o as unknown as Record<string, unknown>)[k];
      if (!o.models && !rc?.models) throw new FvcError('ERR_INVALID_ARGUMENT', '--models: no model given (on the command line or in --config)');
      const rank = rankFromEnvironment();
      if (!rank && o.nprocPerNode && o.nprocPerNode > 1) {
        const launched = await launchLocal(o.nprocPerNode);
        if (launched.failure) throw new FvcError('ERR_DISTRIBUTED', `rank ${launched.failure.rank} (pid ${launched.failure.pid}) ${launched.failure.how}`);
        return;
      }
      if (rank) {
        const configured = rc?.train?.threads;
        // SLURM's --threads is already per task (SLURM_CPUS_PER_TASK); a local launch splits the machine's.
        const share = rank.launcher === 'slurm' ? 1 : rank.localWorldSize;
        const threads = Math.max(1, Math.floor((o.threads ?? (typeof configured === 'number' ? configured : availableParallelism())) / share));
        await joinRendezvous(rank, { threads, ...(o.distTimeout ? { timeoutSeconds: o.distTimeout } : {}), log: (m) => process.stderr.write(`${m}\n`) });
        if (rank.rank > 0) {
          await interruptible('fvc: interrupted', (signal) => followRankZero({ signal, log: (m) => process.stderr.write(`${m}\n`) }));
          return;
        }
      }
      const fromFlags = {
        // Checked at run time with "did you mean"; the type is for TypeScript callers.
        models: o.models
          ?.split(',')
          .map((s) => s.trim())
          .filter(Boolean) as ModelRequest[],
        nSplits: o.nSplits,
        seed: o.seed,
        outputDir: o.outputDir,
        featureSet: o.featureSet,
        stage2Dir: o.stage2Dir,
        stage4Dir: o.stage4Dir,
        selectionMetric: o.metric,
        gridSearch: o.gridSearch,
        resume: o.resume,
        deleteExisting: o.deleteExisting,
        // Commander's --no-tracking defaults to true; only an explicit flag should override FVC_USE_TRACKING.
        tracking: o.tracking === false ? false : undefined,
        trackingUri: o.trackingUri,
        plots: o.plots,
        threads: o.threads,
        device: withGpu(o.device, o.gpu),
        ...(o.folds ? { folds: foldList(o.folds) } : {}),
        only: o.only,
        ...(o.shard ? { shard: o.shard } : {}),
        videos: o.videos,
        stage3Dir: o.stage3Dir,
        frameCacheDir: o.frameCacheDir,
        featuresDir: o.featuresDir,
        numFrames: o.numFrames,
        deep: definedOnly({
          ...deepTrainFlagsFrom(o as unknown as Record<string, unknown>),
          frameSize: o.frameSize,
          cropSize: o.cropSize,
          width: o.width,
          depth: o.depth,
          weights: o.weights ? weightsOption(o.weights) : undefined,
          randomInit: o.randomInit,
          architectures: o.architecture ? architectureChoices(o.architecture) : undefined,
          faces: faceOptionsFrom(o),
          innerValidation: o.innerValidation,
        }),
        ...(o.features ? { features: { path: o.features, labelColumn: o.labelColumn ?? 'label', groupColumn: o.groupColumn, idColumn: o.idColumn } } : {}),
      };
      // Ctrl-C stops at the next epoch or fold boundary; finished folds and the last epoch's checkpoint are kept.
      const r = await interruptible('fvc: interrupted; stopping at the next epoch or fold; run the same command again to resume from there', (signal) =>
        train(withConfig(rc, fromFlags), { signal }).finally(finishRendezvous),
      );
      if (o.json) printJson(r);
      else {
        const f = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(4));
        process.stdout.write(
          formatTable(
            r.models.map((m) => [
              m.modelType,
              m.folds.length,
              `${f(m.mean.val_acc)} ± ${f(m.std.val_acc)}`,
              `${f(m.mean.val_f1)} ± ${f(m.std.val_f1)}`,
              `${f(m.mean.val_auc)} ± ${f(m.std.val_auc)}`,
              `${f(m.mean.val_loss)}`,
              m.bestFold ?? '-',
            ]),
            ['model', 'folds', 'val_acc', 'val_f1', 'val_auc', 'val_loss', 'best fold'],
          ),
        );
      }
      if (r.failed.length) throw new FvcError('ERR_TRAINING_FAILED', `failed: ${r.failed.join('; ')} (see error.json in the fold folders)`);
    });

  program
    .command('predict')
    .description("probability of fake per video with a trained model's best_model folder")
    .argument('[videos...]', 'video files')
    .requiredOption('--model <dir>', 'a best_model folder (e.g. data/stage5/xgboost/best_model), or with --config a model of that run (e.g. xgboost)')
    .option('--config <file>', 'the run configuration the model was trained from: its output, frame-cache and feature folders')
    .option('--metadata <table>', 'predict every video of a metadata table too')
    .option('-n, --num-frames <count>', 'frames sampled per video (default: what the training features used)', intOption(1, 10000))
    .option('--frame-cache-dir <dir>', 'deep models: the frame cache (default: FVC_FRAME_CACHE_DIR or data/cache/frames)')
    .option('--features-dir <dir>', 'models on deep features: the feature tables (default: FVC_FEATURES_DIR or data/features)')
    .option('--device <device>', 'auto, cpu, cuda or cuda:<index>', deviceOption, 'auto' as DeviceRequest)
    .option('--gpu <index>', 'run on GPU <index> (--device cuda:<index>)', intOption(0, 1023))
    .option('--threads <n>', 'threads', intOption(1, 1024), 1)
    .option('--json', 'print JSON')
    .action(
      async (
        videos: string[],
        flags: {
          config?: string;
          model: string;
          metadata?: string;
          numFrames?: number;
          frameCacheDir?: string;
          featuresDir?: string;
          device: DeviceRequest;
          gpu?: number;
          threads: number;
          json?: boolean;
        },
      ) => {
        const o = await runSources(flags);
        o.model = bestModelDir(o.model, o);
        const all = [...videos];
        if (o.metadata) all.push(...(await loadMetadata(o.metadata)).rows.map((r) => r.absolute_path));
        if (!all.length) throw new FvcError('ERR_INVALID_ARGUMENT', 'no videos: give video files or --metadata');
        const r = await predictVideos(o.model, all, {
          device: withGpu(o.device, o.gpu),
          threads: o.threads,
          ...(o.numFrames === undefined ? {} : { numFrames: o.numFrames }),
          ...(o.frameCacheDir ? { frameCacheDir: o.frameCacheDir } : {}),
          ...(o.featuresDir ? { featuresDir: o.featuresDir } : {}),
        });
        if (o.json) return printJson(r);
        process.stdout.write(
          formatTable(
            r.map((p) => [p.video, Number(p.prob.toFixed(6))]),
            ['video', 'prob_fake'],
          ),
        );
      },
    );

  program
    .command('evaluate')
    .description("score a trained model's best_model folder on a new labelled table: the fold metrics, predictions and plots")
    .requiredOption('--model <dir>', 'a best_model folder (e.g. data/stage5/xgboost/best_model), or with --config a model of that run (e.g. xgboost)')
    .option('--config <file>', 'the run configuration the model was trained from: its output, frame-cache and feature folders')
    .requiredOption('--metadata <table>', 'the labelled videos (video_path, label)')
    .option('--out <dir>', 'write metrics.json, predictions.csv and plots/ here')
    .option('--threshold <p>', 'probability from which a video counts as fake', numberOption(0, 1), 0.5)
    .option('--no-plots', 'no ROC/PR, confusion and distribution plots')
    .option('--by <columns>', 'also break the metrics down by these metadata columns (e.g. manipulation,source)')
    .option('--device <device>', 'auto, cpu, cuda or cuda:<index>', deviceOption, 'auto' as DeviceRequest)
    .option('--gpu <index>', 'run on GPU <index> (--device cuda:<index>)', intOption(0, 1023))
    .option('--threads <n>', 'threads', intOption(1, 1024), 1)
    .option('--frame-cache-dir <dir>', 'deep models: the frame cache (default: FVC_FRAME_CACHE_DIR or data/cache/frames)')
    .option('--features-dir <dir>', 'models on deep features: the feature tables (default: FVC_FEATURES_DIR or data/features)')
    .option('--json', 'print JSON')
    .action(
      async (flags: {
        config?: string;
        model: string;
        metadata: string;
        out?: string;
        threshold: number;
        plots: boolean;
        by?: string;
        device: DeviceRequest;
        gpu?: number;
        threads: number;
        frameCacheDir?: string;
        featuresDir?: string;
        json?: boolean;
      }) => {
        const o = await runSources(flags);
        o.model = bestModelDir(o.model, o);
        const by = o.by
          ? o.by
              .split(',')
              .map((c) => c.trim())
              .filter(Boolean)
          : [];
        const r = await evaluate(o.model, o.metadata, {
          threshold: o.threshold,
          plots: o.plots,
          by,
          device: withGpu(o.device, o.gpu),
          threads: o.threads,
          ...(o.out ? { out: o.out } : {}),
          ...(o.frameCacheDir ? { frameCacheDir: o.frameCacheDir } : {}),
          ...(o.featuresDir ? { featuresDir: o.featuresDir } : {}),
        });
        if (o.json) return printJson(r);
        const m = r.metrics as unknown as Record<string, number | null>;
        const show = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : Number(v.toFixed(4)));
        const rows = ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'average_precision', 'eer', 'tpr_at_fpr_1', 'tpr_at_fpr_5', 'tpr_at_fpr_10', 'brier', 'ece', 'log_loss']
          .filter((k) => k in m)
          .map((k) => [k, show(m[k])]);
        process.stdout.write(`${r.model} on ${r.videos} videos of ${r.table}\n${formatTable(rows, ['metric', 'value'])}`);
        if (r.subgroups.length)
          process.stdout.write(
            `\n${formatTable(
              r.subgroups.map((g) => [g.column, g.value, g.videos, g.against, show(g.metrics.roc_auc), show(g.metrics.tpr_at_fpr_5), show(g.metrics.accuracy)]),
              ['column', 'value', 'videos', 'against', 'roc_auc', 'tpr_at_fpr_5', 'accuracy'],
            )}`,
          );
        if (r.files.length) process.stdout.write(`wrote ${r.files.join(', ')}\n`);
      },
    );
}
