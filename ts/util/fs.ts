import { randomBytes } from 'node:crypto';
import { statSync, type Stats } from 'node:fs';
import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { FvcError } from '../errors.js';

/**
 * Temporary names: `<final>.tmp-<pid>@<host>-<random>`, never ending in the final
 * extension (a `videos/*.mp4` glob must not pick up a half-written video), and
 * naming the process that owns them, so a later run can tell a dead process's
 * leftovers from a live one's work in progress, even on a shared file system.
 */
const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '_');
// Tools that write files themselves (ffmpeg) get the format by name: these names have no extension.
export const tempName = (path: string): string => `${path}.tmp-${process.pid}@${HOST}-${randomBytes(4).toString('hex')}`;

/**
 * The longest file name fvc derives from a user's name: 255 bytes (ext4, XFS, NFS) less
 * room for a temporary suffix (`.tmp-<pid>@<host>-<n>`, host names up to 64 bytes).
 */
export const MAX_DERIVED_NAME_BYTES = 159;

/**
 * `head + stem + tail` with the stem cut (at a character boundary) so that the name fits
 * MAX_DERIVED_NAME_BYTES. Callers put a hash of the full source in `head`, so cut names
 * stay distinct and the same input always gets the same name.
 */
export function fitFileName(head: string, stem: string, tail: string): string {
  const room = MAX_DERIVED_NAME_BYTES - Buffer.byteLength(head) - Buffer.byteLength(tail);
  if (Buffer.byteLength(stem) <= room) return head + stem + tail;
  let cut = '';
  for (const ch of stem) {
    if (Buffer.byteLength(cut + ch) > room) break;
    cut += ch;
  }
  return head + cut + tail;
}

/** Write to a temporary name beside `path`, then rename: readers never see half a file. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = tempName(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Whether a process of this host is still running (a process we may not signal is). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Names written by tempName (TS) and io/atomic_file / video_writer (native); `@host` is
// absent from older versions' names.
const TEMPORARY = /\.tmp-(\d+)(?:@([A-Za-z0-9._-]+?))?-[0-9a-z]+(?:\.[A-Za-z0-9]+)?$/;

/**
 * Removes the temporaries that processes of this host left behind when they died
 * (kill -9, power loss) in `dir` and its sub-folders down to `depth`. Another
 * host's temporaries are left alone: their process may be alive. Returns the paths removed.
 */
export async function removeStaleTemporaries(dir: string, depth = 2): Promise<string[]> {
  const removed: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return removed;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    const m = TEMPORARY.exec(e.name);
    if (m && (m[2] === undefined || m[2] === HOST) && !processAlive(Number(m[1]))) {
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    } else if (e.isDirectory() && depth > 0) removed.push(...(await removeStaleTemporaries(path, depth - 1)));
  }
  return removed;
}

/**
 * Input files are regular files: a FIFO or device would block a read forever, a
 * directory fails with a confusing message. `what` names the option or table.
 */
export function requireRegularFile(path: string, what: string): void {
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    return; // a missing file is the caller's own error, with its own wording
  }
  if (st.isFile()) return;
  throw new FvcError('ERR_INVALID_ARGUMENT', `${path}: ${what} is ${fileKind(st)}, not a regular file`);
}

/** What a path that is not a regular file is, in words. */
export function fileKind(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  return st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'not a regular file';
}

/** Output folders live on a file system: /dev, /proc and /sys are refused (a recursive mkdir there can hang). */
export function requireOutputDir(dir: string): void {
  const abs = resolve(dir);
  if (/^\/(dev|proc|sys)(\/|$)/.test(abs)) throw new FvcError('ERR_INVALID_ARGUMENT', `${dir}: an output folder cannot be under /dev, /proc or /sys`);
}
