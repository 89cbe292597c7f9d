/**
 * A fold's model as a self-contained folder (best_model/, an ensemble's members):
 * its files plus model.json, everything predict() needs without the run around it.
 */
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tempName, writeFileAtomic } from '../util/fs.js';
import type { ResolvedModel } from './model.js';
import { descriptorDigest, verifyDigests } from './model-digest.js';

/** Keys of a fold's config.json that are the run's bookkeeping, not what predict() needs. */
const BOOKKEEPING = new Set(['model_type', 'model_id', 'family', 'feature_set', 'params', 'seed', 'n_splits', 'fold', 'feature_names', 'data_source', 'num_frames', 'config_hash', 'settings']);

/** best_model/: the best fold's files plus model.json, everything `predict` needs (an ensemble exports its members' folds the same way). */
export async function exportFoldModel(foldDir: string, out: string, model: ResolvedModel): Promise<void> {
  const meta = JSON.parse(await readFile(join(foldDir, 'metadata.json'), 'utf8')) as {
    model_file: string;
    extra_files?: string[];
    kind: string;
    params: unknown;
    fold: number;
    file_sha256?: Record<string, string>;
  };
  const config = JSON.parse(await readFile(join(foldDir, 'config.json'), 'utf8')) as Record<string, unknown> & { feature_names: string[]; num_frames?: unknown };
  // A fold file changed since training is never carried into a model folder.
  verifyDigests(foldDir, meta.file_sha256, join(foldDir, 'metadata.json'));
  const tmp = tempName(out);
  await mkdir(tmp, { recursive: true });
  for (const f of [meta.model_file, ...(meta.extra_files ?? [])]) await cp(join(foldDir, f), join(tmp, f), { recursive: true });
  if (existsSync(join(foldDir, 'scaler.json'))) await copyFile(join(foldDir, 'scaler.json'), join(tmp, 'scaler.json'));
  const described = Object.fromEntries(Object.entries(config).filter(([k]) => !BOOKKEEPING.has(k)));
  const descriptor = {
    model_type: model.modelType,
    model_id: model.spec.id,
    kind: meta.kind,
    model_file: meta.model_file,
    feature_set: model.featureSet,
    feature_names: config.feature_names,
    num_frames: config.num_frames ?? null,
    params: meta.params,
    fold: meta.fold,
    ...(meta.file_sha256 ? { file_sha256: meta.file_sha256 } : {}),
    ...described,
  };
  await writeFileAtomic(join(tmp, 'model.json'), `${JSON.stringify({ ...descriptor, descriptor_sha256: descriptorDigest(descriptor) }, null, 2)}\n`);
  await rm(out, { recursive: true, force: true });
  await rename(tmp, out);
}
