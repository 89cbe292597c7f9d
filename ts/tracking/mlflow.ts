/**
 * MLflow tracking of a cross-validation, as the seed logs it: one experiment per
 * model type, a parent run per cross-validation and a nested run per fold
 * (config as params, `fold` and `model_type` tags, per-epoch or per-round curves
 * as `train/*` and `val/*` at step = epoch while the fold trains, the fold's val
 * metrics at step = fold, the model files under artifacts/models, its predictions.csv
 * under artifacts/results). Tracking never fails
 * training: the first error is logged and tracking stops for that model; the
 * JSONL files stay the source of truth.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FvcError } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';
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
      gitCommit =
        execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 })
          .toString()
          .trim() || null;
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

/** A fold's MLflow run while the fold trains. */
export interface FoldRun {
  /** Metrics at step = epoch (or boosting round). */
  epoch(epoch: number, metrics: Record<string, unknown>): void;
  /** `artifacts` go under artifacts/models, `results` (the fold's predictions.csv) under artifacts/results. */
  end(metrics: Record<string, unknown>, artifacts: string[], status: RunStatus, error?: string, results?: string[]): Promise<void>;
  /** The fold was cancelled: its run ends KILLED and the fold is not counted as logged. */
  kill(): Promise<void>;
}

export const NO_FOLD_RUN: FoldRun = { epoch: () => undefined, end: async () => undefined, kill: async () => undefined };

export interface FoldLog {
  fold: number;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  artifacts: string[];
  /** Logged under artifacts/results: the fold's predictions.csv, each video by its video_id. */
  results?: string[];
  startTime: number;
  status: RunStatus;
  error?: string;
}

/**
 * What a model folder remembers of its MLflow runs (`mlflow_runs.json`), so a rerun
 * continues them instead of logging a second set: the parent run of the
 * cross-validation with the configuration it was started for, and each fold run
 * with what it logged. A fold run still `pending` was cut off by a kill while it
 * was being logged.
 */
interface RunState {
  location: string;
  experimentId: string;
  parentRunId: string;
  fingerprint: string;
  pid: number;
  host: string;
  finished: boolean;
  folds: Record<string, { runId: string; state: 'pending' | 'logged'; outcome: string }>;
}

function readState(file: string | undefined): RunState | null {
  if (!file || !existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RunState;
  } catch {
    return null; // unreadable: start afresh
  }
}

export class CrossValidationTracking {
  private disabled = false;
  private loggedNow = 0;

  private constructor(
    private readonly store: TrackingStore,
    private readonly modelType: string,
    private readonly state: RunState,
    private readonly stateFile: string | undefined,
    private readonly log: (m: string) => void,
  ) {}

  /**
   * Opens the experiment and the parent run; null (after logging why) when the store
   * cannot be reached. With `stateFile`, a parent run started for the same
   * configuration in the same store is continued (after a kill or on a rerun: folds
   * already logged are not logged again); one started for another configuration and
   * never ended is marked KILLED, as MLflow's clients mark runs whose process died.
   */
  static async start(store: TrackingStore, modelType: string, config: Record<string, unknown>, log: (m: string) => void, stateFile?: string): Promise<CrossValidationTracking | null> {
    try {
      const fingerprint = createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 16);
      const prev = readState(stateFile);
      const sameStore = prev !== null && prev.location === store.location;
      if (prev && sameStore) {
        // Fold runs cut off while being logged end as KILLED; their folds are logged again.
        for (const [fold, f] of Object.entries(prev.folds))
          if (f.state === 'pending') {
            await store.endRun(f.runId, 'KILLED', Date.now());
            delete prev.folds[fold];
          }
      }
      let state: RunState;
      if (prev && sameStore && prev.fingerprint === fingerprint) {
        state = { ...prev, pid: process.pid, host: hostname() };
        log(
          `${modelType}: MLflow run ${prev.parentRunId} continued (${prev.finished ? 'finished before' : 'left running by an interrupted run'}; ${Object.keys(prev.folds).length} fold(s) already logged)`,
        );
      } else {
        if (prev && sameStore && !prev.finished) {
          await store.endRun(prev.parentRunId, 'KILLED', Date.now());
          log(`${modelType}: MLflow run ${prev.parentRunId} of an earlier configuration never ended; marked KILLED`);
        }
        const experimentId = await store.experiment(modelType);
        const runId = await store.startRun({ experimentId, runName: `${modelType}_cv`, startTime: Date.now(), userId: userName(), tags: { ...sourceTags(), model_type: modelType } });
        await store.logBatch(runId, { params: toParams(config) });
        log(`${modelType}: MLflow run ${runId} in experiment ${experimentId} (${store.location})`);
        state = { location: store.location, experimentId, parentRunId: runId, fingerprint, pid: process.pid, host: hostname(), finished: false, folds: {} };
      }
      const t = new CrossValidationTracking(store, modelType, state, stateFile, log);
      await t.save();
      return t;
    } catch (err) {
      log(`${modelType}: MLflow tracking off for this model: ${(err as Error).message}`);
      return null;
    }
  }

  private async save(): Promise<void> {
    if (this.stateFile) await writeFileAtomic(this.stateFile, `${JSON.stringify(this.state, null, 2)}\n`);
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

  /** A fold's outcome, to recognise one already logged by an earlier run. */
  private static outcome(f: Pick<FoldLog, 'status' | 'metrics' | 'error'>): string {
    return createHash('sha256')
      .update(JSON.stringify([f.status, finiteMetrics(f.metrics, 0, 0), f.error ?? null]))
      .digest('hex')
      .slice(0, 16);
  }

  /** A fold known only by its outcome (reused from an earlier run, failed, or missing): started and ended at once. */
  fold(f: FoldLog): Promise<void> {
    return this.guard(`fold ${f.fold}`, async () => {
      // The same outcome already logged (a resumed or repeated run): nothing new to say.
      const before = this.state.folds[String(f.fold)];
      if (before?.state === 'logged' && before.outcome === CrossValidationTracking.outcome(f)) return;
      const run = await this.openFold(f.fold, f.params, f.startTime, f.error);
      await run.end(f.metrics, f.artifacts, f.status, f.error, f.results);
    });
  }

  /**
   * A fold being trained: its run is RUNNING from the start, takes each epoch's
   * metrics at step = epoch as they come, and ends with the fold's result. A run left
   * RUNNING by a killed process is marked KILLED by the next start().
   */
  async startFold(fold: number, params: Record<string, unknown>, startTime: number): Promise<FoldRun> {
    let run: FoldRun | null = null;
    await this.guard(`fold ${fold}`, async () => {
      run = await this.openFold(fold, params, startTime);
    });
    return run ?? NO_FOLD_RUN;
  }

  private async openFold(fold: number, params: Record<string, unknown>, startTime: number, error?: string): Promise<FoldRun> {
    const runId = await this.store.startRun({
      experimentId: this.state.experimentId,
      runName: `fold_${fold}`,
      startTime,
      userId: userName(),
      tags: { ...sourceTags(), 'mlflow.parentRunId': this.state.parentRunId, fold: String(fold), model_type: this.modelType, ...(error ? { error: error.slice(0, 5000) } : {}) },
    });
    this.state.folds[String(fold)] = { runId, state: 'pending', outcome: '' };
    await this.save();
    await this.store.logBatch(runId, { params: toParams(params) });
    // Epochs are logged in order, each after the one before, without holding training up.
    let queue = Promise.resolve();
    const step = (what: string, fn: () => Promise<void>) => {
      queue = queue.then(() => this.guard(`fold ${fold} ${what}`, fn));
      return queue;
    };
    return {
      epoch: (epoch, metrics) => void step(`epoch ${epoch}`, () => this.store.logBatch(runId, { metrics: finiteMetrics(metrics, epoch, Date.now()) })),
      end: (metrics, artifacts, status, err, results = []) =>
        step('end', async () => {
          if (err && !error) await this.store.logBatch(runId, { tags: { error: err.slice(0, 5000) } });
          await this.store.logBatch(runId, { metrics: finiteMetrics(metrics, fold, Date.now()) });
          for (const a of artifacts) await this.store.logArtifact(runId, a, 'models');
          for (const a of results) await this.store.logArtifact(runId, a, 'results');
          await this.store.endRun(runId, status, Date.now());
          this.state.folds[String(fold)] = { runId, state: 'logged', outcome: CrossValidationTracking.outcome({ status, metrics, ...(err ? { error: err } : {}) }) };
          this.loggedNow++;
          await this.save();
        }),
      kill: () =>
        step('end', async () => {
          await this.store.endRun(runId, 'KILLED', Date.now());
          delete this.state.folds[String(fold)];
          await this.save();
        }),
    };
  }

  /** The parent run of a cancelled cross-validation ends KILLED (the next run starts a new one for its folds). */
  kill(): Promise<void> {
    return this.guard('cancel', async () => {
      await this.store.endRun(this.state.parentRunId, 'KILLED', Date.now());
      this.state.finished = true;
      await this.save();
    });
  }

  finish(summary: Record<string, unknown>, artifacts: string[], status: RunStatus): Promise<void> {
    return this.guard('summary', async () => {
      // A rerun that found every fold logged already adds nothing to a finished run.
      if (this.state.finished && this.loggedNow === 0) return;
      await this.store.logBatch(this.state.parentRunId, { metrics: finiteMetrics(summary, 0, Date.now()) });
      for (const a of artifacts) await this.store.logArtifact(this.state.parentRunId, a, 'results');
      await this.store.endRun(this.state.parentRunId, status, Date.now());
      this.state.finished = true;
      await this.save();
    });
  }
}
