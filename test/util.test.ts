import { PassThrough } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCsv, toCsv } from '../ts/util/csv.js';
import { createProgress, executionTimeLine, formatDuration } from '../ts/util/progress.js';
import { Rng } from '../ts/util/rng.js';

test('progress: plain log lines when not on a terminal, with the seed timing line format', () => {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream;
  let text = '';
  (stream as unknown as PassThrough).on('data', (d: Buffer) => (text += d.toString()));
  const p = createProgress({ label: 'stage2', total: 3, stream });
  p.tick('a.mp4');
  p.tick('b.mp4');
  p.tick('c.mp4');
  p.done();
  assert.not.match(text, /\r/, 'no carriage returns in logs');
  assert.match(text, /stage2: 3\/3 \(c\.mp4\)/);
  assert.is(executionTimeLine(90), 'Execution time: 90.00 seconds (1.50 minutes)');
  assert.is(formatDuration(3725), '1:02:05');
});

test('csv round trip keeps commas, quotes and newlines', () => {
  const rows = [{ video_path: 'a,b.mp4', label: 1, note: 'say "hi"\nthere' }];
  const back = parseCsv(toCsv(['video_path', 'label', 'note'], rows));
  assert.equal(back, [{ video_path: 'a,b.mp4', label: '1', note: 'say "hi"\nthere' }]);
});

test('rng is deterministic per seed', () => {
  const a = new Rng(5);
  const b = new Rng(5);
  const c = new Rng(6);
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.equal(
    xs,
    Array.from({ length: 5 }, () => b.next()),
  );
  assert.not.equal(
    xs,
    Array.from({ length: 5 }, () => c.next()),
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});

test.run();
