/**
 * What starting from published weights means for a run: their input preset (frames,
 * crop, frame size) under the run's own settings, a refusal when they were trained
 * with another normalisation than the architecture applies (the features would be
 * plausible and wrong), and the record of which file trained a fold.
 */
import { FvcError } from '../errors.js';
import { architectureInfo, type Sampling } from '../deep/presets.js';
import { cachedRecord, publishedEntryOf } from './cache.js';

const close = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => Math.abs(x - (b[i] as number)) < 1e-5);

/** The sampling the weights were trained with (empty for files that are not published weights). */
export async function publishedSampling(path: string, architecture: string): Promise<Partial<Sampling>> {
  const entry = publishedEntryOf(path);
  if (!entry) return {};
  if (entry.architecture !== architecture)
    throw new FvcError('ERR_INVALID_ARGUMENT', `${entry.id} are weights of ${entry.architecture}, not of ${architecture} (choose the architecture with deep.architectures, or other weights)`);
  const { preset } = await architectureInfo(architecture);
  if (!close(preset.mean, entry.preset.mean) || !close(preset.std, entry.preset.std))
    throw new FvcError(
      'ERR_INVALID_ARGUMENT',
      `${entry.id} were trained on inputs normalised with mean ${entry.preset.mean.join('/')} and std ${entry.preset.std.join('/')}, but fvc's ${architecture} normalises with ${preset.mean.map((v) => v.toFixed(4)).join('/')} and ${preset.std.map((v) => v.toFixed(4)).join('/')}: refused, since every feature would be shifted`,
    );
  const { numFrames, cropSize, frameSize } = entry.preset;
  return { ...(numFrames ? { numFrames } : {}), ...(cropSize ? { cropSize } : {}), ...(frameSize ? { frameSize } : {}) };
}

/** Which weights a fold starts from, for its config.json and best_model: the file, and for cached ones where it came from and how it was checked. */
export function weightsSource(path: string): Record<string, unknown> {
  const rec = cachedRecord(path);
  return rec ? { path: rec.path, name: rec.id, url: rec.url, sha256: rec.sha256, hash_checked_against: rec.check === 'unchecked' ? 'nothing: the publisher gives no hash' : rec.check } : { path };
}
