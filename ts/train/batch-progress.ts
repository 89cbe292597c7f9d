/**
 * What a deep fold shows while an epoch runs: a redrawn line on a terminal (batches
 * done, clips/s, data-wait share, ETA of the epoch's training passes), a plain log
 * line at most every 30 s otherwise (SLURM .out files stay readable), and the
 * `batch` event train() callers receive.
 */
import type { BatchProgress } from '../deep/train.js';
import { formatDuration } from '../util/progress.js';
import type { TrainEvent } from './events.js';

type BatchEvent = Extract<TrainEvent, { type: 'batch' }>;

/** The event of one progress report: pace and ETA from the epoch so far. */
export function batchEvent(model: string, fold: number, epochs: number, b: BatchProgress): BatchEvent {
  const perBatch = b.batch > 0 ? b.seconds / b.batch : 0;
  return {
    type: 'batch',
    model,
    fold,
    epoch: b.epoch,
    epochs,
    batch: b.batch,
    batches: b.batches,
    clipsPerSecond: b.seconds > 0 ? b.clips / b.seconds : 0,
    dataWait: b.seconds > 0 ? b.waited / b.seconds : 0,
    etaSeconds: perBatch * Math.max(0, b.batches - b.batch),
  };
}

export function batchLine(e: BatchEvent): string {
  return `${e.model} fold ${e.fold} epoch ${e.epoch}/${e.epochs}: ${e.batch}/${e.batches} batches, ${e.clipsPerSecond.toFixed(1)} clips/s, data wait ${(e.dataWait * 100).toFixed(0)}%, epoch ETA ${formatDuration(e.etaSeconds)}`;
}

/** A reporter that draws (or logs) each event; silent when quiet. */
export function batchReporter(quiet: boolean, stream: NodeJS.WriteStream = process.stderr, plainEverySeconds = 30): (e: BatchEvent) => void {
  if (quiet) return () => undefined;
  const tty = Boolean(stream.isTTY) && process.env.CI !== 'true';
  let lastPlain = 0;
  return (e) => {
    if (tty) {
      const width = 20;
      const filled = e.batches > 0 ? Math.round((e.batch / e.batches) * width) : width;
      stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${batchLine(e)}\x1b[K`);
      return;
    }
    const now = Date.now();
    if (now - lastPlain < plainEverySeconds * 1000) return;
    lastPlain = now;
    stream.write(`stage5: ${batchLine(e)}\n`);
  };
}
