/**
 * SHA-256 of a saved model's files, recorded when the fold is trained and checked
 * before the model is applied. The model libraries read their own files on trust:
 * a flipped digit in a libsvm coefficient or an XGBoost split loads and predicts a
 * plausible wrong number, and fuzz/ found damaged files that crash liblinear, libsvm
 * and XGBoost outright. fvc's own files are therefore never handed over unchecked.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FvcError } from '../errors.js';

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * The digest of a model.json's own content (every key but this one, in the order
 * written): one changed digit in a descriptor (a feature index, a threshold) would
 * otherwise change predictions while every file it names still checks out.
 */
export function descriptorDigest(descriptor: Record<string, unknown>): string {
  const { descriptor_sha256: _own, ...rest } = descriptor;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}

/** Refuses a model.json whose content is not what was written (descriptors written before the digest load unchecked). */
export function verifyDescriptor(descriptor: Record<string, unknown>, path: string): void {
  const recorded = descriptor.descriptor_sha256;
  if (recorded === undefined) return;
  if (recorded !== descriptorDigest(descriptor))
    throw new FvcError('ERR_INVALID_DATA', `${path}: changed since it was written (its descriptor_sha256 no longer matches its content): retrain, or restore the file`);
}

/** name -> SHA-256 for each regular file among `names` in `dir` (folders, e.g. an ensemble's members, carry their own). */
export function digestFiles(dir: string, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const path = join(dir, name);
    if (statSync(path, { throwIfNoEntry: false })?.isFile()) out[name] = sha256(path);
  }
  return out;
}

/** Throws ERR_INVALID_DATA naming the first file whose bytes are not those recorded in `descriptor` (a model.json or metadata.json). */
export function verifyDigests(dir: string, recorded: unknown, descriptor: string): void {
  if (recorded === undefined) return; // saved before fvc recorded digests
  if (typeof recorded !== 'object' || recorded === null) throw new FvcError('ERR_INVALID_DATA', `${descriptor}: file_sha256 must be an object of file name -> SHA-256`);
  for (const [name, want] of Object.entries(recorded as Record<string, unknown>)) {
    const path = join(dir, name);
    let got: string;
    try {
      got = sha256(path);
    } catch (err) {
      throw new FvcError('ERR_FILE_NOT_FOUND', `${path}: cannot read the model file recorded in ${descriptor} (${(err as Error).message})`);
    }
    if (got !== want)
      throw new FvcError(
        'ERR_INVALID_DATA',
        `${path}: damaged or replaced since it was saved (its SHA-256 is ${got.slice(0, 12)}..., ${descriptor} recorded ${String(want).slice(0, 12)}...): retrain, or restore the file`,
      );
  }
}
