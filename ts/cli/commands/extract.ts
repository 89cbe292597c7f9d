/** `fvc extract`: a backbone's features of every video of a table, once (see ts/extract/store.ts). */
import { addFaceOptions, faceOptionsFrom, type FaceFlags } from '../face-options.js';
import { faceCrop } from '../../video/faces.js';
import { weightsFileOf } from '../../weights/cache.js';
import type { Command } from 'commander';
import { parseShard, type Shard } from '../../util/shard.js';
import { loadMetadata } from '../../data/metadata.js';
import { FvcError } from '../../errors.js';
import { extractEmbeddings, type WeightsSource } from '../../extract/store.js';
import { resolveDevice, type DeviceRequest } from '../../runtime.js';
import { printJson } from '../output.js';
import { deepInputOptions } from '../deep-options.js';
import { deviceOption, intOption, withGpu } from '../parse.js';
import { availableParallelism } from 'node:os';

interface ExtractFlags {
  backbone: string;
  metadata: string;
  weights?: string;
  checkpoint?: string;
  randomInit?: boolean;
  seed: number;
  featuresDir?: string;
  frameCacheDir?: string;
  numFrames?: number;
  frameSize?: number;
  cropSize?: number;
  width?: number;
  depth?: number;
  batchSize: number;
  threads: number;
  device: DeviceRequest;
  gpu?: number;
  strict?: boolean;
  json?: boolean;
  shard?: Shard;
  merge?: boolean;
}

export function registerExtract(program: Command): void {
  const extract = deepInputOptions(
    program
      .command('extract')
      .description("a backbone's features of every video of a metadata table, extracted once per (video, backbone, weights, sampling) and kept as Parquet")
      .requiredOption('--backbone <architecture>', 'inception_v3, i3d_r50, r2plus1d_18, ... (fvc models lists them)')
      .requiredOption('--metadata <table>', 'the videos (.csv or .parquet with video_path)')
      .option('--weights <file|name>', 'pretrained weights: .safetensors, or .pth / .pt as torchvision and PyTorchVideo publish them, or published weights by name (kinetics400; fvc weights list)')
      .option('--checkpoint <model.pt>', "or a checkpoint fvc trained (a fold folder's model.pt)")
      .option('--random-init', 'or a seeded random initialisation (tests, CPU demos)')
      .option('--seed <n>', 'seed of --random-init', intOption(0), 0)
      .option('--features-dir <dir>', 'where the tables go (default: FVC_FEATURES_DIR or data/features)')
      .option('--frame-cache-dir <dir>', 'the frame cache (default: FVC_FRAME_CACHE_DIR or data/cache/frames)'),
    'backbone',
  )
    .option('--batch-size <n>', 'clips per forward pass', intOption(1, 65536), 8)
    .option('--threads <n>', 'LibTorch threads', intOption(1, 1024), availableParallelism())
    .option('--device <device>', 'auto, cpu, cuda or cuda:<index>', deviceOption, 'auto' as DeviceRequest)
    .option('--gpu <index>', 'run on GPU <index> (--device cuda:<index>)', intOption(0, 1023))
    .option('--strict', 'a video that cannot be decoded fails the run (default: it is reported and left out)')
    .option('--shard <i/n>', "extract only shard i of n of the table's videos (rows i, i + n, ...) into parts; --merge writes the table", (v: string) => parseShard(v))
    .option('--merge', "write the table from every shard's parts, extracting nothing (a video without one is a failure)")
    .option('--json', 'print JSON');
  addFaceOptions(extract).action(async (o: ExtractFlags & FaceFlags) => {
    const sources = [o.weights, o.checkpoint, o.randomInit].filter(Boolean).length;
    if (sources !== 1) throw new FvcError('ERR_INVALID_ARGUMENT', 'give exactly one of --weights FILE, --checkpoint model.pt or --random-init (random weights only when asked for)');
    const weights: WeightsSource = o.weights
      ? { kind: 'file', path: await weightsFileOf(o.weights, o.backbone) }
      : o.checkpoint
        ? { kind: 'checkpoint', path: o.checkpoint }
        : { kind: 'random', seed: o.seed };
    const { rows } = await loadMetadata(o.metadata);
    const faces = faceOptionsFrom(o);
    const r = await extractEmbeddings({
      ...(faces ? { faces: await faceCrop(faces) } : {}),
      backbone: o.backbone,
      weights,
      videos: rows.map((row) => row.absolute_path),
      sampling: { ...(o.numFrames ? { numFrames: o.numFrames } : {}), ...(o.frameSize ? { frameSize: o.frameSize } : {}), ...(o.cropSize ? { cropSize: o.cropSize } : {}) },
      scale: { ...(o.width !== undefined ? { width: o.width } : {}), ...(o.depth !== undefined ? { depth: o.depth } : {}) },
      ...(o.featuresDir ? { featuresDir: o.featuresDir } : {}),
      ...(o.frameCacheDir ? { frameCacheDir: o.frameCacheDir } : {}),
      threads: o.threads,
      batchSize: o.batchSize,
      device: resolveDevice(withGpu(o.device, o.gpu)),
      strict: o.strict ?? false,
      quiet: !!o.json,
      ...(o.shard ? { shard: o.shard } : {}),
      ...(o.merge ? { merge: true } : {}),
    });
    const summary = {
      table: r.table,
      key: r.key,
      backbone: r.backbone,
      videos: rows.length,
      dim: r.dim,
      extracted: r.extracted,
      reused: r.reused,
      decoded: r.decoded,
      failed: r.failures.length,
      weightsSha256: r.weightsSha256,
      sampling: r.sampling,
      failures: r.failures,
      stale: r.stale,
      ...(r.shard ? { shard: r.shard } : {}),
    };
    if (o.json) printJson(summary);
    else if (r.shard) process.stdout.write(`shard ${r.shard} of ${r.table}: ${r.extracted} extracted, ${r.reused} reused, ${r.failures.length} failed (the table: --merge once every shard is done)\n`);
    else process.stdout.write(`${r.table}\n${rows.length} videos x ${r.dim} features: ${r.extracted} extracted, ${r.reused} reused, ${r.failures.length} failed\n`);
    if (r.failures.length) process.exitCode = 1;
  });
}
