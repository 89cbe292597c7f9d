/**
 * Training configuration, validated with zod: the seed's defaults, its
 * environment variables (flags and explicit options win), and one error that
 * names every bad field.
 */
import { FACE_DETECTORS } from '../video/faces.js';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { FvcError } from '../errors.js';
import { definedOnly } from '../util/object.js';
import { FEATURE_SETS, type ModelRequest } from './spec.js';
import { unknownKey } from '../util/suggest.js';
import { deepTrainShape } from '../native/deep-train-fields.js';

const intFromEnv = (name: string) => {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : Number(v);
};
const boolFromEnv = (name: string) => {
  const v = process.env[name]?.toLowerCase();
  return v === undefined || v === '' ? undefined : ['1', 'true', 'yes', 'on'].includes(v);
};

// The trainer's options (ts/native/deep-train-fields.ts) in the order earlier versions
// wrote them, since each fold's configuration hash covers them; fields added later go last.
const {
  epochs,
  batchSize,
  microBatch,
  lrHead,
  lrBackbone,
  weightDecay,
  layerDecay,
  gradientCheckpointing,
  warmupEpochs,
  maxGradNorm,
  patience,
  classWeights,
  loaderThreads,
  mixedPrecision,
  ...added
} = deepTrainShape;
// Those are in the configuration only when set (the native default stands otherwise),
// so folds trained before an option existed keep their hash and are not trained again.
type Added = typeof added;
const laterTrainFields = Object.fromEntries(Object.entries(added).map(([k, s]) => [k, (s as z.ZodDefault<z.ZodTypeAny>).unwrap().optional()])) as unknown as {
  [K in keyof Added]: z.ZodOptional<ReturnType<Added[K]['unwrap']>>;
};

const GridSchema = z.record(z.string(), z.array(z.union([z.number(), z.string(), z.boolean()])).min(1));

// Strict objects: a misspelt key (nSplit: 3) is an error, not silently the default.
export const TrainConfigSchema = z
  .strictObject({
    models: z.array(z.string().min(1)).min(1),
    nSplits: z.number().int().min(2).max(100).default(5),
    /** Deep models: frames per clip for every deep model; default each architecture's own (fvc models lists them). */
    numFrames: z.number().int().min(1).optional(),
    seed: z.number().int().min(0).default(42),
    outputDir: z.string().min(1).default('data/stage5'),
    /** Which handcrafted features feature-based models use unless the model id names a set. */
    featureSet: z.enum(FEATURE_SETS).default('stage2'),
    stage2Dir: z.string().default('data/stage2'),
    stage4Dir: z.string().default('data/stage4'),
    /** Bring your own features: a table with numeric feature columns instead of Stage 2/4 output. */
    features: z.strictObject({ path: z.string().min(1), labelColumn: z.string().default('label'), groupColumn: z.string().optional(), idColumn: z.string().optional() }).optional(),
    /** The metric the grid search maximises (mean over folds). */
    selectionMetric: z.enum(['f1', 'accuracy', 'roc_auc', 'average_precision']).default('f1'),
    /** Per-model grids replacing the registry's, keyed by model name. */
    grids: z.record(z.string(), GridSchema).default({}),
    gridSearch: z.boolean().default(true),
    resume: z.boolean().default(true),
    deleteExisting: z.boolean().default(false),
    /** MLflow tracking; the JSONL files are written either way. */
    tracking: z.boolean().default(true),
    /** MLflow store: a path or file: URI (file store) or an http(s) server; default MLFLOW_TRACKING_URI, else ./mlruns. */
    trackingUri: z.string().min(1).optional(),
    /** Plots in {model}/plots/ and the model comparison after training. */
    plots: z.boolean().default(true),
    threads: z.number().int().min(1).default(availableParallelism()),
    /** Where models train: `auto` takes CUDA when the library in use can reach a GPU; `cuda:N` is GPU N (--gpu N). */
    device: z.union([z.enum(['auto', 'cpu', 'cuda']), z.custom<`cuda:${number}`>((v) => typeof v === 'string' && /^cuda:\d+$/.test(v), 'expected auto, cpu, cuda or cuda:<index>')]).default('auto'),
    quiet: z.boolean().default(false),
    /** Videos the deep models train on (a metadata table); default Stage 3's scaled_metadata.parquet. */
    videos: z.string().min(1).optional(),
    stage3Dir: z.string().default('data/stage3'),
    /** Deep-feature tables (fvc extract); default FVC_FEATURES_DIR, else data/features. */
    featuresDir: z.string().min(1).optional(),
    /** Deep models' frame cache folder; default FVC_FRAME_CACHE_DIR, else data/cache/frames. */
    frameCacheDir: z.string().min(1).optional(),
    /** Deep models (5c, 5p): the seed's methodology, sized by these. */
    deep: z
      .strictObject({
        epochs,
        batchSize,
        microBatch,
        /** The square crop the model sees; default each architecture's own. */
        cropSize: z.number().int().min(8).optional(),
        /** Cached frames are letterboxed to this square; default each architecture's own. */
        frameSize: z.number().int().min(8).optional(),
        lrHead,
        lrBackbone,
        weightDecay,
        layerDecay,
        gradientCheckpointing,
        warmupEpochs,
        maxGradNorm,
        patience,
        classWeights,
        augment: z.boolean().default(true),
        width: z.number().positive().default(1),
        depth: z.number().int().min(0).default(0),
        /**
         * Pretrained weights (.safetensors, or a .pth / .pt state dict as torchvision and
         * PyTorchVideo publish them): one file for every deep model, or per architecture
         * or model name, e.g. { inception_v3: 'inception_v3_google.pth', i3d_r50: 'I3D_8x8_R50.pyth' }.
         */
        weights: z.union([z.string().min(1), z.record(z.string(), z.string().min(1))]).optional(),
        /** Backbones with no weights file start from a seeded random initialisation (tests, CPU demos); recorded in the run's metadata. */
        randomInit: z.boolean().default(false),
        /** Clips per forward pass of feature extraction. */
        extractBatchSize: z.number().int().min(1).default(8),
        loaderThreads,
        mixedPrecision,
        /** two_stream's optical flow: OpenCV's DIS (fast preset) or Farneback. */
        flowMethod: z.enum(['dis', 'farneback']).default('dis'),
        /** Clips of face crops instead of letterboxed frames (ts/video/faces.ts: dlib HOG or YuNet, the largest face followed, margin 1.3). */
        faces: z
          .strictObject({
            detector: z.enum(FACE_DETECTORS).default('hog'),
            model: z.string().min(1).optional(),
            margin: z.number().min(1).max(4).optional(),
            upsample: z.number().int().min(0).max(4).optional(),
            detectSize: z.number().int().min(0).max(16384).optional(),
            minScore: z.number().min(-10).max(10).optional(),
          })
          .optional(),
        /** Model name or id -> the native architecture that serves it, e.g. { x3d: 'x3d_m', r2plus1d: 'r3d_18' }. */
        architectures: z.record(z.string(), z.string().min(1)).default({}),
        ...laterTrainFields,
        /**
         * A fraction of each training fold's sources held out to pick the best epoch (and
         * stop early); the fold's own held-out videos are then scored once, by that epoch.
         * Unset, those held-out videos pick the epoch, as the seed does, which flatters the
         * out-of-fold scores.
         */
        innerValidation: z.number().min(0.01).max(0.5).optional(),
      })
      .prefault({}),
    /** Train only these folds (1-based) and write no model summary: one task of a fold-level job array. */
    folds: z.array(z.number().int().min(1)).min(1).optional(),
    /**
     * One phase of a split run: `grid_search` searches (and deletes earlier results when asked)
     * without training folds; `aggregate` trains nothing and summarises the folds on disk
     * (metrics.json, best_model, tracking, plots); `extract` loads the data of models on deep
     * features, extracting their shared embeddings, and trains nothing (a pipeline's extraction job).
     */
    only: z.enum(['grid_search', 'aggregate', 'extract']).optional(),
    /** With only: 'extract', one shard (1-based index of count) of the videos' embeddings, stored as parts; the unsharded extraction assembles them. */
    shard: z.strictObject({ index: z.number().int().min(1), count: z.number().int().min(1).max(100000) }).optional(),
  })
  .superRefine((c, ctx) => {
    const over = c.folds?.filter((f) => f > c.nSplits) ?? [];
    if (over.length) ctx.addIssue({ code: 'custom', path: ['folds'], message: `fold(s) ${over.join(', ')} outside 1..${c.nSplits} (nSplits)` });
    if (c.folds && c.only) ctx.addIssue({ code: 'custom', path: ['only'], message: 'folds and only cannot be combined' });
    if (c.shard && c.only !== 'extract') ctx.addIssue({ code: 'custom', path: ['shard'], message: "a shard is one part of an extraction job: it needs only: 'extract'" });
    if (c.shard && c.shard.index > c.shard.count) ctx.addIssue({ code: 'custom', path: ['shard'], message: `shard ${c.shard.index} of ${c.shard.count}: the index is at most the count` });
  });

/** `models` is typed by the registry, so a misspelt name fails to compile; run time checks it again with "did you mean". */
export type TrainConfigInput = Omit<z.input<typeof TrainConfigSchema>, 'models'> & { models: ModelRequest[] };
export type TrainConfig = z.output<typeof TrainConfigSchema>;

/** Explicit options over the seed's environment variables over the defaults. */
/** The keys of train()'s options and of its `deep` block, at `prefix` in a larger file (a run configuration's `train`). */
export function trainConfigPlaces(prefix = ''): Record<string, string[]> {
  const deep = (TrainConfigSchema.shape.deep.unwrap() as z.ZodObject).shape;
  return { [prefix]: Object.keys(TrainConfigSchema.shape), [prefix ? `${prefix}.deep` : 'deep']: Object.keys(deep) };
}

/**
 * One line per problem; an unknown key says where it belongs when another level takes
 * it (`train.epochs` -> `train.deep.epochs`), else "did you mean". `prefix` places the
 * options inside a larger file, whose levels `places` lists.
 */
export function configIssues(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[] = [],
  places: Readonly<Record<string, readonly string[]>> = trainConfigPlaces(prefix.join('.')),
): string[] {
  return issues.flatMap((i) => {
    const at = [...prefix, ...i.path].join('.');
    if (i.code === 'unrecognized_keys') return i.keys.map((k) => `  - ${unknownKey(k, at, places)}`);
    return [`  - ${at || '(config)'}: ${i.message}`];
  });
}

export function resolveConfig(input: TrainConfigInput): TrainConfig {
  const env = Object.fromEntries(
    Object.entries({
      nSplits: intFromEnv('FVC_N_SPLITS'),
      numFrames: intFromEnv('FVC_NUM_FRAMES'),
      outputDir: process.env.FVC_STAGE5_OUTPUT_DIR,
      stage2Dir: process.env.FVC_STAGE2_OUTPUT_DIR,
      stage4Dir: process.env.FVC_STAGE4_OUTPUT_DIR,
      stage3Dir: process.env.FVC_STAGE3_OUTPUT_DIR,
      tracking: boolFromEnv('FVC_USE_TRACKING'),
      deleteExisting: boolFromEnv('FVC_DELETE_EXISTING'),
    }).filter(([, v]) => v !== undefined && v !== ''),
  );
  const defined = definedOnly(input);
  const parsed = TrainConfigSchema.safeParse({ ...env, ...defined });
  if (!parsed.success) {
    const lines = configIssues(parsed.error.issues);
    throw new FvcError('ERR_INVALID_ARGUMENT', `invalid training configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
