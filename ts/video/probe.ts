import { resolve } from 'node:path';
import { native, type NativeProbe } from '../native/binding.js';

export type VideoInfo = NativeProbe;

export interface ProbeOptions {
  /** Demux every packet: exact frame count and keyframe times (reads the whole file, decodes nothing). */
  exact?: boolean;
  /** Give up after this many milliseconds (ERR_TIMEOUT). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Container and stream facts of one video, read through libav. */
export function probe(path: string, options: ProbeOptions = {}): Promise<VideoInfo> {
  return native.probe({
    path: resolve(path),
    ...(options.exact !== undefined ? { exact: options.exact } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}
