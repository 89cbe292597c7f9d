/** fvc public API. */
export { FvcError, isFvcError, type FvcErrorCode } from './errors.js';
export { probe, type ProbeOptions, type VideoInfo } from './video/probe.js';
export { sampleFrames, type Interpolation, type SampleFramesOptions, type SampledFrames } from './video/frames.js';
export { detectFaces, faceCrop, FACE_DETECTORS, type CropSquare, type FaceBox, type FaceCrop, type FaceCropOptions, type FaceDetectorKind } from './video/faces.js';
export { extractHandcraftedFeatures, handcraftedFeatureNames, handcraftedSchemaVersion, type FeatureOptions, type VideoFeatures } from './features/handcrafted.js';
export { checkNativeKernels, resolveDevice, runtimeInfo, setTorchThreads, type DeviceRequest, type KernelCheck, type RuntimeInfo } from './runtime.js';
export { generateCorpus, METADATA_COLUMNS, type CorpusClip, type CorpusOptions, type CorpusResult } from './corpus/generate.js';
export { DEFAULT_MANIPULATIONS, MANIPULATIONS, type Manipulation } from './corpus/manipulations.js';
export { SOURCE_KINDS, type SourceKind } from './corpus/sources.js';
export { runDemo, type DemoOptions, type DemoSummary } from './demo.js';
export { runPipeline, type PipelineOptions, type PipelineResult, type StageRun } from './pipeline/runner.js';
export { STAGES, DEPENDENCIES, stageArgs, stageDirs, type StageName, type PipelineConfig } from './pipeline/dag.js';
export { renderAirflowDag, writeAirflowDag, type AirflowOptions } from './pipeline/airflow.js';
export type { ProgressEvent } from './native/binding.js';
export { loadMetadata, type MetadataReport, type VideoRow } from './data/metadata.js';
export { readTable, writeParquet } from './data/table.js';
export { featureStageOutputDir, runFeatureStage, type FeatureStage, type FeatureStageOptions, type FeatureStageResult } from './stages/features-stage.js';
export type { ShardOptions, StageProgress, StageResult } from './stages/per-video.js';
export { parseShard, type Shard } from './util/shard.js';
export { runScaleStage, scaleStageOutputDir, type ScaleStageOptions, type ScaleStageResult } from './stages/scale-stage.js';
export { scaleVideo, type ScaleOptions, type ScaledVideo } from './video/scale.js';
export { runAugmentStage, augmentStageOutputDir, type AugmentStageOptions } from './stages/augment-stage.js';
export { augmentVideo, type AugmentOptions, type AugmentParams } from './augment/augment.js';
export { drawAugmentation, copySeed, parseTransforms, TRANSFORMS, RANGES, type AugmentPolicy, type TransformName, type DrawnAugmentation } from './augment/policy.js';
export { FrameCache, frameCacheDir, type CacheEntry, type FrameSampling, type StaleEntry } from './cache/frame-cache.js';
export { buildFrameCache, type BuildFrameCacheOptions, type BuildFrameCacheResult } from './cache/build.js';
export { hashFile } from './cache/content-hash.js';
export { train, checkTraining, type TrainResult, type ModelSummary, type FoldResult, type TrainingCheck } from './train/engine.js';
export type { TrainEvent, TrainHooks } from './train/events.js';
export { TrainConfigSchema, resolveConfig, type TrainConfig, type TrainConfigInput } from './train/config.js';
export {
  MODELS,
  ALL_MODELS,
  resolveModel,
  registerModel,
  gridPoints,
  isBuilt,
  suggest,
  FEATURE_SETS,
  type ModelSpec,
  type FeatureSet,
  type ModelName,
  type ModelRequest,
  type CustomModels,
  type Family,
  type Input,
  type GridValue,
} from './train/registry.js';
export type { Stage5Model, AnyStage5Model, FoldContext, FoldFit, ModelContext, BestModel, PredictOptions } from './train/model.js';
export type { FeatureData } from './train/dataset.js';
export { extractEmbeddings, featuresDir, embeddingColumns, type ExtractionRequest, type ExtractionResult, type WeightsSource } from './extract/store.js';
export { architectureInfo, samplingFor, type Sampling } from './deep/presets.js';
export { allWeights, findWeights, registerWeights, type PublishedWeights, type WeightsPreset } from './weights/registry.js';
export { fetchWeights, fvcHome, listCached, resolveWeightsOption, weightsCacheDir, weightsSpec, type CachedWeights, type WeightsSpec } from './weights/cache.js';
export { copyId, VIDEO_ID, videoIds } from './data/video-id.js';
export {
  computeMetrics,
  rocAuc,
  averagePrecision,
  equalErrorRate,
  logLoss,
  videoLevel,
  rocCurve,
  prCurve,
  tprAtFpr,
  brierScore,
  expectedCalibrationError,
  type Metrics,
} from './evaluation/metrics.js';
export { delongTest, bootstrapInterval, normalSf, type DelongResult, type BootstrapOptions } from './evaluation/stats.js';
export { compareModels, outOfFoldPredictions, type Comparison } from './evaluation/compare.js';
export { chanceLine, chanceVerdict, type ChanceVerdict } from './evaluation/chance.js';
export { loadRunConfig, trainOptionsOf, RunConfigSchema, type RunConfig } from './config/run-config.js';
export { stratifiedGroupKFold, checkFolds, type Fold } from './train/folds.js';
export { ExperimentTracker } from './train/run-log.js';
export { predictVideos, loadModel, type PredictVideosOptions } from './train/predict.js';
export { evaluate, type EvaluateOptions, type Evaluation } from './train/evaluate.js';
export { subgroupMetrics, type Subgroup } from './evaluation/subgroups.js';
export { openTrackingStore, CrossValidationTracking } from './tracking/mlflow.js';
export { MlflowFileStore } from './tracking/file-store.js';
export { MlflowRestStore, LOG_BATCH_LIMITS } from './tracking/rest-store.js';
export type { TrackingStore, MlflowMetric, RunStatus } from './tracking/store.js';
export { Analytics, VIEWS, type AnalyticsSources, type QueryResult } from './analytics/analytics.js';
export { generatePlots, type PlotsOptions, type PlotsResult } from './plots/plots.js';
export { renderPng, renderSvg } from './plots/render.js';
export { buildReport, type ReportOptions } from './report/report.js';
export { recordTiming, type TimingRecord } from './util/timings.js';
export { submit, submissionStatus, waitForSubmission, cancelSubmission, renderSubmission, submissionDir, type SubmissionStatus, type JobStatus, type Submitted } from './slurm/submission.js';
export { planSubmission, type SlurmConfig, type PlannedJob } from './slurm/plan.js';
export { loadResourceConfig, parseResourceConfig, MODEL_DEFAULTS, STAGE_DEFAULTS, type JobResources, type ResourceConfig } from './slurm/resources.js';
// Data-parallel folds: which rank a process is, the local launcher, and a rank's part (README "Past one GPU").
export { firstHost, rankFromEnvironment, DEFAULT_TIMEOUT_SECONDS, type RankInfo } from './distributed/environment.js';
export { launchLocal, type LaunchOptions, type LaunchResult } from './distributed/launch.js';
export { currentRank, finishRendezvous, followRankZero, joinRendezvous } from './distributed/session.js';
