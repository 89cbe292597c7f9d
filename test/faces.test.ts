/**
 * Face crops (issue 32, item 3): dlib's HOG boxes equal those of dlib's own detector run
 * as its Python binding runs it (test/dlib_faces_reference.cpp, since python3-dlib is
 * not packaged for Debian 12), on a real face (imageio's astronaut, NASA's portrait of
 * Eileen Collins) moving through a video that starts without it; the followed square,
 * the crops (checked against OpenCV's Python resize of the same frames), Stage 3's
 * face_frames and --min-face-frames, the frame cache's faces entries, and refusals.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FrameCache } from '../ts/cache/frame-cache.js';
import { readTable } from '../ts/data/table.js';
import { detectFaces, faceCrop, type CropSquare } from '../ts/video/faces.js';
import { sampleFrames } from '../ts/video/frames.js';
import { artifacts, ffprobeJson, root, runCli } from './helpers.js';

const dir = join(artifacts, 'faces');
const astronaut = '/usr/lib/python3/dist-packages/imageio/resources/images/astronaut.png';
const video = join(dir, 'face.mp4');
const noFace = join(dir, 'noface.mp4');
const reference = join(dir, 'dlib_reference');
const W = 768;
const H = 576;
let pngs: string[] = [];

const py = (script: string, ...args: string[]) => execFileSync('/usr/bin/python3', ['-c', script, ...args], { maxBuffer: 1 << 26 }).toString();

test.before(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'png'), { recursive: true });
  // dlib's templates call LAPACK directly, so the program links it as libdlib does.
  execFileSync('g++', ['-O2', '-std=c++17', join(root, 'test', 'dlib_faces_reference.cpp'), '-o', reference, '-ldlib', '-l:liblapack.so.3', '-l:libblas.so.3']);
  // 1 s of black, then the portrait (384 px) sliding right: 40 frames at 10 fps.
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', `color=black:s=${W}x${H}:d=4:r=10`, '-loop', '1', '-i', astronaut],
    ...['-filter_complex', "[1]scale=384:384[a];[0][a]overlay=x='if(lt(t,1),-1000,(t-1)*100)':y=96:shortest=1,format=yuv420p"],
    ...['-t', '4', '-r', '10', '-c:v', 'libx264', '-crf', '12', video],
  ]);
  execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=320x240:d=2:r=10', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', noFace]);
  // Every 6th frame as PNG (the ffmpeg CLI decodes them), and the still portrait.
  execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-i', video, '-vf', 'select=not(mod(n\\,6))', '-fps_mode', 'passthrough', join(dir, 'png', 'f_%02d.png')]);
  pngs = readdirSync(join(dir, 'png'))
    .sort()
    .map((f) => join(dir, 'png', f));
  // The same pixels as .npy for fvc: one array per image, and the frames as one clip.
  py(
    `
import sys, numpy as np
from PIL import Image
out, files = sys.argv[1], sys.argv[2:]
for i, f in enumerate(files):
    np.save(f'{out}/img_{i}.npy', np.asarray(Image.open(f).convert('RGB'))[None])
np.save(f'{out}/seq.npy', np.stack([np.asarray(Image.open(f).convert('RGB')) for f in files[1:]]))
`,
    dir,
    astronaut,
    ...pngs,
  );
});

/** dlib's boxes per image as [left, top, right, bottom, score]. */
function referenceBoxes(upsample: number, files: string[]): number[][][] {
  return execFileSync(reference, [String(upsample), ...files])
    .toString()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as number[][]);
}

test("the hog detector's boxes and scores are dlib's own (detector(img, upsample) for upsample 0 and 1)", async () => {
  const images = [astronaut, ...pngs];
  let faces = 0;
  for (const upsample of [0, 1]) {
    const want = referenceBoxes(upsample, images);
    for (let i = 0; i < images.length; i++) {
      const got = (await detectFaces(join(dir, `img_${i}.npy`), { upsample, detectSize: 0 })).faces[0] ?? [];
      const w = want[i] ?? [];
      assert.is(got.length, w.length, `${images[i]} upsample ${upsample}: ${JSON.stringify(got)} vs ${JSON.stringify(w)}`);
      got.forEach((b, k) => {
        const [l, t, r, bt, score] = w[k] as number[];
        assert.equal([b.x, b.y, b.x + b.width - 1, b.y + b.height - 1], [l, t, r, bt], `${images[i]} box ${k}`);
        assert.ok(Math.abs(b.score - (score as number)) < 1e-9, `${images[i]} score ${b.score} vs ${score}`);
      });
      faces += got.length;
    }
  }
  // The portrait's face in the still, and in each of the five frames that show it, at both settings.
  assert.ok(faces >= 12, `${faces} faces found`);
});

/** DeepfakeBench's rule made square and kept inside the frame: margin x the longer side, centred on the face. */
function square(b: number[], w: number, h: number, margin = 1.3): CropSquare {
  const [l, t, r, bt] = b as [number, number, number, number];
  const bw = r - l + 1;
  const bh = bt - t + 1;
  const side = Math.min(Math.round(Math.max(bw, bh) * margin), w, h);
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  return { x: clamp(Math.round(l + bw / 2 - side / 2), w - side), y: clamp(Math.round(t + bh / 2 - side / 2), h - side), side, face: true };
}

test('the crop square follows the largest face, then the face overlapping it; before any face it is the centred frame', async () => {
  const want = referenceBoxes(1, pngs);
  const got = await detectFaces(join(dir, 'seq.npy'), { detectSize: 0 });
  const iou = (a: number[], b: number[]) => {
    const ix = Math.max(0, Math.min(a[2] as number, b[2] as number) - Math.max(a[0] as number, b[0] as number) + 1);
    const iy = Math.max(0, Math.min(a[3] as number, b[3] as number) - Math.max(a[1] as number, b[1] as number) + 1);
    const area = (x: number[]) => ((x[2] as number) - (x[0] as number) + 1) * ((x[3] as number) - (x[1] as number) + 1);
    return (ix * iy) / (area(a) + area(b) - ix * iy);
  };
  let followed: number[] | undefined;
  let last: CropSquare = { x: (W - H) / 2, y: 0, side: H, face: false };
  const expected = want.map((boxes) => {
    if (!boxes.length) return { ...last, face: false };
    const area = (x: number[]) => ((x[2] as number) - (x[0] as number) + 1) * ((x[3] as number) - (x[1] as number) + 1);
    let pick = boxes.reduce((a, b) => (area(b) > area(a) || (area(b) === area(a) && (b[4] as number) > (a[4] as number)) ? b : a));
    if (followed) {
      const overlapping = boxes.filter((b) => iou(b, followed as number[]) > 0).sort((a, b) => iou(b, followed as number[]) - iou(a, followed as number[]));
      if (overlapping[0]) pick = overlapping[0];
    }
    followed = pick;
    last = square(pick, W, H);
    return last;
  });
  assert.equal(got.squares, expected);
  assert.is(got.faceFrames, want.filter((b) => b.length).length);
  assert.equal(got.squares[0], { x: 96, y: 0, side: 576, face: false }, 'no face yet: the centred square of the whole frame');
});

test('sampled face crops are the squares cut from the native frames and resized as OpenCV does (INTER_AREA when shrinking)', async () => {
  const faces = await faceCrop({ detectSize: 0 });
  const crops = await sampleFrames(video, { count: 8, size: 96, faces, npy: join(dir, 'crops.npy'), returnData: false });
  const whole = await sampleFrames(video, { count: 8, size: 0, letterbox: false, npy: join(dir, 'native.npy'), returnData: false });
  assert.equal(crops.shape, [8, 96, 96, 3]);
  assert.equal(crops.timestamps, whole.timestamps);
  assert.ok(crops.faces && crops.faces.frames >= 5, `faces in ${crops.faces?.frames} of 8 sampled frames`);
  const d = py(
    `
import sys, json, numpy as np, cv2
crops, frames, squares = np.load(sys.argv[1]), np.load(sys.argv[2]), json.loads(sys.argv[3])
worst = 0
for c, f, s in zip(crops, frames, squares):
    roi = f[s['y']:s['y'] + s['side'], s['x']:s['x'] + s['side']]
    want = cv2.resize(roi, (96, 96), interpolation=cv2.INTER_AREA if s['side'] > 96 else cv2.INTER_LINEAR)
    worst = max(worst, int(np.abs(want.astype(int) - c.astype(int)).max()))
print(worst)
`,
    join(dir, 'crops.npy'),
    join(dir, 'native.npy'),
    JSON.stringify(crops.faces?.squares),
  );
  assert.is(Number(d), 0, `max |fvc - cv2| = ${d}`);
});

test('fvc stage3 --faces writes face-crop videos and face_frames; --min-face-frames turns too few into failure rows', async () => {
  const table = join(dir, 'videos.csv');
  writeFileSync(table, `video_path,label\nface.mp4,1\nnoface.mp4,0\n`);
  const out = join(dir, 'stage3');
  const r = runCli(['stage3', '--metadata', table, '--out', out, '--faces', '--size', '128']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /hog face crops x1\.3/);
  const rows = await readTable(join(out, 'scaled_metadata.parquet'));
  const byLabel = (l: number) => rows.find((x) => x.label === l) as Record<string, unknown>;
  const faceFrames = Number(byLabel(1).face_frames);
  // The portrait is on screen for 30 of the 40 frames.
  assert.ok(faceFrames >= 25 && faceFrames <= 30, `face_frames ${faceFrames}`);
  assert.is(Number(byLabel(0).face_frames), 0, 'a video without faces is kept, its frames the centred square');
  const s = ffprobeJson(join(out, byLabel(1).video_path as string), ['-count_frames', '-show_entries', 'stream=width,height,nb_read_frames']).streams[0];
  assert.equal([s.width, s.height, Number(s.nb_read_frames)], [128, 128, 40]);

  const strict = join(dir, 'stage3-min');
  const m = runCli(['stage3', '--metadata', table, '--out', strict, '--faces', '--size', '128', '--min-face-frames', '5']);
  assert.is(m.code, 0, m.stderr);
  assert.is((await readTable(join(strict, 'scaled_metadata.parquet'))).length, 1);
  const failures = await readTable(join(strict, 'failures.parquet'));
  assert.is(failures.length, 1);
  assert.match(String(failures[0]?.message), /noface\.mp4: a face was found in 0 of 20 frames, fewer than --min-face-frames 5/);
  assert.is(readdirSync(join(strict, 'videos')).length, 1, "the refused video's crop is not left behind");
});

test("the frame cache keys face crops apart from whole frames, and keeps each entry's face count", async () => {
  const cache = new FrameCache(join(dir, 'cache'));
  const faces = await faceCrop({ margin: 1.5 });
  const a = await cache.get(video, { numFrames: 6, size: 64, faces });
  const again = await cache.get(video, { numFrames: 6, size: 64, faces });
  const plain = await cache.get(video, { numFrames: 6, size: 64 });
  assert.is(a.hit, false);
  assert.is(again.hit, true);
  assert.is(again.faceFrames, a.faceFrames);
  assert.ok((a.faceFrames ?? 0) >= 3, `${a.faceFrames} of 6`);
  assert.is.not(plain.key, a.key);
  assert.is(plain.faceFrames, undefined);
  const other = await cache.get(video, { numFrames: 6, size: 64, faces: await faceCrop({ margin: 1.3 }) });
  assert.is.not(other.key, a.key, 'another margin is another entry');
});

test('face settings are refused by name: an unknown detector or field, yunet without its model, a file OpenCV cannot load', async () => {
  await faceCrop({ detector: 'mtcnn' as 'hog' }).then(
    () => assert.unreachable(),
    (e: Error) => assert.match(e.message, /faces\.detector: 'mtcnn' is not one of hog, yunet/),
  );
  await faceCrop({ margins: 2 } as never, 'deep.faces').then(
    () => assert.unreachable(),
    (e: Error) => assert.match(e.message, /deep\.faces\.margins: unknown setting/),
  );
  await faceCrop({ margin: 0.5 }).then(
    () => assert.unreachable(),
    (e: Error) => assert.match(e.message, /faces\.margin: 0\.5 is not a number in \[1, 4\]/),
  );
  const noModel = runCli(['stage3', '--metadata', join(dir, 'videos.csv'), '--out', join(dir, 's3-bad'), '--faces', 'yunet']);
  assert.is(noModel.code, 1);
  assert.match(noModel.stderr, /faces\.model: the yunet detector needs its ONNX file/);
  const bogus = join(dir, 'bogus.onnx');
  writeFileSync(bogus, 'not an onnx graph');
  const bad = runCli(['stage3', '--metadata', join(dir, 'videos.csv'), '--out', join(dir, 's3-bogus'), '--faces', 'yunet', '--face-model', bogus, '--strict']);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /bogus\.onnx: OpenCV cannot load it as a YuNet face detector/);
  const missing = await detectFaces(join(dir, 'nothing.npy'), {}).then(
    () => undefined,
    (e: Error & { code?: string }) => e,
  );
  assert.is(missing?.code, 'ERR_FILE_NOT_FOUND');
});

test('a deep model trained on face crops predicts a new video with the same crops: its settings travel with best_model', async () => {
  // Eight distinct files: the portrait video and the face-less one re-encoded at other qualities.
  const rows = ['video_path,label'];
  for (let i = 0; i < 4; i++) {
    for (const [src, label, name] of [
      [video, 1, 'face'],
      [noFace, 0, 'plain'],
    ] as const) {
      const file = `${name}_${i}.mp4`;
      execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-i', src, '-c:v', 'libx264', '-crf', String(18 + i), join(dir, file)]);
      rows.push(`${file},${label}`);
    }
  }
  const table = join(dir, 'deep.csv');
  writeFileSync(table, `${rows.join('\n')}\n`);
  const out = join(dir, 'stage5');
  const cache = join(dir, 'deep-cache');
  const t = runCli([
    ...['train', '--models', 'naive_cnn', '--videos', table, '--output-dir', out, '--frame-cache-dir', cache, '--n-splits', '2', '--epochs', '1'],
    ...['--num-frames', '4', '--frame-size', '48', '--crop-size', '40', '--width', '0.25', '--faces', '--face-detect-size', '320', '--device', 'cpu'],
  ]);
  assert.is(t.code, 0, t.stderr);
  assert.match(t.stderr, /hog face crops x1\.3: a face in \d+ of 32 frames/);
  const model = JSON.parse(readFileSync(join(out, 'naive_cnn', 'best_model', 'model.json'), 'utf8')) as { fold: number; deep: { faces?: { detector: string; detectSize: number } } };
  assert.equal([model.deep.faces?.detector, model.deep.faces?.detectSize], ['hog', 320]);
  const predictions = readFileSync(join(out, 'naive_cnn', `fold_${model.fold}`, 'predictions.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1);
  const [id, , , prob] = (predictions[0] as string).split(',');
  const p = runCli(['predict', join(dir, id as string), '--model', join(out, 'naive_cnn', 'best_model'), '--frame-cache-dir', join(dir, 'predict-cache'), '--device', 'cpu', '--json']);
  assert.is(p.code, 0, p.stderr);
  const [got] = JSON.parse(p.stdout) as Array<{ prob: number }>;
  // A fresh cache: the crops are cut again from the video, as in training, and score the same.
  assert.ok(Math.abs((got?.prob as number) - Number(prob)) < 1e-5, `predict ${got?.prob} vs the fold's ${prob}`);
});

test('deep features are extracted from face crops when asked, as a table of their own, and the same settings find it again', async () => {
  const { extractEmbeddings } = await import('../ts/extract/store.js');
  const small = {
    scale: { width: 0.05, depth: 1 },
    sampling: { numFrames: 4, frameSize: 48, cropSize: 40 },
    threads: 2,
    quiet: true,
    featuresDir: join(dir, 'features'),
    frameCacheDir: join(dir, 'extract-cache'),
  };
  const weights = { kind: 'random', seed: 0 } as const;
  const faces = await faceCrop({ detectSize: 320 });
  const whole = await extractEmbeddings({ backbone: 'r2plus1d_18', weights, videos: [video], ...small });
  const cropped = await extractEmbeddings({ backbone: 'r2plus1d_18', weights, videos: [video], ...small, faces });
  const again = await extractEmbeddings({ backbone: 'r2plus1d_18', weights, videos: [video], ...small, faces });
  assert.is.not(cropped.key, whole.key);
  assert.ok(
    Array.from(cropped.x).some((v, i) => v !== whole.x[i]),
    'other pixels, other features',
  );
  assert.equal([again.key, again.extracted, again.reused], [cropped.key, 0, 1]);
});

test.run();
