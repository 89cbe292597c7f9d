/**
 * `--nproc-per-node N` on one machine, as torchrun starts it: N copies of this command,
 * one per rank, with a rendezvous on a free local port. Ranks other than 0 print with a
 * `[rank i]` prefix. When a rank fails or is killed, the launcher names it, gives the
 * others a grace period to end on their own (their collectives fail at once and they
 * report why), then terminates them. It then exits with status 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface LaunchOptions {
  /** The command's arguments after node itself (default: this process's). */
  argv?: string[];
  /** Seconds the others get to end by themselves after a rank fails (default 30). */
  graceSeconds?: number;
  log?: (m: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Every rank's output lines, instead of rank 0 on this terminal and the others prefixed. */
  output?: (rank: number, stream: 'stdout' | 'stderr', line: string) => void;
}

export interface LaunchResult {
  code: number;
  /** The first rank that failed, and how. */
  failure?: { rank: number; pid: number; how: string };
}

export async function launchLocal(n: number, o: LaunchOptions = {}): Promise<LaunchResult> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const port = await freePort();
  const argv = o.argv ?? process.argv.slice(1);
  log(`fvc: starting ${n} ranks on this machine (rendezvous 127.0.0.1:${port})`);
  const children: ChildProcess[] = [];
  let failure: LaunchResult['failure'];
  let timer: NodeJS.Timeout | undefined;
  const running = new Set<number>(); // not yet exited
  const undrained = new Set<number>(); // output not yet read to its end
  const done = new Promise<void>((resolve) => {
    for (let rank = 0; rank < n; rank++) {
      const child = spawn(process.execPath, [...process.execArgv, ...argv], {
        env: {
          ...(o.env ?? process.env),
          FVC_RANK: String(rank),
          FVC_WORLD_SIZE: String(n),
          FVC_LOCAL_RANK: String(rank),
          FVC_LOCAL_WORLD_SIZE: String(n),
          FVC_MASTER_ADDR: '127.0.0.1',
          FVC_MASTER_PORT: String(port),
        },
        stdio: rank === 0 && !o.output ? 'inherit' : ['ignore', 'pipe', 'pipe'],
      });
      for (const [stream, name, out] of [
        [child.stdout, 'stdout', process.stdout],
        [child.stderr, 'stderr', process.stderr],
      ] as const)
        if (stream) createInterface({ input: stream }).on('line', (line) => (o.output ? o.output(rank, name, line) : out.write(`[rank ${rank}] ${line}\n`)));
      running.add(rank);
      undrained.add(rank);
      children.push(child);
      // 'exit' can come before the rank's last lines are read (a failing rank prints why
      // just before it exits), so the launch ends once every rank's output is drained
      // ('close'); a grandchild that kept the pipes open holds it back 5 s at most.
      let drainTimer: NodeJS.Timeout | undefined;
      const drained = () => {
        if (drainTimer) clearTimeout(drainTimer);
        undrained.delete(rank);
        if (!undrained.size) {
          if (timer) clearTimeout(timer);
          resolve();
        }
      };
      child.once('close', drained);
      child.on('exit', (code, signal) => {
        running.delete(rank);
        drainTimer = setTimeout(drained, 5000);
        if ((code !== 0 || signal) && !failure) {
          const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
          failure = { rank, pid: child.pid ?? 0, how };
          if (running.size) {
            const grace = o.graceSeconds ?? 30;
            log(`fvc: rank ${rank} (pid ${child.pid}) ${how}; the other ranks get ${grace} s to end`);
            timer = setTimeout(() => {
              for (const r of running) children[r]?.kill('SIGTERM');
              timer = setTimeout(() => running.forEach((r) => children[r]?.kill('SIGKILL')), 10_000);
            }, grace * 1000);
          }
        }
      });
    }
  });
  // Ctrl-C reaches the ranks through the terminal's process group; the launcher waits for them.
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  try {
    await done;
  } finally {
    process.off('SIGINT', ignore);
  }
  if (failure) log(`fvc: rank ${failure.rank} (pid ${failure.pid}) ${failure.how}`);
  return failure ? { code: 1, failure } : { code: 0 };
}
