import type { Command } from 'commander';
import { addFaceOptions, faceOptionsFrom, type FaceFlags } from '../face-options.js';
import { parseTransforms, TRANSFORMS, type TransformName } from '../../augment/policy.js';
import { augmentStageOutputDir, runAugmentStage } from '../../stages/augment-stage.js';
import { featureStageOutputDir, runFeatureStage, type FeatureStage } from '../../stages/features-stage.js';
import { parseShard, type Shard, type StageResult } from '../../stages/per-video.js';
import { runScaleStage, scaleStageOutputDir } from '../../stages/scale-stage.js';
import { interruptible } from '../interrupt.js';
import { defaultNumFrames, intOption, numberOption } from '../parse.js';

interface StageFlags {
  metadata: string;
  shard?: Shard;
  merge?: boolean;
  out?: string;
  root?: string;
  workers?: number;
  strict?: boolean;
  minRows: number;
}

/** The options every per-video stage takes, in one place so their help reads the same. */
function stageCommand(program: Command, name: string, description: string, input: string): Command {
  const n = name.replace('stage', '');
  return program
    .command(name)
    .description(description)
    .requiredOption('--metadata <table>', input)
    .option('--out <dir>', `output folder (default: $FVC_STAGE${n}_OUTPUT_DIR or data/stage${n})`)
    .option('--root <dir>', "resolve relative video paths against this folder (default: the table's folder)")
    .option('--workers <n>', 'videos processed in parallel (default: one per core)', intOption(1, 1024))
    .option('--strict', 'fail the stage on the first video that cannot be processed')
    .option('--min-rows <n>', 'minimum number of videos (the seed pipeline required 3000)', intOption(1), 1)
    .option('--shard <i/n>', "run only shard i of n of the table's videos (rows i, i + n, ...), writing their parts; --merge writes the table", (v: string) => parseShard(v))
    .option('--merge', "write the table from every shard's parts, running no video (refused, naming what is missing, until every shard is done)");
}

function common(o: StageFlags) {
  return {
    metadata: o.metadata,
    strict: o.strict ?? false,
    minRows: o.minRows,
    ...(o.out ? { out: o.out } : {}),
    ...(o.root ? { root: o.root } : {}),
    ...(o.workers ? { workers: o.workers } : {}),
    ...(o.shard ? { shard: o.shard } : {}),
    ...(o.merge ? { merge: true } : {}),
  };
}

/** Ctrl-C: the videos in progress stop; those done are kept as parts and a rerun skips them. */
const stopping = (stage: string, o: StageFlags, defaultDir: string) =>
  `fvc ${stage}: interrupted; stopping the videos in progress. Videos already done are kept in ${o.out ?? defaultDir}/.parts: run the same command again to resume`;

function report(r: StageResult, verb: string): void {
  if (r.shard) {
    process.stdout.write(`shard ${r.shard} of ${r.outputPath}: ${r.computed} ${verb}, ${r.skipped} already done, ${r.failed} failed (the table: --merge once every shard is done)\n`);
    return;
  }
  process.stdout.write(`${r.outputPath}: ${r.rows} rows (${r.computed} ${verb}, ${r.skipped} already done, ${r.failed} failed)\n`);
  if (r.failed > 0) process.stdout.write(`failures: ${r.failuresPath}\n`);
}

const INPUT = 'video metadata table (.csv or .parquet) with video_path and label';

function registerAugmentStage(program: Command): void {
  stageCommand(program, 'stage1', 'Stage 1: reproducible augmented copies of every video, with augmented_metadata.parquet', INPUT)
    .option('--copies <n>', 'augmented copies per video', intOption(0, 100), 2)
    .option('--seed <n>', 'seed of every random draw', intOption(0), 42)
    .option('--transforms <list>', `comma-separated transforms that may be drawn (default: all of ${TRANSFORMS.join(',')})`, parseTransforms)
    .option('--probability <p>', 'chance each allowed transform is applied to a copy', numberOption(0, 1), 0.5)
    .option('--crf <n>', 'x264 quality of copies not drawn for re-compression', intOption(0, 51), 18)
    .option('--preset <name>', 'x264 preset', 'veryfast')
    .action(async (o: StageFlags & { copies: number; seed: number; transforms?: TransformName[]; probability: number; crf: number; preset: string }) => {
      const r = await interruptible(stopping('stage1', o, augmentStageOutputDir()), (signal) =>
        runAugmentStage({
          signal,
          ...common(o),
          copies: o.copies,
          seed: o.seed,
          probability: o.probability,
          crf: o.crf,
          preset: o.preset,
          ...(o.transforms ? { transforms: o.transforms } : {}),
        }),
      );
      report(r, 'videos augmented');
    });
}

function registerFeatureStage(program: Command, stage: FeatureStage, description: string, input: string): void {
  stageCommand(program, stage, description, input)
    .option('-n, --num-frames <count>', 'frames sampled per video (default: FVC_NUM_FRAMES or 8)', intOption(1, 10000))
    .action(async (o: StageFlags & { numFrames?: number }) => {
      const r = await interruptible(stopping(stage, o, featureStageOutputDir(stage)), (signal) => runFeatureStage({ ...common(o), stage, numFrames: o.numFrames ?? defaultNumFrames(), signal }));
      report(r, 'computed');
    });
}

function registerScaleStage(program: Command): void {
  addFaceOptions(stageCommand(program, 'stage3', 'Stage 3: re-encode every video letterboxed to a square (or as face crops), with scaled_metadata.parquet', INPUT))
    .option('--min-face-frames <n>', 'with --faces: a video with a face in fewer frames becomes a failure row', intOption(0))
    .option('--size <px>', 'square side, even', intOption(2, 16384), 256)
    .option('--crf <n>', 'x264 quality, 0-51 (lower is better)', intOption(0, 51), 23)
    .option('--preset <name>', 'x264 preset', 'veryfast')
    .action(async (o: StageFlags & FaceFlags & { size: number; crf: number; preset: string; minFaceFrames?: number }) => {
      const faces = faceOptionsFrom(o);
      const r = await interruptible(stopping('stage3', o, scaleStageOutputDir()), (signal) =>
        runScaleStage({
          ...common(o),
          size: o.size,
          crf: o.crf,
          preset: o.preset,
          ...(faces ? { faces } : {}),
          ...(o.minFaceFrames !== undefined ? { minFaceFrames: o.minFaceFrames } : {}),
          signal,
        }),
      );
      report(r, 'scaled');
    });
}

export function registerStages(program: Command): void {
  registerAugmentStage(program);
  registerFeatureStage(program, 'stage2', 'Stage 2: handcrafted features of every video in a metadata table, as Parquet', INPUT);
  registerScaleStage(program);
  registerFeatureStage(program, 'stage4', 'Stage 4: the Stage 2 features of the scaled videos (Stage 3 output)', "Stage 3's scaled_metadata table (.csv or .parquet)");
}
