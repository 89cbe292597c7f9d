import { spawn } from 'node:child_process';
import { FvcError } from '../errors.js';

export interface ExecResult {
  stdout: Buffer;
  stderr: string;
}

/**
 * Run an external tool with a time limit. A failure carries the tool's own last
 * lines of stderr, which usually name the real cause.
 */
export function execTool(cmd: string, args: readonly string[], options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ExecResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(options.signal ? { signal: options.signal } : {}) });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.length > 64_000) err = err.slice(-32_000);
    });
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      if (e.name === 'AbortError') reject(new FvcError('ERR_ABORTED', `${cmd}: aborted`));
      else if (e.code === 'ENOENT') reject(new FvcError('ERR_TOOL_FAILED', `${cmd}: not found on PATH (install it, e.g. apt-get install ffmpeg)`));
      else reject(new FvcError('ERR_TOOL_FAILED', `${cmd}: ${e.message}`));
    });
    child.on('close', (code, sig) => {
      if (timer) clearTimeout(timer);
      if (code === 0) return resolvePromise({ stdout: Buffer.concat(out), stderr: err });
      const tail = err.trim().split('\n').slice(-4).join(' | ');
      const why = sig ? `killed by ${sig}${sig === 'SIGKILL' && options.timeoutMs ? ' (time limit)' : ''}` : `exit code ${code}`;
      reject(new FvcError('ERR_TOOL_FAILED', `${cmd} failed (${why}): ${tail}`));
    });
  });
}
