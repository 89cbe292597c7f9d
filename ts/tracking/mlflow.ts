/**
 * MLflow tracking of a cross-validation, as the seed logs it: one experiment per
 * model type, a parent run per cross-validation and a nested run per fold
 * (config as params, `fold` and `model_type` tags, the fold's val metrics at
 * step = fold, the model files under artifacts/models). Tracking never fails
 * training: the first error is logged and tracking stops for that model; the
 * JSONL files stay the source of truth.
 */
import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FvcError } from '../errors.js';
import { MlflowFileStore } from './file-store.js';
import { MlflowRestStore } from './rest-store.js';
import type { MlflowMetric, RunStatus, TrackingStore } from './store.js';

/** The store MLFLOW_TRACKING_URI names: http(s) -> REST; file: URI or path -> file store; unset -> ./mlruns. */
export function openTrackingStore(uri: string | undefined = process.env.MLFLOW_TRACKING_URI): TrackingStore {
  if (!uri) return new MlflowFileStore(resolve('mlruns'));
  if (/^https?:\/\//i.test(uri))
    return new MlflowRestStore(uri, {
      // MLflow's own client variables, so one setting serves both.
      ...(process.env.MLFLOW_HTTP_REQUEST_MAX_RETRIES ? { retries: Number(process.env.MLFLOW_HTTP_REQUEST_MAX_RETRIES) } : {}),
      ...(process.env.MLFLOW_HTTP_REQUEST_TIMEOUT ? { timeoutMs: Number(process.env.MLFLOW_HTTP_REQUEST_TIMEOUT) * 1000 } : {}),
      ...(process.env.MLFLOW_TRACKING_TOKEN ? { token: process.env.MLFLOW_TRACKING_TOKEN } : {}),
      ...(process.env.MLFLOW_TRACKING_USERNAME ? { username: process.env.MLFLOW_TRACKING_USERNAME, password: process.env.MLFLOW_TRACKING_PASSWORD ?? '' } : {}),
    });
  if (uri.startsWith('file:')) return new MlflowFileStore(fileURLToPath(uri));
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri) && !/^[a-z]:[\\/]/i.test(uri))
    throw new FvcError('ERR_INVALID_ARGUMENT', `MLFLOW_TRACKING_URI '${uri}': fvc writes to a file store (a path or file: URI) or an http(s) tracking server`);
  return new MlflowFileStore(uri);
}

let gitCommit: string | null | undefined;
function sourceTags(): Record<string, string> {
  if (gitCommit === undefined) {
    try {
      gitCommit = execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim() || null;
    } catch {
      gitCommit = null;
    }
  }
  return { 'mlflow.source.name': process.argv[1] ? basename(process.argv[1]) : 'fvc', 'mlflow.source.type': 'LOCAL', ...(gitCommit ? { 'mlflow.source.git.commit': gitCommit } : {}) };
}

const userName = () => {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
};

/** Flattens nested config into MLflow params ("params.C"), values cut to MLflow's 6000 characters. */
export function toParams(config: Record<string, unknown>, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) {
    if (v === undefined) continue;
    const key = `${prefix}${k}`;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, toParams(v as Record<string, unknown>, `${key}.`));
    else out[key] = (typeof v === 'string' ? v : JSON.stringify(v)).slice(0, 6000);
  }
  return out;
}

const finiteMetrics = (values: Record<string, unknown>, step: number, timestamp: number): MlflowMetric[] =>
  Object.entries(values).flatMap(([key, value]) => (typeof value === 'number' && Number.isFinite(value) ? [{ key, value, step, timestamp }] : []));

export interface FoldLog {
  fold: number;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  artifacts: string[];
  startTime: number;
  status: RunStatus;
  error?: string;
}

export class CrossValidationTracking {
  private disabled = false;

  private constructor(
    private readonly store: TrackingStore,
    private readonly modelType: string,
    private readonly experimentId: string,
    private readonly parentRunId: string,
    private readonly log: (m: string) => void,
  ) {}

  /** Opens the experiment and the parent run; null (after logging why) when the store cannot be reached. */
  static async start(store: TrackingStore, modelType: string, config: Record<string, unknown>, log: (m: string) => void): Promise<CrossValidationTracking | null> {
    try {
      const experimentId = await store.experiment(modelType);
      const runId = await store.startRun({ experimentId, runName: `${modelType}_cv`, startTime: Date.now(), userId: userName(), tags: { ...sourceTags(), model_type: modelType } });
      await store.logBatch(runId, { params: toParams(config) });
      log(`${modelType}: MLflow run ${runId} in experiment ${experimentId} (${store.location})`);
      return new CrossValidationTracking(store, modelType, experimentId, runId, log);
    } catch (err) {
      log(`${modelType}: MLflow tracking off for this model: ${(err as Error).message}`);
      return null;
    }
  }

  private async guard(what: string, fn: () => Promise<void>): Promise<void> {
    if (this.disabled) return;
    try {
      await fn();
    } catch (err) {
      this.disabled = true;
      this.log(`${this.modelType}: MLflow ${what} failed, tracking off for the rest of this model: ${(err as Error).message}`);
    }
  }

  fold(f: FoldLog): Promise<void> {
    return this.guard(`fold ${f.fold}`, async () => {
      const runId = await this.store.startRun({
        experimentId: this.experimentId,
        runName: `fold_${f.fold}`,
        startTime: f.startTime,
        userId: userName(),
        tags: { ...sourceTags(), 'mlflow.parentRunId': this.parentRunId, fold: String(f.fold), model_type: this.modelType, ...(f.error ? { error: f.error.slice(0, 5000) } : {}) },
      });
      await this.store.logBatch(runId, { params: toParams(f.params), metrics: finiteMetrics(f.metrics, f.fold, Date.now()) });
      for (const a of f.artifacts) await this.store.logArtifact(runId, a, 'models');
      await this.store.endRun(runId, f.status, Date.now());
    });
  }

  finish(summary: Record<string, unknown>, artifacts: string[], status: RunStatus): Promise<void> {
    return this.guard('summary', async () => {
      await this.store.logBatch(this.parentRunId, { metrics: finiteMetrics(summary, 0, Date.now()) });
      for (const a of artifacts) await this.store.logArtifact(this.parentRunId, a, 'results');
      await this.store.endRun(this.parentRunId, status, Date.now());
    });
  }
}
