/**
 * The Stage 5 model interface from the outside: a model written in this file (a
 * nearest-centroid classifier on two numbers read from each video's bytes) and one
 * registerModel call are all it takes to train it under k-fold cross-validation,
 * get the seed's output layout, and predict new videos from its best_model/.
 */
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateCorpus, loadMetadata, predictVideos, registerModel, train, type FeatureData, type Stage5Model } from '../ts/index.js';
import { parseCsv } from '../ts/util/csv.js';
import { artifacts } from './helpers.js';

declare module '../ts/train/registry.js' {
  interface CustomModels {
    byte_centroid: true;
  }
}

const dir = join(artifacts, 'custom-model');

/** Two numbers per video straight from its file: its size in KiB and its mean byte. */
function byteFeatures(video: string): [number, number] {
  const bytes = readFileSync(video);
  let sum = 0;
  for (const b of bytes) sum += b;
  return [statSync(video).size / 1024, sum / bytes.length];
}

interface Centroids {
  real: number[];
  fake: number[];
}

/** P(fake): a softmax over the negative distances to the two centroids. */
function probFake(c: Centroids, x: readonly number[]): number {
  const d = (m: number[]) => Math.hypot(...x.map((v, i) => v - (m[i] as number)));
  return 1 / (1 + Math.exp(d(c.fake) - d(c.real)));
}

const byteCentroid: Stage5Model<FeatureData & { videos: string[] }> = {
  resumable: false,
  dataKey: async ({ cfg }) => `bytes:${cfg.videos}`,
  load: async ({ cfg }) => {
    const { rows } = await loadMetadata(cfg.videos as string);
    const x = rows.flatMap((r) => byteFeatures(r.absolute_path));
    return {
      ids: rows.map((r) => r.video_path),
      videos: rows.map((r) => r.absolute_path),
      labels: rows.map((r) => r.label),
      groups: rows.map((r) => r.video_path),
      featureNames: ['kib', 'mean_byte'],
      x: Float64Array.from(x),
      rows: rows.length,
      cols: 2,
      source: cfg.videos as string,
      warnings: [],
    };
  },
  settings: async () => ({ metric: 'euclidean' }),
  fit: async ({ data, fold, dir: out }) => {
    const mean = (label: number) => {
      const rows = fold.train.filter((i) => data.labels[i] === label);
      return [0, 1].map((j) => rows.reduce((s, i) => s + (data.x[i * 2 + j] as number), 0) / rows.length);
    };
    const c: Centroids = { real: mean(0), fake: mean(1) };
    writeFileSync(join(out, 'centroids.json'), JSON.stringify(c));
    const probs = Float64Array.from(fold.val.map((i) => probFake(c, [data.x[i * 2] as number, data.x[i * 2 + 1] as number])));
    return { kind: 'byte_centroid', file: 'centroids.json', probs, nativeParams: {}, describe: { distance: 'euclidean' } };
  },
  predict: async (best, videos) => {
    const c = JSON.parse(readFileSync(best.modelFile, 'utf8')) as Centroids;
    return Float64Array.from(videos.map((v) => probFake(c, byteFeatures(v))));
  },
};

test.before(async () => {
  rmSync(dir, { recursive: true, force: true });
  await generateCorpus({ out: join(dir, 'corpus'), videos: 12, duration: 1, seed: 3, quiet: true });
});

test('a model defined in a test trains under k-fold, writes the seed layout, and predicts from its best_model', async () => {
  registerModel({ id: 'x1', name: 'byte_centroid', family: 'linear', inputs: ['handcrafted_features'], impl: byteCentroid, grid: {} });
  const metadata = join(dir, 'corpus', 'metadata.csv');
  const out = join(dir, 'stage5');
  const r = await train({ models: ['byte_centroid'], videos: metadata, outputDir: out, nSplits: 3, seed: 2, quiet: true, plots: false, tracking: false });
  assert.equal(r.failed, []);
  assert.is(r.models[0]?.folds.length, 3);
  const metrics = JSON.parse(readFileSync(join(out, 'byte_centroid', 'metrics.json'), 'utf8'));
  assert.is(metrics.fold_results.length, 3);
  const fold = JSON.parse(readFileSync(join(out, 'byte_centroid', 'fold_1', 'metadata.json'), 'utf8'));
  assert.is(fold.model_file, 'centroids.json');
  const model = JSON.parse(readFileSync(join(out, 'byte_centroid', 'best_model', 'model.json'), 'utf8'));
  assert.is(model.kind, 'byte_centroid');
  assert.is(model.distance, 'euclidean', "the fit's describe fields travel into best_model/model.json");

  // predict() goes through the same registry entry; its numbers are the centroids' by hand.
  const { rows } = await loadMetadata(metadata);
  const videos = rows.map((x) => x.absolute_path);
  const p = await predictVideos(join(out, 'byte_centroid', 'best_model'), videos, { threads: 1 });
  const c = JSON.parse(readFileSync(join(out, 'byte_centroid', 'best_model', 'centroids.json'), 'utf8')) as Centroids;
  p.forEach((x, i) => assert.ok(Math.abs(x.prob - probFake(c, byteFeatures(videos[i] as string))) < 1e-12));
  // The validation probabilities the engine stored are the ones predict() gives for the same videos.
  const best = join(out, 'byte_centroid', `fold_${model.fold}`, 'predictions.csv');
  for (const row of parseCsv(readFileSync(best, 'utf8'))) {
    const at = rows.findIndex((x) => x.video_id === row.video_id);
    assert.ok(at >= 0 && Math.abs(Number(row.prob) - (p[at]?.prob as number)) < 1e-9, String(row.video_id));
  }
});

test('registerModel refuses a taken name, a feature-set suffix and an incomplete implementation', () => {
  const impl = byteCentroid;
  assert.throws(() => registerModel({ id: 'x2', name: 'xgboost', family: 'linear', inputs: [], impl, grid: {} }), /name 'xgboost' is taken by xgboost \(5beta\)/);
  assert.throws(() => registerModel({ id: 'x3', name: 'mine_stage4', family: 'linear', inputs: [], impl, grid: {} }), /feature-set suffix/);
  assert.throws(
    () => registerModel({ id: 'x4', name: 'half', family: 'linear', inputs: [], impl: { ...impl, predict: undefined } as unknown as typeof impl, grid: {} }),
    /impl\.predict is not a function/,
  );
});

test.run();
