import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readTable } from '../ts/data/table.js';
import { FvcError, probe, runFeatureStage, sampleFrames, type FvcErrorCode } from '../ts/index.js';
import { h264, makeVideo, root, runCli, videoDir } from './helpers.js';

// Every bad input must fail with a typed error that names the file, quickly.
async function expectError(path: string, code: FvcErrorCode, cause: RegExp) {
  for (const run of [() => probe(path), () => sampleFrames(path, { count: 4, size: 64 })]) {
    const started = Date.now();
    try {
      await run();
      assert.unreachable(`${path} should fail with ${code}`);
    } catch (e) {
      assert.instance(e, FvcError, 'typed error');
      const err = e as FvcError;
      assert.is(err.code, code, err.message);
      assert.ok(err.message.includes(path), `message names the file: ${err.message}`);
      assert.match(err.message, cause);
    }
    assert.ok(Date.now() - started < 20_000, 'bounded time');
  }
}

test('missing path', async () => {
  await expectError(join(videoDir, 'does-not-exist.mp4'), 'ERR_FILE_NOT_FOUND', /no such file/);
});

test('a FIFO named .mp4 is refused before opening (open() on it blocks for ever), by probe, frames and features', async () => {
  const p = join(videoDir, 'fifo.mp4');
  rmSync(p, { force: true });
  execFileSync('mkfifo', [p]);
  await expectError(p, 'ERR_INVALID_ARGUMENT', /not a regular file/);
  // The CLI too, in a child with a hard limit: a regression hangs here instead of the suite.
  for (const args of [
    ['probe', p, '--timeout', '5'],
    ['frames', p, '-n', '2', '--json'],
    ['features', p],
  ]) {
    const r = spawnSync(process.execPath, [join(root, 'bin', 'fvc.js'), ...args], { timeout: 30_000, encoding: 'utf8' });
    assert.is(r.signal, null, `fvc ${args[0]} on a FIFO was killed after 30 s`);
    assert.is(r.status, 1);
    assert.match(r.stderr, /fifo\.mp4: not a regular file/, args[0]);
  }
});

test('a y4m header declaring 60000x60000 is invalid data naming the header, not an I/O error ("Device or resource busy")', async () => {
  const p = join(videoDir, 'huge.y4m');
  writeFileSync(p, Buffer.concat([Buffer.from('YUV4MPEG2 W60000 H60000 F25:1 Ip A1:1 C420jpeg\nFRAME\n'), Buffer.alloc(4096, 7)]));
  await expectError(p, 'ERR_INVALID_DATA', /the container's header was refused/);
});

test('zero-byte file', async () => {
  const p = join(videoDir, 'empty.mp4');
  writeFileSync(p, '');
  await expectError(p, 'ERR_EMPTY_FILE', /empty/);
});

test('random bytes named .mp4', async () => {
  const p = join(videoDir, 'random.mp4');
  const bytes = Buffer.alloc(64 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
  writeFileSync(p, bytes);
  await expectError(p, 'ERR_INVALID_DATA', /not a readable video container/);
});

test('truncated MP4 without its index (moov at the end) is an error', async () => {
  const full = h264('moov_end.mp4', { seconds: 2 });
  const p = join(videoDir, 'truncated_moov_end.mp4');
  const data = readFileSync(full);
  writeFileSync(p, data.subarray(0, Math.floor(data.length / 2)));
  await expectError(p, 'ERR_INVALID_DATA', /truncated|not a readable/);
});

test('truncated faststart MP4 gives its decodable frames plus a warning', async () => {
  const full = h264('faststart.mp4', { seconds: 4, extra: ['-movflags', '+faststart'] });
  const p = join(videoDir, 'truncated_faststart.mp4');
  const data = readFileSync(full);
  writeFileSync(p, data.subarray(0, Math.floor(data.length * 0.5)));
  const r = await sampleFrames(p, { count: 8, size: 64 });
  assert.is(r.shape[0], 8);
  assert.ok(r.warnings.length > 0, 'damage is reported');
  assert.ok((r.timestamps[7] as number) < 3, `late targets fall back to the last decodable frame (${r.timestamps[7]})`);
});

test('audio-only file', async () => {
  const p = makeVideo('audio_only.m4a', ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac']);
  await expectError(p, 'ERR_NO_VIDEO_STREAM', /no video stream \(streams: audio\)/);
});

test('corrupted middle: frames still come back, with a warning', async () => {
  const full = h264('corrupt_src.mp4', { seconds: 4, gop: 25, extra: ['-movflags', '+faststart'] });
  const p = join(videoDir, 'corrupt_middle.mp4');
  const data = Buffer.from(readFileSync(full));
  writeFileSync(p, data);
  const fd = openSync(p, 'r+');
  const junk = Buffer.alloc(Math.floor(data.length / 6));
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919 + 13) & 0xff;
  writeSync(fd, junk, 0, junk.length, Math.floor(data.length * 0.45));
  closeSync(fd);
  const r = await sampleFrames(p, { count: 8, size: 64 });
  assert.is(r.shape[0], 8);
  assert.ok(r.warnings.length > 0 || r.stats.failedPackets > 0, `damage reported: ${JSON.stringify(r.warnings)}`);
});

test('flipped bytes inside an H.264 stream: the frames libav conceals are marked damaged (as ffmpeg reports errors), --strict refuses them, Stage 2 counts them; a clean copy has none', async () => {
  const clean = h264('damage_clean.mp4', { seconds: 4, gop: 50 });
  const bytes = readFileSync(clean);
  // Ten bytes flipped in the media data, at seeded positions past the header.
  let x = 12345;
  for (let k = 0; k < 10; k++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const at = Math.floor(bytes.length / 4) + (x % Math.floor(bytes.length / 2));
    bytes[at] = (bytes[at] as number) ^ 0xff;
  }
  const damaged = join(videoDir, 'damage_flipped.mp4');
  writeFileSync(damaged, bytes);
  // The independent reference: ffmpeg's own decoder reports errors for this file only.
  const ffErrors = (p: string) => spawnSync('ffmpeg', ['-v', 'error', '-i', p, '-f', 'null', '-'], { encoding: 'utf8' }).stderr.trim();
  assert.is(ffErrors(clean), '');
  assert.ok(ffErrors(damaged).length > 0, 'ffmpeg sees the damage too');

  const good = await sampleFrames(clean, { count: 16, size: 64 });
  assert.equal(good.damaged, new Array(16).fill(false));
  assert.is(good.stats.decoderErrors, 0);
  assert.equal(good.warnings, []);
  const one = await sampleFrames(damaged, { count: 16, size: 64, threads: 1 });
  assert.ok(one.stats.damagedFrames > 0 && one.stats.decoderErrors > 0, JSON.stringify(one.stats));
  assert.ok(
    one.warnings.some((w) => /returned frame\(s\) decoded from damaged data/.test(w)),
    one.warnings.join('\n'),
  );
  // Frame threads lose libav's per-frame flags: fvc decodes again on one thread, so both agree frame for frame.
  const auto = await sampleFrames(damaged, { count: 16, size: 64, threads: 0 });
  assert.equal(auto.damaged, one.damaged);

  const json = runCli(['frames', damaged, '-n', '16', '--size', '64', '--json']);
  assert.is(json.code, 0, json.stderr);
  assert.equal(JSON.parse(json.stdout).damaged, one.damaged);
  const npy = join(videoDir, 'strict.npy');
  const pngs = join(videoDir, 'strict-png');
  rmSync(pngs, { recursive: true, force: true });
  rmSync(npy, { force: true });
  const strict = runCli(['frames', damaged, '-n', '16', '--size', '64', '--strict', '-o', npy, '--png', pngs]);
  assert.is(strict.code, 1);
  assert.match(strict.stderr, /\d+ of 16 returned frames were decoded from damaged data \(--strict\)/);
  assert.not.ok(existsSync(npy), 'a failed command writes nothing');
  assert.not.ok(existsSync(pngs), 'a failed command writes nothing');
  assert.equal(
    readdirSync(videoDir).filter((f) => f.includes('.tmp-')),
    [],
    'no temporaries left',
  );
  assert.is(runCli(['frames', clean, '-n', '16', '--size', '64', '--strict', '-o', npy, '--png', pngs]).code, 0);
  assert.is(readdirSync(pngs).length, 16);
  assert.ok(existsSync(npy));

  const table = join(videoDir, 'damage.csv');
  writeFileSync(table, `video_path,label\n${clean},0\n${damaged},1\n`);
  const out = join(videoDir, 'damage-stage2');
  rmSync(out, { recursive: true, force: true });
  await runFeatureStage({ stage: 'stage2', metadata: table, out, numFrames: 16, quiet: true });
  const rows = await readTable(join(out, 'features_metadata.parquet'));
  assert.is(Number(rows.find((r) => r.video_path === clean)?.damaged_frames), 0);
  assert.is(Number(rows.find((r) => r.video_path === damaged)?.damaged_frames), one.stats.damagedFrames);
  const strictStage = await runFeatureStage({ stage: 'stage2', metadata: table, out: join(videoDir, 'damage-stage2-strict'), numFrames: 16, quiet: true, strict: true }).catch((e: Error) => e);
  assert.match((strictStage as Error).message, /damage_flipped\.mp4: \d+ of 16 sampled frames were decoded from damaged data \(--strict\)/);
});

test('invalid options are ERR_INVALID_ARGUMENT naming the field', async () => {
  const p = h264('gop12.mp4');
  const cases: Array<[object, RegExp]> = [
    [{ count: 0 }, /count/],
    [{ interpolation: 'cubic-ish' }, /interpolation/],
    [{ size: 0 }, /size/],
    [{ threads: -1 }, /threads/],
  ];
  for (const [o, field] of cases) {
    try {
      await sampleFrames(p, o);
      assert.unreachable(JSON.stringify(o));
    } catch (e) {
      assert.is((e as FvcError).code, 'ERR_INVALID_ARGUMENT');
      assert.match((e as Error).message, field);
    }
  }
});

test('a directory is not a video', async () => {
  await expectError(videoDir, 'ERR_INVALID_ARGUMENT', /directory/);
});

test('a sampling whose frames would take over 1 GiB is refused before anything is allocated, saying how to stay inside (fuzzing found a 5 KB file declaring 12593x13088)', () => {
  const video = h264('budget.mp4', { seconds: 1, size: '320x240' });
  const r = runCli(['frames', video, '-n', '5000', '--size', '0', '--native-aspect', '--json']);
  assert.is(r.code, 1, r.stdout);
  assert.match(r.stderr, /budget\.mp4: 5000 frames of 320x240 would take 1098 MiB, over fvc's 1024 MiB for one sampling: sample fewer frames or resize them \[ERR_INVALID_ARGUMENT\]/);
  assert.is(runCli(['frames', video, '-n', '4000', '--size', '0', '--native-aspect', '--json']).code, 0, '879 MiB is inside');
});

test.run();
