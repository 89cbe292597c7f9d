/** Runs SLURM's client commands with a time limit; a missing command is a clear error, never a hang. */
import { spawn } from 'node:child_process';
import { FvcError } from '../errors.js';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runTool(command: string, args: readonly string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const limit = options.timeoutMs ?? 120_000;
    const timer = setTimeout(() => child.kill('SIGKILL'), limit);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err.code === 'ENOENT'
          ? new FvcError('ERR_SLURM', `${command} is not on PATH: fvc slurm needs SLURM's client commands (run it on a login node, or install slurm-client)`)
          : new FvcError('ERR_SLURM', `${command}: ${err.message}`),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal) return reject(new FvcError('ERR_TIMEOUT', `${command} ${args.join(' ')}: no answer within ${limit / 1000} s (killed)`));
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/** The command's stdout, or an error with SLURM's own message. */
export async function slurm(command: string, args: readonly string[]): Promise<string> {
  const r = await runTool(command, args);
  if (r.code !== 0) throw new FvcError('ERR_SLURM', `${command} ${args.join(' ')} failed: ${r.stderr.trim() || `exit code ${r.code}`}`);
  return r.stdout;
}
