/**
 * Runs the pipeline: every stage as an `fvc` child process (a crash in one stage
 * cannot take the runner down), independent stages concurrently, each stage
 * skipping its finished work by itself, retries with a delay (not for a failure a
 * retry cannot change: a missing file, a bad table or argument), one log file per
 * stage under `logs/`, the failing stage's own error on the console, execution time
 * per stage and in total. A stage whose dependency failed is not started.
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
  /** The stage's own error message (its `fvc: error:` line), when it printed one. */
  cause?: string;
  /** Its error code, when it printed one. */
  code?: string;
}

/**
 * Errors a retry cannot change: the same files, tables and arguments fail the same way.
 * Usage errors (exit code 2) are among them.
 */
const DETERMINISTIC = new Set(['ERR_FILE_NOT_FOUND', 'ERR_EMPTY_FILE', 'ERR_INVALID_DATA', 'ERR_INVALID_ARGUMENT', 'ERR_MODEL_UNAVAILABLE', 'ERR_NO_VIDEO_STREAM', 'ERR_UNSUPPORTED_CODEC']);

interface Attempt {
  code: number | null;
  reason?: string;
  cause?: string;
  errorCode?: string;
}

/** The last `fvc: error: ... [ERR_X]` a stage printed (messages may span lines). */
export function stageError(stderrTail: string): { cause: string; code?: string } | undefined {
  const at = Math.max(stderrTail.lastIndexOf('fvc: error: '), stderrTail.lastIndexOf('fvc: unexpected error: '));
  if (at < 0) return undefined;
  const text = stderrTail
    .slice(at)
    .replace(/^fvc: (unexpected )?error: /, '')
    .trim();
  const m = /\s*\[(ERR_[A-Z_]+)\]\s*$/.exec(text);
  return m ? { cause: text.slice(0, m.index), code: m[1] as string } : { cause: text.split('\n').slice(0, 20).join('\n') };
}

export interface PipelineResult {
  stages: StageRun[];
  seconds: number;
  ok: boolean;
}

function runOnce(args: string[], logPath: string, attempt: number, timeoutSeconds: number | undefined, signal: AbortSignal | undefined): Promise<Attempt> {
  return new Promise((done) => {
    const out = createWriteStream(logPath, { flags: 'a' });
    out.write(`\n=== ${new Date().toISOString()} attempt ${attempt}: fvc ${args.join(' ')}\n`);
    // Piped output is not a terminal, so each stage logs plain lines rather than redrawn bars.
    const child = spawn(process.execPath, [FVC_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    // The end of its stderr, where a failing stage prints its error.
    let tail = '';
    child.stderr.on('data', (b: Buffer) => (tail = (tail + b.toString('utf8')).slice(-16_384)));
    let reason: string | undefined;
    const timer = timeoutSeconds ? setTimeout(() => ((reason = `timed out after ${timeoutSeconds} s`), child.kill('SIGTERM')), timeoutSeconds * 1000) : undefined;
    const abort = () => ((reason = 'cancelled'), child.kill('SIGTERM'));
    signal?.addEventListener('abort', abort, { once: true });
    child.on('error', (err) => (reason = err.message));
    child.on('close', (code, sig) => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      const e = code ? stageError(tail) : undefined;
      out.end(`=== ${new Date().toISOString()} exit ${code ?? sig}\n`, () =>
        done({
          code,
          ...(reason || sig ? { reason: reason ?? `killed by ${sig}` } : code ? { reason: `exit code ${code}` } : {}),
          ...(e ? { cause: e.cause, ...(e.code ? { errorCode: e.code } : {}) } : {}),
        }),
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
    let last: Attempt = { code: null };
    let attempt = 0;
    while (attempt <= retries && !o.signal?.aborted) {
      attempt++;
      log(`${stage}: start${attempt > 1 ? ` (retry ${attempt - 1} of ${retries})` : ''} -> ${logPath}`);
      last = await runOnce(args, logPath, attempt, o.timeoutSeconds, o.signal);
      if (last.code === 0) break;
      log(`${stage}: attempt ${attempt} failed (${last.reason}); see ${logPath}`);
      if (last.cause) log(`${stage}: ${last.cause.replace(/\n/g, `\n${stage}: `)}${last.errorCode ? ` [${last.errorCode}]` : ''}`);
      const deterministic = last.code === 2 || (last.errorCode !== undefined && DETERMINISTIC.has(last.errorCode));
      if (deterministic) {
        if (attempt <= retries) log(`${stage}: not retried: a rerun would fail the same way (${last.errorCode ?? 'usage error'})`);
        break;
      }
      if (attempt <= retries && !o.signal?.aborted) await new Promise((r) => setTimeout(r, o.retryDelayMs ?? 10_000));
    }
    const seconds = (performance.now() - t) / 1000;
    const ok = last.code === 0;
    log(`${stage}: ${ok ? 'done' : 'failed'}; ${executionTimeLine(seconds)}`);
    return {
      stage,
      status: ok ? 'ok' : 'failed',
      attempts: attempt,
      seconds,
      log: logPath,
      ...(ok ? {} : { reason: last.reason ?? 'failed', ...(last.cause ? { cause: last.cause } : {}), ...(last.errorCode ? { code: last.errorCode } : {}) }),
    };
  };

  // Each stage waits on its own dependencies, so independent branches run at once.
  for (const stage of wanted) runs.set(stage, runStage(stage));
  const stages = await Promise.all(wanted.map((s) => runs.get(s) as Promise<StageRun>));
  const seconds = (performance.now() - started) / 1000;
  const ok = stages.every((s) => s.status === 'ok');
  log(`${stages.filter((s) => s.status === 'ok').length}/${stages.length} stages done; total ${executionTimeLine(seconds)}`);
  return { stages, seconds, ok };
}
