/**
 * The video transformers (5i-5n) against references that share no code with fvc:
 * torchvision's ViT (Debian's python3-torchvision) for the ViT backbones and their
 * position-embedding resampling; implementations written from the TimeSformer and
 * ViViT papers in Python (test/video_transformers_reference.py) for logits and one
 * step's gradients; the identities of initialising both from a ViT; the trainer's
 * parameter groups and gradient checkpointing; and training that learns, through the
 * Stage 5 pipeline too (vit_gru, then XGBoost on its fold checkpoints' embeddings).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import { stage5IdOf } from '../ts/train/registry.js';
import * as assert from 'uvu/assert';
import { generateCorpus } from '../ts/corpus/generate.js';
import { loadMetadata } from '../ts/data/metadata.js';
import { describeDeepModels, modelLogits } from '../ts/deep/architectures.js';
import { trainDeepFold, type DeepOptions } from '../ts/deep/train.js';
import { extractEmbeddings } from '../ts/extract/store.js';
import { train } from '../ts/train/engine.js';
import { computeMetrics } from '../ts/evaluation/metrics.js';
import { predictVideos } from '../ts/train/predict.js';
import { artefactClips, artifacts, root, runCli } from './helpers.js';

const dir = join(artifacts, 'transformers');
// fvc's *_ti16 at width 0.25, depth 2: hidden 48, 3 heads, MLP 192, 2 blocks (the references' size).
const tiny = { width: 0.25, depth: 2 };
type Clip = { npy: string; label: number };
let clips: Clip[] = [];

const npy = (path: string): number[][] => JSON.parse(execFileSync('/usr/bin/python3', ['-c', 'import sys, json, numpy as np; print(json.dumps(np.load(sys.argv[1]).tolist()))', path]).toString());
const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - (b[i]?.[j] as number)))));

test.before(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const script of ['vit_export.py', 'video_transformers_reference.py'])
    execFileSync('/usr/bin/python3', [join(root, 'test', script), ...(script.startsWith('video') ? ['export'] : []), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  clips = artefactClips(dir);
  // One image repeated as a two-frame clip.
  execFileSync('/usr/bin/python3', ['-c', 'import sys, numpy as np; np.save(sys.argv[1] + "/still224.npy", np.repeat(np.load(sys.argv[1] + "/image224.npy"), 2, axis=2))', dir]);
});

test("ViT-B/16, S/16 and Ti/16 have torchvision's parameter counts at 1000 classes; every transformer is listed with its Stage 5 id", async () => {
  const d = await describeDeepModels({ numClasses: 1000, models: ['vit_b_16', 'vit_s_16', 'vit_ti_16'], threads: 2 });
  // torchvision.models.vision_transformer.VisionTransformer at these dimensions.
  assert.equal(Object.fromEntries(d.map((m) => [m.name, m.parameters])), { vit_b_16: 86_567_656, vit_s_16: 22_050_664, vit_ti_16: 5_717_416 });
  const all = await describeDeepModels({ scale: tiny, threads: 2 });
  const ids = Object.fromEntries(all.filter((m) => m.family === 'transformer').map((m) => [m.name, stage5IdOf(m.name)]));
  for (const [id, name] of [
    ['5k', 'vit_gru'],
    ['5l', 'vit_transformer'],
    ['5m', 'timesformer'],
    ['5n', 'vivit'],
  ])
    for (const suffix of ['', '_s16', '_ti16']) assert.is(ids[`${name}${suffix}`], id, `${name}${suffix}`);
  assert.equal(all.find((m) => m.name === 'vivit')?.inputShape, [3, 16, 224, 224]);
});

test("torchvision's vit_b_16 weights give torchvision's logits at 224 px (class tokens averaged over two frames)", async () => {
  const r = await modelLogits({ model: 'vit_b_16', input: join(dir, 'clip224.npy'), weights: join(dir, 'vit_b_16.safetensors'), numClasses: 5, threads: 2 });
  assert.is(r.headReplaced.length, 0);
  assert.is(r.loaded, 152, 'every tensor of the state dict');
  const diff = maxDiff(r.rows, npy(join(dir, 'vit_b_16_logits.npy')));
  assert.ok(diff < 1e-4, `max |fvc - torchvision| = ${diff}`);
});

test("position embeddings are resampled as torchvision's interpolate_embeddings does: for another input size, and for weights of another size", async () => {
  const cases: Array<[string, string, string]> = [
    ['tiny224', 'clip224', 'tiny224_logits'],
    ['tiny224', 'clip112', 'tiny224_at112_logits'], // 14x14 embedding on a 7x7 grid
    ['tiny112', 'clip224', 'tiny112_at224_logits'], // a 7x7 file in a 14x14 model
  ];
  for (const [weights, clip, expected] of cases) {
    const r = await modelLogits({ model: 'vit_ti_16', scale: tiny, input: join(dir, `${clip}.npy`), weights: join(dir, `${weights}.safetensors`), numClasses: 5, threads: 2 });
    const diff = maxDiff(r.rows, npy(join(dir, `${expected}.npy`)));
    assert.ok(diff < 1e-4, `${expected}: max |fvc - torchvision| = ${diff}`);
  }
});

test("TimeSformer initialised from a torchvision ViT gives exactly the ViT's logits on a one-frame clip", async () => {
  const r = await modelLogits({ model: 'timesformer_ti16', scale: tiny, input: join(dir, 'image224.npy'), weights: join(dir, 'tiny224.safetensors'), numClasses: 5, threads: 2 });
  assert.is(r.headReplaced.length, 0, 'head.* mapped from heads.head.*');
  const diff = maxDiff(r.rows, npy(join(dir, 'tiny224_image_logits.npy')));
  assert.ok(diff < 1e-5, `max |TimeSformer - ViT| = ${diff}`);
});

test("timm's ViT files (model.safetensors names: blocks.N.attn.qkv, patch_embed.proj, cls_token, ...) load as torchvision's: the same logits in the ViT and in TimeSformer", async () => {
  const vit = await modelLogits({ model: 'vit_ti_16', scale: tiny, input: join(dir, 'clip224.npy'), weights: join(dir, 'tiny224_timm.safetensors'), numClasses: 5, threads: 2 });
  assert.is(vit.headReplaced.length, 0);
  assert.ok(maxDiff(vit.rows, npy(join(dir, 'tiny224_logits.npy'))) < 1e-4, "torchvision's logits");
  const tsf = await modelLogits({ model: 'timesformer_ti16', scale: tiny, input: join(dir, 'image224.npy'), weights: join(dir, 'tiny224_timm.safetensors'), numClasses: 5, threads: 2 });
  assert.is(tsf.headReplaced.length, 0);
  assert.ok(maxDiff(tsf.rows, npy(join(dir, 'tiny224_image_logits.npy'))) < 1e-5, "TimeSformer on one frame: the ViT's logits");
  // vit_gru takes the ViT's tensors and names its own GRU and head as new, as for torchvision's file.
  const gru = await modelLogits({ model: 'vit_gru_ti16', scale: tiny, input: join(dir, 'clip224.npy'), weights: join(dir, 'tiny224_timm.safetensors'), numClasses: 2, threads: 2 });
  const tv = await modelLogits({ model: 'vit_gru_ti16', scale: tiny, input: join(dir, 'clip224.npy'), weights: join(dir, 'tiny224.safetensors'), numClasses: 2, threads: 2 });
  assert.is(gru.loaded, tv.loaded);
  assert.equal(gru.headReplaced, tv.headReplaced);
});

test('ViViT initialised from a ViT (central-frame tubelet kernel): a clip of identical frames embeds as the image does', async () => {
  const image = await modelLogits({ model: 'vit_ti_16', scale: tiny, input: join(dir, 'image224.npy'), weights: join(dir, 'tiny224.safetensors'), numClasses: 5, output: 'embedding', threads: 2 });
  const clip = await modelLogits({ model: 'vivit_ti16', scale: tiny, input: join(dir, 'still224.npy'), weights: join(dir, 'tiny224.safetensors'), numClasses: 5, output: 'embedding', threads: 2 });
  // The first 48 columns: the image's class token, and the tubelets' spatial class tokens averaged.
  const a = image.rows[0]?.slice(0, 48) ?? [];
  const b = clip.rows[0]?.slice(0, 48) ?? [];
  assert.is(a.length, 48);
  const diff = Math.max(...a.map((v, i) => Math.abs(v - (b[i] as number))));
  assert.ok(diff < 1e-5, `max |ViViT spatial - ViT| = ${diff}`);
  // The temporal encoder is new: listed as left as built; the ViT's head loads.
  assert.ok(clip.headReplaced.includes('temporal_token') && clip.headReplaced.includes('temporal_encoder.ln.weight'), clip.headReplaced.join());
  assert.not.ok(
    clip.headReplaced.some((n) => n.startsWith('heads.') || n.startsWith('encoder.')),
    clip.headReplaced.join(),
  );
});

test("TimeSformer and ViViT match implementations written from the papers: logits and one step's gradients to 1e-4", async () => {
  for (const model of ['timesformer', 'vivit']) {
    const grads = join(dir, `${model}_fvc_grads.safetensors`);
    const r = runCli([
      'logits',
      '--model',
      `${model}_ti16`,
      '--width',
      '0.25',
      '--depth',
      '2',
      '--input',
      join(dir, `clip_${model}.npy`),
      '--weights',
      join(dir, `${model}.safetensors`),
      '--gradients',
      grads,
      '--labels',
      '0,1',
      '--json',
      '--threads',
      '2',
    ]);
    assert.is(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { logits: number[][]; headReplaced: string[] };
    assert.equal(out.headReplaced, [], `${model}: every tensor from the file`);
    const diff = maxDiff(out.logits, npy(join(dir, `${model}_logits.npy`)));
    assert.ok(diff < 1e-4, `${model} logits: max |fvc - reference| = ${diff}`);
    const c = JSON.parse(execFileSync('/usr/bin/python3', [join(root, 'test', 'video_transformers_reference.py'), 'compare', join(dir, `${model}_grads.safetensors`), grads]).toString());
    assert.equal(c.not_in_both, [], model);
    assert.ok(c.tensors > 40 && c.largest_gradient > 1e-3, JSON.stringify(c));
    assert.ok(c.max_abs_diff < 1e-4, `${model} gradients: ${JSON.stringify(c)}`);
  }
});

test("vit_gru on a ViT's weights: its GRU and head are listed as new; extraction refuses weights that leave the embedding's GRU random", async () => {
  const r = await modelLogits({ model: 'vit_gru_ti16', scale: tiny, input: join(dir, 'clip224.npy'), weights: join(dir, 'tiny224.safetensors'), threads: 2 });
  assert.ok(r.headReplaced.includes('gru.weight_ih_l0') && r.headReplaced.includes('fc.weight'), r.headReplaced.join());
  const video = (await loadMetadata(await corpusMetadata())).rows[0]?.absolute_path as string;
  const err = await extractEmbeddings({
    backbone: 'vit_gru_ti16',
    weights: { kind: 'file', path: join(dir, 'tiny224.safetensors') },
    videos: [video],
    scale: tiny,
    sampling: { numFrames: 2, frameSize: 48, cropSize: 32 },
    threads: 2,
    quiet: true,
    featuresDir: join(dir, 'features'),
    frameCacheDir: join(dir, 'cache'),
  }).catch((e: Error) => e);
  assert.instance(err, Error);
  assert.match((err as Error).message, /tiny224\.safetensors: the vit_gru_ti16 embedding needs layers this file does not have \(gru\.weight_ih_l0/);
});

const options = (o: Partial<DeepOptions> = {}): DeepOptions => ({
  numFrames: 4,
  cropSize: 48,
  frameSize: 48,
  epochs: 6,
  batchSize: 8,
  lrHead: 1e-3,
  lrBackbone: 5e-6,
  weightDecay: 0.05,
  warmupEpochs: 1,
  maxGradNorm: 1,
  patience: 6,
  classWeights: true,
  augment: false,
  scale: tiny,
  loaderThreads: 2,
  ...o,
});

test('vit_gru, vit_transformer, TimeSformer and ViViT learn a visible artefact at a small scale', async () => {
  const [trainSet, val] = [clips.slice(0, 32), clips.slice(32)];
  for (const architecture of ['vit_gru_ti16', 'vit_transformer_ti16', 'timesformer_ti16', 'vivit_ti16']) {
    const r = await trainDeepFold({ architecture, train: trainSet, val, outDir: join(dir, `learn-${architecture}`), options: options(), seed: 1, threads: 2, device: 'cpu', resume: false });
    const auc =
      computeMetrics(
        val.map((c) => c.label),
        r.valProbs,
      ).roc_auc ?? 0;
    // Measured: 1.0 for each, training loss 0.70 -> 0.27-0.45 in six epochs.
    assert.ok(auc > 0.9, `${architecture}: validation AUC ${auc}`);
    assert.ok((r.epochs.at(-1)?.train_loss ?? 1) < (r.epochs[0]?.train_loss ?? 0) - 0.15, `${architecture}: training loss ${r.epochs.map((e) => e.train_loss.toFixed(3))}`);
  }
});

test('parameter groups: no weight decay on norms, biases, position embeddings and class tokens; layer-wise learning-rate decay by block', async () => {
  const r = await trainDeepFold({
    architecture: 'vit_transformer_ti16',
    train: clips.slice(0, 8),
    val: clips.slice(8, 12),
    outDir: join(dir, 'groups'),
    options: options({ epochs: 1, layerDecay: 0.5 }),
    seed: 1,
    threads: 2,
    device: 'cpu',
    resume: false,
  });
  const groupOf = (name: string) => r.paramGroups.find((g) => g.names.includes(name));
  const lr = (name: string) => groupOf(name)?.lr;
  const wd = (name: string) => groupOf(name)?.weightDecay;
  // Two blocks: the embeddings at depth 0 take 0.5^3, block 0 0.5^2, block 1 0.5, the rest the full rate.
  assert.is(lr('conv_proj.weight'), 1e-3 * 0.125);
  assert.is(lr('encoder.pos_embedding'), 1e-3 * 0.125);
  assert.is(lr('encoder.layers.encoder_layer_0.mlp.0.weight'), 1e-3 * 0.25);
  assert.is(lr('encoder.layers.encoder_layer_1.self_attention.in_proj_weight'), 1e-3 * 0.5);
  assert.is(lr('temporal_encoder.layers.encoder_layer_0.mlp.0.weight'), 1e-3);
  assert.is(lr('fc.weight'), 1e-3);
  for (const name of ['conv_proj.weight', 'encoder.layers.encoder_layer_0.mlp.0.weight', 'temporal_encoder.layers.encoder_layer_1.self_attention.out_proj.weight', 'fc.weight'])
    assert.is(wd(name), 0.05, name);
  for (const name of [
    'conv_proj.bias',
    'class_token',
    'encoder.pos_embedding',
    'encoder.layers.encoder_layer_0.ln_1.weight',
    'temporal_token',
    'temporal_encoder.pos_embedding',
    'encoder.ln.bias',
    'fc.bias',
  ])
    assert.is(wd(name), 0, name);
  const total = r.paramGroups.reduce((n, g) => n + g.names.length, 0);
  assert.is(new Set(r.paramGroups.flatMap((g) => g.names)).size, total, 'each parameter in one group');
  // A CNN has no blocks to decay over, nor checkpointed ones: refused, not ignored.
  for (const o of [{ layerDecay: 0.5 }, { gradientCheckpointing: true }]) {
    const err = await trainDeepFold({
      architecture: 'naive_cnn',
      train: clips.slice(0, 4),
      val: clips.slice(4, 6),
      outDir: join(dir, 'cnn-refused'),
      options: options({ epochs: 1, ...o }),
      seed: 1,
      threads: 2,
      device: 'cpu',
      resume: false,
    }).catch((e: Error) => e);
    assert.match((err as Error).message, /naive_cnn has no (layers to decay|checkpointed blocks)/);
  }
});

test('gradient checkpointing trains exactly as keeping the activations does', async () => {
  for (const architecture of ['vit_gru_ti16', 'timesformer_ti16']) {
    const run = (gradientCheckpointing: boolean) =>
      trainDeepFold({
        architecture,
        train: clips.slice(0, 16),
        val: clips.slice(16, 24),
        outDir: join(dir, `ckpt-${architecture}-${gradientCheckpointing}`),
        options: options({ epochs: 2, gradientCheckpointing }),
        seed: 2,
        threads: 2,
        device: 'cpu',
        resume: false,
      });
    const [kept, recomputed] = [await run(false), await run(true)];
    for (const k of ['train_loss', 'val_loss'] as const) {
      const a = kept.epochs[1]?.[k] as number,
        b = recomputed.epochs[1]?.[k] as number;
      assert.ok(Math.abs(a - b) < 1e-5, `${architecture} ${k}: ${a} vs ${b}`);
    }
  }
});

let corpusPath = '';
async function corpusMetadata(): Promise<string> {
  if (!corpusPath) corpusPath = (await generateCorpus({ out: join(dir, 'corpus'), videos: 12, duration: 0.4, seed: 5, manipulations: ['flicker'], strength: 8, quiet: true })).metadataPath;
  return corpusPath;
}

test("through Stage 5: vit_gru and xgboost_vit_gru (5i, on each fold's vit_gru checkpoint), with fvc predict on the saved best models", async () => {
  const metadata = await corpusMetadata();
  const videos = (await loadMetadata(metadata)).rows.map((r) => r.absolute_path);
  const out = join(dir, 'stage5');
  const r = await train({
    videos: metadata,
    outputDir: out,
    frameCacheDir: join(dir, 'cache'),
    featuresDir: join(dir, 'features'),
    nSplits: 2,
    seed: 4,
    threads: 2,
    quiet: true,
    plots: false,
    tracking: false,
    numFrames: 4,
    models: ['vit_gru', 'xgboost_vit_gru'],
    deep: { epochs: 1, batchSize: 4, frameSize: 48, cropSize: 32, ...tiny, architectures: { vit_gru: 'vit_gru_ti16' } },
  });
  assert.equal(r.failed, []);
  for (const fold of [1, 2]) {
    const cfg = JSON.parse(readFileSync(join(out, 'xgboost_vit_gru', `fold_${fold}`, 'config.json'), 'utf8'));
    assert.is(cfg.backbone_weights.trained_by, `vit_gru/fold_${fold}`);
    const meta = JSON.parse(readFileSync(join(out, 'vit_gru', `fold_${fold}`, 'metadata.json'), 'utf8'));
    assert.ok(JSON.stringify(meta).includes('vit_gru_ti16') && JSON.stringify(meta).includes('param_groups'), 'the fold records its architecture and optimiser groups');
  }
  for (const name of ['vit_gru', 'xgboost_vit_gru']) {
    const p = await predictVideos(join(out, name, 'best_model'), videos.slice(0, 3), { threads: 2, frameCacheDir: join(dir, 'cache'), featuresDir: join(dir, 'features') });
    assert.is(p.length, 3, name);
    assert.ok(
      p.every((x) => x.prob >= 0 && x.prob <= 1),
      name,
    );
  }
});

test.run();
