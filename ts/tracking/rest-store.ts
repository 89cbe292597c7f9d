/**
 * The REST API of an MLflow tracking server (`MLFLOW_TRACKING_URI=http(s)://...`):
 * experiments/get-by-name|create, runs/create, runs/log-batch (split to the
 * server's limits), runs/update, and artifacts through the server's artifact
 * proxy (PUT /api/2.0/mlflow-artifacts/artifacts/<path>). Network errors, 429
 * and 5xx are retried with exponential back-off; other errors are not.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { FvcError } from '../errors.js';
import type { MlflowMetric, RunStatus, StartRun, TrackingStore } from './store.js';

/** Per log-batch call, as the REST API documents them. */
export const LOG_BATCH_LIMITS = { metrics: 1000, params: 100, tags: 100, total: 1000 } as const;

export interface RestOptions {
  retries?: number;
  /** First back-off in ms, doubled per retry. */
  backoffMs?: number;
  timeoutMs?: number;
  /** MLFLOW_TRACKING_TOKEN, or user and password (MLFLOW_TRACKING_USERNAME / _PASSWORD). */
  token?: string;
  username?: string;
  password?: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Splits a batch so every call respects LOG_BATCH_LIMITS. */
export function splitBatch(batch: { metrics: MlflowMetric[]; params: Array<{ key: string; value: string }>; tags: Array<{ key: string; value: string }> }) {
  const calls: Array<typeof batch> = [];
  const metrics = [...batch.metrics];
  const params = [...batch.params];
  const tags = [...batch.tags];
  while (metrics.length || params.length || tags.length) {
    const p = params.splice(0, LOG_BATCH_LIMITS.params);
    const t = tags.splice(0, LOG_BATCH_LIMITS.tags);
    const m = metrics.splice(0, Math.min(LOG_BATCH_LIMITS.metrics, LOG_BATCH_LIMITS.total - p.length - t.length));
    calls.push({ metrics: m, params: p, tags: t });
  }
  return calls;
}

export class MlflowRestStore implements TrackingStore {
  private readonly base: string;
  private readonly artifactRoots = new Map<string, string>();

  constructor(
    uri: string,
    private readonly options: RestOptions = {},
  ) {
    this.base = uri.replace(/\/+$/, '');
  }

  get location(): string {
    return this.base;
  }

  private headers(json: boolean): Record<string, string> {
    const h: Record<string, string> = json ? { 'content-type': 'application/json' } : { 'content-type': 'application/octet-stream' };
    const { token, username, password } = this.options;
    if (token) h.authorization = `Bearer ${token}`;
    else if (username !== undefined) h.authorization = `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
    return h;
  }

  private async request(method: string, path: string, body?: unknown, raw?: Uint8Array): Promise<unknown> {
    const retries = this.options.retries ?? 4;
    let wait = this.options.backoffMs ?? 500;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await fetch(`${this.base}${path}`, {
          method,
          headers: this.headers(raw === undefined),
          ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 30000),
        });
        const text = await res.text();
        if (!res.ok) throw new HttpError(res.status, `${method} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
        return text ? JSON.parse(text) : {};
      } catch (err) {
        const status = err instanceof HttpError ? err.status : 0;
        const retryable = status === 0 || status === 429 || status >= 500;
        if (!retryable || attempt >= retries) {
          if (err instanceof HttpError) throw err;
          throw new FvcError('ERR_IO', `MLflow server ${this.base}: ${method} ${path}: ${(err as Error).message}`);
        }
        await sleep(wait);
        wait *= 2;
      }
    }
  }

  async experiment(name: string): Promise<string> {
    try {
      const r = (await this.request('GET', `/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`)) as { experiment: { experiment_id: string } };
      return r.experiment.experiment_id;
    } catch (err) {
      if (!(err instanceof HttpError && err.status === 404)) throw err;
    }
    const r = (await this.request('POST', '/api/2.0/mlflow/experiments/create', { name })) as { experiment_id: string };
    return r.experiment_id;
  }

  async startRun(run: StartRun): Promise<string> {
    const r = (await this.request('POST', '/api/2.0/mlflow/runs/create', {
      experiment_id: run.experimentId,
      user_id: run.userId,
      run_name: run.runName,
      start_time: run.startTime,
      tags: Object.entries({ 'mlflow.runName': run.runName, 'mlflow.user': run.userId, ...run.tags }).map(([key, value]) => ({ key, value })),
    })) as { run: { info: { run_id: string; artifact_uri?: string } } };
    const info = r.run.info;
    if (info.artifact_uri) this.artifactRoots.set(info.run_id, info.artifact_uri);
    return info.run_id;
  }

  async logBatch(runId: string, batch: { metrics?: MlflowMetric[]; params?: Record<string, string>; tags?: Record<string, string> }): Promise<void> {
    const entries = (o?: Record<string, string>) => Object.entries(o ?? {}).map(([key, value]) => ({ key, value }));
    for (const call of splitBatch({ metrics: batch.metrics ?? [], params: entries(batch.params), tags: entries(batch.tags) }))
      await this.request('POST', '/api/2.0/mlflow/runs/log-batch', { run_id: runId, ...call });
  }

  async logArtifact(runId: string, localPath: string, artifactPath: string): Promise<void> {
    const root = this.artifactRoots.get(runId);
    // A server started with --serve-artifacts hands out mlflow-artifacts:/ URIs; others
    // (s3://, gs://) need the client's own credentials, which fvc does not hold.
    const m = root ? /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(root) : null;
    if (!m) throw new FvcError('ERR_INVALID_ARGUMENT', `MLflow run ${runId}: artifact root '${root ?? '(none)'}' is not served by the tracking server (start it with --serve-artifacts)`);
    const path = [m[1]?.replace(/\/+$/, ''), artifactPath, basename(localPath)]
      .filter(Boolean)
      .map((s) => (s as string).split('/').map(encodeURIComponent).join('/'))
      .join('/');
    await this.request('PUT', `/api/2.0/mlflow-artifacts/artifacts/${path}`, undefined, await readFile(localPath));
  }

  async endRun(runId: string, status: RunStatus, endTime: number): Promise<void> {
    await this.request('POST', '/api/2.0/mlflow/runs/update', { run_id: runId, status, end_time: endTime });
  }
}
