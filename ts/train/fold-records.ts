/**
 * What a fold folder records, read and written here only: whether it finished under
 * a configuration (metadata.json), why it failed (error.json), the epochs its
 * metrics.jsonl holds, the configuration a checkpoint was trained under (config.json)
 * and its out-of-fold predictions. The paths come from ts/evaluation/fold-layout.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FOLD_FILES } from '../evaluation/fold-layout.js';
import { parseCsv } from '../util/csv.js';
import { writeFileAtomic } from '../util/fs.js';
import type { FoldResult } from './events.js';

const readJsonOr = (path: string): Record<string, unknown> | undefined => {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};

/** The configuration hash the fold's config.json was written under, if any. */
export const foldConfigHash = (foldDir: string): unknown => readJsonOr(join(foldDir, FOLD_FILES.config))?.config_hash;

/** A fold finished earlier under the same configuration: its row and model files; null otherwise. */
export function finishedFold(foldDir: string, configHash: string): { row: FoldResult; files: string[] } | null {
  const meta = join(foldDir, FOLD_FILES.metadata);
  if (!existsSync(meta)) return null;
  const m = JSON.parse(readFileSync(meta, 'utf8')) as FoldResult & { config_hash?: string; model_file?: string; extra_files?: string[] };
  if (m.config_hash !== configHash) return null;
  const row = Object.fromEntries(Object.entries(m).filter(([k]) => k === 'fold' || k.startsWith('val_'))) as FoldResult;
  const files = [m.model_file, ...(m.extra_files ?? []), 'scaler.json']
    .filter((f): f is string => !!f)
    .map((f) => join(foldDir, f))
    .filter((f) => existsSync(f));
  return { row, files };
}

/** Why a fold has no result: its error.json, else that it never ran. */
export function foldFailure(foldDir: string): string {
  try {
    return (JSON.parse(readFileSync(join(foldDir, FOLD_FILES.error), 'utf8')) as { message: string }).message;
  } catch {
    return 'not trained (no metadata.json from this configuration)';
  }
}

/** error.json: what failed, for `foldFailure` and for the user. */
export async function writeFoldError(foldDir: string, e: Error, config: Record<string, unknown>): Promise<void> {
  await mkdir(foldDir, { recursive: true });
  await writeFileAtomic(join(foldDir, FOLD_FILES.error), `${JSON.stringify({ message: e.message, code: (e as { code?: string }).code, stack: e.stack, config }, null, 2)}\n`);
}

/** Epochs a resumed fold's metrics.jsonl already holds (each is logged once). */
export function loggedEpochs(foldDir: string): Set<number> {
  const file = join(foldDir, FOLD_FILES.metricsLog);
  if (!existsSync(file)) return new Set();
  const epochs = readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line) => {
      try {
        const m = JSON.parse(line) as { epoch?: number; phase?: string };
        return m.phase === 'train' && typeof m.epoch === 'number' && m.epoch > 0 ? [m.epoch] : [];
      } catch {
        return []; // a line cut by a kill
      }
    });
  return new Set(epochs);
}

/** The fold's out-of-fold labels and probabilities (predictions.csv); empty when it has none. */
export function foldPredictionColumns(foldDir: string): { labels: number[]; probs: number[] } {
  const file = join(foldDir, FOLD_FILES.predictions);
  const lines = existsSync(file) ? parseCsv(readFileSync(file, 'utf8')) : [];
  return { labels: lines.map((l) => Number(l.label)), probs: lines.map((l) => Number(l.prob)) };
}
