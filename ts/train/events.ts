/**
 * What train() tells its caller while it runs (in the spirit of Lightning's callbacks):
 * typed events per model, grid-search candidate, fold, epoch and (throttled) batch,
 * and an AbortSignal that stops it between candidates, batches or folds, leaving what finished (and the deep folds' last checkpoints) for a
 * rerun to resume.
 */
import type { EpochRow } from '../deep/train.js';

/** One fold's validation metrics, as metrics.json and the fold-end event carry them. */
export interface FoldResult {
  fold: number;
  val_acc: number;
  val_f1: number;
  val_precision: number;
  val_recall: number;
  val_auc: number | null;
  val_ap: number | null;
  val_eer: number | null;
  val_loss: number;
  [metric: string]: number | null;
}
import type { GridValue } from './spec.js';

export type TrainEvent =
  | { type: 'model-start'; model: string; folds: number }
  | { type: 'fold-start'; model: string; fold: number; folds: number }
  | { type: 'grid-candidate'; model: string; candidate: number; candidates: number; params: Record<string, GridValue>; metric: string; mean: number; std: number; foldScores: number[] }
  | { type: 'epoch'; model: string; fold: number; epoch: EpochRow }
  | {
      type: 'batch';
      model: string;
      fold: number;
      epoch: number;
      epochs: number;
      /** Forward passes (micro-batches) done of the epoch's. */
      batch: number;
      batches: number;
      clipsPerSecond: number;
      /** Share of the epoch's training time so far spent waiting for batches. */
      dataWait: number;
      /** Seconds left in this epoch's training passes at the pace so far (validation not included). */
      etaSeconds: number;
    }
  | { type: 'fold-end'; model: string; fold: number; folds: number; status: 'trained' | 'reused' | 'failed'; metrics?: FoldResult; error?: string; seconds: number; etaSeconds: number | null }
  | { type: 'model-end'; model: string; trained: number; failed: number; seconds: number };

export interface TrainHooks {
  /** Stops training between epochs or folds (ERR_ABORTED); finished folds stay on disk for a rerun to reuse. */
  signal?: AbortSignal;
  onProgress?: (event: TrainEvent) => void;
}
