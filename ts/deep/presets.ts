/**
 * Each architecture's own input (frames, crop, frame size, normalisation) comes
 * from the native registry, the one place it is written; run settings override
 * it field by field.
 */
import type { ClipLayout, InputPreset } from '../native/binding.js';
import { describeDeepModels } from './architectures.js';

export interface ArchitectureInfo {
  preset: InputPreset;
  layout: ClipLayout;
}

const known = new Map<string, Promise<ArchitectureInfo>>();

export function architectureInfo(architecture: string): Promise<ArchitectureInfo> {
  let p = known.get(architecture);
  if (!p) {
    // Described at a tiny width: the preset does not depend on it, and building the full model would cost seconds.
    p = describeDeepModels({ models: [architecture], scale: { width: 0.05, depth: 1 } }).then(([d]) => {
      if (!d) throw new Error(`no description for ${architecture}`);
      return { preset: d.preset, layout: d.layout };
    });
    known.set(architecture, p);
  }
  return p;
}

/**
 * The sampling a clip is cached and cut with: the preset, each field overridden where
 * set; `mean`/`std` only where weights were trained with another normalisation than
 * the architecture's (absent otherwise, so settings and keys written before stay valid).
 */
export interface Sampling {
  numFrames: number;
  cropSize: number;
  frameSize: number;
  mean?: number[];
  std?: number[];
}

export async function samplingFor(architecture: string, overrides: Partial<Sampling>): Promise<Sampling> {
  const { preset } = await architectureInfo(architecture);
  return {
    numFrames: overrides.numFrames ?? preset.numFrames,
    cropSize: overrides.cropSize ?? preset.cropSize,
    frameSize: overrides.frameSize ?? preset.frameSize,
    ...(overrides.mean && overrides.std ? { mean: overrides.mean, std: overrides.std } : {}),
  };
}
