/**
 * Hostile files (issue 31), each reproduced by the test itself: torch.save files whose
 * numbers would place a tensor outside its storage, nest without end, or inflate to
 * gigabytes (test/hostile_pth.py writes them). Each must be refused with ERR_INVALID_DATA
 * naming the file and the cause: never a crash, a hang, memory it does not own or a
 * plausible wrong logit. The legitimate files beside them (zip, re-deflated zip, legacy
 * stream) must all give the same logits.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { modelLogits } from '../ts/deep/architectures.js';
import { artifacts, root, runCli } from './helpers.js';

const dir = join(artifacts, 'hostile');
const clip = join(dir, 'clip.npy');

test.before(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('/usr/bin/python3', [join(root, 'test', 'hostile_pth.py'), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('/usr/bin/python3', ['-c', 'import sys, numpy as np; np.save(sys.argv[1], np.random.default_rng(0).random((1, 3, 2, 32, 32), dtype=np.float32))', clip]);
});

const logits = (file: string) => modelLogits({ model: 'naive_cnn', input: clip, weights: join(dir, file), threads: 2 });
const refused = async (file: string, cause: RegExp) => {
  const err = await logits(file).then(
    () => undefined,
    (e: Error & { code?: string }) => e,
  );
  assert.instance(err, Error, `${file} was read`);
  assert.is(err?.code, 'ERR_INVALID_DATA', `${file}: ${err?.message}`);
  assert.ok(err?.message.startsWith(join(dir, file)), `${file}: the message names the file: ${err?.message}`);
  assert.match(err?.message ?? '', cause, file);
};

test('the same state dict as a torch.save zip, re-deflated, and a legacy stream gives the same logits', async () => {
  const want = (await logits('naive.pth')).rows;
  for (const file of ['naive_deflated.pth', 'naive_legacy.pth']) assert.equal((await logits(file)).rows, want, file);
});

test('storage offsets, sizes and strides that overflow or leave the storage are refused (was: a crash, or logits read from memory fvc does not own)', async () => {
  await refused('offset_62_40.pth', /view of 4 elements at offset 4611684918915760128 does not fit its storage 0 of 4 elements/);
  await refused('offset_62_20.pth', /does not fit its storage/);
  await refused('past_end.pth', /view of 4 elements at offset 1 does not fit/);
  await refused('offset_wide.pth', /storage offset is a number wider than 64 bits/);
  await refused('extent.pth', /element count overflows/);
  const cli = runCli(['logits', '--model', 'naive_cnn', '--weights', join(dir, 'offset_62_40.pth'), '--input', clip]);
  assert.is(cli.code, 1, cli.stderr);
  assert.match(cli.stderr, /offset_62_40\.pth: not a readable torch\.save file .*\[ERR_INVALID_DATA\]/);
});

test('deep nesting is refused by the reader’s limits, without recursion (was: a stack overflow)', async () => {
  await refused('lists_300000.pth', /nested deeper than 100000 stack entries/);
  await refused('lists_1000000.pth', /nested deeper than 100000 stack entries/);
  await refused('dicts_100000.pth', /nested deeper than 100000 stack entries/);
  await refused('dict_chain.pth', /dicts nested more than 32 deep/);
  // A dict that holds itself is read once; its tensor is read, and only the model match fails.
  await refused('self_dict.pth', /these weights do not fit the model[\s\S]*not in the model: w/);
});

test('damaged, lying and truncated archives are refused: CRC, declared sizes, storages without data', async () => {
  await refused('crc.pth', /data\/0: CRC-32 mismatch \(the file is damaged\)/);
  await refused('lying.pth', /data\.pkl: inflates to more than its declared 64 bytes/);
  await refused('legacy_huge.pth', /storage 0 is truncated or has another size/);
  await refused('legacy_nodata.pth', /a storage its tensors use has no data/);
});

test('decompression and allocation bombs are refused before they allocate: peak memory stays under 1 GB (was 2.4-16 GB)', () => {
  const bombs = ['none_bomb.pth', 'deflate_bomb.pth', 'stride0.pth', 'legacy_huge.pth', 'lists_1000000.pth'];
  // A child process of its own, so that its peak resident memory is these reads' alone.
  const script = `
    import { modelLogits } from ${JSON.stringify(join(root, 'ts', 'deep', 'architectures.ts'))};
    const out = {};
    for (const f of ${JSON.stringify(bombs)}) {
      const t = Date.now();
      out[f] = await modelLogits({ model: 'naive_cnn', input: ${JSON.stringify(clip)}, weights: ${JSON.stringify(dir)} + '/' + f, threads: 2 })
        .then(() => 'read', (e) => e.code + ' ' + e.message);
    }
    console.log(JSON.stringify({ out, maxRssMb: process.resourceUsage().maxRSS / 1024 }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.is(r.status, 0, r.stderr);
  const { out, maxRssMb } = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { out: Record<string, string>; maxRssMb: number };
  assert.match(out['none_bomb.pth'] as string, /ERR_INVALID_DATA .*data\.pkl: its compressed entries declare 268435459 bytes in a file of \d+, more than 64 times its size/);
  assert.match(out['deflate_bomb.pth'] as string, /ERR_INVALID_DATA .*data\/0: its compressed entries declare \d+ bytes .*a decompression bomb/);
  assert.match(out['stride0.pth'] as string, /ERR_INVALID_DATA .*view of 268435456 elements at offset 0 does not fit its storage 0 of 1 elements/);
  assert.match(out['legacy_huge.pth'] as string, /ERR_INVALID_DATA /);
  assert.match(out['lists_1000000.pth'] as string, /ERR_INVALID_DATA /);
  assert.ok(maxRssMb < 1024, `peak resident memory ${maxRssMb.toFixed(0)} MB`);
});

test.run();
