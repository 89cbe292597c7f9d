import { sampleFrames } from './ts/index.js';
for (const f of ['benchmarks/.work/720p_10s_gop60.mp4', 'benchmarks/.work/720p_10s_gop250.mp4'])
for (const n of [8, 16]) for (const o of [{}, { seek: false }]) {
  const t0 = performance.now();
  const r = await sampleFrames(f, { count: n, size: 256, ...o });
  console.log(f.slice(-10), n, JSON.stringify(o), (performance.now() - t0).toFixed(0), 'ms', JSON.stringify(r.stats), r.timestamps.map(t=>t.toFixed(2)).join(' '));
}
