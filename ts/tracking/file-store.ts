/**
 * MLflow's file store, written as MLflow lays it out so `mlflow ui` opens it:
 *
 *   mlruns/<experiment_id>/meta.yaml
 *   mlruns/<experiment_id>/<run_id>/meta.yaml
 *   mlruns/<experiment_id>/<run_id>/metrics/<key>   lines "timestamp_ms value step"
 *   mlruns/<experiment_id>/<run_id>/params/<key>    the value, no newline
 *   mlruns/<experiment_id>/<run_id>/tags/<key>
 *   mlruns/<experiment_id>/<run_id>/artifacts/...
 *
 * Experiment 0 ("Default") and .trash are created with the root, as MLflow does.
 * meta.yaml files are replaced atomically; metric files are appended.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { appendFile, copyFile, mkdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse, stringify } from 'yaml';
import { FvcError } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { RUN_STATUS_CODE, type MlflowMetric, type RunStatus, type StartRun, type TrackingStore } from './store.js';

/** MLflow's key rule: alphanumerics, underscores, dashes, periods, spaces and slashes, no "..". */
export function checkKey(key: string, what: string): string {
  if (!/^[\w\-. /]+$/.test(key) || key.includes('..') || key.startsWith('/')) throw new FvcError('ERR_INVALID_ARGUMENT', `MLflow ${what} name '${key}' has characters MLflow does not accept`);
  return key;
}

const yamlText = (o: Record<string, unknown>) => stringify(o, { lineWidth: 0 });

/** MLflow writes metric values as Python floats: 1 -> "1.0". */
const pyFloat = (v: number) => (Number.isInteger(v) ? `${v}.0` : Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : String(v));

export class MlflowFileStore implements TrackingStore {
  readonly root: string;
  private readonly runs = new Map<string, string>();

  constructor(root: string) {
    this.root = resolve(root);
  }

  get location(): string {
    return this.root;
  }

  private async ensureRoot(): Promise<void> {
    if (!existsSync(join(this.root, '0', 'meta.yaml'))) await this.writeExperiment('0', 'Default');
    await mkdir(join(this.root, '.trash'), { recursive: true });
  }

  private async writeExperiment(id: string, name: string): Promise<void> {
    const dir = join(this.root, id);
    await mkdir(dir, { recursive: true });
    const now = Date.now();
    await writeFileAtomic(
      join(dir, 'meta.yaml'),
      yamlText({ artifact_location: pathToFileURL(dir).href, creation_time: now, experiment_id: id, last_update_time: now, lifecycle_stage: 'active', name }),
    );
  }

  private experiments(): Array<{ id: string; name: string }> {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(this.root, d.name, 'meta.yaml')))
      .map((d) => ({ id: d.name, name: String((parse(readFileSync(join(this.root, d.name, 'meta.yaml'), 'utf8')) as { name: unknown }).name) }));
  }

  async experiment(name: string): Promise<string> {
    await this.ensureRoot();
    const found = this.experiments().find((e) => e.name === name);
    if (found) return found.id;
    // Integer ids as MLflow's, one above the largest so far.
    const id = String(
      Math.max(
        0,
        ...this.experiments()
          .map((e) => Number(e.id))
          .filter(Number.isFinite),
      ) + 1,
    );
    await this.writeExperiment(id, name);
    return id;
  }

  /** A run this store started, or one an earlier process started in the same folder (a continued run). */
  private runDir(runId: string): string {
    let dir = this.runs.get(runId);
    if (!dir && /^[0-9a-f]{32}$/.test(runId) && existsSync(this.root)) {
      const exp = readdirSync(this.root).find((e) => existsSync(join(this.root, e, runId, 'meta.yaml')));
      if (exp !== undefined) this.runs.set(runId, (dir = join(this.root, exp, runId)));
    }
    if (!dir) throw new FvcError('ERR_INVALID_ARGUMENT', `MLflow run ${runId} is not in ${this.root}`);
    return dir;
  }

  async startRun(run: StartRun): Promise<string> {
    const runId = randomUUID().replace(/-/g, '');
    const dir = join(this.root, run.experimentId, runId);
    await Promise.all(['metrics', 'params', 'tags', 'artifacts'].map((d) => mkdir(join(dir, d), { recursive: true })));
    this.runs.set(runId, dir);
    await writeFileAtomic(join(dir, 'meta.yaml'), yamlText(this.runMeta(runId, run.experimentId, dir, run.runName, run.userId, run.startTime, null, 'RUNNING')));
    await this.logBatch(runId, { tags: { 'mlflow.runName': run.runName, 'mlflow.user': run.userId, ...run.tags } });
    return runId;
  }

  private runMeta(runId: string, experimentId: string, dir: string, runName: string, userId: string, startTime: number, endTime: number | null, status: RunStatus) {
    return {
      artifact_uri: pathToFileURL(join(dir, 'artifacts')).href,
      end_time: endTime,
      entry_point_name: '',
      experiment_id: experimentId,
      lifecycle_stage: 'active',
      run_id: runId,
      run_name: runName,
      run_uuid: runId,
      source_name: '',
      source_type: 4, // LOCAL
      source_version: '',
      start_time: startTime,
      status: RUN_STATUS_CODE[status],
      tags: [],
      user_id: userId,
    };
  }

  async logBatch(runId: string, batch: { metrics?: MlflowMetric[]; params?: Record<string, string>; tags?: Record<string, string> }): Promise<void> {
    const dir = this.runDir(runId);
    const byKey = new Map<string, string[]>();
    for (const m of batch.metrics ?? []) byKey.set(checkKey(m.key, 'metric'), [...(byKey.get(m.key) ?? []), `${m.timestamp} ${pyFloat(m.value)} ${m.step}\n`]);
    for (const [key, lines] of byKey) {
      const file = join(dir, 'metrics', key);
      await mkdir(join(file, '..'), { recursive: true });
      await appendFile(file, lines.join(''));
    }
    for (const [kind, entries] of [
      ['params', batch.params],
      ['tags', batch.tags],
    ] as const)
      for (const [k, v] of Object.entries(entries ?? {})) {
        const file = join(dir, kind, checkKey(k, kind === 'params' ? 'param' : 'tag'));
        await mkdir(join(file, '..'), { recursive: true });
        await writeFileAtomic(file, v);
      }
  }

  async logArtifact(runId: string, localPath: string, artifactPath: string): Promise<void> {
    const dest = join(this.runDir(runId), 'artifacts', checkKey(artifactPath, 'artifact path'));
    await mkdir(dest, { recursive: true });
    await copyFile(localPath, join(dest, basename(localPath)));
  }

  async endRun(runId: string, status: RunStatus, endTime: number): Promise<void> {
    const dir = this.runDir(runId);
    const meta = parse(await readFile(join(dir, 'meta.yaml'), 'utf8')) as Record<string, unknown>;
    await writeFileAtomic(join(dir, 'meta.yaml'), yamlText({ ...meta, end_time: endTime, status: RUN_STATUS_CODE[status] }));
  }
}
