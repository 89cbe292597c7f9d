/**
 * Output folders after crashes and collisions: one writer per folder (a second is
 * refused naming the holder; a dead holder's lock is taken over), temporaries that
 * never look like finished files, and a dead process's temporaries removed by the
 * next run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateCorpus, runFeatureStage } from '../ts/index.js';
import { processAlive, tempName } from '../ts/util/fs.js';
import { LOCK_FILE } from '../ts/util/lock.js';
import { artifacts, root, runCli } from './helpers.js';

const dir = join(artifacts, 'output-safety');
const metadata = join(dir, 'corpus', 'metadata.csv');
const quiet = { quiet: true, workers: 2 };

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync('true');
  assert.not.ok(processAlive(r.pid as number));
  return r.pid as number;
}

test.before(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await generateCorpus({ out: join(dir, 'corpus'), videos: 6, duration: 1, seed: 4, quiet: true });
});

test("a second run into a folder in use is refused naming the holder; a dead holder's lock is taken over", async () => {
  const out = join(dir, 'stage2');
  mkdirSync(out, { recursive: true });
  const holder = spawn('sleep', ['60']);
  try {
    writeFileSync(join(out, LOCK_FILE), JSON.stringify({ pid: holder.pid, host: hostname(), what: 'fvc stage2', started: '2026-12-02T00:00:00Z' }));
    const r = runCli(['stage2', '--metadata', metadata, '--out', out, '-n', '2']);
    assert.is(r.code, 1);
    assert.match(r.stderr, new RegExp(`stage2: in use by pid ${holder.pid} on ${hostname()} \\(fvc stage2, since 2026-12-02T00:00:00Z\\)`));
    assert.not.ok(existsSync(join(out, 'features_metadata.parquet')), 'nothing written');
  } finally {
    holder.kill();
  }
  await new Promise((r) => holder.once('exit', r));
  // The holder is gone (kill -9, a crash): the next run takes the folder over and releases it.
  const done = await runFeatureStage({ stage: 'stage2', metadata, out, numFrames: 2, ...quiet });
  assert.is(done.rows, 6);
  assert.not.ok(existsSync(join(out, LOCK_FILE)), 'released at the end');
});

test('two concurrent runs into one folder: exactly one writes, the other is refused', async () => {
  const out = join(dir, 'concurrent');
  const runs = await Promise.allSettled([0, 1].map(() => runFeatureStage({ stage: 'stage2', metadata, out, numFrames: 2, ...quiet })));
  assert.is(runs.filter((r) => r.status === 'fulfilled').length, 1);
  const refused = runs.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  assert.is(refused.reason.code, 'ERR_LOCKED');
  assert.match(refused.reason.message, /in use by this process \(fvc stage2/);
});

test("temporaries never end in the final extension; a dead process's are removed by the next run, a live one's and another host's kept", async () => {
  assert.not.match(tempName('/x/videos/a.mp4'), /\.mp4$/);
  const out = join(dir, 'stage2-leftovers');
  mkdirSync(join(out, '.parts'), { recursive: true });
  const dead = deadPid();
  const host = hostname();
  const leftovers = [`features_metadata.parquet.tmp-${dead}@${host}-1a2b3c4d`, `features_metadata.parquet.tmp-${dead}@${host}-1a2b3c4d.jsonl`, `.parts/abc.json.tmp-${dead}-7`];
  const kept = [`x.tmp-${process.pid}@${host}-00ff`, `y.tmp-${dead}@another-node-01-00ff`];
  for (const f of [...leftovers, ...kept]) writeFileSync(join(out, f), 'partial');
  await runFeatureStage({ stage: 'stage2', metadata, out, numFrames: 2, ...quiet });
  for (const f of leftovers) assert.not.ok(existsSync(join(out, f)), `${f} removed`);
  for (const f of kept) assert.ok(existsSync(join(out, f)), `${f} kept`);
});

test('Stage 3 killed with -9 mid-run leaves no *.mp4 that is not a finished video, and the rerun cleans up and completes', async () => {
  const out = join(dir, 'stage3');
  const child = spawn(process.execPath, [join(root, 'bin', 'fvc.js'), 'stage3', '--metadata', metadata, '--out', out, '--workers', '2'], { stdio: 'ignore' });
  // Kill as soon as a temporary video exists (or after 20 s at most).
  const videos = join(out, 'videos');
  const temporary = () => existsSync(videos) && readdirSync(videos).some((f) => f.includes('.tmp-'));
  for (let i = 0; i < 400 && !temporary(); i++) await new Promise((r) => setTimeout(r, 50));
  // Without one, the case below would pass without testing anything.
  assert.ok(temporary(), 'a temporary video existed when the process was killed');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const left = existsSync(videos) ? readdirSync(videos) : [];
  for (const f of left.filter((f) => f.includes('.tmp-'))) assert.not.match(f, /\.mp4$/, f);
  assert.ok(existsSync(join(out, LOCK_FILE)), 'the killed run could not release its lock');
  const r = runCli(['stage3', '--metadata', metadata, '--out', out]);
  assert.is(r.code, 0, r.stderr);
  const after = readdirSync(videos);
  assert.equal(
    after.filter((f) => f.includes('.tmp-')),
    [],
    'leftovers removed',
  );
  assert.is(after.filter((f) => f.endsWith('.mp4')).length, 6);
});

test('video names up to the file system limit work in Stage 1 and Stage 3: derived names are cut to fit beside their temporary suffix, hash kept (was: excluded as ERR_IO)', () => {
  const long = join(dir, 'long');
  mkdirSync(long, { recursive: true });
  const names = [`${'v'.repeat(246)}.mp4`, `${'é'.repeat(123)}.mp4`, `${'v'.repeat(246)}.avi`];
  const src = readFileSync(join(dir, 'corpus', 'videos', 'real_0000.mp4'));
  for (const n of names) writeFileSync(join(long, n), src);
  writeFileSync(join(long, 'metadata.csv'), `video_path,label\n${names.map((n, i) => `${n},${i % 2}`).join('\n')}\n`);
  for (const [stage, extra] of [
    ['stage3', []],
    ['stage1', ['--copies', '1']],
  ] as const) {
    const out = join(long, stage);
    const r = runCli([stage, '--metadata', join(long, 'metadata.csv'), '--out', out, '--strict', ...extra]);
    assert.is(r.code, 0, r.stderr);
    const made = readdirSync(join(out, 'videos'));
    assert.is(made.length, 3, made.join('\n'));
    for (const f of made) assert.ok(Buffer.byteLength(f) <= 159, `${f}: ${Buffer.byteLength(f)} bytes`);
    assert.is(new Set(made).size, 3, 'two names that differ only past the cut stay distinct');
  }
});

test.run();
