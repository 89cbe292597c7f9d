import { resolve } from 'node:path';
import { native, type AugmentParams, type NativeAugmented } from '../native/binding.js';

export type { AugmentParams } from '../native/binding.js';

export interface AugmentOptions {
  threads?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Write one augmented copy of a video (H.264 MP4, atomically): the spatial
 * transforms applied to every frame with the same parameters, per-frame noise
 * from the seed, the temporal ones choosing which frames survive. Same
 * parameters and seed give the same bytes.
 */
export function augmentVideo(path: string, output: string, params: AugmentParams, options: AugmentOptions = {}): Promise<NativeAugmented> {
  return native.augmentVideo({ ...params, ...options, path: resolve(path), output: resolve(output) });
}
