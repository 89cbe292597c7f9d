/** fvc public API. */
export { FvcError, isFvcError, type FvcErrorCode } from './errors.js';
export { probe, type ProbeOptions, type VideoInfo } from './video/probe.js';
export { sampleFrames, type Interpolation, type SampleFramesOptions, type SampledFrames } from './video/frames.js';
export { extractHandcraftedFeatures, handcraftedFeatureNames, type FeatureOptions, type VideoFeatures } from './features/handcrafted.js';
export { resolveDevice, runtimeInfo, setTorchThreads, type DeviceRequest, type RuntimeInfo } from './runtime.js';
export { generateCorpus, METADATA_COLUMNS, type CorpusClip, type CorpusOptions, type CorpusResult } from './corpus/generate.js';
export { MANIPULATIONS, type Manipulation } from './corpus/manipulations.js';
export { SOURCE_KINDS, type SourceKind } from './corpus/sources.js';
export { runDemo, type DemoOptions, type DemoSummary } from './demo.js';
export type { ProgressEvent } from './native/binding.js';
export { loadMetadata, type MetadataReport, type VideoRow } from './data/metadata.js';
export { readTable, writeParquet } from './data/table.js';
export { featureStageOutputDir, runFeatureStage, type FeatureStage, type FeatureStageOptions, type FeatureStageResult } from './stages/features-stage.js';
export { runScaleStage, scaleStageOutputDir, type ScaleStageOptions, type ScaleStageResult } from './stages/scale-stage.js';
export { scaleVideo, type ScaleOptions, type ScaledVideo } from './video/scale.js';
export { runAugmentStage, augmentStageOutputDir, type AugmentStageOptions } from './stages/augment-stage.js';
export { augmentVideo, type AugmentOptions, type AugmentParams } from './augment/augment.js';
export { drawAugmentation, copySeed, parseTransforms, TRANSFORMS, RANGES, type AugmentPolicy, type TransformName, type DrawnAugmentation } from './augment/policy.js';
