/** `fvc pipeline` (run the stages) and `fvc airflow render` (the same graph as an Airflow DAG). */
import type { Command } from 'commander';
import { FvcError } from '../../errors.js';
import { definedOnly } from '../../util/object.js';
import { writeAirflowDag } from '../../pipeline/airflow.js';
import { STAGES, stageDirs, type PipelineConfig, type StageName } from '../../pipeline/dag.js';
import { printStudyOutcome } from '../study-outcome.js';
import { runPipeline } from '../../pipeline/runner.js';
import { formatTable, printJson } from '../output.js';
import { intOption, numberOption } from '../parse.js';
import { weightsOption } from './train.js';
import { loadRunConfig, type RunConfig } from '../../config/run-config.js';

export interface ConfigFlags {
  config?: string;
  metadata?: string;
  models?: string;
  copies?: number;
  numFrames?: number;
  nSplits?: number;
  seed?: number;
  stage1Dir?: string;
  stage2Dir?: string;
  stage3Dir?: string;
  stage4Dir?: string;
  outputDir?: string;
  weights?: string;
  randomInit?: boolean;
  featuresDir?: string;
}

/** The pipeline's configuration flags, shared by pipeline, airflow render and slurm. */
export function configOptions(cmd: Command, metadataRequired = true): Command {
  return cmd
    .option('--config <file>', 'a run configuration (YAML or JSON); flags override it, and Stage 5 jobs read it too')
    .option('--metadata <table>', `the input video table (Stage 1 reads it${metadataRequired ? '; required, here or in --config' : ''})`)
    .option('--models <list>', 'Stage 5 models (default logistic_regression,svm,xgboost)')
    .option('--copies <n>', 'Stage 1 augmented copies per video', intOption(0, 100))
    .option('-n, --num-frames <count>', 'frames per video for Stages 2 and 4 (default: FVC_NUM_FRAMES or 8)', intOption(1, 10000))
    .option('--n-splits <k>', 'Stage 5 folds (default: FVC_N_SPLITS or 5)', intOption(2, 100))
    .option('--seed <n>', 'seed of Stage 1 and Stage 5', intOption(0))
    .option('--stage1-dir <dir>', 'default FVC_STAGE1_OUTPUT_DIR or data/stage1')
    .option('--stage2-dir <dir>', 'default FVC_STAGE2_OUTPUT_DIR or data/stage2')
    .option('--stage3-dir <dir>', 'default FVC_STAGE3_OUTPUT_DIR or data/stage3')
    .option('--stage4-dir <dir>', 'default FVC_STAGE4_OUTPUT_DIR or data/stage4')
    .option('--output-dir <dir>', 'Stage 5 results (default FVC_STAGE5_OUTPUT_DIR or data/stage5)')
    .option('--weights <file|arch=file,...>', 'deep models and backbones: pretrained weights (see fvc train --help); models on a pretrained backbone then get an extract stage')
    .option('--random-init', 'backbones without a weights file start from seeded random weights (tests, CPU demos)')
    .option('--features-dir <dir>', 'deep-feature tables (default FVC_FEATURES_DIR or data/features)');
}

/** The pipeline's configuration: a run configuration file if given, each flag set on the command line over it. */
export async function toConfig(o: ConfigFlags): Promise<PipelineConfig & Pick<RunConfig, 'resources' | 'slurm'>> {
  const rc = o.config ? await loadRunConfig(o.config) : null;
  const fromFile: PipelineConfig & Pick<RunConfig, 'resources' | 'slurm'> = rc
    ? definedOnly({
        metadata: rc.metadata,
        dirs: rc.dirs,
        models: rc.models,
        copies: rc.copies,
        numFrames: rc.numFrames,
        nSplits: rc.nSplits,
        seed: rc.seed,
        weights: rc.weights,
        randomInit: rc.randomInit,
        featuresDir: rc.featuresDir,
        configFile: rc.file,
        resources: rc.resources,
        slurm: rc.slurm,
      })
    : {};
  const flags: PipelineConfig = definedOnly({
    metadata: o.metadata,
    models: o.models
      ? o.models
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined,
    copies: o.copies,
    numFrames: o.numFrames,
    nSplits: o.nSplits,
    seed: o.seed,
    weights: o.weights ? weightsOption(o.weights) : undefined,
    randomInit: o.randomInit ? true : undefined,
    featuresDir: o.featuresDir,
  });
  const dirs = { ...fromFile.dirs, ...definedOnly({ stage1: o.stage1Dir, stage2: o.stage2Dir, stage3: o.stage3Dir, stage4: o.stage4Dir, stage5: o.outputDir }) };
  return { ...fromFile, ...flags, dirs };
}

export function parseStages(v: string): StageName[] {
  const list = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.filter((s) => !(STAGES as readonly string[]).includes(s));
  if (bad.length) throw new FvcError('ERR_INVALID_ARGUMENT', `--stages: unknown stage(s) ${bad.join(', ')} (stages: ${STAGES.join(', ')})`);
  return list as StageName[];
}

/** A multi-line error as one table cell, cut at 240 characters. */
const oneLine = (text: string) => {
  const flat = text.replace(/\s*\n\s*(- )?/g, ' ').trim();
  return flat.length > 240 ? `${flat.slice(0, 239)}…` : flat;
};

export function registerPipeline(program: Command): void {
  configOptions(
    program
      .command('pipeline')
      .description('run stage1 -> stage2, stage1 -> stage3 -> stage4, then stage5; independent stages at once, finished work skipped')
      .option('--stages <list>', `only these stages (default all: ${STAGES.join(',')})`, parseStages)
      .option('--retries <n>', 'retries per failed stage', intOption(0, 10), 1)
      .option('--retry-delay <seconds>', 'wait before a retry', numberOption(0, 86400), 10)
      .option('--timeout <seconds>', 'wall-clock limit per stage attempt', numberOption(1, 10 * 86400))
      .option('--logs-dir <dir>', 'one log file per stage', 'logs')
      .option('--json', 'print the run as JSON'),
  ).action(async (o: ConfigFlags & { stages?: StageName[]; retries: number; retryDelay: number; timeout?: number; logsDir: string; json?: boolean }) => {
    const config = await toConfig(o);
    const r = await runPipeline({
      ...config,
      ...(o.stages ? { stages: o.stages } : {}),
      retries: o.retries,
      retryDelayMs: o.retryDelay * 1000,
      logsDir: o.logsDir,
      ...(o.timeout ? { timeoutSeconds: o.timeout } : {}),
    });
    if (o.json) printJson(r);
    else
      process.stdout.write(
        formatTable(
          r.stages.map((s) => [s.stage, s.status, s.attempts, Number(s.seconds.toFixed(2)), oneLine(s.cause ?? s.reason ?? ''), s.log]),
          ['stage', 'status', 'attempts', 'seconds', 'reason', 'log'],
        ),
      );
    // What was trained and whether it beats guessing, as fvc demo ends.
    if (!o.json && r.stages.some((s) => s.stage === 'stage5' && s.status !== 'skipped')) await printStudyOutcome(stageDirs(config).stage5);
    if (!r.ok)
      throw new FvcError(
        'ERR_TRAINING_FAILED',
        `pipeline: ${r.stages
          .filter((s) => s.status !== 'ok')
          .map((s) => `${s.stage} ${s.status}`)
          .join(', ')}`,
      );
  });

  const airflow = program.command('airflow').description('Airflow integration');
  configOptions(
    airflow
      .command('render')
      .description("write airflow/dags/fvc_pipeline_dag.py: one task per stage calling fvc, with the runner's dependencies")
      .option('--out <file>', 'output file', 'airflow/dags/fvc_pipeline_dag.py')
      .option('--fvc-command <cmd>', 'how tasks call fvc', 'npx fvc')
      .option('--project-dir <dir>', 'folder the tasks run in (default: this one)')
      .option('--email <list>', 'addresses told on failure (comma-separated)'),
  ).action(async (o: ConfigFlags & { out: string; fvcCommand: string; projectDir?: string; email?: string }) => {
    const out = await writeAirflowDag({
      ...(await toConfig(o)),
      out: o.out,
      fvcCommand: o.fvcCommand,
      ...(o.projectDir ? { projectDir: o.projectDir } : {}),
      ...(o.email
        ? {
            email: o.email
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
          }
        : {}),
    });
    process.stdout.write(`${out}\n`);
  });
}
