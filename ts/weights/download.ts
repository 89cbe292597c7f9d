/**
 * Downloading one weights file, as torch.hub's download_url_to_file does and then
 * some: into `<file>.part` (an interrupted download resumes with an HTTP Range
 * request), redirects followed, a progress bar on a terminal and plain lines in logs,
 * a size cap, the SHA-256 checked before the file takes its name. A file whose hash
 * differs is deleted and refused: a downloaded file is hostile until checked.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { FvcError } from '../errors.js';
import { formatDuration } from '../util/progress.js';

export interface ExpectedHash {
  sha256?: string;
  /** Leading hex digits only (torchvision's file names). */
  sha256Prefix?: string;
}

export interface DownloadOptions {
  expected: ExpectedHash;
  label: string;
  quiet?: boolean;
  signal?: AbortSignal;
  /** Seconds without a byte before giving up (default 60). */
  idleTimeoutSeconds?: number;
  /** Refused beyond this many bytes (default FVC_WEIGHTS_MAX_BYTES or 8 GiB). */
  maxBytes?: number;
}

export interface Downloaded {
  sha256: string;
  bytes: number;
  /** Bytes that were already in the .part file from an earlier, interrupted download. */
  resumedFrom: number;
}

export const sha256File = (path: string): Promise<string> =>
  new Promise((done, fail) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (b) => h.update(b))
      .on('error', fail)
      .on('end', () => done(h.digest('hex')));
  });

/** What a file's hash means against what was published: 'sha256', 'sha256-prefix', or refused. */
export function checkHash(sha256: string, expected: ExpectedHash, what: string): 'sha256' | 'sha256-prefix' | 'unchecked' {
  if (expected.sha256) {
    if (sha256 !== expected.sha256.toLowerCase()) throw new FvcError('ERR_INVALID_DATA', `${what}: SHA-256 ${sha256}, expected ${expected.sha256}: not the published file (deleted)`);
    return 'sha256';
  }
  if (expected.sha256Prefix) {
    if (!sha256.startsWith(expected.sha256Prefix.toLowerCase()))
      throw new FvcError('ERR_INVALID_DATA', `${what}: SHA-256 ${sha256} does not start with the published ${expected.sha256Prefix}: not the published file (deleted)`);
    return 'sha256-prefix';
  }
  return 'unchecked';
}

function byteProgress(label: string, quiet: boolean): (done: number, total: number | null) => void {
  if (quiet) return () => undefined;
  const tty = Boolean(process.stderr.isTTY) && process.env.CI !== 'true';
  const started = Date.now();
  let lastLine = 0;
  const mb = (n: number) => (n / 2 ** 20).toFixed(1);
  return (done, total) => {
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = total && rate > 0 ? formatDuration((total - done) / rate) : '--:--';
    const text = `${label}: ${mb(done)}${total ? `/${mb(total)}` : ''} MB${total ? ` ${Math.floor((done / total) * 100)}%` : ''}, ${mb(rate)} MB/s, ETA ${eta}`;
    if (tty) process.stderr.write(`\r${text}\x1b[K${total !== null && done >= total ? '\n' : ''}`);
    else if (Date.now() - lastLine > 10_000 || (total !== null && done >= total)) {
      lastLine = Date.now();
      process.stderr.write(`${text}\n`);
    }
  };
}

/** One GET, following redirects; resolves with the final response. */
function get(url: string, headers: Record<string, string>, signal: AbortSignal | undefined, idleMs: number, hops = 0): Promise<IncomingMessage> {
  return new Promise((done, fail) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return fail(new FvcError('ERR_INVALID_ARGUMENT', `${url}: not a URL`));
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return fail(new FvcError('ERR_INVALID_ARGUMENT', `${url}: only http(s) downloads are supported`));
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, { headers: { 'user-agent': 'fvc', ...headers }, ...(signal ? { signal } : {}) }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (hops >= 5) return fail(new FvcError('ERR_IO', `${url}: more than 5 redirects`));
        return get(new URL(res.headers.location, u).href, headers, signal, idleMs, hops + 1).then(done, fail);
      }
      done(res);
    });
    req.setTimeout(idleMs, () => req.destroy(new FvcError('ERR_TIMEOUT', `${url}: no answer for ${idleMs / 1000} s`)));
    req.on('error', (err) => fail(signal?.aborted ? new FvcError('ERR_ABORTED', `download of ${url} cancelled`) : err instanceof FvcError ? err : new FvcError('ERR_IO', `${url}: ${err.message}`)));
    req.end();
  });
}

/**
 * `url` into `dest`: resumed from `dest.part` when one is there and the server takes a
 * Range request, checked against `expected`, renamed into place only when it passes.
 */
export async function downloadFile(url: string, dest: string, o: DownloadOptions): Promise<Downloaded> {
  const part = `${dest}.part`;
  const maxBytes = o.maxBytes ?? Number(process.env.FVC_WEIGHTS_MAX_BYTES || 8 * 2 ** 30);
  const idleMs = (o.idleTimeoutSeconds ?? 60) * 1000;
  let have = existsSync(part) ? statSync(part).size : 0;
  const res = await get(url, have ? { range: `bytes=${have}-` } : {}, o.signal, idleMs);
  const status = res.statusCode ?? 0;
  let resumedFrom = 0;
  if (status === 416 && have) {
    // The part already holds everything the server has: check it as it is.
    res.resume();
  } else {
    if (status !== 200 && status !== 206) {
      res.resume();
      throw new FvcError('ERR_IO', `${url}: HTTP ${status}${status === 404 ? ' (not found: check the URL, or FVC_WEIGHTS_MIRROR)' : ''}`);
    }
    // 206 continues the part when it starts where the part ends; anything else starts over.
    const start = status === 206 ? Number(/bytes (\d+)-/.exec(String(res.headers['content-range']))?.[1]) : 0;
    if (status === 206 && start === have) resumedFrom = have;
    else have = 0;
    const length = Number(res.headers['content-length']);
    const total = Number.isFinite(length) ? have + length : null;
    if (total !== null && total > maxBytes) {
      res.resume();
      throw new FvcError('ERR_INVALID_DATA', `${url}: ${total} bytes, more than the ${maxBytes} allowed (FVC_WEIGHTS_MAX_BYTES)`);
    }
    const progress = byteProgress(o.label, o.quiet ?? false);
    await new Promise<void>((done, fail) => {
      const out = createWriteStream(part, { flags: have ? 'a' : 'w' });
      let got = have;
      res.on('data', (b: Buffer) => {
        got += b.length;
        if (got > maxBytes) res.destroy(new FvcError('ERR_INVALID_DATA', `${url}: more than the ${maxBytes} bytes allowed (FVC_WEIGHTS_MAX_BYTES)`));
        progress(got, total);
      });
      res.setTimeout(idleMs, () => res.destroy(new FvcError('ERR_TIMEOUT', `${url}: no data for ${idleMs / 1000} s (the part is kept; run again to resume)`)));
      res.on('error', (err) => {
        out.destroy();
        fail(err instanceof FvcError ? err : new FvcError(o.signal?.aborted ? 'ERR_ABORTED' : 'ERR_IO', `${url}: ${err.message} (the part is kept; run again to resume)`));
      });
      res.on('aborted', () => {
        out.destroy();
        fail(new FvcError('ERR_IO', `${url}: the connection closed after ${got} bytes (the part is kept; run again to resume)`));
      });
      res.pipe(out);
      out.on('finish', () => (total !== null && got < total ? fail(new FvcError('ERR_IO', `${url}: ${got} of ${total} bytes arrived (the part is kept; run again to resume)`)) : done()));
      out.on('error', fail);
    });
  }
  const sha256 = await sha256File(part);
  try {
    checkHash(sha256, o.expected, url);
  } catch (err) {
    await rm(part, { force: true });
    throw err;
  }
  const bytes = statSync(part).size;
  await rename(part, dest);
  return { sha256, bytes, resumedFrom };
}
