/**
 * One fold of a deep model: the native trainer (LibTorch, off the JS thread) on
 * frame-cache clips, epochs streamed back as they finish, and inference with a
 * saved checkpoint.
 */
import type { FaceCrop } from '../video/faces.js';
import { native, type ComputeDevice, type DeepClip, type ModelScale, type NativeEpoch, type ParamGroup, type ProgressEvent } from '../native/binding.js';
import { currentRank, trainAsJob } from '../distributed/session.js';
import { setTorchThreads } from '../runtime.js';
import type { DeepTrainOptions } from '../native/deep-train-fields.js';

/** The trainer's options (ts/native/deep-train-fields.ts declares them; unset: the native default) and how clips are made. */
export interface DeepOptions extends Partial<DeepTrainOptions> {
  /** Frames per clip given to the model (uniform over the cached frames). */
  numFrames: number;
  /** Side of the square crop the model sees; frames are cached letterboxed at frameSize. */
  cropSize: number;
  frameSize: number;
  augment: boolean;
  /** The weights' normalisation where it is not the architecture's (ts/weights/preset.ts). */
  mean?: number[];
  std?: number[];
  scale: ModelScale;
  /** .safetensors to start from (then the backbone trains at lrBackbone). */
  weights?: string;
  /** Clips are face crops (ts/video/faces.ts); this shapes the frame cache only, and travels with best_model. */
  faces?: FaceCrop;
}

export type EpochRow = NativeEpoch;

/** Progress inside an epoch's training passes (at most every half second, and after its last batch). */
export interface BatchProgress {
  epoch: number;
  /** Forward passes (micro-batches) done of the epoch's. */
  batch: number;
  batches: number;
  /** Clips seen so far this epoch. */
  clips: number;
  /** Seconds of training passes so far, and of them waiting for batches. */
  seconds: number;
  waited: number;
}

export interface DeepFoldResult {
  epochs: EpochRow[];
  bestEpoch: number;
  resumedFrom: number;
  stoppedEarly: boolean;
  parameters: number;
  valProbs: Float64Array;
  /** The optimiser's parameter groups: base learning rate, weight decay, parameter names. */
  paramGroups: ParamGroup[];
}

export async function trainDeepFold(o: {
  architecture: string;
  train: DeepClip[];
  val: DeepClip[];
  outDir: string;
  options: DeepOptions;
  seed: number;
  threads: number;
  device: ComputeDevice;
  resume: boolean;
  onEpoch?: (e: EpochRow) => void;
  onBatch?: (b: BatchProgress) => void;
  signal?: AbortSignal;
}): Promise<DeepFoldResult> {
  // In a data-parallel run (ts/distributed), rank 0 trains every fold with the other ranks, each on its node's share of the cores.
  const rank = currentRank();
  setTorchThreads(rank ? rank.threads : o.threads);
  // DeepOptions are named as the native trainer's fields; frameSize only shaped the cache.
  const { frameSize: _cached, faces: _faces, scale, ...d } = o.options;
  const request = { ...d, ...scale, model: o.architecture, train: o.train, val: o.val, outDir: o.outDir, resume: o.resume, device: o.device, seed: o.seed };
  const callbacks = {
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onEpoch || o.onBatch
      ? {
          onProgress: (e: ProgressEvent) => {
            if (!e.data) return;
            if (e.stage === 'epoch') o.onEpoch?.(e.data as unknown as EpochRow);
            else if (e.stage === 'batch') o.onBatch?.({ ...(e.data as unknown as Omit<BatchProgress, 'batch' | 'batches'>), batch: e.done, batches: e.total });
          },
        }
      : {}),
  };
  if (rank) return trainAsJob(request, (distributedJob) => native.trainDeep({ ...request, ...callbacks, distributedJob }));
  return native.trainDeep({ ...request, ...callbacks });
}

export async function predictDeepClips(o: {
  architecture: string;
  checkpoint: string;
  clips: DeepClip[];
  options: Pick<DeepOptions, 'numFrames' | 'cropSize' | 'scale' | 'batchSize' | 'mixedPrecision' | 'mean' | 'std'>;
  threads: number;
  device: ComputeDevice;
}): Promise<Float64Array> {
  setTorchThreads(o.threads);
  const { numFrames, cropSize, batchSize, mixedPrecision, mean, std } = o.options;
  return native.predictClips({
    model: o.architecture,
    checkpoint: o.checkpoint,
    clips: o.clips,
    numFrames,
    cropSize,
    batchSize,
    device: o.device,
    ...(mixedPrecision === undefined ? {} : { mixedPrecision }),
    ...(mean && std ? { mean, std } : {}),
    ...o.options.scale,
  });
}
