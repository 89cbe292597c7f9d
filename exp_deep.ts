import { generateCorpus, train } from './ts/index.js';
const kinds = process.argv[2]!.split(',') as any;
const out = `/tmp/exp/corpus-${process.argv[2]}`;
const t0 = performance.now();
await generateCorpus({ out, videos: 48, duration: 1, seed: 4, quiet: true, manipulations: kinds });
console.log('corpus', ((performance.now() - t0) / 1000).toFixed(1), 's');
process.env.FVC_FRAME_CACHE_DIR = '/tmp/exp/cache';
const r = await train({ models: process.argv[3]!.split(','), nSplits: 3, folds: [1], outputDir: `/tmp/exp/out-${process.argv[2]}`, videos: `${out}/metadata.csv`, tracking: false, plots: false, threads: 2, deleteExisting: true, quiet: false, numFrames: 8,
  deep: { epochs: Number(process.argv[4] ?? 12), batchSize: 8, frameSize: Number(process.env.FS ?? 64), cropSize: Number(process.env.CS ?? 56), width: 0.5, depth: 1, lrHead: 2e-3 } } as any);
console.log(JSON.stringify(r.models.map((m: any) => [m.modelType, m.folds.map((f: any) => f.val_auc)])));
console.log('total', ((performance.now() - t0) / 1000).toFixed(1), 's');
