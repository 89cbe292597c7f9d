/**
 * The seed's Stage 5 output layout, spelled in one place: <output>/<model>/fold_<k>/
 * with the fold's files, and <output>/<model>/best_model/. Training writes it, and
 * evaluation, ensembles, deep-feature models and the report read it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The files of one fold's folder. */
export const FOLD_FILES = {
  predictions: 'predictions.csv',
  metrics: 'metrics.json',
  metricsLog: 'metrics.jsonl',
  config: 'config.json',
  metadata: 'metadata.json',
  error: 'error.json',
} as const;

const FOLD_NAME = /^fold_(\d+)$/;

/** fold_<k>: the folder name of fold k (1-based). */
export const foldName = (fold: number): string => `fold_${fold}`;

/** <modelDir>/fold_<k>. */
export const foldDir = (modelDir: string, fold: number): string => join(modelDir, foldName(fold));

/** <outputDir>/<model>/fold_<k>: another model's fold, as ensembles and models on fold checkpoints read it. */
export const modelFoldDir = (outputDir: string, model: string, fold: number): string => foldDir(join(outputDir, model), fold);

/** The folds a model folder has, in fold order (fold_2 before fold_10). */
export function foldsIn(modelDir: string): number[] {
  if (!existsSync(modelDir)) return [];
  return readdirSync(modelDir)
    .map((d) => FOLD_NAME.exec(d)?.[1])
    .filter((k): k is string => k !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** Lock file name of a fold being trained, beside the fold folders. */
export const foldLockName = (fold: number): string => `.fvc-lock-${foldName(fold)}.json`;
