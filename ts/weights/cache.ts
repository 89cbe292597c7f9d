/**
 * The weights cache: `$FVC_HOME/weights` (default `~/.cache/fvc/weights`), one file per
 * published or custom weights file under its published name, each beside a record
 * (`<file>.fvc.json`: where it came from, its SHA-256, what that hash was checked
 * against) — the cache's manifest, one entry per file so parallel jobs never rewrite
 * one shared file. Downloads happen where the network is (`fvc weights fetch` on a
 * login node, or train() on a workstation); with FVC_WEIGHTS_OFFLINE=1 (SLURM jobs)
 * only the cache is read. A cached file is checked again before use when its size or
 * time changed since it was recorded.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { FvcError } from '../errors.js';
import { fitFileName, writeFileAtomic } from '../util/fs.js';
import { withOutputLock } from '../util/lock.js';
import { checkHash, downloadFile, sha256File, type ExpectedHash } from './download.js';
import { findWeights, looksLikeName, weightsByName, type PublishedWeights } from './registry.js';

export const fvcHome = (): string => resolve(process.env.FVC_HOME || join(homedir(), '.cache', 'fvc'));
export const weightsCacheDir = (): string => join(fvcHome(), 'weights');

/** What the cache knows of one file. */
export interface CachedWeights {
  path: string;
  /** The registry name, for published weights. */
  id: string | null;
  url: string;
  sha256: string;
  /** What the hash was checked against: the publisher's full hash, its published prefix, or nothing (none published). */
  check: 'sha256' | 'sha256-prefix' | 'unchecked';
  bytes: number;
  mtimeMs: number;
  fetched: string;
}

/** What to fetch: a registry entry, or a URL with the hash its user gives. */
export interface WeightsSpec {
  id: string | null;
  url: string;
  expected: ExpectedHash;
  /** The file's name in the cache. */
  file: string;
  entry?: PublishedWeights;
}

/** `https://host/path/file` under FVC_WEIGHTS_MIRROR, for sites that mirror the publishers: `<mirror>/host/path/file`. */
export function mirrored(url: string): string {
  const mirror = process.env.FVC_WEIGHTS_MIRROR;
  if (!mirror) return url;
  const u = new URL(url);
  return `${mirror.replace(/\/+$/, '')}/${u.host}${u.pathname}`;
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

/**
 * A reference as a spec: `arch:name` (or a bare name for `architecture`) from the
 * registry, or a URL whose SHA-256 is given (`sha256`, or `#sha256=<hex>` on the URL).
 */
export function weightsSpec(ref: string, o: { architecture?: string; sha256?: string } = {}): WeightsSpec {
  if (isUrl(ref)) {
    const [url, fragment] = ref.split('#', 2) as [string, string | undefined];
    const sha256 = (o.sha256 ?? /^sha256=([a-fA-F0-9]{64})$/.exec(fragment ?? '')?.[1])?.toLowerCase();
    if (!sha256 || !/^[a-f0-9]{64}$/.test(sha256))
      throw new FvcError(
        'ERR_INVALID_ARGUMENT',
        `${ref}: a weights URL needs the file's SHA-256 (--sha256 <64 hex digits>, or #sha256=<hex> after the URL): a downloaded file is used only once checked`,
      );
    const name = basename(new URL(url).pathname) || 'weights';
    return { id: null, url, expected: { sha256 }, file: fitFileName(`${sha256.slice(0, 16)}-`, name, '') };
  }
  const entry = weightsByName(ref, o.architecture);
  return {
    id: entry.id,
    url: entry.url,
    expected: { ...(entry.sha256 ? { sha256: entry.sha256 } : {}), ...(entry.sha256Prefix ? { sha256Prefix: entry.sha256Prefix } : {}) },
    file: basename(new URL(entry.url).pathname),
    entry,
  };
}

const recordOf = (path: string) => `${path}.fvc.json`;

/**
 * The cache's record of a file, when it is one of the cache's files. Its path is where
 * the file is now, not where it was recorded: a login node and a compute node may mount
 * one shared cache under different paths.
 */
export function cachedRecord(path: string): CachedWeights | undefined {
  const file = recordOf(resolve(path));
  if (!existsSync(file)) return undefined;
  try {
    return { ...(JSON.parse(readFileSync(file, 'utf8')) as CachedWeights), path: resolve(path) };
  } catch {
    return undefined;
  }
}

/** Every file the cache holds, with its record. */
export function listCached(): CachedWeights[] {
  const dir = weightsCacheDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.fvc.json'))
    .sort()
    .map((f) => cachedRecord(join(dir, f.slice(0, -'.fvc.json'.length))))
    .filter((r): r is CachedWeights => r !== undefined);
}

export interface FetchOptions {
  /** Read the cache only (default: FVC_WEIGHTS_OFFLINE=1). */
  offline?: boolean;
  quiet?: boolean;
  signal?: AbortSignal;
  log?: (m: string) => void;
}

/** A cached file still as it was recorded: same size and time, else the same hash (checked again). */
async function stillValid(spec: WeightsSpec, rec: CachedWeights): Promise<boolean> {
  if (!existsSync(rec.path)) return false;
  checkHash(rec.sha256, spec.expected, rec.path);
  const st = statSync(rec.path);
  if (st.size === rec.bytes && st.mtimeMs === rec.mtimeMs) return true;
  const sha = await sha256File(rec.path);
  if (sha !== rec.sha256) throw new FvcError('ERR_INVALID_DATA', `${rec.path}: changed since it was downloaded (SHA-256 ${sha}, recorded ${rec.sha256}); delete it and fetch again`);
  return true;
}

/** The spec's file in the cache, downloaded first unless it is there (and offline is not set). */
export async function fetchWeights(spec: WeightsSpec, o: FetchOptions = {}): Promise<CachedWeights & { downloaded: boolean }> {
  const dir = weightsCacheDir();
  const path = join(dir, spec.file);
  const log = o.log ?? ((m: string) => o.quiet || process.stderr.write(`weights: ${m}\n`));
  const rec = cachedRecord(path);
  if (rec && (await stillValid(spec, rec))) return { ...rec, downloaded: false };
  const offline = o.offline ?? process.env.FVC_WEIGHTS_OFFLINE === '1';
  if (offline)
    throw new FvcError(
      'ERR_FILE_NOT_FOUND',
      `${spec.id ?? spec.url}: not in the weights cache (${dir}) and this run does not download (FVC_WEIGHTS_OFFLINE=1): run \`fvc weights fetch ${spec.id ?? `${spec.url} --sha256 ${spec.expected.sha256}`}\` where the internet is reachable (a login node), with the same FVC_HOME`,
    );
  await mkdir(dir, { recursive: true });
  return withOutputLock(
    dir,
    `fvc weights fetch ${spec.file}`,
    async () => {
      // The mirror stands in for the publishers' hosts; a URL a user gives is taken as it is.
      const url = spec.id ? mirrored(spec.url) : spec.url;
      log(`${spec.id ?? spec.file}: downloading ${url}`);
      const d = await downloadFile(url, path, {
        expected: spec.expected,
        label: spec.id ?? spec.file,
        ...(o.quiet !== undefined ? { quiet: o.quiet } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
      });
      const check = spec.expected.sha256 ? 'sha256' : spec.expected.sha256Prefix ? 'sha256-prefix' : 'unchecked';
      if (d.resumedFrom) log(`${spec.id ?? spec.file}: resumed after ${d.resumedFrom} bytes`);
      if (check === 'unchecked')
        log(`${spec.id ?? spec.file}: its publisher gives no hash, so it was not checked against one; its SHA-256 ${d.sha256} is recorded in ${recordOf(path)} and in every run that uses it`);
      const st = statSync(path);
      const record: CachedWeights = { path, id: spec.id, url: spec.url, sha256: d.sha256, check, bytes: d.bytes, mtimeMs: st.mtimeMs, fetched: new Date().toISOString() };
      await writeFileAtomic(recordOf(path), `${JSON.stringify(record, null, 2)}\n`);
      return { ...record, downloaded: true };
    },
    `.fvc-lock-${spec.file}.json`,
  );
}

/** What a configured weights value is: a file, a registry name, or a URL. */
const isReference = (value: string, key?: string) =>
  !existsSync(value) && (isUrl(value) || looksLikeName(value) || (key !== undefined && findWeights(value, key) !== undefined) || !/[/.]/.test(value));

/**
 * A run's `weights` option with every registry name or URL replaced by its file in the
 * cache (downloaded when missing and allowed); files stay as they are. `{ r2plus1d_18:
 * 'kinetics400' }`, `{ r2plus1d_18: 'r2plus1d_18:kinetics400' }` and the single string
 * `'r2plus1d_18:kinetics400'` all name the same file.
 */
export async function resolveWeightsOption(weights: string | Readonly<Record<string, string>> | undefined, o: FetchOptions = {}): Promise<string | Record<string, string> | undefined> {
  if (weights === undefined) return undefined;
  if (typeof weights === 'string') {
    if (looksLikeName(weights) && !existsSync(weights)) return resolveWeightsOption({ [weights.split(':')[0] as string]: weights }, o);
    return isUrl(weights) ? (await fetchWeights(weightsSpec(weights), o)).path : weights;
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(weights)) out[key] = isReference(value, key) ? (await fetchWeights(weightsSpec(value, { architecture: key }), o)).path : value;
  return out;
}

/** One architecture's weights given as a file, `arch:name`, a bare name or a URL: the file to load. */
export async function weightsFileOf(value: string, architecture: string, o: FetchOptions = {}): Promise<string> {
  const resolved = await resolveWeightsOption({ [architecture]: value }, o);
  return (resolved as Record<string, string>)[architecture] as string;
}

/** The registry entry behind a cached file, if it came from one (for its preset). */
export function publishedEntryOf(path: string): PublishedWeights | undefined {
  const rec = cachedRecord(path);
  return rec?.id ? findWeights(rec.id) : undefined;
}
