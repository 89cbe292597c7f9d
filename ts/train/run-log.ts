/**
 * The seed's ExperimentTracker: per run, metrics.jsonl (one JSON object per
 * logged value: run_id, timestamp, step, epoch, phase, metric, value),
 * config.json and metadata.json. metadata.json is written last and atomically:
 * its presence is what marks a run finished.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';

export type Phase = 'train' | 'val' | 'test';

export class ExperimentTracker {
  readonly runId: string;

  constructor(
    readonly dir: string,
    runId?: string,
  ) {
    this.runId = runId ?? randomUUID();
    mkdirSync(dir, { recursive: true });
  }

  logMetric(step: number, epoch: number, phase: Phase, metric: string, value: number): void {
    const line = { run_id: this.runId, timestamp: new Date().toISOString(), step, epoch, phase, metric, value };
    appendFileSync(join(this.dir, 'metrics.jsonl'), `${JSON.stringify(line)}\n`);
  }

  /** Every numeric entry of `metrics` at one step. */
  logMetrics(step: number, epoch: number, phase: Phase, metrics: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(metrics)) if (typeof v === 'number' && Number.isFinite(v)) this.logMetric(step, epoch, phase, k, v);
  }

  writeConfig(config: unknown): Promise<void> {
    return writeFileAtomic(join(this.dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  }

  writeMetadata(metadata: Record<string, unknown>): Promise<void> {
    return writeFileAtomic(join(this.dir, 'metadata.json'), `${JSON.stringify({ run_id: this.runId, timestamp: new Date().toISOString(), ...metadata }, null, 2)}\n`);
  }
}
