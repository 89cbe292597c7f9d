/**
 * 5d's backbone and the weights files users bring: torchvision's Inception v3
 * reproduced (logits to 1e-4), its state dict read from .safetensors and from
 * torch.save files written by python3-torch, and the feature extraction's
 * embedding against torchvision's pooled features.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { modelLogits } from '../ts/deep/architectures.js';
import { native } from '../ts/native/binding.js';
import { setTorchThreads } from '../ts/runtime.js';
import { artifacts, npyValues, root } from './helpers.js';

const dir = join(artifacts, 'pretrained');

test.before(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('/usr/bin/python3', [join(root, 'test', 'inception_export.py'), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  // fvc's clips are [B, C, T, H, W]: each frame as a one-frame clip gives the per-frame logits.
  execFileSync('/usr/bin/python3', ['-c', 'import sys, numpy as np; x = np.load(sys.argv[1]); np.save(sys.argv[2], x[:, :, None])', join(dir, 'frames.npy'), join(dir, 'clips.npy')]);
});

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);

test("inception_v3 with torchvision's weights gives torchvision's logits per frame (eval, 299 px, within 1e-4), from .safetensors and from torch.save files (zip and legacy, bare or in a checkpoint)", async () => {
  const expected = npyValues(join(dir, 'logits.npy'));
  for (const file of ['inception_v3.safetensors', 'inception_v3.pth', 'inception_v3_ckpt.pth', 'inception_v3_legacy.pth']) {
    const r = await modelLogits({ model: 'inception_v3', input: join(dir, 'clips.npy'), weights: join(dir, file), numClasses: 1000, threads: 2 });
    assert.equal(r.shape, [2, 1000], file);
    assert.is(r.headReplaced.length, 0, file);
    const d = maxDiff(r.rows.flat(), expected);
    assert.ok(d < 1e-4, `${file}: max |fvc - torchvision| = ${d}`);
  }
});

test("the extraction's Inception embedding is torchvision's pooled features, mean and std over frames (within 1e-4)", async () => {
  setTorchThreads(2);
  const r = await native.extractFeatures({ model: 'inception_v3', weights: join(dir, 'inception_v3.pth'), clips: [{ npy: join(dir, 'clip_u8.npy'), label: 0 }], numFrames: 3, cropSize: 299 });
  assert.is(r.dim, 4096);
  const expected = npyValues(join(dir, 'embedding.npy'));
  const scale = Math.max(...expected.map(Math.abs));
  const d = maxDiff(r.values, expected) / scale;
  assert.ok(d < 1e-4, `max relative |fvc - torchvision| = ${d}`);
});

test("a crop Inception v3's layers cannot take is refused up front, naming the least it needs", async () => {
  const err = await native.extractFeatures({ model: 'inception_v3', randomInit: true, clips: [{ npy: join(dir, 'clip_u8.npy'), label: 0 }], numFrames: 3, cropSize: 32 }).catch((e: Error) => e);
  assert.match((err as Error).message, /cropSize: inception_v3 needs a crop of at least 75 px \(got 32\)/);
});

test('weights that cannot be trusted are refused naming the file and the tensor', async () => {
  const bad = async (name: string, bytes: Uint8Array | string, re: RegExp) => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    const err = await modelLogits({ model: 'inception_v3', input: join(dir, 'clips.npy'), weights: p, numClasses: 1000, threads: 2 }).catch((e: Error) => e);
    assert.instance(err, Error, name);
    assert.match((err as Error).message, re);
  };
  // NaN in one tensor of an otherwise valid file.
  execFileSync('/usr/bin/python3', [
    '-c',
    "import sys, torch; s = torch.load(sys.argv[1]); s['Mixed_6b.branch1x1.conv.weight'][0, 0, 0, 0] = float('nan'); torch.save(s, sys.argv[2])",
    join(dir, 'inception_v3.pth'),
    join(dir, 'nan.pth'),
  ]);
  const nan = await modelLogits({ model: 'inception_v3', input: join(dir, 'clips.npy'), weights: join(dir, 'nan.pth'), numClasses: 1000, threads: 2 }).catch((e: Error) => e);
  assert.match((nan as Error).message, /nan\.pth: non-finite .*Mixed_6b\.branch1x1\.conv\.weight/);
  // Two tensors claiming the same bytes.
  const st = readFileSync(join(dir, 'inception_v3.safetensors'));
  const n = Number(st.readBigUInt64LE(0));
  const header = JSON.parse(st.subarray(8, 8 + n).toString()) as Record<string, { data_offsets: [number, number] }>;
  const [a, b] = Object.keys(header).filter((k) => header[k]?.data_offsets[1] !== header[k]?.data_offsets[0]);
  const ha = header[a as string] as { data_offsets: [number, number] };
  const hb = header[b as string] as { data_offsets: [number, number] };
  const size = hb.data_offsets[1] - hb.data_offsets[0];
  if (ha.data_offsets[1] - ha.data_offsets[0] >= size) hb.data_offsets = [ha.data_offsets[0], ha.data_offsets[0] + size];
  let h = JSON.stringify(header);
  h += ' '.repeat((8 - (h.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  await bad('overlap.safetensors', Buffer.concat([len, Buffer.from(h), st.subarray(8 + n)]), /overlap\.safetensors: tensors .* overlapping data_offsets/);
  await bad('truncated.pth', readFileSync(join(dir, 'inception_v3_legacy.pth')).subarray(0, 50_000), /truncated\.pth: (not a readable torch\.save file|storage .* truncated)/);
  await bad('junk.pth', Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(64)]), /junk\.pth: not a readable torch\.save file/);
  // A pickle that would run code when Python loads it is refused by name, not run.
  execFileSync('/usr/bin/python3', [
    '-c',
    "import sys, torch, os\nclass Evil:\n    def __reduce__(self): return (os.system, ('true',))\ntorch.save({'x': Evil()}, sys.argv[1])",
    join(dir, 'evil.pth'),
  ]);
  const evil = await modelLogits({ model: 'inception_v3', input: join(dir, 'clips.npy'), weights: join(dir, 'evil.pth'), numClasses: 1000, threads: 2 }).catch((e: Error) => e);
  assert.match((evil as Error).message, /evil\.pth: .*holds a (posix|os)\.system object/);
});

test.run();
