import { resolve } from 'node:path';
import { native, type NativeScaled } from '../native/binding.js';
import type { Interpolation } from './frames.js';
import { nativeFaceCrop, type FaceCrop } from './faces.js';

export interface ScaleOptions {
  /** Square side of the letterboxed output, even (default 256: the seed's fixed max dimension). */
  size?: number;
  /** x264 constant rate factor, 0-51 (default 23; lower is better quality). */
  crf?: number;
  /** x264 preset (default veryfast). */
  preset?: string;
  interpolation?: Interpolation;
  threads?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Face crops (checked by faceCrop()): each frame becomes its followed face's square, resized to size x size. */
  faces?: FaceCrop;
}

export type ScaledVideo = NativeScaled;

/**
 * Re-encode every frame of a video letterboxed into size x size, or as its face crops
 * (H.264 MP4, written atomically). Source timestamps are kept, so duration and variable frame rate survive.
 */
export function scaleVideo(path: string, output: string, options: ScaleOptions = {}): Promise<ScaledVideo> {
  const { faces, ...rest } = options;
  return native.scaleVideo({ ...rest, ...(faces ? { faces: nativeFaceCrop(faces) } : {}), path: resolve(path), output: resolve(output) });
}
