/**
 * One writer per output folder. Two runs writing one folder each exited 0 while the
 * last silently replaced the other's output; now the second is refused, naming the
 * holder. The lock is a file in the folder, created exclusively; it is released when
 * the run ends (or the process exits), and a lock whose process is gone (same host,
 * pid no longer running) is taken over. The folder's temporaries left by dead
 * processes are removed once the lock is held.
 */
import { rmSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { FvcError } from '../errors.js';
import { processAlive, removeStaleTemporaries, requireOutputDir } from './fs.js';

export const LOCK_FILE = '.fvc-lock.json';

interface Holder {
  pid: number;
  host: string;
  what: string;
  started: string;
}

export interface OutputLock {
  /** Removes the lock (idempotent). */
  release(): Promise<void>;
}

// Locks this process holds, removed if it exits without releasing them. A second
// claim from this same process is refused like any other: two concurrent calls
// writing one folder collide just as two processes do.
const held = new Set<string>();

process.once('exit', () => {
  for (const path of held) rmSync(path, { force: true });
});

async function readHolder(path: string): Promise<Holder | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Holder;
  } catch {
    return null;
  }
}

/** `name`: a lock of part of the folder (one fold of a model), beside the folder's own. */
export async function lockOutputDir(dir: string, what: string, name = LOCK_FILE): Promise<OutputLock> {
  requireOutputDir(dir);
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  const me: Holder = { pid: process.pid, host: hostname(), what, started: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(path, `${JSON.stringify(me)}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
    }
    const other = await readHolder(path);
    const dead = other !== null && other.host === me.host && other.pid !== process.pid && !processAlive(other.pid);
    if (!dead) {
      const who = other
        ? `${other.pid === process.pid && other.host === me.host ? 'this process' : `pid ${other.pid} on ${other.host}`} (${other.what}, since ${other.started})`
        : 'a process whose lock file cannot be read';
      throw new FvcError(
        'ERR_LOCKED',
        `${dir}: in use by ${who}. Two runs writing one folder would overwrite each other's results: wait for it, or give this run another output folder. If that process no longer exists (another host's crash), remove ${path}.`,
      );
    }
    await rm(path, { force: true });
  }
  held.add(path);
  await removeStaleTemporaries(dir);
  return {
    release: async () => {
      if (!held.delete(path)) return;
      await rm(path, { force: true });
    },
  };
}

/** Runs `fn` holding the folder's lock (or the named part lock). */
export async function withOutputLock<T>(dir: string, what: string, fn: () => Promise<T>, name = LOCK_FILE): Promise<T> {
  const lock = await lockOutputDir(dir, what, name);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** Removes everything in `dir` but its lock files: a run that starts afresh keeps its claim on the folder. */
export async function emptyLockedDir(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  await Promise.all(names.filter((n) => !n.startsWith('.fvc-lock')).map((n) => rm(join(dir, n), { recursive: true, force: true })));
}
