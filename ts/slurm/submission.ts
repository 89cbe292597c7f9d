/**
 * A submission on disk and its life on the cluster:
 *
 *   <dir>/plan.json        the jobs, their dependencies, resources and log paths
 *   <dir>/scripts/*.sbatch one script per job, readable before anything is submitted
 *   <dir>/submit.sh        the coordinator (sbatch in dependency order)
 *   <dir>/jobs.tsv         job ids, written by submit.sh as it goes
 *   <dir>/tasks/           raw job id of each fold-array task, written by the task
 *
 * `status` asks squeue about queued and running jobs and sacct about finished ones
 * (`sacct -c`, which reads the job-completion file, where there is no slurmdbd).
 */
import { checkNodes, requireCuda } from './node-check.js';
import { resolveWeightsOption } from '../weights/cache.js';
import { chmod, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FvcError } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { planSubmission, type JobKind, type PlannedJob, type SlurmConfig } from './plan.js';
import { runTool, slurm } from './tools.js';

export const SUBMISSIONS_DIR = join('.fvc', 'slurm');

/** Where a submission lives: the given folder, else .fvc/slurm/<name>. */
export function submissionDir(o: { dir?: string; name?: string }): string {
  return resolve(o.dir ?? join(SUBMISSIONS_DIR, o.name ?? 'fvc'));
}

interface PlanFile {
  name: string;
  project_dir: string;
  created: string;
  config: SlurmConfig;
  jobs: Array<Omit<PlannedJob, 'script'> & { script: string }>;
}

/** Writes every script, the coordinator and plan.json; submits nothing. */
export async function renderSubmission(c: SlurmConfig, dir: string): Promise<PlanFile> {
  const plan = planSubmission(c, dir);
  await mkdir(join(plan.dir, 'scripts'), { recursive: true });
  // Scripts of an earlier plan (other models) must not linger beside the new ones.
  for (const f of await readdir(join(plan.dir, 'scripts'))) if (f.endsWith('.sbatch')) await rm(join(plan.dir, 'scripts', f), { force: true });
  for (const j of plan.jobs) await writeFileAtomic(join(plan.dir, 'scripts', `${j.name}.sbatch`), j.script);
  await writeFileAtomic(join(plan.dir, 'submit.sh'), plan.coordinator);
  await chmod(join(plan.dir, 'submit.sh'), 0o755);
  const file: PlanFile = {
    name: plan.name,
    project_dir: plan.projectDir,
    created: new Date().toISOString(),
    config: c,
    jobs: plan.jobs.map((j) => ({ ...j, script: join(plan.dir, 'scripts', `${j.name}.sbatch`) })),
  };
  await writeFileAtomic(join(plan.dir, 'plan.json'), `${JSON.stringify(file, null, 2)}\n`);
  return file;
}

async function readPlan(dir: string): Promise<PlanFile> {
  const path = join(dir, 'plan.json');
  if (!existsSync(path)) throw new FvcError('ERR_FILE_NOT_FOUND', `${path}: no such submission (fvc slurm submit writes it; --name or --dir picks another)`);
  return JSON.parse(await readFile(path, 'utf8')) as PlanFile;
}

/** Job ids by job name: complete after a submission, partial after one that failed half way. */
async function readJobIds(dir: string): Promise<Map<string, string>> {
  for (const f of ['jobs.tsv', 'jobs.tsv.partial']) {
    const path = join(dir, f);
    if (!existsSync(path)) continue;
    const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
    return new Map(lines.map((l) => l.split('\t') as [string, string]));
  }
  return new Map();
}

/** Ids (with array tasks as 12_3) still known to squeue, with their state and reason. */
async function queued(ids: readonly string[]): Promise<Map<string, { state: string; reason: string; elapsed: string }>> {
  const out = new Map<string, { state: string; reason: string; elapsed: string }>();
  if (!ids.length) return out;
  const r = await runTool('squeue', ['-h', '-r', '-j', ids.join(','), '-o', '%i|%T|%r|%M']);
  // Older SLURM answers "Invalid job id" when none of the ids is still queued.
  if (r.code !== 0 && !/invalid job id/i.test(r.stderr)) throw new FvcError('ERR_SLURM', `squeue failed: ${r.stderr.trim()}`);
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const [id, state, reason, elapsed] = line.split('|') as [string, string, string, string];
    out.set(id, { state, reason, elapsed });
  }
  return out;
}

interface Accounted {
  jobId: string;
  raw: string;
  state: string;
  exitCode: string;
  elapsed: string;
}

/** Finished jobs from sacct; without slurmdbd, from the job-completion file (`sacct -c`). */
async function accounted(ids: readonly string[]): Promise<Accounted[]> {
  if (!ids.length) return [];
  const args = ['-n', '-P', '-X', '-j', ids.join(','), '-o', 'JobID,JobIDRaw,State,ExitCode,Elapsed'];
  let r = await runTool('sacct', args);
  if (r.code !== 0 && /accounting storage is disabled/i.test(r.stderr + r.stdout)) r = await runTool('sacct', ['-c', ...args]);
  if (r.code !== 0) throw new FvcError('ERR_SLURM', `sacct failed: ${r.stderr.trim()}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.includes('|'))
    .map((l) => {
      const [jobId, raw, state, exitCode, elapsed] = l.split('|') as [string, string, string, string, string];
      // "CANCELLED by 0" -> CANCELLED
      return { jobId, raw, state: state.split(' ')[0] ?? state, exitCode, elapsed };
    });
}

export interface JobStatus {
  job: string;
  kind: JobKind;
  model?: string;
  stage?: string;
  /** Fold of an array task. */
  fold?: number;
  jobId?: string;
  state: string;
  reason?: string;
  exitCode?: string;
  elapsed?: string;
  out?: string;
  err?: string;
  /** Last lines of the error log of a job that did not complete. */
  errTail?: string;
}

export interface SubmissionStatus {
  name: string;
  dir: string;
  jobs: JobStatus[];
  /** Nothing queued or running. */
  finished: boolean;
  /** Every job completed. */
  ok: boolean;
}

const ACTIVE = new Set(['PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING', 'SUSPENDED', 'REQUEUED', 'RESIZING', 'REQUEUE_HOLD', 'REQUEUE_FED', 'SIGNALING', 'STAGE_OUT']);
export const isActive = (state: string) => ACTIVE.has(state);

function expandArray(spec: string): number[] {
  return spec.split(',').flatMap((part) => {
    const [a, b] = part.split('%')[0]?.split('-').map(Number) ?? [];
    return b === undefined ? [a as number] : Array.from({ length: b - (a as number) + 1 }, (_, i) => (a as number) + i);
  });
}

async function tail(path: string, lines = 15): Promise<string | undefined> {
  try {
    const text = (await readFile(path, 'utf8')).trimEnd();
    return text ? text.split('\n').slice(-lines).join('\n') : undefined;
  } catch {
    return undefined;
  }
}

/** The state of every job and fold-array task of a submission. */
export async function submissionStatus(dir: string): Promise<SubmissionStatus> {
  dir = resolve(dir);
  const plan = await readPlan(dir);
  const ids = await readJobIds(dir);
  const allIds = [...ids.values()];
  const taskRaw = new Map<string, string>();
  if (existsSync(join(dir, 'tasks'))) for (const f of await readdir(join(dir, 'tasks'))) taskRaw.set(f, (await readFile(join(dir, 'tasks', f), 'utf8')).trim());
  const [queue, acct] = await Promise.all([queued(allIds), accounted([...new Set([...allIds, ...taskRaw.values()])])]);
  const byJobId = new Map(acct.map((a) => [a.jobId, a]));
  const byRaw = new Map(acct.map((a) => [a.raw, a]));

  const rows: JobStatus[] = [];
  for (const j of plan.jobs) {
    const id = ids.get(j.name);
    const base: JobStatus = { job: j.name, kind: j.kind, ...(j.model ? { model: j.model } : {}), ...(j.stage ? { stage: j.stage } : {}), state: 'NOT_SUBMITTED' };
    if (!id) {
      rows.push(base);
      continue;
    }
    const units = j.array ? expandArray(j.array).map((t) => ({ fold: t, qid: `${id}_${t}` })) : [{ fold: undefined, qid: id }];
    for (const { fold, qid } of units) {
      const raw = fold !== undefined ? taskRaw.get(`${j.name}_${fold}`) : id;
      const q = queue.get(qid) ?? (fold !== undefined ? queue.get(`${id}_[${j.array}]`) : undefined);
      // With slurmdbd sacct names tasks 12_3; sacct -c knows only raw ids, which each task recorded.
      const a = byJobId.get(qid) ?? (raw ? byRaw.get(raw) : undefined) ?? (fold !== undefined && !raw ? byJobId.get(id) : undefined);
      const state = q?.state ?? a?.state ?? 'UNKNOWN';
      const expand = (p: string) =>
        p
          .replace(/%A/g, id)
          .replace(/%a/g, String(fold ?? ''))
          .replace(/%j/g, raw ?? id);
      const row: JobStatus = {
        ...base,
        ...(fold !== undefined ? { fold } : {}),
        jobId: fold !== undefined ? qid : id,
        state,
        ...(q?.reason && q.reason !== 'None' ? { reason: q.reason } : {}),
        ...(a ? { exitCode: a.exitCode } : {}),
        ...((q?.elapsed ?? a?.elapsed) ? { elapsed: q?.elapsed ?? a?.elapsed } : {}),
        out: expand(j.out),
        err: expand(j.err),
      };
      if (!isActive(state) && state !== 'COMPLETED') {
        const t = await tail(row.err as string);
        row.errTail = t ?? '(no error log: the job never started)';
      }
      rows.push(row);
    }
  }
  const finished = rows.every((r) => !isActive(r.state));
  return { name: plan.name, dir, jobs: rows, finished, ok: finished && rows.every((r) => r.state === 'COMPLETED') };
}

/** Polls until nothing is queued or running. */
export async function waitForSubmission(dir: string, o: { timeoutSeconds?: number; intervalSeconds?: number; onPoll?: (s: SubmissionStatus) => void } = {}): Promise<SubmissionStatus> {
  const deadline = o.timeoutSeconds ? Date.now() + o.timeoutSeconds * 1000 : Infinity;
  for (;;) {
    const s = await submissionStatus(dir);
    o.onPoll?.(s);
    if (s.finished) return s;
    if (Date.now() > deadline) throw new FvcError('ERR_TIMEOUT', `submission ${s.name}: still ${s.jobs.filter((j) => isActive(j.state)).length} job(s) queued or running after ${o.timeoutSeconds} s`);
    await new Promise((r) => setTimeout(r, (o.intervalSeconds ?? 5) * 1000));
  }
}

/** Cancels every job of the submission still queued or running; returns their ids. */
export async function cancelSubmission(dir: string): Promise<string[]> {
  const ids = [...(await readJobIds(resolve(dir))).values()];
  const active = [...new Set([...(await queued(ids)).keys()].map((q) => q.split('_')[0] as string))];
  if (active.length) await slurm('scancel', active);
  return active;
}

export interface SubmitOptions {
  dir?: string;
  /** Submit even though jobs of the same submission are still queued or running (they are cancelled first). */
  force?: boolean;
  log?: (m: string) => void;
  /**
   * Before submitting jobs that train on a GPU, run one short job per request on such a
   * node and refuse when fvc sees no CUDA there (default true).
   */
  nodeCheck?: boolean;
  /** How long that check may wait in the queue and run (default 1800 s). */
  nodeCheckTimeoutSeconds?: number;
}

export interface Submitted {
  name: string;
  dir: string;
  jobs: Array<{ job: string; jobId: string; script: string }>;
}

/**
 * Renders the submission into its folder and runs the coordinator. A rejection
 * half way cancels what was already submitted, so no partial pipeline runs.
 */
export async function submit(c: SlurmConfig, o: SubmitOptions = {}): Promise<Submitted> {
  const log = o.log ?? ((m: string) => process.stderr.write(`slurm: ${m}\n`));
  const dir = submissionDir({ dir: o.dir, name: c.name });
  const name = c.name ?? 'fvc';
  await runTool('sbatch', ['--version'], { timeoutMs: 30_000 });
  // Published weights by name are fetched here, where the network is; the jobs only read the cache.
  await resolveWeightsOption(c.weights, { log });
  if (existsSync(join(dir, 'plan.json'))) {
    const ids = [...(await readJobIds(dir)).values()];
    const active = [...(await queued(ids)).keys()];
    if (active.length && !o.force)
      throw new FvcError(
        'ERR_SLURM',
        `submission '${name}' (${dir}) still has ${active.length} job(s) queued or running (${active.join(', ')}): wait for them, cancel them with fvc slurm cancel --name ${name}, or pass --force to cancel and resubmit`,
      );
    if (active.length) log(`cancelled ${(await cancelSubmission(dir)).join(', ')} of the earlier submission (--force)`);
  }
  await rm(join(dir, 'tasks'), { recursive: true, force: true });
  const plan = await renderSubmission(c, dir);
  if (o.nodeCheck ?? true) {
    const checks = await checkNodes(c, plan.jobs, { dir, log, ...(o.nodeCheckTimeoutSeconds ? { timeoutSeconds: o.nodeCheckTimeoutSeconds } : {}) });
    for (const k of checks) log(`node ${k.node} (${k.request}): ${k.ok ? 'ok' : 'FAILED'}: ${k.detail.split('\n')[0]}`);
    requireCuda(checks);
  }
  const r = await runTool('bash', [join(dir, 'submit.sh')], { timeoutMs: 600_000 });
  for (const line of r.stdout.split('\n').filter(Boolean)) log(line);
  const ids = await readJobIds(dir);
  if (r.code !== 0) {
    const submitted = [...ids.values()];
    if (submitted.length) await runTool('scancel', submitted);
    const why = r.stderr.trim() || `submit.sh exited with ${r.code}`;
    throw new FvcError('ERR_SLURM', `${why}${submitted.length ? `\n(the ${submitted.length} job(s) already submitted were cancelled: ${submitted.join(', ')})` : ''}`);
  }
  return { name, dir, jobs: plan.jobs.map((j) => ({ job: j.name, jobId: ids.get(j.name) ?? '', script: j.script })) };
}
