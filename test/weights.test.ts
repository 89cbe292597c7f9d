/**
 * Published weights by name, against a local HTTP server (never the internet): a
 * torchvision export served under torchvision's published name is refused (its hash is
 * not the published one), a custom URL with its own SHA-256 downloads, resumes, follows
 * redirects and then loads to torchvision's logits; weights with no published hash are
 * recorded as unchecked; jobs that may not download say what to fetch.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveWeightsOption, weightsCacheDir } from '../ts/weights/cache.js';
import { publishedSampling, weightsSource } from '../ts/weights/preset.js';
import { allWeights } from '../ts/weights/registry.js';
import { architectureInfo } from '../ts/deep/presets.js';
import { artifacts, h264, root, runCli } from './helpers.js';
import { native } from '../ts/native/binding.js';
import { modelLogits } from '../ts/deep/architectures.js';
import { extractEmbeddings } from '../ts/extract/store.js';
import { resolveConfig } from '../ts/train/config.js';
import { specOf, type ModelSpec } from '../ts/train/catalogue.js';
import { deepOptionsFor } from '../ts/train/implementations/deep-model.js';

const dir = join(artifacts, 'weights');
const served = join(dir, 'served');
const home = join(dir, 'home');
let server: ChildProcess;
let base = '';
let sha = '';
const env = () => ({ FVC_HOME: home, FVC_WEIGHTS_MIRROR: base });

/**
 * Files under `served`, with Range requests as a CDN answers them, and one redirect; in
 * its own process, since the CLI runs under spawnSync, which blocks this one. Each
 * request is appended to requests.jsonl.
 */
const SERVER = `
import { createReadStream, existsSync, statSync, appendFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
const [served, log] = process.argv.slice(2);
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  appendFileSync(log, JSON.stringify({ path, ...(req.headers.range ? { range: req.headers.range } : {}) }) + '\\n');
  if (path.startsWith('/redirect/')) {
    res.writeHead(302, { location: '/custom/' + path.slice('/redirect/'.length) });
    return res.end();
  }
  const file = join(served, path);
  if (!file.startsWith(served) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404);
    return res.end();
  }
  const size = statSync(file).size;
  const range = /^bytes=(\\d+)-$/.exec(req.headers.range ?? '');
  const start = range ? Number(range[1]) : 0;
  if (range && start >= size) {
    res.writeHead(416, { 'content-range': 'bytes */' + size });
    return res.end();
  }
  res.writeHead(range ? 206 : 200, { 'content-length': String(size - start), ...(range ? { 'content-range': 'bytes ' + start + '-' + (size - 1) + '/' + size } : {}) });
  createReadStream(file, { start }).pipe(res);
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;
const requests = () =>
  existsSync(join(dir, 'requests.jsonl'))
    ? readFileSync(join(dir, 'requests.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { path: string; range?: string })
    : [];

function serve(): Promise<void> {
  writeFileSync(join(dir, 'server.mjs'), SERVER);
  server = spawn(process.execPath, [join(dir, 'server.mjs'), served, join(dir, 'requests.jsonl')], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((done) =>
    server.stdout?.once('data', (b: Buffer) => {
      base = `http://127.0.0.1:${b.toString().trim()}`;
      done();
    }),
  );
}

test.before(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(served, 'custom'), { recursive: true });
  process.env.FVC_HOME = home;
  // mc3_18 (the smallest torchvision video model) with Kinetics' 400 classes, saved as torchvision publishes: torch.save of the state dict.
  const py = `
import json, sys, numpy as np, torch
from torchvision.models import video
torch.manual_seed(3)
m = video.mc3_18(num_classes=400).eval()
torch.save(m.state_dict(), sys.argv[1])
x = torch.from_numpy(np.random.default_rng(4).standard_normal((1, 3, 8, 112, 112)).astype(np.float32))
np.save(sys.argv[2], x.numpy())
with torch.no_grad():
    json.dump(m(x)[0].tolist(), open(sys.argv[3], 'w'))`;
  execFileSync('/usr/bin/python3', ['-c', py, join(served, 'custom', 'mc3.pth'), join(dir, 'input.npy'), join(dir, 'logits.json')], { stdio: ['ignore', 'ignore', 'inherit'] });
  sha = createHash('sha256')
    .update(readFileSync(join(served, 'custom', 'mc3.pth')))
    .digest('hex');
  // The same bytes under torchvision's published name, on a mirror laid out host/path.
  mkdirSync(join(served, 'download.pytorch.org', 'models'), { recursive: true });
  execFileSync('cp', [join(served, 'custom', 'mc3.pth'), join(served, 'download.pytorch.org', 'models', 'mc3_18-a90a0ba3.pth')]);
  // PyTorchVideo publishes no hash: any bytes are taken, and recorded as unchecked.
  mkdirSync(join(served, 'dl.fbaipublicfiles.com', 'pytorchvideo', 'model_zoo', 'kinetics'), { recursive: true });
  writeFileSync(join(served, 'dl.fbaipublicfiles.com', 'pytorchvideo', 'model_zoo', 'kinetics', 'X3D_XS.pyth'), 'not checked\n');
  // timm's ViT-Ti/16 file as timm names it (a small ViT of that layout: width 0.25, depth 2), with a
  // uint8 clip and the same clip normalised by timm's mean and std 0.5, as the model takes it.
  const timm = join(served, 'huggingface.co', 'timm', 'vit_tiny_patch16_224.augreg_in21k_ft_in1k', 'resolve', 'main');
  mkdirSync(timm, { recursive: true });
  const timmPy = `
import sys, numpy as np, torch
sys.path.insert(0, sys.argv[1])
from torchvision.models.vision_transformer import VisionTransformer
from torchvision_export import save_safetensors
from vit_export import TINY, randomise, timm_names
torch.manual_seed(5)
save_safetensors(sys.argv[2], timm_names(randomise(VisionTransformer(image_size=224, **TINY)).state_dict()))
frames = np.random.default_rng(6).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
np.save(sys.argv[3], frames)
np.save(sys.argv[4], ((frames.astype(np.float32) / 255 - 0.5) / 0.5).transpose(3, 0, 1, 2)[None].copy())`;
  execFileSync('/usr/bin/python3', ['-c', timmPy, join(root, 'test'), join(timm, 'model.safetensors'), join(dir, 'frames.npy'), join(dir, 'frames_half.npy')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await serve();
  process.env.FVC_WEIGHTS_MIRROR = base;
});

test.after(() => {
  server.kill();
  delete process.env.FVC_HOME;
  delete process.env.FVC_WEIGHTS_MIRROR;
});

test("every published entry: a well-formed URL and hash, architectures fvc has, and torchvision's and PyTorchVideo's trained with their architecture's normalisation (timm and TimeSformer bring their own)", async () => {
  const ids = allWeights().map((w) => w.id);
  assert.is(new Set(ids).size, ids.length);
  for (const w of allWeights()) {
    assert.ok(/^https:\/\//.test(w.url), w.id);
    if (w.publisher === 'torchvision') assert.ok(w.sha256Prefix && w.url.includes(`-${w.sha256Prefix}.`), `${w.id}: torchvision's name carries the hash prefix`);
    else assert.is(w.sha256 ?? w.sha256Prefix, undefined, `${w.id}: no hash is published`);
    const { preset } = await architectureInfo(w.architecture);
    for (const other of w.architectures ?? []) assert.ok(await architectureInfo(other), `${w.id}: ${other}`);
    if (w.publisher === 'timm')
      assert.equal(
        [w.preset.mean, w.preset.std],
        [
          [0.5, 0.5, 0.5],
          [0.5, 0.5, 0.5],
        ],
        w.id,
      );
    if (w.publisher.startsWith('TimeSformer'))
      assert.equal(
        [w.preset.mean, w.preset.std],
        [
          [0.45, 0.45, 0.45],
          [0.225, 0.225, 0.225],
        ],
        w.id,
      );
    if (w.publisher !== 'torchvision' && w.publisher !== 'PyTorchVideo') continue;
    for (const k of [0, 1, 2]) {
      assert.ok(Math.abs((preset.mean[k] as number) - (w.preset.mean[k] as number)) < 1e-5, `${w.id} mean`);
      assert.ok(Math.abs((preset.std[k] as number) - (w.preset.std[k] as number)) < 1e-5, `${w.id} std`);
    }
  }
  const list = runCli(['weights', 'list', '--json']);
  assert.is(list.code, 0, list.stderr);
  assert.ok((JSON.parse(list.stdout) as Array<{ id: string }>).some((w) => w.id === 'r2plus1d_18:kinetics400'));
});

test("a file under torchvision's published name whose hash is not the published one is refused and deleted", () => {
  const r = runCli(['weights', 'fetch', 'mc3_18:kinetics400'], env());
  assert.is(r.code, 1);
  assert.match(r.stderr, /mc3_18-a90a0ba3\.pth: SHA-256 [0-9a-f]{64} does not start with the published a90a0ba3: not the published file \(deleted\) \[ERR_INVALID_DATA\]/);
  assert.ok(
    requests().some((q) => q.path === '/download.pytorch.org/models/mc3_18-a90a0ba3.pth'),
    'fetched through the mirror',
  );
  assert.equal(
    readdirSync(weightsCacheDir()).filter((f) => f.startsWith('mc3_18')),
    [],
    'nothing kept, not even a part',
  );
  const named = runCli(['logits', '--model', 'mc3_18', '--num-classes', '400', '--input', join(dir, 'input.npy'), '--weights', 'mc3_18:kinetcs400'], env());
  assert.match(named.stderr, /weights 'mc3_18:kinetcs400': not a published name; did you mean 'mc3_18:kinetics400'/);
});

test("a URL with its own SHA-256: downloaded once (redirect followed), then it loads to torchvision's logits; a wrong hash is refused", async () => {
  const bad = runCli(['weights', 'fetch', `${base}/custom/mc3.pth`, '--sha256', '0'.repeat(64)], env());
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /expected 0{64}: not the published file \(deleted\)/);
  const noHash = runCli(['weights', 'fetch', `${base}/custom/mc3.pth`], env());
  assert.match(noHash.stderr, /a weights URL needs the file's SHA-256/);

  const r = runCli(['weights', 'fetch', `${base}/redirect/mc3.pth`, '--sha256', sha], env());
  assert.is(r.code, 0, r.stderr);
  const path = r.stdout.trim();
  assert.ok(path.startsWith(weightsCacheDir()) && existsSync(path));
  const record = JSON.parse(readFileSync(`${path}.fvc.json`, 'utf8'));
  assert.is(record.sha256, sha);
  assert.is(record.check, 'sha256');
  const before = requests().length;
  const logits = runCli(['logits', '--model', 'mc3_18', '--num-classes', '400', '--input', join(dir, 'input.npy'), '--weights', `${base}/redirect/mc3.pth#sha256=${sha}`, '--json'], env());
  assert.is(logits.code, 0, logits.stderr);
  assert.is(requests().length, before, 'read from the cache, not downloaded again');
  const ours = (JSON.parse(logits.stdout) as { logits: number[][] }).logits[0] as number[];
  const ref = JSON.parse(readFileSync(join(dir, 'logits.json'), 'utf8')) as number[];
  assert.is(ours.length, 400);
  assert.ok(Math.max(...ours.map((v, i) => Math.abs(v - (ref[i] as number)))) < 1e-4, "torchvision's logits");
  assert.equal(weightsSource(path), { path, name: null, url: `${base}/redirect/mc3.pth`, sha256: sha, hash_checked_against: 'sha256' });
});

test('an interrupted download resumes from its part with a Range request', async () => {
  const url = `${base}/custom/mc3.pth`;
  const resolved = (await resolveWeightsOption({ mc3_18: `${url}#sha256=${sha}` }, { quiet: true })) as Record<string, string>;
  const path = resolved.mc3_18 as string;
  rmSync(path);
  rmSync(`${path}.fvc.json`);
  const bytes = readFileSync(join(served, 'custom', 'mc3.pth'));
  writeFileSync(`${path}.part`, bytes.subarray(0, 1 << 20));
  const r = runCli(['weights', 'fetch', url, '--sha256', sha], env());
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /resumed after 1048576 bytes/);
  assert.is(requests().at(-1)?.range, 'bytes=1048576-');
  assert.ok(readFileSync(path).equals(bytes));
  assert.not.ok(existsSync(`${path}.part`));
});

test('weights with no published hash are taken, recorded as unchecked and said so; their preset applies; an offline job names what to fetch', async () => {
  const offline = runCli(['logits', '--model', 'x3d_xs', '--input', join(dir, 'input.npy'), '--weights', 'kinetics400'], { ...env(), FVC_WEIGHTS_OFFLINE: '1' });
  assert.is(offline.code, 1);
  assert.match(offline.stderr, /x3d_xs:kinetics400: not in the weights cache .*FVC_WEIGHTS_OFFLINE=1.*run `fvc weights fetch x3d_xs:kinetics400`/);
  const r = runCli(['weights', 'fetch', 'x3d_xs:kinetics400'], env());
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /its publisher gives no hash, so it was not checked against one; its SHA-256 [0-9a-f]{64} is recorded/);
  const cached = JSON.parse(runCli(['weights', 'list', '--cached', '--json'], env()).stdout) as { files: Array<{ id: string; check: string }> };
  assert.equal(cached.files.find((f) => f.id === 'x3d_xs:kinetics400')?.check, 'unchecked');
  const path = ((await resolveWeightsOption('x3d_xs:kinetics400', { offline: true })) as Record<string, string>).x3d_xs as string;
  assert.equal(await publishedSampling(path, 'x3d_xs'), { numFrames: 4, cropSize: 160, frameSize: 182 });
  // The same cache mounted elsewhere (a compute node's path to a shared folder) is still found there.
  const moved = join(dir, 'home-moved');
  cpSync(home, moved, { recursive: true });
  process.env.FVC_HOME = moved;
  const there = ((await resolveWeightsOption('x3d_xs:kinetics400', { offline: true })) as Record<string, string>).x3d_xs as string;
  process.env.FVC_HOME = home;
  assert.ok(there.startsWith(moved), there);
  assert.match(weightsSource(path).hash_checked_against as string, /nothing: the publisher gives no hash/);
  await publishedSampling(path, 'x3d_s').then(
    () => assert.unreachable('weights of another architecture'),
    (e: Error) => assert.match(e.message, /x3d_xs:kinetics400 are weights of x3d_xs, not of x3d_s/),
  );
  // The loader still refuses what is not a state dict: an unchecked file is not trusted either.
  const load = runCli(['logits', '--model', 'x3d_xs', '--input', join(dir, 'input.npy'), '--weights', 'x3d_xs:kinetics400'], env());
  assert.is(load.code, 1);
  assert.match(load.stderr, /X3D_XS\.pyth/);
});

test("timm's ViT by name: fetched (no published hash), it initialises the ViT and the transformers built on it, and its normalisation (0.5) reaches every clip it sees", async () => {
  const r = runCli(['weights', 'fetch', 'vit_ti_16:augreg_in21k_ft_in1k'], env());
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /its publisher gives no hash/);
  const path = r.stdout.trim();
  // A bare name given for a video transformer on the same ViT finds the ViT's weights.
  const forGru = ((await resolveWeightsOption({ vit_gru_ti16: 'augreg_in21k_ft_in1k' }, { offline: true })) as Record<string, string>).vit_gru_ti16;
  assert.is(forGru, path);
  const timmPreset = { frameSize: 248, cropSize: 224, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
  assert.equal(await publishedSampling(path, 'vit_ti_16'), timmPreset);
  assert.equal(await publishedSampling(path, 'timesformer_ti16'), timmPreset);
  await publishedSampling(path, 'vit_s_16').then(
    () => assert.unreachable('weights of another ViT'),
    (e: Error) => assert.match(e.message, /vit_ti_16:augreg_in21k_ft_in1k are weights of vit_ti_16, vit_gru_ti16, .*not of vit_s_16/),
  );
  // A Stage 5 model on them trains (and records for prediction) with their preset and normalisation.
  const cfg = resolveConfig({ models: ['vit_gru'], deep: { weights: path, architectures: { vit_gru: 'vit_gru_ti16' } } });
  const deep = await deepOptionsFor(cfg, specOf('vit_gru') as ModelSpec, 'vit_gru_ti16');
  assert.equal([deep.mean, deep.std, deep.cropSize, deep.frameSize], [timmPreset.mean, timmPreset.std, 224, 248]);
  // Natively, the clip loader normalises with the weights' mean and std: the embedding equals the model's on the clip normalised by hand.
  const tiny = { width: 0.25, depth: 2 };
  const clip = { model: 'vit_ti_16', ...tiny, clips: [{ npy: join(dir, 'frames.npy'), label: 0 }], weights: path, numFrames: 2, cropSize: 32, augment: false };
  const theirs = await native.extractFeatures({ ...clip, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
  const ref = await modelLogits({ model: 'vit_ti_16', scale: tiny, input: join(dir, 'frames_half.npy'), weights: path, numClasses: 5, output: 'embedding' });
  const diff = Math.max(...Array.from(theirs.values, (v, j) => Math.abs(v - (ref.rows[0]?.[j] as number))));
  assert.ok(diff < 1e-5, `max |loader - by hand| = ${diff}`);
  const imagenet = await native.extractFeatures(clip);
  assert.ok(Math.max(...Array.from(imagenet.values, (v, j) => Math.abs(v - (theirs.values[j] as number)))) > 1e-3, "the architecture's own normalisation gives other features");
  const bad = await native.extractFeatures({ ...clip, mean: [0.5, 0.5] }).then(
    () => null,
    (e: Error & { code?: string }) => e,
  );
  assert.is(bad?.code, 'ERR_INVALID_ARGUMENT');
  assert.match(bad?.message ?? '', /mean: must be an array of three numbers \(R, G, B\), given together with std/);
  // The extraction store applies and records them (in its table's key too).
  const e = await extractEmbeddings({
    backbone: 'vit_ti_16',
    weights: { kind: 'file', path },
    videos: [h264('timm-extract.mp4', { seconds: 1, size: '64x48' })],
    sampling: { numFrames: 2, frameSize: 32, cropSize: 32 },
    scale: tiny,
    featuresDir: join(dir, 'features'),
    frameCacheDir: join(dir, 'frames'),
    quiet: true,
    strict: true,
  });
  assert.equal(e.sampling, { numFrames: 2, cropSize: 32, frameSize: 32, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
});

test.run();
