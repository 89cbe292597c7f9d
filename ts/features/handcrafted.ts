/**
 * Stage 2 / Stage 4 handcrafted features of one video, computed natively over N
 * uniformly sampled frames at native resolution (see README "Handcrafted features"
 * for every definition). The schema is fixed: names and order never depend on the
 * video, and a value that cannot be computed is null, not 0 or NaN.
 */
import { resolve } from 'node:path';
import { native } from '../native/binding.js';

export interface FeatureOptions {
  /** Frames sampled uniformly across the duration (default 8; FVC_NUM_FRAMES in pipelines). */
  numFrames?: number;
  /** Decoder threads for this video (default 1: stages run videos in parallel instead). */
  threads?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface VideoFeatures {
  path: string;
  /** Feature name -> value; null where it cannot be computed. */
  features: Record<string, number | null>;
  /** The same values in schema order. */
  values: Array<number | null>;
  frames: number;
  /** Sampled frames decoded from damaged data (decoder errors or concealment): their features may be off. */
  damagedFrames: number;
  warnings: string[];
}

/** The fixed Stage 2 feature schema, in storage order. */
export function handcraftedFeatureNames(): string[] {
  return native.handcraftedFeatureNames();
}

/**
 * The version of that schema: 2 added the local statistics (README "Local features").
 * Stage outputs record it, and a stage rerun recomputes videos of another version.
 */
export function handcraftedSchemaVersion(): number {
  return native.handcraftedSchemaVersion();
}

export async function extractHandcraftedFeatures(path: string, options: FeatureOptions = {}): Promise<VideoFeatures> {
  const r = await native.handcraftedFeatures({ path: resolve(path), ...options });
  const names = native.handcraftedFeatureNames();
  return {
    path: r.path,
    features: Object.fromEntries(names.map((n, i) => [n, r.values[i] ?? null])),
    values: r.values,
    frames: r.frames,
    damagedFrames: r.damagedFrames,
    warnings: r.warnings,
  };
}
