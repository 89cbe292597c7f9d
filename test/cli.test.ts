import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sampleFrames } from '../ts/index.js';
import { artifacts, h264, makeVideo, runCli } from './helpers.js';

test('--help works without loading the native addon', () => {
  // A broken addon path proves help never loads it.
  const r = runCli(['--help'], { FVC_ADDON: '/nonexistent/fvc.node' });
  assert.is(r.code, 0);
  assert.match(r.stdout, /probe/);
  for (const cmd of ['probe', 'frames', 'corpus', 'info', 'demo']) {
    const h = runCli([cmd, '--help'], { FVC_ADDON: '/nonexistent/fvc.node' });
    assert.is(h.code, 0, `${cmd} --help`);
  }
  const p = runCli(['probe', h264('gop12.mp4')], { FVC_ADDON: '/nonexistent/fvc.node' });
  assert.is(p.code, 1);
  assert.match(p.stderr, /ERR_ADDON_LOAD/);
});

test('unknown options and bad values are usage errors (exit 2)', () => {
  const a = runCli(['frames', h264('gop12.mp4'), '--bogus']);
  assert.is(a.code, 2);
  assert.match(a.stderr, /unknown option '--bogus'/);
  const b = runCli(['frames', h264('gop12.mp4'), '-n', 'abc']);
  assert.is(b.code, 2);
  assert.match(b.stderr, /-n, --num/);
  const c = runCli(['probe']);
  assert.is(c.code, 2);
});

test('a missing file exits 1 naming the file and the error code', () => {
  const r = runCli(['probe', '/no/such/clip.mp4']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /\/no\/such\/clip\.mp4: no such file \[ERR_FILE_NOT_FOUND\]/);
});

test('fvc probe --json', () => {
  const r = runCli(['probe', h264('gop12.mp4'), '--json', '--exact']);
  assert.is(r.code, 0);
  const j = JSON.parse(r.stdout);
  assert.is(j.width, 320);
  assert.is(j.frameCount, 50);
});

test('fvc frames writes a .npy that numpy reads, equal to the API result, plus PNG previews', async () => {
  const video = h264('gop12.mp4');
  const out = join(artifacts, 'cli-frames.npy');
  const png = join(artifacts, 'cli-png');
  rmSync(png, { recursive: true, force: true });
  const r = runCli(['frames', video, '-n', '5', '--size', '96', '-o', out, '--png', png, '--json']);
  assert.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.is(j.timestamps.length, 5);
  assert.equal(j.shape, [5, 96, 96, 3]);
  // Independent reader: Debian's numpy.
  const py = execFileSync('/usr/bin/python3', ['-c', `import numpy as np, sys; a = np.load(sys.argv[1]); print(a.dtype, a.shape, int(a.sum()))`, out]).toString().trim();
  const api = await sampleFrames(video, { count: 5, size: 96 });
  const sum = (api.data as Buffer).reduce((s, v) => s + v, 0);
  assert.is(py, `uint8 (5, 96, 96, 3) ${sum}`);
  for (let i = 0; i < 5; i++) {
    const file = join(png, `frame_${String(i).padStart(4, '0')}.png`);
    assert.ok(existsSync(file), file);
    const head = readFileSync(file);
    assert.is(head.subarray(1, 4).toString(), 'PNG');
    assert.is(head.readUInt32BE(16), 96, 'PNG width');
    assert.is(head.readUInt32BE(20), 96, 'PNG height');
  }
});

test('fvc info reports linked libraries and resolves the device', () => {
  const r = runCli(['info', '--json']);
  assert.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  for (const lib of ['libavformat', 'opencv', 'xgboost', 'liblinear', 'libsvm', 'torch']) assert.ok(j.versions[lib], lib);
  assert.ok(['cpu', 'cuda'].includes(j.device));
  if (!j.torch.cudaAvailable) {
    const c = runCli(['info', '--device', 'cuda']);
    assert.is(c.code, 1);
    assert.match(c.stderr, /sees no CUDA device/);
    // --gpu N is device cuda:N, refused the same way here.
    const g = runCli(['info', '--gpu', '1']);
    assert.is(g.code, 1);
    assert.match(g.stderr, /device: 'cuda:1' was requested but LibTorch sees no CUDA device/);
  }
  const both = runCli(['predict', 'x.mp4', '--model', 'nowhere', '--gpu', '1', '--device', 'cpu']);
  assert.is(both.code, 1);
  assert.match(both.stderr, /--gpu 1 and --device cpu contradict each other/);
  const bad = runCli(['info', '--device', 'cuda:x']);
  assert.is(bad.code, 2, 'a usage error');
  assert.match(bad.stderr, /expected auto, cpu, cuda or cuda:<index>/);
});

test('fvc validate lists every problem of a table at once, probing each file', () => {
  const dir = join(artifacts, 'validate');
  mkdirSync(dir, { recursive: true });
  const good = h264('validate_good.mp4', { seconds: 1 });
  const audio = makeVideo('validate_audio.m4a', ['-f', 'lavfi', '-i', 'sine=d=1', '-c:a', 'aac']);
  writeFileSync(join(dir, 'bad.csv'), `video_path,label\n${good},0\n${audio},1\nmissing.mp4,1\n${good},2\n`);
  const r = runCli(['validate', '--metadata', join(dir, 'bad.csv'), '--min-rows', '10']);
  assert.is(r.code, 1);
  for (const want of [
    '5 problem(s)',
    'at least 10 required',
    "label '2' is not 0 (real) or 1 (fake)",
    'missing.mp4: no such file',
    'duplicate of row 2',
    'validate_audio.m4a: contains no video stream',
  ])
    assert.ok(r.stderr.includes(want), `${want} in:\n${r.stderr}`);
  // A FIFO or a folder listed as a video is named for what it is (was: "file is empty"), without blocking.
  const fifo = join(dir, 'pipe.mp4');
  rmSync(fifo, { force: true });
  execFileSync('mkfifo', [fifo]);
  mkdirSync(join(dir, 'folder.mp4'), { recursive: true });
  writeFileSync(join(dir, 'special.csv'), `video_path,label\n${good},0\npipe.mp4,1\nfolder.mp4,1\n`);
  const special = runCli(['validate', '--metadata', join(dir, 'special.csv')]);
  assert.is(special.code, 1);
  assert.match(special.stderr, /row 3: \S+pipe\.mp4: a FIFO \(named pipe\), not a video file/);
  assert.match(special.stderr, /row 4: \S+folder\.mp4: a directory, not a video file/);
  assert.not.match(special.stderr, /file is empty/);
  // An empty label and a Parquet NULL are not "real": JavaScript's Number() once made them 0.
  writeFileSync(join(dir, 'empty.csv'), `video_path,label,source_id\n${good},0,a\n${audio},,b\n`);
  const empty = runCli(['validate', '--metadata', join(dir, 'empty.csv')]);
  assert.is(empty.code, 1);
  assert.match(empty.stderr, /row 3: label (NULL|empty) is not 0 \(real\) or 1 \(fake\)/);
  // Mixed CRLF/LF line ends and a semicolon delimiter read fine; a row with too many fields is named by its line.
  writeFileSync(join(dir, 'mixed.csv'), `video_path;label\r\n${good};0\n`);
  assert.is(runCli(['validate', '--metadata', join(dir, 'mixed.csv')]).code, 0);
  writeFileSync(join(dir, 'wide.csv'), `video_path,label\n${good},0,extra\n`);
  const wide = runCli(['validate', '--metadata', join(dir, 'wide.csv')]);
  assert.match(wide.stderr, /wide\.csv: 1 row\(s\) do not have the header's 2 fields: line 2 has 3/);
  writeFileSync(join(dir, 'ok.csv'), `video_path,label\n${good},0\n`);
  const ok = runCli(['validate', '--metadata', join(dir, 'ok.csv')]);
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /1 videos, ok; class balance: 1 real \(100\.0%\), 0 fake/);
});

test.run();
