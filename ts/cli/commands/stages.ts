import type { Command } from 'commander';
import { runFeatureStage, type FeatureStage } from '../../stages/features-stage.js';
import { runScaleStage } from '../../stages/scale-stage.js';
import { intOption } from '../parse.js';

interface StageFlags {
  metadata: string;
  out?: string;
  root?: string;
  numFrames?: number;
  workers?: number;
  strict?: boolean;
  minRows: number;
}

function registerFeatureStage(program: Command, stage: FeatureStage, description: string, input: string): void {
  program
    .command(stage)
    .description(description)
    .requiredOption('--metadata <table>', input)
    .option('--out <dir>', `output folder (default: $FVC_${stage.toUpperCase()}_OUTPUT_DIR or data/${stage})`)
    .option('--root <dir>', 'resolve relative video paths against this folder (default: the table\'s folder)')
    .option('-n, --num-frames <count>', 'frames sampled per video (default: FVC_NUM_FRAMES or 8)', intOption(1, 10000))
    .option('--workers <n>', 'videos processed in parallel (default: one per core)', intOption(1, 1024))
    .option('--strict', 'fail the stage on the first video that cannot be processed')
    .option('--min-rows <n>', 'minimum number of videos (the seed pipeline required 3000)', intOption(1), 1)
    .action(async (o: StageFlags) => {
      const env = process.env.FVC_NUM_FRAMES;
      const r = await runFeatureStage({
        stage,
        metadata: o.metadata,
        numFrames: o.numFrames ?? (env ? intOption(1, 10000)(env) : 8),
        strict: o.strict ?? false,
        minRows: o.minRows,
        ...(o.out ? { out: o.out } : {}),
        ...(o.root ? { root: o.root } : {}),
        ...(o.workers ? { workers: o.workers } : {}),
      });
      process.stdout.write(`${r.outputPath}: ${r.rows} rows (${r.computed} computed, ${r.skipped} already done, ${r.failed} failed)\n`);
      if (r.failed > 0) process.stdout.write(`failures: ${r.failuresPath}\n`);
    });
}

function registerScaleStage(program: Command): void {
  program
    .command('stage3')
    .description('Stage 3: re-encode every video letterboxed to a square, with scaled_metadata.parquet')
    .requiredOption('--metadata <table>', 'video metadata table (.csv or .parquet) with video_path and label')
    .option('--out <dir>', 'output folder (default: $FVC_STAGE3_OUTPUT_DIR or data/stage3)')
    .option('--root <dir>', "resolve relative video paths against this folder (default: the table's folder)")
    .option('--size <px>', 'square side, even', intOption(2, 16384), 256)
    .option('--crf <n>', 'x264 quality, 0-51 (lower is better)', intOption(0, 51), 23)
    .option('--preset <name>', 'x264 preset', 'veryfast')
    .option('--workers <n>', 'videos processed in parallel (default: one per core)', intOption(1, 1024))
    .option('--strict', 'fail the stage on the first video that cannot be processed')
    .option('--min-rows <n>', 'minimum number of videos', intOption(1), 1)
    .action(async (o: Omit<StageFlags, 'numFrames'> & { size: number; crf: number; preset: string }) => {
      const r = await runScaleStage({
        metadata: o.metadata,
        size: o.size,
        crf: o.crf,
        preset: o.preset,
        strict: o.strict ?? false,
        minRows: o.minRows,
        ...(o.out ? { out: o.out } : {}),
        ...(o.root ? { root: o.root } : {}),
        ...(o.workers ? { workers: o.workers } : {}),
      });
      process.stdout.write(`${r.outputPath}: ${r.rows} rows (${r.computed} scaled, ${r.skipped} already done, ${r.failed} failed)\n`);
      if (r.failed > 0) process.stdout.write(`failures: ${r.failuresPath}\n`);
    });
}

export function registerStages(program: Command): void {
  registerScaleStage(program);
  registerFeatureStage(program, 'stage2', 'Stage 2: handcrafted features of every video in a metadata table, as Parquet', 'video metadata table (.csv or .parquet) with video_path and label');
  registerFeatureStage(program, 'stage4', 'Stage 4: the Stage 2 features of the scaled videos (Stage 3 output)', "Stage 3's scaled_metadata table (.csv or .parquet)");
}
