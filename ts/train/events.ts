/**
 * What train() tells its caller while it runs (in the spirit of Lightning's callbacks):
 * typed events per model, fold and epoch, and an AbortSignal that stops it between
 * epochs or folds, leaving what finished (and the deep folds' last checkpoints) for a
 * rerun to resume.
 */
import type { EpochRow } from '../deep/train.js';
import type { FoldResult } from './engine.js';

export type TrainEvent =
  | { type: 'model-start'; model: string; folds: number }
  | { type: 'fold-start'; model: string; fold: number; folds: number }
  | { type: 'epoch'; model: string; fold: number; epoch: EpochRow }
  | { type: 'fold-end'; model: string; fold: number; folds: number; status: 'trained' | 'reused' | 'failed'; metrics?: FoldResult; error?: string; seconds: number; etaSeconds: number | null }
  | { type: 'model-end'; model: string; trained: number; failed: number; seconds: number };

export interface TrainHooks {
  /** Stops training between epochs or folds (ERR_ABORTED); finished folds stay on disk for a rerun to reuse. */
  signal?: AbortSignal;
  onProgress?: (event: TrainEvent) => void;
}
