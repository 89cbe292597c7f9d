/**
 * The one interface every Stage 5 model implements, in the spirit of
 * scikit-learn's estimators: how its data is loaded, how one fold is fitted and
 * scored, and how its best_model/ predicts new videos. The engine loops over it
 * with no per-kind branches; a new model is its implementation plus one registry
 * entry (see README, "Adding a model").
 */
import type { ComputeDevice } from '../native/binding.js';
import type { BatchProgress, EpochRow } from '../deep/train.js';
import type { TrainConfig } from './config.js';
import type { FeatureData } from './dataset.js';
import type { Fold } from './folds.js';
import type { FeatureSet, GridValue, ModelEntry } from './spec.js';
import type { Shard } from '../util/shard.js';
import type { Scaler } from './scaler.js';

export interface ModelContext {
  model: ResolvedModel;
  cfg: TrainConfig;
  log: (message: string) => void;
  /** The caller's cancellation: long native work (deep epochs, extraction) stops on it. */
  signal?: AbortSignal;
}

export interface FoldContext<D extends FeatureData = FeatureData> extends ModelContext {
  params: Record<string, GridValue>;
  data: D;
  fold: Fold;
  /** Where the fold's files go (a scratch folder during the grid search). */
  dir: string;
  /** Deep models: called after each epoch (train() logs it and turns it into an `epoch` event). */
  onEpoch?: (e: EpochRow) => void;
  /** Deep models: progress inside an epoch (train() turns it into a throttled `batch` event). */
  onBatch?: (b: BatchProgress) => void;
}

/** A fitted fold: the model file in `dir` and its probabilities on the fold's validation rows. */
export interface FoldFit {
  /** Written to metadata.json and model.json; predict() reads it back. */
  kind: string;
  /** The model file inside the fold folder. */
  file: string;
  /** Further files best_model/ needs besides `file` and scaler.json. */
  extraFiles?: string[];
  /** P(fake) per row of fold.val, in that order. */
  probs: Float64Array;
  scaler?: Scaler;
  nativeParams: Record<string, unknown>;
  bestIteration?: number;
  importance?: number[];
  /** Deep models: one row per epoch. */
  epochs?: EpochRow[];
  /** Boosting: the early-stopping split's metric after each round. */
  rounds?: { metric: string; values: number[] };
  /** Written into config.json and carried into best_model/model.json (e.g. architecture, sampling, weights). */
  describe?: Record<string, unknown>;
}

export interface PredictOptions {
  /** Feature models: frames per video for the handcrafted features (default: the training run's). */
  numFrames?: number;
  threads: number;
  frameCacheDir?: string;
  featuresDir?: string;
  device: ComputeDevice;
  /**
   * Other saved best_model folders (an ensemble's members), loaded and checked as
   * `fvc predict` does: `check` refuses one this version cannot apply, naming it;
   * `predict` gives its P(fake) per video. Passed in, so an implementation never
   * imports the prediction code that imports the registry of implementations.
   */
  saved: { check(dir: string): void; predict(dir: string, videos: readonly string[]): Promise<Float64Array> };
}

/** What best_model/model.json holds, as predict() gets it. */
export interface BestModel {
  dir: string;
  modelType: string;
  kind: string;
  /** Absolute path of the model file. */
  modelFile: string;
  descriptor: Record<string, unknown>;
  scaler?: Scaler;
}

export interface Stage5Model<D extends FeatureData = FeatureData> {
  /** Models whose data key is equal share one loaded copy (and its checks) in a run. */
  dataKey(ctx: ModelContext): Promise<string>;
  load(ctx: ModelContext): Promise<D>;
  /** Everything besides the grid point, seed and data identity that a fold's result depends on: a change retrains. */
  settings(ctx: ModelContext): Promise<Record<string, unknown>>;
  /** A fold interrupted under the same settings continues in its folder (deep checkpoints) instead of starting clean. */
  resumable: boolean;
  fit(ctx: FoldContext<D>): Promise<FoldFit>;
  /** P(fake) per video, in input order. */
  predict(best: BestModel, videos: readonly string[], options: PredictOptions): Promise<Float64Array>;
  /**
   * A cluster job's pre-flight check when loading the data is not a check but the work
   * itself (models on deep features would extract): lines for the job log, or throws
   * naming what is missing. Absent: the engine loads the data and checks its rows,
   * classes and folds.
   */
  preflight?(ctx: ModelContext): Promise<string[]>;
  /** Refuses up front a device this model cannot use (a GPU the node lacks, an XGBoost built without CUDA). */
  checkDevice?(ctx: ModelContext): void;
  /**
   * One shard of the shared data an extraction job prepares (`only: 'extract'` with
   * `shard`): its part of the work, stored for the unsharded job that assembles it;
   * a line for the job log. Absent: the model has no such data to shard.
   */
  extractShard?(ctx: ModelContext, shard: Shard): Promise<string>;
}

/**
 * A model of any data type, as the registry and engine hold it: each implementation
 * is checked against its own data type where it is written, and D appears both as
 * input and output, so no narrower common type exists.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyStage5Model = Stage5Model<any>;

/** A catalogue entry with the implementation that trains and applies it (absent for the models still to come). */
export interface ModelSpec extends ModelEntry {
  impl?: AnyStage5Model;
}

export interface ResolvedModel {
  spec: ModelSpec;
  impl: AnyStage5Model;
  /** The output folder name: the model name, with the feature set when it is not stage2. */
  modelType: string;
  featureSet: FeatureSet;
  /** The feature set named by a suffix of the request, if any (models on deep features add those handcrafted features). */
  suffix: FeatureSet | null;
  /** Model folders that must be trained first when requested in the same run (a fold-checkpoint backbone, an ensemble's members). */
  after: string[];
}
