/** `fvc slurm render|submit|status|cancel|check`: the pipeline as chained SLURM jobs. */
import type { Command } from 'commander';
import { FvcError } from '../../errors.js';
import { definedOnly } from '../../util/object.js';
import type { StageName } from '../../pipeline/dag.js';
import { checkTraining } from '../../train/engine.js';
import type { ModelRequest } from '../../train/registry.js';
import { loadResourceConfig, parseResourceConfig, type JobResources, type ResourceConfig } from '../../slurm/resources.js';
import { cancelSubmission, isActive, renderSubmission, submissionDir, submissionStatus, submit, waitForSubmission, type SubmissionStatus } from '../../slurm/submission.js';
import { checkNodes, requireCuda } from '../../slurm/node-check.js';
import { planSubmission, type SlurmConfig } from '../../slurm/plan.js';
import { formatTable, printJson } from '../output.js';
import { intOption, numberOption } from '../parse.js';
import { configOptions, parseStages, toConfig, type ConfigFlags } from './pipeline.js';
import { weightsOption, withConfig } from './train.js';
import { loadRunConfig } from '../../config/run-config.js';
import { readTable } from '../../data/table.js';
import { existsSync } from 'node:fs';

interface SlurmFlags extends ConfigFlags {
  name: string;
  stages?: StageName[];
  foldArrays?: boolean;
  resources?: string;
  gpus?: number;
  mem?: string;
  cpusPerTask?: number;
  time?: string;
  partition?: string;
  account?: string;
  fvcCommand?: string;
  setup?: string[];
  wrapper?: string;
  projectDir?: string;
  tracking: boolean;
  trackingUri?: string;
  deleteExisting?: boolean;
  report: boolean;
  shardVideos?: number;
}

function slurmOptions(cmd: Command): Command {
  return configOptions(cmd, false)
    .option('--name <name>', 'the submission (its record lives in .fvc/slurm/<name>)', 'fvc')
    .option('--stages <list>', 'only these stages; the others are taken as done (default all)', parseStages)
    .option('--fold-arrays', 'train each model as a job array with one task per fold, then an aggregation job')
    .option('--resources <file>', 'YAML or JSON overrides: all, stages, models.<name or id> -> gpus, mem, cpus-per-task, time, partition, account')
    .option('--gpus <n>', 'GPUs per model job (default 1; more than 1 trains each fold data-parallel, a rank per GPU under srun)', intOption(0, 64))
    .option('--mem <size>', 'memory per model job (default 64G)')
    .option('--cpus-per-task <n>', 'CPUs per model job (default 4)', intOption(1, 1024))
    .option('--time <limit>', 'time limit per model job (default 8:00:00)')
    .option('--partition <name>', 'partition of the model jobs (default gpu)')
    .option('--account <name>', 'account charged for every job')
    .option('--fvc-command <cmd>', 'how jobs call fvc (default: this node binary and this fvc)')
    .option('--setup <line>', 'a shell line every job runs before fvc, e.g. "module load cuda/12.4" (repeatable; slurm.setup in --config)', (v: string, all: string[] = []) => [...all, v])
    .option('--wrapper <prefix>', 'a prefix every fvc call in a job runs under, e.g. "apptainer exec --nv fvc.sif" (slurm.wrapper)')
    .option('--project-dir <dir>', 'folder the jobs run and log in (default: this one)')
    .option('--no-tracking', 'FVC_USE_TRACKING=0 in the model jobs')
    .option('--tracking-uri <uri>', 'MLFLOW_TRACKING_URI of the model jobs')
    .option('--delete-existing', 'FVC_DELETE_EXISTING=1: model jobs remove earlier results first')
    .option('--no-report', 'no last job drawing the comparison plots and the HTML report')
    .option('--shard-videos <n>', 'Stages 1-4 with more videos than this run as a job array of shards of about this many, then a merge job (slurm.shardVideos)', intOption(1));
}

async function toSlurmConfig(o: SlurmFlags): Promise<SlurmConfig> {
  const { resources: fromRunConfig, slurm: environment, ...pipeline } = await toConfig(o);
  const setup = o.setup ?? (typeof environment?.setup === 'string' ? [environment.setup] : environment?.setup);
  const wrapper = o.wrapper ?? environment?.wrapper;
  const fvcCommand = o.fvcCommand ?? environment?.fvcCommand;
  const shardVideos = o.shardVideos ?? environment?.shardVideos;
  // The shards are sized from the input table's rows, counted now (the later stages' tables do not exist yet; the
  // videos need not be reachable from where a submission is rendered).
  const videoCount = shardVideos && pipeline.metadata && existsSync(pipeline.metadata) ? (await readTable(pipeline.metadata)).length : undefined;
  if (shardVideos && videoCount === undefined) process.stderr.write(`slurm: --shard-videos ${shardVideos}: no input table to count (--metadata), so no stage is sharded\n`);
  // The --resources file over the run configuration's resources, section by section.
  const file: ResourceConfig = o.resources ? await loadResourceConfig(o.resources) : {};
  const fromFile: ResourceConfig = { ...fromRunConfig, ...file, models: { ...fromRunConfig?.models, ...file.models } };
  // Flags are the models' defaults (--account applies to every job); the file's per-model entries still win.
  const flags: JobResources = definedOnly({ gpus: o.gpus, mem: o.mem, 'cpus-per-task': o.cpusPerTask, time: o.time, partition: o.partition });
  const resources = parseResourceConfig(
    {
      ...fromFile,
      ...(o.account ? { all: { ...fromFile.all, account: o.account } } : {}),
      models: { ...fromFile.models, '*': { ...fromFile.models?.['*'], ...flags } },
    },
    'command-line resources',
  );
  return {
    ...pipeline,
    name: o.name,
    ...(o.stages ? { stages: o.stages } : {}),
    foldArrays: !!o.foldArrays,
    resources,
    ...(fvcCommand ? { fvcCommand } : {}),
    ...(setup ? { setup } : {}),
    ...(wrapper ? { wrapper } : {}),
    ...(o.projectDir ? { projectDir: o.projectDir } : {}),
    useTracking: o.tracking,
    ...(o.trackingUri ? { trackingUri: o.trackingUri } : {}),
    deleteExisting: !!o.deleteExisting,
    report: o.report,
    ...(shardVideos ? { shardVideos } : {}),
    ...(videoCount !== undefined ? { videoCount } : {}),
  };
}

function printStatus(s: SubmissionStatus): void {
  process.stdout.write(
    formatTable(
      s.jobs.map((j) => [j.job, j.model ?? j.stage ?? '', j.fold ?? '', j.jobId ?? '', j.state + (j.reason ? ` (${j.reason})` : ''), j.elapsed ?? '', j.exitCode ?? '']),
      ['job', 'model/stage', 'fold/shard', 'job id', 'state', 'elapsed', 'exit'],
    ),
  );
  for (const j of s.jobs.filter((x) => x.errTail)) {
    const what = j.model ? `${j.model}${j.fold !== undefined ? ` fold ${j.fold}` : ''}` : (j.stage ?? j.job);
    process.stdout.write(`\n${what} (${j.job}, job ${j.jobId}) ${j.state}; ${j.err}:\n${j.errTail?.replace(/^/gm, '  ')}\n`);
  }
}

export function registerSlurm(program: Command): void {
  const cmd = program.command('slurm').description('submit the pipeline to SLURM as chained jobs, follow and cancel it');

  slurmOptions(cmd.command('render').description('write every script of a submission (scripts/*.sbatch, submit.sh, plan.json) for review; submit nothing'))
    .requiredOption('--out <dir>', 'folder to write into')
    .action(async (o: SlurmFlags & { out: string }) => {
      const config = await toSlurmConfig(o);
      const plan = await renderSubmission(config, o.out);
      for (const j of plan.jobs) process.stdout.write(`${j.script}\n`);
      // What every job will do before fvc, for review.
      for (const line of config.setup ?? []) process.stderr.write(`every job runs first: ${line}\n`);
      if (config.wrapper) process.stderr.write(`every fvc call runs under: ${config.wrapper}\n`);
      process.stdout.write(`${submissionDir({ dir: o.out })}/submit.sh\n`);
    });

  slurmOptions(cmd.command('submit').description('render the submission into .fvc/slurm/<name> and submit it: data stages chained afterok, one job per model'))
    .option('--dir <dir>', 'submission folder (default .fvc/slurm/<name>)')
    .option('--force', 'cancel jobs of the same submission still queued or running, then submit')
    .option('--no-node-check', 'submit GPU jobs without first checking on such a node that fvc sees CUDA there')
    .option('--node-check-timeout <seconds>', 'how long that check may wait in the queue and run', numberOption(10), 1800)
    .option('--json', 'print the job ids as JSON')
    .action(async (o: SlurmFlags & { dir?: string; force?: boolean; json?: boolean; nodeCheck: boolean; nodeCheckTimeout: number }) => {
      const r = await submit(await toSlurmConfig(o), { ...(o.dir ? { dir: o.dir } : {}), force: !!o.force, nodeCheck: o.nodeCheck, nodeCheckTimeoutSeconds: o.nodeCheckTimeout });
      if (o.json) return printJson(r);
      process.stdout.write(
        formatTable(
          r.jobs.map((j) => [j.job, j.jobId, j.script]),
          ['job', 'job id', 'script'],
        ),
      );
      process.stdout.write(`\nfollow with: fvc slurm status --name ${r.name}\n`);
    });

  slurmOptions(cmd.command('check-nodes').description("run what submit checks first: on a node of each GPU request, fvc info --device cuda under the jobs' environment"))
    .option('--dir <dir>', 'folder for the check scripts and logs (default .fvc/slurm/<name>)')
    .option('--timeout <seconds>', 'how long each check may wait in the queue and run', numberOption(10), 1800)
    .option('--json', 'print JSON')
    .action(async (o: SlurmFlags & { dir?: string; timeout: number; json?: boolean }) => {
      const c = await toSlurmConfig(o);
      const dir = submissionDir({ dir: o.dir, name: c.name });
      const plan = planSubmission(c, dir);
      const checks = await checkNodes(c, plan.jobs, { dir, timeoutSeconds: o.timeout, log: (m) => process.stderr.write(`slurm: ${m}\n`) });
      if (o.json) printJson(checks);
      else if (!checks.length) process.stdout.write('no job trains on a GPU: nothing to check\n');
      else
        process.stdout.write(
          formatTable(
            checks.map((k) => [k.request, k.node, k.ok ? 'ok' : 'FAILED', k.detail.split('\n')[0] as string]),
            ['request', 'node', 'cuda', 'detail'],
          ),
        );
      requireCuda(checks);
    });

  cmd
    .command('status')
    .description("each job's and fold's state (squeue, then sacct), with the error log tail of failed jobs")
    .option('--name <name>', 'the submission', 'fvc')
    .option('--dir <dir>', 'submission folder (default .fvc/slurm/<name>)')
    .option('--wait', 'poll until nothing is queued or running')
    .option('--timeout <seconds>', 'give up waiting after this long', numberOption(1))
    .option('--interval <seconds>', 'seconds between polls', numberOption(0.2), 10)
    .option('--json', 'print JSON')
    .action(async (o: { name: string; dir?: string; wait?: boolean; timeout?: number; interval: number; json?: boolean }) => {
      const dir = submissionDir(o);
      let last = '';
      const s = o.wait
        ? await waitForSubmission(dir, {
            intervalSeconds: o.interval,
            ...(o.timeout ? { timeoutSeconds: o.timeout } : {}),
            onPoll: (p) => {
              const line = `${p.jobs.filter((j) => isActive(j.state)).length} active, ${p.jobs.filter((j) => j.state === 'COMPLETED').length} completed, ${p.jobs.filter((j) => !isActive(j.state) && j.state !== 'COMPLETED').length} other`;
              if (line !== last && !o.json) process.stderr.write(`slurm: ${line}\n`);
              last = line;
            },
          })
        : await submissionStatus(dir);
      if (o.json) printJson(s);
      else printStatus(s);
      if (s.finished && !s.ok) process.exitCode = 1;
    });

  cmd
    .command('cancel')
    .description('cancel every job of a submission still queued or running')
    .option('--name <name>', 'the submission', 'fvc')
    .option('--dir <dir>', 'submission folder (default .fvc/slurm/<name>)')
    .action(async (o: { name: string; dir?: string }) => {
      const ids = await cancelSubmission(submissionDir(o));
      process.stdout.write(ids.length ? `cancelled ${ids.join(', ')}\n` : 'nothing queued or running\n');
    });

  cmd
    .command('check')
    .description("a job's prerequisites: the native core loads, the stage outputs exist and the features are sane")
    .requiredOption('--models <list>', 'models the job trains')
    .option('--n-splits <k>', 'folds (default: FVC_N_SPLITS or 5)', intOption(2, 100))
    .option('--stage2-dir <dir>', 'default FVC_STAGE2_OUTPUT_DIR or data/stage2')
    .option('--stage4-dir <dir>', 'default FVC_STAGE4_OUTPUT_DIR or data/stage4')
    .option('--weights <file|arch=file,...>', 'as the job trains with')
    .option('--random-init', 'as the job trains with')
    .option('--features-dir <dir>', 'as the job trains with')
    .option('--config <file>', 'as the job trains with')
    .action(async (o: { models: string; nSplits?: number; stage2Dir?: string; stage4Dir?: string; weights?: string; randomInit?: boolean; featuresDir?: string; config?: string }) => {
      // Checked at run time, with did-you-mean.
      const models = o.models
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean) as ModelRequest[];
      if (!models.length) throw new FvcError('ERR_INVALID_ARGUMENT', '--models: no model given');
      const deep = { ...(o.weights ? { weights: weightsOption(o.weights) } : {}), ...(o.randomInit ? { randomInit: true } : {}) };
      const rc = o.config ? await loadRunConfig(o.config) : null;
      const r = await checkTraining(withConfig(rc, { models, nSplits: o.nSplits, stage2Dir: o.stage2Dir, stage4Dir: o.stage4Dir, featuresDir: o.featuresDir, deep }));
      for (const line of r.passed) process.stdout.write(`ok: ${line}\n`);
    });
}
