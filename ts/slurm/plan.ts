/**
 * A submission as a list of jobs: the data stages chained as the pipeline's graph
 * says (afterok), then one job per model after Stage 2 and Stage 4, as in the
 * seed's coordinator. With fold arrays a model becomes three jobs: a grid search
 * (which also deletes earlier results when asked), an array of one task per fold,
 * and an aggregation that runs after every task (afterany) and writes metrics.json,
 * best_model and plots from whatever folds finished. A last `report` job draws the
 * comparison and the HTML page once every model job has ended.
 *
 * Models on a pretrained backbone read features extracted once: one `extract-<backbone>`
 * job after Stage 3, and every model on that backbone after it. A model whose backbone
 * is another model's fold checkpoints (5g on i3d, 5h on r2plus1d, no weights file)
 * waits for that model: its job afterok the other's, or with fold arrays fold k
 * aftercorr fold k of the other's array.
 */
import { fvcHome } from '../weights/cache.js';
import { join, resolve } from 'node:path';
import { activeStages, deepArgs, DEFAULT_MODELS, DEPENDENCIES, extractionsByBackbone, FVC_BIN, STAGES, stageArgs, stageDirs, type PipelineConfig, type StageName } from '../pipeline/dag.js';
import { FvcError } from '../errors.js';
import { inDependencyOrder, readsSharedExtraction, resolveModel } from '../train/registry.js';
import { dataParallel, modelResources, sbatchResourceLines, singleProcess, stageResources, type JobResources, type ResourceConfig } from './resources.js';
import { fillTemplate } from './templates.js';

export interface SlurmConfig extends PipelineConfig {
  /** Names the submission's folder and record (default `fvc`). */
  name?: string;
  /** Which stages to submit (default all); dependencies outside the set are taken as done. */
  stages?: readonly StageName[];
  /** Train each model's folds as a job array (`--array=1-K`) plus an aggregation job. */
  foldArrays?: boolean;
  resources?: ResourceConfig;
  /** How jobs call fvc (default: this node and this fvc, right for a shared file system). */
  fvcCommand?: string;
  /** Shell lines every job runs before fvc (`module load cuda/12.4`, `source venv/bin/activate`). */
  setup?: readonly string[];
  /** A prefix every fvc call in a job runs under (`apptainer exec --nv fvc.sif`, `srun`). */
  wrapper?: string;
  /** Folder the jobs run in and log under (default: the current one). */
  projectDir?: string;
  useTracking?: boolean;
  deleteExisting?: boolean;
  trackingUri?: string;
  /** A last job that draws the model comparison and the HTML report (default true). */
  report?: boolean;
  /**
   * A per-video stage (1-4) with more videos than this runs as an array of shards of
   * about this many videos (`--shard i/n`), then a merge job (`--merge`) that writes its
   * table; the jobs after the stage wait for the merge.
   */
  shardVideos?: number;
  /** Rows of the input video table (`metadata`), counted before planning; sizes the shards. */
  videoCount?: number;
}

/**
 * How many shards a stage's table needs: Stage 1 reads the input table, Stages 2-4 and
 * the extractions (on Stage 3's videos) its copies too (1 + copies rows per video).
 * One when sharding is off or the count unknown.
 */
export function shardCount(stage: StageName, c: SlurmConfig): number {
  if (!c.shardVideos || c.videoCount === undefined || stage === 'stage5') return 1;
  const rows = stage === 'stage1' ? c.videoCount : c.videoCount * (1 + (c.copies ?? 2));
  return rows > c.shardVideos ? Math.ceil(rows / c.shardVideos) : 1;
}

export type JobKind = 'stage' | 'shards' | 'extract' | 'model' | 'grid' | 'folds' | 'aggregate' | 'report';

export interface PlannedJob {
  /** Unique in the submission; scripts/<name>.sbatch. */
  name: string;
  kind: JobKind;
  title: string;
  stage?: StageName;
  model?: string;
  /** `1-K` for a fold array. */
  array?: string;
  after: Array<{ type: 'afterok' | 'afterany' | 'aftercorr'; job: string }>;
  resources: JobResources;
  /** Log paths as given to sbatch (%j, %A, %a unexpanded). */
  out: string;
  err: string;
  script: string;
}

export const shq = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export function defaultFvcCommand(): string {
  return `${shq(process.execPath)} ${shq(FVC_BIN)}`;
}

/** How a job calls fvc: under the wrapper when there is one. */
export function jobFvcCommand(c: SlurmConfig): string {
  const { wrapper } = jobEnvironmentLines(c);
  return `${wrapper ? `${wrapper} ` : ''}${c.fvcCommand ?? defaultFvcCommand()}`;
}

/** The seed's log names: stage5{letter}-%j for a model, with the feature set appended for variants. */
function modelLogName(id: string, modelType: string, name: string): string {
  const suffix = modelType.slice(name.length);
  return `stage${id}${suffix}`;
}

/**
 * The seed's environment for every job: what the coordinator passed to each model job.
 * FVC_NUM_FRAMES is the handcrafted stages' frame count, so model jobs do not get it:
 * there it would override every deep architecture's own frames.
 */
function jobEnvironment(c: SlurmConfig, dirs: Record<StageName, string>, deleteExisting: boolean): Record<string, string> {
  return {
    FVC_N_SPLITS: String(c.nSplits ?? Number(process.env.FVC_N_SPLITS || 5)),
    FVC_STAGE1_OUTPUT_DIR: dirs.stage1,
    FVC_STAGE2_OUTPUT_DIR: dirs.stage2,
    FVC_STAGE3_OUTPUT_DIR: dirs.stage3,
    FVC_STAGE4_OUTPUT_DIR: dirs.stage4,
    FVC_STAGE5_OUTPUT_DIR: dirs.stage5,
    FVC_FEATURES_DIR: dirs.extract,
    FVC_USE_TRACKING: (c.useTracking ?? true) ? '1' : '0',
    FVC_DELETE_EXISTING: deleteExisting ? '1' : '0',
    // Compute nodes often have no internet: jobs read named weights from the cache submit filled.
    FVC_HOME: fvcHome(),
    FVC_WEIGHTS_OFFLINE: '1',
    ...((c.trackingUri ?? process.env.MLFLOW_TRACKING_URI) ? { MLFLOW_TRACKING_URI: (c.trackingUri ?? process.env.MLFLOW_TRACKING_URI) as string } : {}),
  };
}

/** A job before its log paths and script are written out. */
interface JobSpec extends Omit<PlannedJob, 'out' | 'err' | 'script'> {
  logBase: string;
  logDir: string;
  env: Record<string, string>;
  check: string[];
  command: string[];
}

export interface Plan {
  name: string;
  projectDir: string;
  /** Where the scripts, submit.sh and the job-id record live. */
  dir: string;
  jobs: PlannedJob[];
  /** Folders the jobs log into; created before submission (SLURM does not create them). */
  logDirs: string[];
}

/**
 * slurm.setup and slurm.wrapper, checked: each is shell the user wrote for their site.
 * A setup line is quoted whole and run with eval in the job's own shell (its exports
 * and activations stay; a comment or `;` in it cannot reach the lines around it), with
 * `set -u` lifted (activation scripts such as conda's read unset variables); a failing
 * line fails the job naming it. The wrapper prefixes every fvc call as written.
 */
export function jobEnvironmentLines(c: SlurmConfig): { setup: string; wrapper: string } {
  const bad = (v: string) => /[\r\n\0]/.test(v);
  (c.setup ?? []).forEach((line, i) => {
    if (bad(line)) throw new FvcError('ERR_INVALID_ARGUMENT', `slurm.setup[${i}]: one shell line each (it holds a line break or NUL): ${JSON.stringify(line)}`);
  });
  if (c.wrapper !== undefined && (bad(c.wrapper) || !c.wrapper.trim())) throw new FvcError('ERR_INVALID_ARGUMENT', `slurm.wrapper: one non-empty shell line: ${JSON.stringify(c.wrapper)}`);
  const lines = (c.setup ?? []).filter((l) => l.trim());
  const setup = lines.length
    ? ['log "preparing the job environment (slurm.setup)"', 'set +u', ...lines.map((l, i) => `eval ${shq(l)} || fail ${shq(`slurm.setup line ${i + 1} failed: ${l}`)}`), 'set -u'].join('\n')
    : '';
  return { setup, wrapper: c.wrapper?.trim() ?? '' };
}

function jobScript(s: JobSpec, out: string, err: string, submission: string, projectDir: string, dir: string, setup: string): string {
  const header = sbatchHeader([`--job-name=fvc_${s.name}`, ...sbatchResourceLines(s.resources), ...(s.array ? [`--array=${s.array}`] : []), `--chdir=${projectDir}`, `--output=${out}`, `--error=${err}`]);
  // sacct without slurmdbd (sacct -c) reports array tasks by raw job id only: each task notes its own.
  const record = s.array ? `mkdir -p ${shq(join(dir, 'tasks'))} && echo "$SLURM_JOB_ID" >${shq(join(dir, 'tasks'))}/${s.name}_"$SLURM_ARRAY_TASK_ID"` : '';
  return fillTemplate('job.sbatch', {
    SBATCH: header.map((l) => `#SBATCH ${l}`).join('\n'),
    SUBMISSION: submission,
    TITLE: s.title,
    EXPORTS: Object.entries(s.env)
      .map(([k, v]) => `export ${k}=${shq(v)}`)
      .join('\n'),
    RECORD: record,
    SETUP: setup,
    CHECK: s.check.join('\n'),
    COMMAND: s.command.join(' '),
  });
}

/**
 * #SBATCH lines are read by sbatch, not bash: nothing in them is unquoted, so a value
 * holding a line break would end the line and the rest would run as the job's shell
 * (a project folder named so, say). Such values are refused, naming them.
 */
export function sbatchHeader(lines: readonly string[]): string[] {
  for (const l of lines)
    if (/[\n\r\0]/.test(l)) throw new FvcError('ERR_INVALID_ARGUMENT', `SLURM option ${JSON.stringify(l)}: holds a line break or NUL, which an #SBATCH line cannot carry (rename the folder or value)`);
  return [...lines];
}

/** The coordinator: sbatch for every job in order, each after the jobs it depends on. */
function coordinatorScript(plan: Omit<Plan, 'dir'>): string {
  const submits = plan.jobs.map((j) => {
    const byType = new Map<string, string[]>();
    for (const a of j.after) byType.set(a.type, [...(byType.get(a.type) ?? []), `\${JOB_${a.job.replace(/[^A-Za-z0-9]/g, '_')}}`]);
    const dependency = [...byType].map(([type, ids]) => `${type}:${ids.join(':')}`).join(',');
    return `submit ${j.name} "${dependency}"`;
  });
  return fillTemplate('submit.sh', { SUBMISSION: plan.name, LOG_DIRS: plan.logDirs.map(shq).join(' '), SUBMITS: submits.join('\n') });
}

/** Every job of a submission, in submission order, with its script text, and the coordinator. */
export function planSubmission(c: SlurmConfig, dir: string): Plan & { coordinator: string } {
  const name = c.name ?? 'fvc';
  if (!/^[\w.-]+$/.test(name)) throw new FvcError('ERR_INVALID_ARGUMENT', `submission name '${name}': use letters, digits, '.', '_' or '-'`);
  dir = resolve(dir);
  const projectDir = resolve(c.projectDir ?? '.');
  const dirs = stageDirs(c);
  const { setup } = jobEnvironmentLines(c);
  const fvc = jobFvcCommand(c);
  const wanted = activeStages(c, c.stages ?? STAGES);
  const specs: JobSpec[] = [];
  const env = jobEnvironment(c, dirs, c.deleteExisting ?? false);
  const frames = c.numFrames ?? (process.env.FVC_NUM_FRAMES ? Number(process.env.FVC_NUM_FRAMES) : undefined);
  const stageEnv = frames !== undefined ? { FVC_NUM_FRAMES: String(frames), ...env } : env;
  const logs = (stage: string) => join(projectDir, 'logs', stage);
  const afterStages = (stage: StageName, except: StageName[] = []): PlannedJob['after'] =>
    DEPENDENCIES[stage].filter((d) => wanted.includes(d) && !except.includes(d)).map((job) => ({ type: 'afterok', job }));
  const extra = (c.extraArgs?.stage5 ?? []).map(shq);
  const seed = c.seed !== undefined ? ['--seed', String(c.seed)] : [];
  const deep = deepArgs(c).map(shq);
  const train = (models: string, ...more: string[]) => [fvc, 'train', '--models', shq(models), ...seed, '--threads', '"${SLURM_CPUS_PER_TASK:-1}"', ...deep, ...more, ...extra];

  for (const stage of wanted.filter((s) => s !== 'stage5' && s !== 'extract')) {
    const args = stageArgs(stage, c);
    const input = args[args.indexOf('--metadata') + 1] as string;
    const shards = shardCount(stage, c);
    const stageJob = {
      kind: 'stage' as const,
      title: `Stage ${stage.slice('stage'.length)}`,
      stage,
      after: afterStages(stage),
      resources: stageResources(c.resources),
      logBase: stage,
      logDir: logs(stage),
      env: stageEnv,
      check: [`${fvc} info >/dev/null || fail "the native core does not load (fvc info)"`, `[ -f ${shq(input)} ] || fail ${shq(`input table ${input} is missing`)}`],
    };
    if (shards === 1) {
      specs.push({ ...stageJob, name: stage, command: [fvc, ...args.map(shq)] });
      continue;
    }
    // Shards side by side, each writing its videos' parts; the merge writes the table the next stages read.
    specs.push({
      ...stageJob,
      name: `${stage}-shards`,
      kind: 'shards',
      title: `${stageJob.title} shard`,
      array: `1-${shards}`,
      logBase: `${stage}-shard`,
      command: [fvc, ...args.map(shq), '--shard', `"$SLURM_ARRAY_TASK_ID/${shards}"`],
    });
    specs.push({ ...stageJob, name: stage, title: `${stageJob.title} merge`, after: [{ type: 'afterok', job: `${stage}-shards` }], command: [fvc, ...args.map(shq), '--merge'] });
  }

  // One extraction job per backbone; the models on it wait for it instead of for Stage 3.
  const extractJob = new Map<string, string>();
  if (wanted.includes('extract')) {
    const shards = shardCount('extract', c);
    for (const [backbone, names] of extractionsByBackbone(c)) {
      const name = `extract-${backbone}`;
      extractJob.set(backbone, name);
      const job = {
        name,
        kind: 'extract' as const,
        title: `Feature extraction (${backbone})`,
        stage: 'extract' as const,
        after: afterStages('extract'),
        resources: modelResources(['extract', backbone], c.resources),
        logBase: name,
        logDir: logs('extract'),
        env,
        check: [`${fvc} info >/dev/null || fail "the native core does not load (fvc info)"`],
        command: train(names.join(','), '--only', 'extract'),
      };
      if (shards === 1) {
        specs.push(job);
        continue;
      }
      // Shards store their embeddings as parts; the unsharded job after them finds them all and writes the tables.
      specs.push({
        ...job,
        name: `${name}-shards`,
        kind: 'shards',
        title: `${job.title} shard`,
        array: `1-${shards}`,
        logBase: `${name}-shard`,
        command: train(names.join(','), '--only', 'extract', '--shard', `"$SLURM_ARRAY_TASK_ID/${shards}"`),
      });
      specs.push({ ...job, title: `${job.title} merge`, after: [{ type: 'afterok', job: `${name}-shards` }] });
    }
  }

  const modelJobs: string[] = [];
  if (wanted.includes('stage5')) {
    const nSplits = Number(env.FVC_N_SPLITS);
    const resolved = inDependencyOrder((c.models ?? DEFAULT_MODELS).map((requested) => resolveModel(requested, 'stage2')));
    const baseOf = (m: (typeof resolved)[number]) => modelLogName(m.spec.id, m.modelType, m.spec.name);
    for (const m of resolved) {
      const base = baseOf(m);
      const extraction = m.spec.backbone ? extractJob.get(m.spec.backbone) : undefined;
      const stage5After: PlannedJob['after'] = [...afterStages('stage5', ['extract']), ...(extraction ? [{ type: 'afterok' as const, job: extraction }] : [])];
      // Models it reads in the same folds (a fold-checkpoint backbone, an ensemble's members): their jobs come first.
      const reads = m.spec.foldModel && readsSharedExtraction(m.spec, c.weights) ? [] : m.after;
      const sources = resolved.filter((o) => reads.includes(o.modelType));
      const resources = modelResources([m.modelType, m.spec.name, m.spec.id], c.resources);
      // A data-parallel model's training runs one rank per task under srun (ts/distributed/environment.ts); a rank that fails ends the step.
      const ranks = dataParallel(resources) ? ['srun', '--kill-on-bad-exit=1'] : [];
      const title = `Stage 5 (${m.modelType})`;
      const check = [`${fvc} slurm check --models ${shq(m.modelType)}${deep.length ? ` ${deep.join(' ')}` : ''}`];
      const common = { stage: 'stage5' as const, model: m.modelType, resources, logDir: logs('stage5'), check };
      if (!c.foldArrays) {
        specs.push({
          ...common,
          name: base,
          kind: 'model',
          title,
          after: [...stage5After, ...sources.map((o) => ({ type: 'afterok' as const, job: baseOf(o) }))],
          logBase: base,
          env,
          command: [...ranks, ...train(m.modelType)],
        });
        modelJobs.push(base);
        continue;
      }
      // Only the grid-search job deletes: fold tasks run side by side in the same folder.
      specs.push({
        ...common,
        name: `${base}-grid`,
        kind: 'grid',
        title: `${title} grid search`,
        after: stage5After,
        logBase: `${base}-grid`,
        resources: singleProcess(resources),
        env,
        command: train(m.modelType, '--only', 'grid_search'),
      });
      const noDelete = { ...env, FVC_DELETE_EXISTING: '0' };
      const foldsAfter: PlannedJob['after'] = [{ type: 'afterok', job: `${base}-grid` }, ...sources.map((o) => ({ type: 'aftercorr' as const, job: `${baseOf(o)}-folds` }))];
      specs.push({
        ...common,
        name: `${base}-folds`,
        kind: 'folds',
        title: `${title} fold`,
        array: `1-${nSplits}`,
        after: foldsAfter,
        logBase: `${base}-fold`,
        env: noDelete,
        command: [...ranks, ...train(m.modelType, '--folds', '"$SLURM_ARRAY_TASK_ID"')],
      });
      specs.push({
        ...common,
        name: `${base}-aggregate`,
        kind: 'aggregate',
        title: `${title} aggregation`,
        after: [{ type: 'afterany', job: `${base}-folds` }],
        resources: { ...singleProcess(resources), gpus: 0 },
        logBase: `${base}-aggregate`,
        env: noDelete,
        command: train(m.modelType, '--only', 'aggregate'),
      });
      modelJobs.push(`${base}-aggregate`);
    }
  }
  if ((c.report ?? true) && modelJobs.length) {
    specs.push({
      name: 'report',
      kind: 'report',
      title: 'Stage 5 report',
      after: modelJobs.map((job) => ({ type: 'afterany', job })),
      resources: { ...stageResources(c.resources), gpus: 0 },
      logBase: 'report',
      logDir: logs('stage5'),
      env,
      check: [`[ -d ${shq(dirs.stage5)} ] || fail ${shq(`${dirs.stage5} is missing: no model wrote results`)}`],
      command: [`${fvc} plots --output-dir ${shq(dirs.stage5)} && ${fvc} report --output-dir ${shq(dirs.stage5)}`],
    });
  }

  const jobs = specs.map((s): PlannedJob => {
    const pattern = s.array ? '%A_%a' : '%j';
    const out = join(s.logDir, `${s.logBase}-${pattern}.out`);
    const err = join(s.logDir, `${s.logBase}-${pattern}.err`);
    const { logBase: _b, logDir: _d, env: _e, check: _c, command: _m, ...rest } = s;
    return { ...rest, out, err, script: jobScript(s, out, err, name, projectDir, dir, setup) };
  });
  const plan = { name, projectDir, jobs, logDirs: [...new Set(specs.map((s) => s.logDir))] };
  return { ...plan, dir, coordinator: coordinatorScript(plan) };
}
