/**
 * What starting from published weights means for a run: their input preset (frames,
 * crop, frame size) under the run's own settings, their normalisation where it is not
 * the architecture's (timm's 0.5, TimeSformer's 0.45/0.225: applied to every clip the
 * weights see, in training, prediction and extraction, since inputs normalised otherwise
 * would give plausible and wrong features), and the record of which file trained a fold.
 */
import { FvcError } from '../errors.js';
import { architectureInfo, type Sampling } from '../deep/presets.js';
import { cachedRecord, publishedEntryOf } from './cache.js';
import { initialises } from './registry.js';

const close = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => Math.abs(x - (b[i] as number)) < 1e-5);

/** The sampling the weights were trained with (empty for files that are not published weights). */
export async function publishedSampling(path: string, architecture: string): Promise<Partial<Sampling>> {
  const entry = publishedEntryOf(path);
  if (!entry) return {};
  if (!initialises(entry, architecture))
    throw new FvcError(
      'ERR_INVALID_ARGUMENT',
      `${entry.id} are weights of ${[entry.architecture, ...(entry.architectures ?? [])].join(', ')}, not of ${architecture} (choose the architecture with deep.architectures, or other weights)`,
    );
  const { preset } = await architectureInfo(architecture);
  const { numFrames, cropSize, frameSize, mean, std } = entry.preset;
  const own = close(preset.mean, mean) && close(preset.std, std);
  return { ...(numFrames ? { numFrames } : {}), ...(cropSize ? { cropSize } : {}), ...(frameSize ? { frameSize } : {}), ...(own ? {} : { mean: [...mean], std: [...std] }) };
}

/** Which weights a fold starts from, for its config.json and best_model: the file, and for cached ones where it came from and how it was checked. */
export function weightsSource(path: string): Record<string, unknown> {
  const rec = cachedRecord(path);
  return rec ? { path: rec.path, name: rec.id, url: rec.url, sha256: rec.sha256, hash_checked_against: rec.check === 'unchecked' ? 'nothing: the publisher gives no hash' : rec.check } : { path };
}
