/**
 * The only module that touches the native addon. Loading it costs ~0.4 s and
 * ~160 MB (LibTorch), so it is loaded on first use: `fvc --help`, config checks
 * and SLURM rendering never pay for it.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { FvcError, fromNative } from '../errors.js';
import type { DeepTrainOptions } from './deep-train-fields.js';

export interface ProgressEvent {
  stage: string;
  done: number;
  total: number;
  item?: string;
  /** A structured row where the stage has one (a deep training epoch's statistics, a batch's). */
  data?: Record<string, number | boolean | null>;
}

interface CancelToken {
  cancel(): void;
  readonly cancelled: boolean;
}

export interface NativeProbe {
  path: string;
  container: string;
  codec: string;
  profile: string;
  pixelFormat: string;
  bitDepth: number;
  colorRange: 'tv' | 'pc' | 'unknown';
  colorSpace: string;
  width: number;
  height: number;
  displayWidth: number;
  displayHeight: number;
  rotation: 0 | 90 | 180 | 270;
  avgFps: number;
  realFps: number;
  startTime: number;
  duration: number;
  frameCount: number;
  frameCountExact: boolean;
  bitrate: number;
  streamBitrate: number;
  hasAudio: boolean;
  keyframes: number[];
  keyframeSource: 'index' | 'scan';
}

export interface NativeGeometry {
  width: number;
  height: number;
  contentWidth: number;
  contentHeight: number;
  offsetX: number;
  offsetY: number;
}

export interface NativeFrames {
  path: string;
  count: number;
  width: number;
  height: number;
  data?: Buffer;
  timestamps: number[];
  targets: number[];
  warnings: string[];
  seeks: number;
  decodedFrames: number;
  failedPackets: number;
  /** Per returned frame: decoded from damaged data (its own or a reference's errors). */
  damaged: boolean[];
  decoderErrors: number;
  keyframeSource: 'index' | 'scan' | 'none';
  geometry: NativeGeometry;
  /** With face crops: frames in which a face was found, and each frame's crop square. */
  faceFrames?: number;
  faceSquares?: NativeCropSquare[];
}

export interface NativeFeatures {
  path: string;
  values: Array<number | null>;
  frames: number;
  /** Sampled frames decoded from damaged data. */
  damagedFrames: number;
  decoderErrors: number;
  warnings: string[];
}

export interface NativeScaled {
  path: string;
  output: string;
  frames: number;
  failedPackets: number;
  width: number;
  height: number;
  /** With face crops: frames in which a face was found. */
  faceFrames?: number;
}

/** The face-crop settings a native request carries (ts/video/faces.ts checks them first). */
export interface NativeFaceCrop {
  detector: 'hog' | 'yunet';
  model?: string;
  margin: number;
  upsample: number;
  detectSize: number;
  minScore: number;
}

/** A face crop's square in the source frame's pixels; `face` is false where none was found. */
export interface NativeCropSquare {
  x: number;
  y: number;
  side: number;
  face: boolean;
}

export interface NativeFaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

export interface NativeAugmented {
  path: string;
  output: string;
  sourceFrames: number;
  frames: number;
  failedPackets: number;
  width: number;
  height: number;
}

/** One augmented copy's parameters; everything absent is the identity. */
export interface AugmentParams {
  hflip?: boolean;
  cropScale?: number;
  cropX?: number;
  cropY?: number;
  rotateDeg?: number;
  brightness?: number;
  contrast?: number;
  saturation?: number;
  hue?: number;
  blurSigma?: number;
  noiseSigma?: number;
  fps?: number;
  fpsScale?: number;
  dropProb?: number;
  crf?: number;
  preset?: string;
  seed?: number;
}

export type ModelKind = 'logistic_regression' | 'svm' | 'xgboost';

export interface NativeFit {
  output: string;
  bestIteration?: number;
  bestScore?: number;
  importance?: Float64Array;
  evalHistory?: Float64Array;
}

export interface XgboostInfo {
  version: string;
  major: number;
  /** libxgboost was built with CUDA. */
  cuda: boolean;
}

/** Width multiplies channel counts; depth > 0 caps blocks per stage (small variants for tests and CPU demos). */
export interface ModelScale {
  width?: number;
  depth?: number;
}

export interface NativeModelDescription {
  name: string;
  family: string;
  description: string;
  /** What a clip holds: rgb [3, ...], rgb+flow [5, ...] (two_stream), rgb+mask [4, ...] at the frames' own aspect ratio (variable_ar_cnn), rgb+pairs [3, ...] at their own size in adjacent pairs (trace_cnn). */
  layout: ClipLayout;
  /** One clip without the batch dimension: [C, T, H, W]. */
  inputShape: number[];
  parameters: number;
  /** The input the architecture expects, as torchvision's weight transforms and PyTorchVideo's presets carry it. */
  preset: InputPreset;
  /** Columns of its feature-extraction table (pooled features; per-frame models add statistics over time); 0: not a backbone. */
  embeddingDim: number;
}

/** Frames per clip, the crop the model sees, the letterboxed frame size the cache keeps, normalisation. */
export interface InputPreset {
  numFrames: number;
  cropSize: number;
  frameSize: number;
  /** The smallest crop the architecture's layers can take. */
  minSide: number;
  mean: [number, number, number];
  std: [number, number, number];
}

export interface NativeExtraction {
  /** Row-major [clips, dim]. */
  values: Float32Array;
  dim: number;
  /** Tensors taken from the weights file. */
  loaded: number;
}

export type ClipLayout = 'rgb' | 'rgb+flow' | 'rgb+mask' | 'rgb+pairs';
/** OpenCV's dense optical flow: DIS (fast preset) or Farneback. */
export type FlowMethod = 'dis' | 'farneback';

/** Where models run: `cuda:N` is GPU N (`--gpu N`), `cuda` LibTorch's current one. */
export type ComputeDevice = 'cpu' | 'cuda' | `cuda:${number}`;

export interface NativeLogits {
  logits: Float32Array;
  shape: number[];
  /** Tensors taken from the weights file. */
  loaded: number;
  /** Head tensors left as built: the file's class count differs, or the file has no such layer (a GRU on a ViT). */
  headReplaced: string[];
}

export interface DeepClip {
  /** A frame-cache entry: uint8 .npy [N, H, W, 3]. */
  npy: string;
  label: number;
  /** rgb+flow models: the entry's flow, uint8 .npy [N, H, W, 2] (FrameCache.flow). */
  flow?: string;
}

export interface ClipInputOptions {
  numFrames?: number;
  cropSize?: number;
  augment?: boolean;
  /** The normalisation (R, G, B) where weights were trained with another than the architecture's preset; both or neither. */
  mean?: number[];
  std?: number[];
}

/** One epoch of deep training, as the trainer reports it (a value it could not compute, such as the AUC of one class, is null). */
export interface NativeEpoch {
  epoch: number;
  train_loss: number;
  val_loss: number;
  val_auc: number | null;
  val_acc: number;
  lr: number;
  seconds: number;
  /** Fraction of the epoch's training time spent waiting for batches. */
  data_wait: number;
  /** The training passes alone, without validation and checkpoints. */
  train_seconds: number;
  best: boolean;
}

export interface NativeDeepTrain {
  epochs: NativeEpoch[];
  bestEpoch: number;
  resumedFrom: number;
  stoppedEarly: boolean;
  parameters: number;
  valProbs: Float64Array;
  /** The optimiser's parameter groups: base learning rate (before warmup and schedule), weight decay, parameter names. */
  paramGroups: ParamGroup[];
}

export interface ParamGroup {
  lr: number;
  weightDecay: number;
  names: string[];
}

export interface RuntimeInfo {
  versions: Record<string, string>;
  torch: {
    cudaAvailable: boolean;
    cudaDeviceCount: number;
    threads: number;
    /** The caching CPU allocator (cpp/torch/cpu_allocator.h): blocks of 1 MiB and more reused across steps; all zero until LibTorch first runs, or with FVC_CPU_CACHE_MB=0. */
    cpuCache: { cachedBytes: number; liveBytes: number; hits: number; misses: number };
    /** ATen's build configuration (at::show_config()): compiler, CUDA runtime, cuDNN, BLAS. */
    buildConfig: string;
  };
  /** The files this process runs: LibTorch (libtorch_cpu), libxgboost and the addon itself. */
  libraries: { torch: string; xgboost: string; addon: string };
}

/** One case of a native kernel checked against LibTorch's: largest differences relative to the reference's largest magnitude. */
export interface KernelCheck {
  kernel: string;
  shape: string;
  forward: number;
  gradInput: number;
  gradWeight: number;
  /** The largest of the three. */
  largest: number;
  /** Within the native side's tolerance (1e-4). */
  ok: boolean;
}

interface CallOptions {
  cancel?: CancelToken;
  onProgress?: (e: ProgressEvent) => void;
}

interface Addon {
  CancelToken: new () => CancelToken;
  probe(o: { path: string; exact?: boolean; timeoutMs?: number } & CallOptions): Promise<NativeProbe>;
  sampleFrames(
    o: {
      path: string;
      count?: number;
      size?: number;
      letterbox?: boolean;
      interpolation?: string;
      threads?: number;
      skipNonReference?: boolean;
      seek?: boolean;
      adjacent?: boolean;
      timeoutMs?: number;
      npyPath?: string;
      pngDir?: string;
      returnData?: boolean;
      faces?: NativeFaceCrop;
    } & CallOptions,
  ): Promise<NativeFrames>;
  detectFaces(o: { frames: string; faces: NativeFaceCrop } & CallOptions): Promise<{ faces: NativeFaceBox[][]; squares: NativeCropSquare[]; faceFrames: number }>;
  readonly hasHogFaceDetector: boolean;
  handcraftedFeatures(o: { path: string; numFrames?: number; threads?: number; timeoutMs?: number } & CallOptions): Promise<NativeFeatures>;
  handcraftedFeatureNames(): string[];
  readonly handcraftedSchemaVersion: number;
  scaleVideo(
    o: { path: string; output: string; size?: number; crf?: number; preset?: string; interpolation?: string; threads?: number; timeoutMs?: number; faces?: NativeFaceCrop } & CallOptions,
  ): Promise<NativeScaled>;
  augmentVideo(o: { path: string; output: string; threads?: number; timeoutMs?: number } & AugmentParams & CallOptions): Promise<NativeAugmented>;
  fitModel(
    o: {
      kind: ModelKind;
      output: string;
      params: Record<string, string | number | boolean>;
      x: Float64Array;
      y: Float64Array;
      rows: number;
      cols: number;
      evalX?: Float64Array;
      evalY?: Float64Array;
      evalRows?: number;
    } & CallOptions,
  ): Promise<NativeFit>;
  predictModel(o: { kind: ModelKind; model: string; x: Float64Array; rows: number; cols: number; threads?: number } & CallOptions): Promise<Float64Array>;
  xgboostInfo(): XgboostInfo;
  describeModels(o: { models?: string[]; numClasses?: number } & ModelScale & CallOptions): Promise<NativeModelDescription[]>;
  modelLogits(
    o: { model: string; input: string; weights?: string; numClasses?: number; seed?: number; output?: 'logits' | 'embedding'; labels?: number[]; gradients?: string } & ModelScale & CallOptions,
  ): Promise<NativeLogits>;
  trainDeep(
    o: {
      model: string;
      train: DeepClip[];
      val: DeepClip[];
      outDir: string;
      numClasses?: number;
      weights?: string;
      resume?: boolean;
      device?: string;
      seed?: number;
      /** This process is one rank of data-parallel job number distributedJob (ts/distributed/session.ts). */
      distributedJob?: number;
    } & Partial<DeepTrainOptions> &
      ClipInputOptions &
      ModelScale &
      CallOptions,
  ): Promise<NativeDeepTrain>;
  predictClips(
    o: { model: string; checkpoint: string; clips: DeepClip[]; numClasses?: number; batchSize?: number; device?: string; mixedPrecision?: boolean } & ClipInputOptions & ModelScale & CallOptions,
  ): Promise<Float64Array>;
  extractFeatures(
    o: {
      model: string;
      clips: DeepClip[];
      weights?: string;
      checkpoint?: string;
      randomInit?: boolean;
      seed?: number;
      numClasses?: number;
      batchSize?: number;
      device?: string;
      mixedPrecision?: boolean;
      loaderThreads?: number;
    } & ClipInputOptions &
      ModelScale &
      CallOptions,
  ): Promise<NativeExtraction>;
  computeFlow(o: { frames: string; out: string; method?: FlowMethod } & CallOptions): Promise<string>;
  /** The c10d process groups this build has ("gloo", "nccl"); empty without c10d's headers at build time. */
  distributedBackends(): string[];
  /** Joins the process's rendezvous (once), waiting for every rank up to the timeout; resolves with distributedBackends(). */
  distributedInit(o: { rank: number; worldSize: number; localRank?: number; address: string; port: number; timeoutSeconds?: number } & CallOptions): Promise<string[]>;
  /** Rank 0: a job's trainDeep request (JSON) for every other rank; returns its number. */
  distributedPublish(job: string): number;
  /** Other ranks: rank 0's next job, or null when rank 0 has finished. */
  distributedNext(o: CallOptions): Promise<{ job: number; request: string } | null>;
  /** Rank 0: job `job` ended here before or without its process group; the other ranks end it with `reason`. */
  distributedAbandon(job: number, reason: string): void;
  /** Rank 0: no more jobs; resolves once the other ranks have seen that, or after waitSeconds (default 60). */
  distributedFinish(o: { waitSeconds?: number } & CallOptions): Promise<void>;
  runtimeInfo(): RuntimeInfo;
  /** The training request's scalar options as cpp/torch/deep.h declares them, for the test that compares them with ts/native/deep-train-fields.ts. */
  deepTrainFields(): Array<{ name: string; type: string; default: number | boolean; min: number; max: number }>;
  checkKernels(): KernelCheck[];
  setThreads(n: number): void;
  resolveDevice(device: string): ComputeDevice;
}

let addon: Addon | undefined;

function load(): Addon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  const root = fileURLToPath(new URL('../..', import.meta.url));
  try {
    // FVC_ADDON selects another build, e.g. one linked against a CUDA LibTorch.
    const explicit = process.env.FVC_ADDON;
    addon = (explicit ? require(explicit) : require('node-gyp-build')(root)) as Addon;
  } catch (err) {
    throw new FvcError('ERR_ADDON_LOAD', `cannot load the fvc native addon (${(err as Error).message}); run \`npm run setup\` to build it`, { cause: err });
  }
  return addon;
}

/** Run a promise-returning native call with AbortSignal and progress wiring. */
async function call<T>(fn: (a: Addon, o: CallOptions) => Promise<T>, signal?: AbortSignal, onProgress?: (e: ProgressEvent) => void): Promise<T> {
  const a = load();
  if (signal?.aborted) throw new FvcError('ERR_ABORTED', 'operation was aborted before it started');
  const token = new a.CancelToken();
  const abort = () => token.cancel();
  signal?.addEventListener('abort', abort, { once: true });
  try {
    return await fn(a, { cancel: token, ...(onProgress ? { onProgress } : {}) });
  } catch (err) {
    throw fromNative(err);
  } finally {
    signal?.removeEventListener('abort', abort);
  }
}

function sync<T>(fn: (a: Addon) => T): T {
  try {
    return fn(load());
  } catch (err) {
    throw fromNative(err);
  }
}

/**
 * LibTorch's random generator and thread settings are the process's: two seeded deep
 * calls running at once would draw from one stream in an order the scheduler picks, and
 * give results that differ from the same calls run one after the other. Seeded deep work
 * (training, logits, extraction) therefore runs one call at a time per process, in the
 * order it was asked for; feature models, decoding and prediction still run side by side.
 */
let deepQueue: Promise<void> = Promise.resolve();
function oneAtATime<T>(run: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  // Aborted already: no 'abort' event will come, and waiting for a turn would never settle.
  if (signal?.aborted) return Promise.reject(new FvcError('ERR_ABORTED', 'operation was aborted before it started'));
  const turn = deepQueue;
  let done!: () => void;
  deepQueue = new Promise<void>((r) => (done = r));
  return new Promise<T>((resolve, reject) => {
    // A call cancelled while it waits ends at once, not when the work before it ends.
    const aborted = () => reject(new FvcError('ERR_ABORTED', 'operation was aborted while it waited for the deep work before it'));
    signal?.addEventListener('abort', aborted, { once: true });
    void turn.then(async () => {
      signal?.removeEventListener('abort', aborted);
      try {
        if (signal?.aborted) reject(new FvcError('ERR_ABORTED', 'operation was aborted while it waited for the deep work before it'));
        else resolve(await run());
      } catch (err) {
        reject(err);
      } finally {
        done();
      }
    });
  });
}

export interface Signalled {
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
}

/** The addon's promise-returning calls: the ones that take an options object and return a promise. */
type AsyncName = { [K in keyof Addon]: Addon[K] extends (o: infer O) => Promise<unknown> ? (O extends CallOptions ? K : never) : never }[keyof Addon];
type Request<K extends AsyncName> = Omit<Parameters<Addon[K]>[0], keyof CallOptions> & Signalled;
type Response<K extends AsyncName> = Awaited<ReturnType<Addon[K]>>;

/**
 * One wrapper for every asynchronous request: the AbortSignal becomes the native
 * cancellation token, progress events reach onProgress, native errors become FvcErrors.
 * `serial` requests (seeded LibTorch work) wait for the one before them.
 */
function request<K extends AsyncName>(name: K, serial = false): (o: Request<K>) => Promise<Response<K>> {
  return (o) => {
    const { signal, onProgress, ...rest } = o;
    const run = () => call((a, c) => (a[name] as (x: unknown) => Promise<Response<K>>)({ ...rest, ...c }), signal, onProgress);
    return serial ? oneAtATime(run, signal) : run();
  };
}

export const native = {
  probe: request('probe'),
  sampleFrames: request('sampleFrames'),
  detectFaces: request('detectFaces'),
  handcraftedFeatures: request('handcraftedFeatures'),
  scaleVideo: request('scaleVideo'),
  augmentVideo: request('augmentVideo'),
  fitModel: request('fitModel'),
  predictModel: request('predictModel'),
  describeModels: (o: Request<'describeModels'> = {}) => request('describeModels')(o),
  modelLogits: request('modelLogits', true),
  trainDeep: request('trainDeep', true),
  predictClips: request('predictClips'),
  extractFeatures: request('extractFeatures', true),
  computeFlow: request('computeFlow'),
  distributedInit: request('distributedInit'),
  distributedNext: (o: Request<'distributedNext'> = {}) => request('distributedNext')(o),
  distributedFinish: (o: Request<'distributedFinish'> = {}) => request('distributedFinish')(o),
  distributedPublish: (job: string) => sync((a) => a.distributedPublish(job)),
  distributedAbandon: (job: number, reason: string) => sync((a) => a.distributedAbandon(job, reason)),
  distributedBackends: () => sync((a) => a.distributedBackends()),
  hasHogFaceDetector: () => sync((a) => a.hasHogFaceDetector),
  handcraftedFeatureNames: () => sync((a) => a.handcraftedFeatureNames()),
  handcraftedSchemaVersion: () => sync((a) => a.handcraftedSchemaVersion),
  xgboostInfo: () => sync((a) => a.xgboostInfo()),
  runtimeInfo: () => sync((a) => a.runtimeInfo()),
  deepTrainFields: () => sync((a) => a.deepTrainFields()),
  checkKernels: () => sync((a) => a.checkKernels()),
  setThreads: (n: number) => sync((a) => a.setThreads(n)),
  resolveDevice: (d: string) => sync((a) => a.resolveDevice(d)),
};
