/**
 * SHA-256 of a file's bytes, remembered per (path, size, mtime, inode) so a
 * cache lookup rehashes a file only after it changed.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FvcError } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';

interface Memo {
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
  sha256: string;
}

export async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

export class ContentHasher {
  constructor(private readonly memoDir: string) {}

  /** `verify` rehashes even when size and mtime are unchanged (an in-place edit that kept both). */
  async hash(path: string, verify = false): Promise<string> {
    const st = await stat(path);
    // Reading a FIFO or a device would block for ever (or never end).
    if (!st.isFile()) throw new FvcError('ERR_INVALID_ARGUMENT', `${path}: not a regular file (${st.isDirectory() ? 'a directory' : 'a FIFO, socket or device'}): fvc reads video files only`);
    const memoPath = join(this.memoDir, `${createHash('sha1').update(path).digest('hex')}.json`);
    if (!verify) {
      const memo = await readMemo(memoPath);
      if (memo && memo.path === path && memo.size === st.size && memo.mtimeMs === st.mtimeMs && memo.ino === st.ino) return memo.sha256;
    }
    const sha256 = await hashFile(path);
    await mkdir(this.memoDir, { recursive: true });
    const memo: Memo = { path, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, sha256 };
    await writeFileAtomic(memoPath, JSON.stringify(memo));
    return sha256;
  }
}

async function readMemo(path: string): Promise<Memo | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Memo;
  } catch {
    return undefined;
  }
}
