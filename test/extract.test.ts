/**
 * Deep features extracted once and reused (fvc extract, 5f-5h): a second run and
 * a second model decode and extract nothing; a changed weights file is a new
 * table and the old one is reported stale; a model on a Stage 5 model's fold
 * checkpoints uses exactly the checkpoint of its own fold and refuses one whose
 * fold validated on other videos.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadMetadata } from '../ts/data/metadata.js';
import { generateCorpus } from '../ts/corpus/generate.js';
import { extractEmbeddings } from '../ts/extract/store.js';
import { readTable } from '../ts/data/table.js';
import { train } from '../ts/train/engine.js';
import { predictVideos } from '../ts/train/predict.js';
import { artifacts, root } from './helpers.js';

const dir = join(artifacts, 'extract');
let metadata = '';
let videos: string[] = [];
const small = { sampling: { numFrames: 4, frameSize: 40, cropSize: 32 }, threads: 2, quiet: true, featuresDir: join(dir, 'features'), frameCacheDir: join(dir, 'cache') };

test.before(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const corpus = await generateCorpus({ out: join(dir, 'corpus'), videos: 12, duration: 0.4, seed: 5, manipulations: ['flicker'], strength: 8, quiet: true });
  metadata = corpus.metadataPath;
  videos = (await loadMetadata(metadata)).rows.map((r) => r.absolute_path);
  execFileSync('/usr/bin/python3', [join(root, 'test', 'torchvision_export.py'), dir, '2', 'r2plus1d_18'], { stdio: ['ignore', 'ignore', 'inherit'] });
});

test('a second extraction decodes and extracts nothing; the table has named columns, one row per video', async () => {
  const weights = { kind: 'file' as const, path: join(dir, 'r2plus1d_18.safetensors') };
  const first = await extractEmbeddings({ backbone: 'r2plus1d_18', weights, videos, ...small });
  assert.is(first.extracted, videos.length);
  assert.is(first.decoded, videos.length);
  assert.is(first.dim, 512);
  const again = await extractEmbeddings({ backbone: 'r2plus1d_18', weights, videos, ...small });
  assert.equal([again.extracted, again.decoded, again.reused], [0, 0, videos.length]);
  assert.equal(Array.from(again.x), Array.from(first.x));
  const rows = await readTable(first.table);
  assert.is(rows.length, videos.length);
  assert.ok('r2plus1d_18_f0' in (rows[0] ?? {}) && 'r2plus1d_18_f511' in (rows[0] ?? {}) && 'video_sha256' in (rows[0] ?? {}));
});

test('sharded: two shards extract their halves into parts and write no table; the merge writes the whole table, extracting nothing; a missing shard leaves failures', async () => {
  const weights = { kind: 'file' as const, path: join(dir, 'r2plus1d_18.safetensors') };
  const whole = await extractEmbeddings({ backbone: 'r2plus1d_18', weights, videos, ...small });
  // Another feature folder, the same frame cache: the shards extract again, decoding nothing.
  const sharded = { ...small, featuresDir: join(dir, 'features-sharded') };
  const first = await extractEmbeddings({ backbone: 'r2plus1d_18', weights, videos, ...sharded, shard: { index: 1, count: 2 } });
  assert.equal([first.shard, first.extracted, first.reused], ['1/2', videos.length / 2, 0]);
  assert.is(first.table.endsWith(`${whole.key}.parquet`), true, 'the same key as the whole extraction');
  assert.not.ok(existsSync(first.table), 'a shard writes no table');
  const early = await extractEmbeddings({ backbone: 'r2plus1d_18', weights, videos, ...sharded, merge: true });
  assert.equal([early.extracted, early.failures.length], [0, videos.length / 2]);
  assert.match(early.failures[0]?.message ?? '', /no stored embedding under .*: its shard has not run/);
  await extractEmbeddings({ backbone: 'r2plus1d_18', weights, videos, ...sharded, shard: { index: 2, count: 2 } });
  const merged = await extractEmbeddings({ backbone: 'r2plus1d_18', weights, videos, ...sharded, merge: true });
  assert.equal([merged.extracted, merged.reused, merged.failures.length], [0, videos.length, 0]);
  assert.equal(Array.from(merged.x), Array.from(whole.x));
  assert.equal(await readTable(merged.table), await readTable(whole.table));
});

test('a changed weights file gets a new table; the old one is reported stale', async () => {
  const path = join(dir, 'changing.safetensors');
  copyFileSync(join(dir, 'r2plus1d_18.safetensors'), path);
  const before = await extractEmbeddings({ backbone: 'r2plus1d_18', weights: { kind: 'file', path }, videos, ...small });
  const bytes = readFileSync(path);
  bytes[bytes.length - 2]! ^= 0x01; // a low mantissa bit of the last float: still finite, other weights
  writeFileSync(path, bytes);
  const after = await extractEmbeddings({ backbone: 'r2plus1d_18', weights: { kind: 'file', path }, videos, ...small });
  assert.is.not(after.key, before.key);
  assert.is(after.extracted, videos.length);
  assert.is(after.decoded, 0, 'frames still come from the cache');
  assert.ok(
    after.stale.some((s) => s.includes(before.key) && /stale/.test(s)),
    after.stale.join('\n'),
  );
});

test('xgboost_r2plus1d on fold-trained backbones: each fold reads its own fold checkpoint, predict works from videos, and a mismatched fold is refused', async () => {
  const common = {
    videos: metadata,
    outputDir: join(dir, 'stage5'),
    frameCacheDir: small.frameCacheDir,
    featuresDir: small.featuresDir,
    nSplits: 2,
    seed: 4,
    threads: 2,
    quiet: true,
    plots: false,
    tracking: false,
    numFrames: 4,
  };
  const deep = { epochs: 1, batchSize: 4, frameSize: 40, cropSize: 32, width: 0.25, depth: 1 };
  const epochs: Array<[string, number, number]> = [];
  const r = await train({ ...common, models: ['r2plus1d', 'xgboost_r2plus1d'], deep }, { onProgress: (e) => e.type === 'epoch' && epochs.push([e.model, e.fold, e.epoch.epoch]) });
  assert.equal(r.failed, []);
  assert.equal(
    epochs,
    [
      ['r2plus1d', 1, 1],
      ['r2plus1d', 2, 1],
    ],
    'one epoch event per deep fold epoch',
  );
  for (const fold of [1, 2]) {
    const cfg = JSON.parse(readFileSync(join(dir, 'stage5', 'xgboost_r2plus1d', `fold_${fold}`, 'config.json'), 'utf8'));
    assert.is(cfg.backbone_weights.trained_by, `r2plus1d/fold_${fold}`);
  }
  const best = join(dir, 'stage5', 'xgboost_r2plus1d', 'best_model');
  const p = await predictVideos(best, videos.slice(0, 3), { threads: 2, frameCacheDir: small.frameCacheDir, featuresDir: small.featuresDir });
  assert.is(p.length, 3);
  assert.ok(p.every((x) => x.prob >= 0 && x.prob <= 1));
  // Another seed splits other folds: r2plus1d's fold checkpoints saw this run's validation videos.
  const other = await train({ ...common, seed: 9, models: ['xgboost_r2plus1d'], deep });
  assert.equal(other.models[0]?.folds, []);
  assert.match(readFileSync(join(dir, 'stage5', 'xgboost_r2plus1d', 'fold_1', 'error.json'), 'utf8'), /validated on other videos than this fold's/);
});

test("an extraction job in shards (only: 'extract', shard i/n): each stores its videos' embeddings; the unsharded job after them extracts nothing and writes the table", async () => {
  const common = { videos: metadata, outputDir: join(dir, 'stage5-shards'), frameCacheDir: small.frameCacheDir, featuresDir: join(dir, 'features-job-shards'), threads: 2, quiet: true, numFrames: 4 };
  const deep = { frameSize: 40, cropSize: 32, weights: { r2plus1d_18: join(dir, 'r2plus1d_18.safetensors') } };
  for (const index of [1, 2, 3]) await train({ ...common, models: ['xgboost_r2plus1d'], deep, only: 'extract', shard: { index, count: 3 } });
  const parts = readdirSync(join(dir, 'features-job-shards', 'r2plus1d_18')).filter((f) => f.endsWith('.parts'));
  assert.is(parts.length, 1);
  assert.is(readdirSync(join(dir, 'features-job-shards', 'r2plus1d_18', parts[0] as string)).length, videos.length, 'every video stored once');
  assert.equal(
    readdirSync(join(dir, 'features-job-shards', 'r2plus1d_18')).filter((f) => f.endsWith('.parquet')),
    [],
    'no table from the shards',
  );
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => (lines.push(String(s)), true)) as typeof process.stderr.write;
  try {
    await train({ ...common, quiet: false, models: ['xgboost_r2plus1d'], deep, only: 'extract' });
  } finally {
    process.stderr.write = write;
  }
  assert.ok(
    lines.some((l) => /r2plus1d_18 features of 12 videos from \S+\.parquet \(0 extracted, 12 reused\)/.test(l)),
    lines.join(''),
  );
  const bad = await train({ ...common, models: ['xgboost_r2plus1d'], deep, shard: { index: 1, count: 2 } }).catch((e: Error) => e);
  assert.match((bad as Error).message, /shard: a shard is one part of an extraction job: it needs only: 'extract'/);
});

test('a model on deep features refuses random backbone weights unless asked for', async () => {
  const err = await train({ videos: metadata, outputDir: join(dir, 'stage5-random'), models: ['xgboost_pretrained_inception'], quiet: true, plots: false, tracking: false }).catch((e: Error) => e);
  assert.instance(err, Error);
  assert.match((err as Error).message, /needs the weights of its backbone inception_v3.*random backbone weights only when asked for/);
});

test('a misspelt model gets "did you mean"', async () => {
  // @ts-expect-error: the name is checked at compile time too
  const err = await train({ models: ['xgbost'], quiet: true }).catch((e: Error) => e);
  assert.match((err as Error).message, /model 'xgbost': unknown; did you mean 'xgboost'/);
});

test.run();
