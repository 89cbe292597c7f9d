/**
 * Runs the pipeline: every stage as an `fvc` child process (a crash in one stage
 * cannot take the runner down), independent stages concurrently, each stage
 * skipping its finished work by itself, retries with a delay, one log file per
 * stage under `logs/`, execution time per stage and in total. A stage whose
 * dependency failed is not started.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FvcError } from '../errors.js';
import { executionTimeLine } from '../util/progress.js';
import { activeStages, DEPENDENCIES, FVC_BIN, STAGES, stageArgs, type PipelineConfig, type StageName } from './dag.js';

export interface PipelineOptions extends PipelineConfig {
  /** Only these stages (their dependencies are assumed done). Default: all. */
  stages?: readonly StageName[];
  /** Attempts after the first failure (default 1). */
  retries?: number;
  retryDelayMs?: number;
  logsDir?: string;
  /** Per-stage wall-clock limit in seconds (default none). */
  timeoutSeconds?: number;
  log?: (m: string) => void;
  signal?: AbortSignal;
}

export interface StageRun {
  stage: StageName;
  status: 'ok' | 'failed' | 'skipped';
  attempts: number;
  seconds: number;
  log: string;
  /** Why it failed or was skipped. */
  reason?: string;
}

export interface PipelineResult {
  stages: StageRun[];
  seconds: number;
  ok: boolean;
}

function runOnce(args: string[], logPath: string, attempt: number, timeoutSeconds: number | undefined, signal: AbortSignal | undefined): Promise<{ code: number | null; reason?: string }> {
  return new Promise((done) => {
    const out = createWriteStream(logPath, { flags: 'a' });
    out.write(`\n=== ${new Date().toISOString()} attempt ${attempt}: fvc ${args.join(' ')}\n`);
    // Piped output is not a terminal, so each stage logs plain lines rather than redrawn bars.
    const child = spawn(process.execPath, [FVC_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    let reason: string | undefined;
    const timer = timeoutSeconds ? setTimeout(() => ((reason = `timed out after ${timeoutSeconds} s`), child.kill('SIGTERM')), timeoutSeconds * 1000) : undefined;
    const abort = () => ((reason = 'cancelled'), child.kill('SIGTERM'));
    signal?.addEventListener('abort', abort, { once: true });
    child.on('error', (err) => (reason = err.message));
    child.on('close', (code, sig) => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      out.end(`=== ${new Date().toISOString()} exit ${code ?? sig}\n`, () =>
        done({ code, ...(reason || sig ? { reason: reason ?? `killed by ${sig}` } : code ? { reason: `exit code ${code}` } : {}) }),
      );
    });
  });
}

export async function runPipeline(o: PipelineOptions): Promise<PipelineResult> {
  const started = performance.now();
  const log = o.log ?? ((m: string) => process.stderr.write(`pipeline: ${m}\n`));
  const wanted = activeStages(o, o.stages ?? STAGES);
  if (!wanted.length) throw new FvcError('ERR_INVALID_ARGUMENT', `no stages to run (stages: ${STAGES.join(', ')})`);
  const logsDir = resolve(o.logsDir ?? 'logs');
  await mkdir(logsDir, { recursive: true });
  const retries = o.retries ?? 1;
  const runs = new Map<StageName, Promise<StageRun>>();

  const runStage = async (stage: StageName): Promise<StageRun> => {
    // Dependencies outside the requested subset are taken as done.
    const deps = await Promise.all(DEPENDENCIES[stage].filter((d) => runs.has(d)).map((d) => runs.get(d) as Promise<StageRun>));
    const logPath = join(logsDir, `${stage}.log`);
    const failedDep = deps.find((d) => d.status !== 'ok');
    if (failedDep) {
      log(`${stage}: skipped (${failedDep.stage} ${failedDep.status})`);
      return { stage, status: 'skipped', attempts: 0, seconds: 0, log: logPath, reason: `${failedDep.stage} ${failedDep.status}` };
    }
    const t = performance.now();
    const args = stageArgs(stage, o);
    let last: { code: number | null; reason?: string } = { code: null };
    let attempt = 0;
    while (attempt <= retries && !o.signal?.aborted) {
      attempt++;
      log(`${stage}: start${attempt > 1 ? ` (retry ${attempt - 1} of ${retries})` : ''} -> ${logPath}`);
      last = await runOnce(args, logPath, attempt, o.timeoutSeconds, o.signal);
      if (last.code === 0) break;
      log(`${stage}: attempt ${attempt} failed (${last.reason}); see ${logPath}`);
      if (attempt <= retries && !o.signal?.aborted) await new Promise((r) => setTimeout(r, o.retryDelayMs ?? 10_000));
    }
    const seconds = (performance.now() - t) / 1000;
    const ok = last.code === 0;
    log(`${stage}: ${ok ? 'done' : 'failed'}; ${executionTimeLine(seconds)}`);
    return { stage, status: ok ? 'ok' : 'failed', attempts: attempt, seconds, log: logPath, ...(ok ? {} : { reason: last.reason ?? 'failed' }) };
  };

  // Each stage waits on its own dependencies, so independent branches run at once.
  for (const stage of wanted) runs.set(stage, runStage(stage));
  const stages = await Promise.all(wanted.map((s) => runs.get(s) as Promise<StageRun>));
  const seconds = (performance.now() - started) / 1000;
  const ok = stages.every((s) => s.status === 'ok');
  log(`${stages.filter((s) => s.status === 'ok').length}/${stages.length} stages done; total ${executionTimeLine(seconds)}`);
  return { stages, seconds, ok };
}
