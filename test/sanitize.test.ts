/**
 * The safety net of issue 22 (items 10-11): scripts/sanitize.sh builds fvc-native-check
 * with AddressSanitizer + UndefinedBehaviorSanitizer, reads every file of fuzz/corpus/
 * (its damaged videos included) and runs a bounded seeded fuzz run per reader. Any
 * sanitizer report, crash or untyped exception fails it. FVC_FUZZ_SECONDS sets the
 * time per reader (default 15 s here; fuzz/README.md for longer runs).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { root } from './helpers.js';

test('native readers under ASan + UBSan: the seed corpus and a bounded fuzz run are clean', () => {
  const seconds = process.env.FVC_FUZZ_SECONDS ?? '15';
  const r = spawnSync('bash', [join(root, 'scripts', 'sanitize.sh'), seconds], { cwd: root, encoding: 'utf8', timeout: 900_000, maxBuffer: 64 << 20 });
  const out = `${r.stdout}${r.stderr}`;
  assert.is(r.status, 0, out.slice(-6000));
  // Each reader ran, and the damaged videos were read (reported, not refused wholesale).
  for (const kind of ['video', 'safetensors', 'npy', 'pth', 'liblinear', 'libsvm']) assert.match(out, new RegExp(`fuzz ${kind}: \\d+ inputs .* 0 findings`), kind);
  assert.match(out, /damaged-flipped\.mp4: ok, h264 64x48 .*sampled \d+ \([1-9]\d* damaged\)/);
  assert.match(out, /damaged-zeroed-header\.avi: ok, mpeg4 .*\([1-9]\d* damaged\)/);
  assert.match(out, /model\.json: ok, p = /);
});

test.run();
