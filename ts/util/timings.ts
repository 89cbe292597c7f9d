/**
 * The time log: one JSON line per stage, model and fold run in `<output>/timings.jsonl`
 * (duration, peak RSS, outcome), which the `timings` analytics view and the report
 * read. Appending a line is atomic enough for one writer per output folder.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface TimingRecord {
  /** stage1 ... stage5. */
  stage: string;
  /** Stage 5: the model, and the fold (null for the model as a whole). */
  model_type?: string | null;
  fold?: number | null;
  seconds: number;
  status: 'ok' | 'failed';
  /** Videos or rows processed, where that means something. */
  items?: number | null;
}

export const TIMINGS_FILE = 'timings.jsonl';

export async function recordTiming(dir: string, r: TimingRecord): Promise<void> {
  const ended = new Date();
  const line = {
    stage: r.stage,
    model_type: r.model_type ?? null,
    fold: r.fold ?? null,
    started_at: new Date(ended.getTime() - r.seconds * 1000).toISOString(),
    ended_at: ended.toISOString(),
    seconds: r.seconds,
    // maxRSS is the process's peak so far, in KiB.
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    status: r.status,
    items: r.items ?? null,
  };
  await mkdir(dir, { recursive: true });
  await appendFile(join(dir, TIMINGS_FILE), `${JSON.stringify(line)}\n`);
}
