import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { extractHandcraftedFeatures, featureStageOutputDir, FvcError, generateCorpus, handcraftedFeatureNames, readTable, runFeatureStage, type StageProgress } from '../ts/index.js';
import { toCsv } from '../ts/util/csv.js';
import { artifacts, root } from './helpers.js';

const corpusDir = join(artifacts, 'stage-corpus');
const metadata = join(corpusDir, 'metadata.csv');
const quiet = { quiet: true, numFrames: 4 } as const;

test.before(async () => {
  await generateCorpus({ out: corpusDir, videos: 8, duration: 1, seed: 11, quiet: true });
});

test('stage2 writes every input column plus the named features, equal to per-video extraction', async () => {
  const out = join(artifacts, 'stage2-basic');
  rmSync(out, { recursive: true, force: true });
  const r = await runFeatureStage({ stage: 'stage2', metadata, out, ...quiet });
  assert.is(r.rows, 8);
  assert.is(r.failed, 0);
  const rows = await readTable(r.outputPath);
  assert.is(rows.length, 8);
  const names = handcraftedFeatureNames();
  assert.equal(Object.keys(rows[0] ?? {}), [
    'video_id',
    'video_path',
    'label',
    'source_id',
    'manipulation',
    'source',
    'width',
    'height',
    'fps',
    'duration',
    'gop',
    'source_video',
    'damaged_frames',
    ...names,
  ]);
  assert.is((rows[0] as Record<string, unknown>).source_video, join(corpusDir, (rows[0] as Record<string, unknown>).video_path as string), 'source_video: the original file, absolute');
  assert.ok(
    rows.every((r) => r.damaged_frames === 0),
    'generated videos decode clean',
  );
  const first = rows[0] as Record<string, unknown>;
  const direct = await extractHandcraftedFeatures(join(corpusDir, first.video_path as string), { numFrames: 4 });
  for (const n of names) assert.is(first[n], direct.features[n], n);
  assert.is(typeof first.width, 'number', 'numeric CSV columns stay numeric');
  assert.is(typeof first.source_id, 'string');
  assert.equal((await readTable(r.failuresPath)).length, 0);
  assert.ok(existsSync(join(out, 'feature_schema.json')));
});

test('resume: finished videos are skipped; a changed file is recomputed', async () => {
  const out = join(artifacts, 'stage2-resume');
  rmSync(out, { recursive: true, force: true });
  const events: StageProgress[] = [];
  const a = await runFeatureStage({ stage: 'stage2', metadata, out, ...quiet, onProgress: (e) => events.push(e) });
  assert.is(a.computed, 8);
  // One event per video, counting up, each computed, with an ETA that reaches 0.
  assert.equal(
    events.map((e) => e.done),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  assert.ok(events.every((e) => e.stage === 'stage2' && e.total === 8 && e.status === 'computed' && e.etaSeconds !== null));
  assert.is(events.at(-1)?.etaSeconds, 0);
  assert.is(new Set(events.map((e) => e.video)).size, 8);
  const again: StageProgress[] = [];
  const b = await runFeatureStage({ stage: 'stage2', metadata, out, ...quiet, onProgress: (e) => again.push(e) });
  assert.is(b.computed, 0);
  assert.is(b.skipped, 8);
  assert.ok(again.length === 8 && again.every((e) => e.status === 'reused'));
  utimesSync(join(corpusDir, 'videos/real_0000.mp4'), new Date(), new Date(Date.now() - 5000));
  const c = await runFeatureStage({ stage: 'stage2', metadata, out, ...quiet });
  assert.is(c.computed, 1);
});

test('schema: the output records its version, and a part written under schema 1 is recomputed, never mixed in', async () => {
  const out = join(artifacts, 'stage2-schema');
  rmSync(out, { recursive: true, force: true });
  await runFeatureStage({ stage: 'stage2', metadata, out, ...quiet });
  const schema = JSON.parse(readFileSync(join(out, 'feature_schema.json'), 'utf8'));
  assert.is(schema.schema_version, 3);
  assert.equal(schema.features, handcraftedFeatureNames());
  // A part as schema 1 wrote it: 36 values under the parameters of that version.
  const parts = join(out, '.parts');
  const file = join(parts, readdirSync(parts).filter((f) => f.endsWith('.json'))[0] as string);
  const part = JSON.parse(readFileSync(file, 'utf8'));
  part.params = JSON.stringify({ numFrames: 4, damage: 1 });
  part.result.values = part.result.values.slice(0, 36);
  writeFileSync(file, JSON.stringify(part));
  const r = await runFeatureStage({ stage: 'stage2', metadata, out, ...quiet });
  assert.is(r.computed, 1);
  assert.is(r.skipped, 7);
  const rows = await readTable(r.outputPath);
  for (const row of rows)
    assert.ok(
      typeof row.local_noise_cv_mean === 'number' && typeof row.temporal_luma_std_mean === 'number' && typeof row.motion_cell_dev_mean_mean === 'number',
      `${row.video_path as string}: schema 2 and 3 values`,
    );
});

test('Ctrl-C stops fvc stage2, says what stopped and how to resume, and the rerun computes only what was left', async () => {
  const out = join(artifacts, 'stage2-interrupt');
  rmSync(out, { recursive: true, force: true });
  const parts = join(out, '.parts');
  const done = () => (existsSync(parts) ? readdirSync(parts).filter((f) => f.endsWith('.json')).length : 0);
  const child = spawn(process.execPath, [join(root, 'bin', 'fvc.js'), 'stage2', '--metadata', metadata, '--out', out, '--workers', '1', '-n', '4'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  for (let waited = 0; done() === 0 && waited < 60_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGINT');
  assert.is.not(await closed, 0, 'an interrupted stage does not exit 0');
  assert.match(stderr, /fvc stage2: interrupted; stopping the videos in progress\. Videos already done are kept in .*stage2-interrupt\/\.parts: run the same command again to resume/);
  const kept = done();
  assert.ok(kept >= 1 && kept < 8, `${kept} video(s) done before the interruption`);
  const r = await runFeatureStage({ stage: 'stage2', metadata, out, ...quiet });
  assert.equal([r.skipped, r.computed, r.rows], [kept, 8 - kept, 8]);
});

test('a video that fails is excluded with its cause in failures.parquet; --strict fails the stage', async () => {
  const dir = join(artifacts, 'stage2-bad');
  rmSync(dir, { recursive: true, force: true });
  const videos = join(dir, 'videos');
  (await import('node:fs')).mkdirSync(videos, { recursive: true });
  copyFileSync(join(corpusDir, 'videos/real_0000.mp4'), join(videos, 'good.mp4'));
  writeFileSync(join(videos, 'garbage.mp4'), Buffer.alloc(4096, 7));
  const table = join(dir, 'meta.csv');
  writeFileSync(
    table,
    toCsv(
      ['video_path', 'label'],
      [
        { video_path: 'videos/good.mp4', label: 0 },
        { video_path: 'videos/garbage.mp4', label: 1 },
      ],
    ),
  );
  const failed: StageProgress[] = [];
  const r = await runFeatureStage({ stage: 'stage2', metadata: table, out: join(dir, 'out'), ...quiet, onProgress: (e) => e.status === 'failed' && failed.push(e) });
  assert.is(r.rows, 1);
  assert.equal(
    failed.map((e) => [e.video, e.error?.code]),
    [['videos/garbage.mp4', 'ERR_INVALID_DATA']],
  );
  const failures = await readTable(r.failuresPath);
  assert.is(failures.length, 1);
  assert.is(failures[0]?.video_path, 'videos/garbage.mp4');
  assert.is(failures[0]?.code, 'ERR_INVALID_DATA');
  try {
    await runFeatureStage({ stage: 'stage2', metadata: table, out: join(dir, 'strict'), strict: true, ...quiet });
    assert.unreachable();
  } catch (e) {
    assert.is((e as FvcError).code, 'ERR_INVALID_DATA');
  }
});

test('sharded: three shards side by side (a failing video in one), then the merge, give the table and failures of one run; the merge refuses while a shard is missing', async () => {
  const dir = join(artifacts, 'stage2-shards');
  rmSync(dir, { recursive: true, force: true });
  (await import('node:fs')).mkdirSync(dir, { recursive: true });
  // The corpus's table with a garbage file among its rows.
  writeFileSync(join(corpusDir, 'garbage.mp4'), Buffer.alloc(4096, 7));
  const rows = await readTable(metadata);
  const table = join(corpusDir, 'with-garbage.csv');
  writeFileSync(
    table,
    toCsv(
      ['video_path', 'label'],
      [...rows.slice(0, 4), { video_path: 'garbage.mp4', label: 1 }, ...rows.slice(4)].map((r) => ({ video_path: r.video_path as string, label: r.label as number })),
    ),
  );
  const whole = await runFeatureStage({ stage: 'stage2', metadata: table, out: join(dir, 'whole'), ...quiet });
  const out = join(dir, 'sharded');
  const first = await runFeatureStage({ stage: 'stage2', metadata: table, out, shard: { index: 1, count: 3 }, ...quiet });
  assert.is(first.shard, '1/3');
  assert.is(first.computed, 3, 'rows 1, 4, 7 of 9');
  assert.not.ok(existsSync(first.outputPath), 'a shard writes no table');
  await runFeatureStage({ stage: 'stage2', metadata: table, out, merge: true, ...quiet }).then(
    () => assert.unreachable('merged before every shard ran'),
    (e: FvcError) => {
      assert.is(e.code, 'ERR_INVALID_DATA');
      assert.match(e.message, /stage2: 6 of 9 videos have no result from this configuration in .*\.parts .*run every shard first/);
    },
  );
  // The other two at once: each holds its own lock in the shared folder.
  const rest = await Promise.all([2, 3].map((index) => runFeatureStage({ stage: 'stage2', metadata: table, out, shard: { index, count: 3 }, ...quiet })));
  assert.equal(
    rest.map((r) => [r.computed, r.failed]),
    [
      [2, 1],
      [3, 0],
    ],
    'shard 2 holds the garbage file (row 5)',
  );
  const merged = await runFeatureStage({ stage: 'stage2', metadata: table, out, merge: true, ...quiet });
  assert.equal([merged.rows, merged.computed, merged.skipped, merged.failed], [8, 0, 8, 1]);
  assert.equal(await readTable(merged.outputPath), await readTable(whole.outputPath));
  assert.equal(await readTable(merged.failuresPath), await readTable(whole.failuresPath));
  await runFeatureStage({ stage: 'stage2', metadata: table, out, merge: true, strict: true, ...quiet }).then(
    () => assert.unreachable('a strict merge over a recorded failure'),
    (e: FvcError) => assert.match(e.message, /garbage\.mp4.*\(recorded by its shard\)/),
  );
  // A rerun without shards tries the failed video again rather than trusting a shard's failure.
  const again = await runFeatureStage({ stage: 'stage2', metadata: table, out, ...quiet });
  assert.equal([again.computed, again.skipped, again.failed], [0, 8, 1]);
});

test('--shard is checked: i of n with 1 <= i <= n; a shard and a merge at once are refused', async () => {
  for (const bad of ['0/3', '4/3', '1/0', '2', 'a/b']) {
    const r = spawnSync(process.execPath, [join(root, 'bin', 'fvc.js'), 'stage2', '--metadata', metadata, '--shard', bad]);
    assert.is(r.status, 1, bad);
    assert.match(r.stderr.toString(), new RegExp(`--shard: '${bad}' is not a shard i/n with 1 <= i <= n`));
  }
  await runFeatureStage({ stage: 'stage2', metadata, out: join(artifacts, 'stage2-shard-merge'), shard: { index: 1, count: 2 }, merge: true, ...quiet }).then(
    () => assert.unreachable(),
    (e: FvcError) => assert.match(e.message, /a shard \(1\/2\) and a merge are separate runs/),
  );
});

test('metadata problems are listed together before any work', async () => {
  const dir = join(artifacts, 'stage2-invalid');
  rmSync(dir, { recursive: true, force: true });
  (await import('node:fs')).mkdirSync(dir, { recursive: true });
  const table = join(dir, 'meta.csv');
  const real = join(corpusDir, 'videos/real_0000.mp4');
  writeFileSync(
    table,
    toCsv(
      ['video_path', 'label'],
      [
        { video_path: real, label: 0 },
        { video_path: real, label: 1 },
        { video_path: 'missing.mp4', label: 2 },
      ],
    ),
  );
  try {
    await runFeatureStage({ stage: 'stage2', metadata: table, out: join(dir, 'out'), minRows: 5, ...quiet });
    assert.unreachable();
  } catch (e) {
    const msg = (e as Error).message;
    assert.is((e as FvcError).code, 'ERR_INVALID_DATA');
    for (const part of [/3 row\(s\), at least 5 required/, /duplicate of row 2/, /label '2' is not 0 \(real\) or 1 \(fake\)/, /missing\.mp4: no such file/]) assert.match(msg, part);
  }
  writeFileSync(join(dir, 'meta.arrow'), 'x');
  try {
    await runFeatureStage({ stage: 'stage2', metadata: join(dir, 'meta.arrow'), ...quiet });
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /Arrow IPC/);
  }
});

test('output folder follows FVC_STAGE2_OUTPUT_DIR / FVC_STAGE4_OUTPUT_DIR unless given', () => {
  process.env.FVC_STAGE4_OUTPUT_DIR = '/tmp/fvc-s4';
  assert.is(featureStageOutputDir('stage4'), '/tmp/fvc-s4');
  assert.is(featureStageOutputDir('stage4', 'x'), 'x');
  delete process.env.FVC_STAGE4_OUTPUT_DIR;
  assert.is(featureStageOutputDir('stage2'), process.env.FVC_STAGE2_OUTPUT_DIR ?? 'data/stage2');
});

test('kill -9 mid-stage, then resume: no corrupt or duplicated rows', async () => {
  const out = join(artifacts, 'stage2-kill');
  rmSync(out, { recursive: true, force: true });
  const child = spawn(process.execPath, [join(root, 'bin/fvc.js'), 'stage2', '--metadata', metadata, '--out', out, '-n', '4', '--workers', '1'], { stdio: 'ignore' });
  const parts = join(out, '.parts');
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !(existsSync(parts) && readdirSync(parts).filter((f) => f.endsWith('.json')).length >= 2)) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  assert.ok(!existsSync(join(out, 'features_metadata.parquet')), 'no output before the stage finishes');
  const r = await runFeatureStage({ stage: 'stage2', metadata, out, ...quiet });
  assert.ok(r.skipped >= 2, `resumed (${r.skipped} kept)`);
  const rows = await readTable(r.outputPath);
  assert.is(rows.length, 8);
  assert.is(new Set(rows.map((x) => x.video_path)).size, 8);
});

test('a misspelt option of a stage function is an error with "did you mean", not the default', async () => {
  const err = await runFeatureStage({ stage: 'stage2', metadata: 'm.csv', ...({ numFrame: 4 } as object) } as Parameters<typeof runFeatureStage>[0]).catch((e: Error) => e);
  assert.match((err as Error).message, /runStage2 \(runFeatureStage\): unknown option 'numFrame' \(did you mean 'numFrames'\?\)/);
});

test.run();
