/**
 * SLURM submission against a real one-node SLURM (Debian's slurm-wlm and munge,
 * started by scripts/slurm-local.sh for this file and stopped by pid after it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateCorpus, readTable } from '../ts/index.js';
import { DEPENDENCIES } from '../ts/pipeline/dag.js';
import { renderSubmission, submissionStatus, submit, waitForSubmission } from '../ts/slurm/submission.js';
import { train } from '../ts/train/engine.js';
import { trainDeepFold } from '../ts/deep/train.js';
import { artefactClips, artifacts, root, runCli } from './helpers.js';

const dir = join(artifacts, 'slurm');
// Unix socket paths are short: the cluster lives in /tmp.
const cluster = `/tmp/fvc-slurm-test-${process.pid}`;
const script = join(root, 'scripts', 'slurm-local.sh');
const port = 20000 + (process.pid % 20000);
const clusterEnv = { FVC_SLURM_CTLD_PORT: String(port), FVC_SLURM_SLURMD_PORT: String(port + 1) };
const data = join(dir, 'data');
const stageDirs = ['stage1', 'stage2', 'stage3', 'stage4'].flatMap((s) => [`--${s}-dir`, join(data, s)]);
const resources = join(dir, 'resources.yaml');
// Small requests that fit the 2-CPU CI node; xgboost asks for no GPU (a per-model override).
const common = ['--copies', '1', '-n', '4', '--n-splits', '3', '--seed', '5', ...stageDirs, '--resources', resources, '--project-dir', dir];

const cli = (args: string[]) => runCli(args, { SLURM_CONF: process.env.SLURM_CONF as string });
const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

test.before(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const out = execFileSync('bash', [script, 'start', cluster], { env: { ...process.env, ...clusterEnv }, stdio: ['ignore', 'pipe', 'inherit'] }).toString();
  process.env.SLURM_CONF = /SLURM_CONF=(\S+)/.exec(out)?.[1];
  writeFileSync(resources, 'all:\n  cpus-per-task: 1\n  mem: 1G\n  time: "0:20:00"\nmodels:\n  xgboost:\n    gpus: 0\n');
  await generateCorpus({ out: join(dir, 'corpus'), videos: 12, duration: 1, seed: 8, quiet: true });
});

test.after(() => {
  execFileSync('bash', [script, 'stop', cluster], { stdio: 'ignore' });
  rmSync(cluster, { recursive: true, force: true });
});

test('render writes one script per job with the seed header, environment and checks, and a coordinator chaining the stage graph', async () => {
  const out = join(dir, 'review');
  const r = cli([
    'slurm',
    'render',
    '--out',
    out,
    '--metadata',
    join(dir, 'corpus', 'metadata.csv'),
    ...common,
    '--models',
    'logistic_regression,xgboost',
    '--output-dir',
    join(data, 'stage5'),
    '--account',
    'lab42',
    '--time',
    '2:00:00',
  ]);
  assert.is(r.code, 0, r.stderr);
  const scripts = readdirSync(join(out, 'scripts')).sort();
  assert.equal(scripts, ['report.sbatch', 'stage1.sbatch', 'stage2.sbatch', 'stage3.sbatch', 'stage4.sbatch', 'stage5a.sbatch', 'stage5beta.sbatch']);
  const a = readFileSync(join(out, 'scripts', 'stage5a.sbatch'), 'utf8');
  for (const line of [
    '--job-name=fvc_stage5a',
    '--account=lab42',
    '--partition=gpu',
    '--gpus=1',
    '--mem=1G',
    '--cpus-per-task=1',
    '--time=2:00:00',
    `--output=${dir}/logs/stage5/stage5a-%j.out`,
    `--error=${dir}/logs/stage5/stage5a-%j.err`,
  ])
    assert.ok(a.includes(`#SBATCH ${line}\n`), line);
  assert.ok(readFileSync(join(out, 'scripts', 'stage2.sbatch'), 'utf8').includes('export FVC_NUM_FRAMES=4\n'), 'the handcrafted stages get the frame count');
  assert.not.match(a, /FVC_NUM_FRAMES/, "model jobs do not: it would override each deep architecture's own frames");
  for (const v of [
    'FVC_N_SPLITS=3',
    `FVC_STAGE5_OUTPUT_DIR=${data}/stage5`,
    'FVC_USE_TRACKING=1',
    'FVC_DELETE_EXISTING=0',
    `FVC_STAGE2_OUTPUT_DIR=${data}/stage2`,
    `FVC_STAGE3_OUTPUT_DIR=${data}/stage3`,
    `FVC_STAGE4_OUTPUT_DIR=${data}/stage4`,
    'FVC_WEIGHTS_OFFLINE=1',
  ])
    assert.ok(a.includes(`export ${v}\n`), v);
  assert.match(a, /export FVC_HOME=\S+\n/, 'jobs read the weights cache submit filled');
  assert.match(a, /slurm check --models logistic_regression\n/);
  assert.match(a, /completed successfully in \$\{DURATION\}s \(\$\(\(DURATION \/ 60\)\) minutes\)/);
  const beta = readFileSync(join(out, 'scripts', 'stage5beta.sbatch'), 'utf8');
  assert.not.match(beta, /--gpus/, 'per-model override: xgboost asks for no GPU');
  assert.not.match(readFileSync(join(out, 'scripts', 'stage2.sbatch'), 'utf8'), /--gpus|--partition/, 'data stages ask for no GPU');
  // The coordinator's dependencies are the pipeline's graph.
  const coordinator = readFileSync(join(out, 'submit.sh'), 'utf8');
  for (const stage of ['stage2', 'stage3', 'stage4'] as const) assert.ok(coordinator.includes(`submit ${stage} "afterok:${DEPENDENCIES[stage].map((d) => `\${JOB_${d}}`).join(':')}"`), stage);
  assert.ok(coordinator.includes('submit stage5a "afterok:${JOB_stage2}:${JOB_stage4}"'));
  assert.ok(coordinator.includes('submit report "afterany:${JOB_stage5a}:${JOB_stage5beta}"'));
  for (const f of [...scripts.map((s) => join(out, 'scripts', s)), join(out, 'submit.sh')]) execFileSync('bash', ['-n', f]);
  assert.not.ok(existsSync(join(out, 'jobs.tsv')), 'render submits nothing');
});

test('a real submission with fold arrays runs corpus features -> classical models, and matches a local run fold for fold', async () => {
  const r = cli([
    'slurm',
    'submit',
    '--name',
    'arrays',
    '--metadata',
    join(dir, 'corpus', 'metadata.csv'),
    ...common,
    '--models',
    'logistic_regression,xgboost,ensemble:logistic_regression+xgboost',
    '--output-dir',
    join(data, 'stage5'),
    '--fold-arrays',
    '--json',
  ]);
  assert.is(r.code, 0, r.stderr);
  const submitted = JSON.parse(r.stdout) as { dir: string; jobs: Array<{ job: string; jobId: string }> };
  assert.ok(submitted.jobs.every((j) => /^\d+$/.test(j.jobId)));
  const s = await waitForSubmission(submitted.dir, { timeoutSeconds: 600, intervalSeconds: 1 });
  assert.ok(
    s.ok,
    JSON.stringify(
      s.jobs.filter((j) => j.state !== 'COMPLETED'),
      null,
      1,
    ),
  );
  // One row per fold-array task, each completed.
  assert.equal(
    s.jobs.filter((j) => j.kind === 'folds').map((j) => `${j.model}:${j.fold}`),
    [
      'logistic_regression:1',
      'logistic_regression:2',
      'logistic_regression:3',
      'xgboost:1',
      'xgboost:2',
      'xgboost:3',
      'ensemble_logistic_regression+xgboost:1',
      'ensemble_logistic_regression+xgboost:2',
      'ensemble_logistic_regression+xgboost:3',
    ],
  );
  // The ensemble's jobs ran to the end: its folds, its summary and best_model.
  assert.ok(existsSync(join(data, 'stage5', 'ensemble_logistic_regression+xgboost', 'best_model', 'model.json')), 'the ensemble ran under SLURM');
  for (const f of [
    'stage4/features_scaled_metadata.parquet',
    'stage5/logistic_regression/metrics.json',
    'stage5/xgboost/best_model/model.json',
    'stage5/plots/model_comparison.png',
    'stage5/report.html',
  ])
    assert.ok(existsSync(join(data, f)), f);
  const logDir = join(dir, 'logs', 'stage5');
  const foldLog = readdirSync(logDir).find((f) => /^stage5a-fold-\d+_2\.out$/.test(f));
  assert.ok(foldLog, 'array task logs are named by array id and task');
  assert.match(readFileSync(join(logDir, foldLog as string), 'utf8'), /Stage 5 \(logistic_regression\) fold completed successfully in \d+s \(\d+ minutes\)/);
  const agg = readdirSync(logDir).find((f) => /^stage5a-aggregate-\d+\.err$/.test(f)) as string;
  assert.match(readFileSync(join(logDir, agg), 'utf8'), /fold 3 already done/);

  // The same folds trained in one local process give the same metrics.
  const local = await train({
    models: ['logistic_regression'],
    nSplits: 3,
    seed: 5,
    stage2Dir: join(data, 'stage2'),
    stage4Dir: join(data, 'stage4'),
    outputDir: join(dir, 'local'),
    tracking: false,
    plots: false,
    quiet: true,
  });
  const viaSlurm = readJson(join(data, 'stage5', 'logistic_regression', 'metrics.json'));
  assert.equal(viaSlurm.fold_results, readJson(join(dir, 'local', 'logistic_regression', 'metrics.json')).fold_results);
  assert.is(viaSlurm.best_fold, local.models[0]?.bestFold);

  const status = cli(['slurm', 'status', '--name', 'arrays', '--dir', submitted.dir]);
  assert.is(status.code, 0, status.stderr);
  assert.match(status.stdout, /stage5beta-folds\s+xgboost\s+3\s+\d+_3\s+COMPLETED/);
});

test("Stage 2 sharded under SLURM (--shard-videos): an array of three shards, then the merge job, writes the one-job run's table", async () => {
  const out = join(dir, 'sharded-stage2');
  const args = ['--name', 'shards', '--metadata', join(dir, 'corpus', 'metadata.csv'), '--copies', '1', '-n', '4', '--stage1-dir', join(data, 'stage1'), '--stage2-dir', out];
  const more = ['--resources', resources, '--project-dir', dir, '--stages', 'stage2', '--shard-videos', '10'];
  // 12 videos and one copy each: 24 rows in Stage 1's table, three shards of at most 10.
  const rendered = cli(['slurm', 'render', '--out', join(dir, 'shards-review'), ...args, ...more]);
  assert.is(rendered.code, 0, rendered.stderr);
  const plan = readJson(join(dir, 'shards-review', 'plan.json')) as { jobs: Array<{ name: string; kind: string; array?: string; after: Array<{ job: string }> }> };
  assert.equal(
    plan.jobs.map((j) => [j.name, j.kind, j.array ?? '', j.after.map((a) => a.job).join(',')]),
    [
      ['stage2-shards', 'shards', '1-3', ''],
      ['stage2', 'stage', '', 'stage2-shards'],
    ],
  );
  const script = (name: string) => readFileSync(join(dir, 'shards-review', 'scripts', `${name}.sbatch`), 'utf8');
  assert.match(script('stage2-shards'), /#SBATCH --array=1-3\n/);
  assert.match(script('stage2-shards'), /stage2 --metadata \S+augmented_metadata\.parquet .*--shard "\$SLURM_ARRAY_TASK_ID\/3"/);
  assert.match(script('stage2'), /stage2 --metadata \S+augmented_metadata\.parquet .*--merge/);
  const r = cli(['slurm', 'submit', ...args, ...more, '--json']);
  assert.is(r.code, 0, r.stderr);
  const s = await waitForSubmission((JSON.parse(r.stdout) as { dir: string }).dir, { timeoutSeconds: 300, intervalSeconds: 1 });
  assert.ok(s.ok, JSON.stringify(s.jobs, null, 1));
  assert.equal(
    s.jobs.map((j) => `${j.job}:${j.fold ?? ''}`),
    ['stage2-shards:1', 'stage2-shards:2', 'stage2-shards:3', 'stage2:'],
  );
  assert.equal(await readTable(join(out, 'features_metadata.parquet')), await readTable(join(data, 'stage2', 'features_metadata.parquet')));
});

test('a stacking ensemble runs to completion under SLURM without fold arrays, after its members; every job prepares its environment (slurm.setup) and calls fvc under the wrapper', async () => {
  const out = join(dir, 'stack-out');
  // The wrapper records what the setup exported, then runs the fvc command it prefixes.
  const wrapper = join(dir, 'wrap.sh');
  const marks = join(dir, 'marks.txt');
  writeFileSync(wrapper, `#!/bin/bash\necho "$FVC_TEST_MARK $1" >>${JSON.stringify(marks)}\nexec "$@"\n`, { mode: 0o755 });
  await submit(
    {
      name: 'stack',
      stages: ['stage5'],
      dirs: { stage1: join(data, 'stage1'), stage2: join(data, 'stage2'), stage3: join(data, 'stage3'), stage4: join(data, 'stage4'), stage5: out },
      models: ['logistic_regression', 'xgboost', 'stack:logistic_regression+xgboost'],
      nSplits: 3,
      seed: 5,
      report: false,
      // A comment and a quote in a line stay inside it.
      setup: ['export FVC_TEST_MARK="from setup" # site modules would load here', 'test -n "$FVC_TEST_MARK"'],
      wrapper: wrapper,
      useTracking: false,
      projectDir: dir,
      resources: { all: { 'cpus-per-task': 1, mem: '1G', time: '0:20:00', gpus: 0 } },
      extraArgs: { stage5: ['--no-plots'] },
    },
    { dir: join(dir, 'stack-submission'), log: () => undefined },
  );
  const s = await waitForSubmission(join(dir, 'stack-submission'), { timeoutSeconds: 600, intervalSeconds: 1 });
  assert.ok(s.ok, JSON.stringify(s.jobs.filter((j) => j.state !== 'COMPLETED')));
  const summary = readJson(join(out, 'stack_logistic_regression+xgboost', 'metrics.json'));
  assert.is(summary.fold_results.length, 3);
  assert.ok(existsSync(join(out, 'stack_logistic_regression+xgboost', 'fold_1', 'stacker_training.csv')));
  const calls = readFileSync(marks, 'utf8').trim().split('\n');
  // Per model job: fvc slurm check, then fvc train; each under the wrapper, after the setup.
  assert.is(calls.length, 6);
  assert.ok(
    calls.every((c) => c === `from setup ${process.execPath}`),
    calls.join('\n'),
  );
});

test('slurm.setup and slurm.wrapper from a run configuration: rendered into every job, and a line that would break the script is refused', () => {
  const cfg = join(dir, 'env.yaml');
  writeFileSync(cfg, 'models: [logistic_regression]\nslurm:\n  setup: ["module load cuda/12.4", "source venv/bin/activate"]\n  wrapper: apptainer exec --nv fvc.sif\n');
  const out = join(dir, 'env-render');
  const r = cli(['slurm', 'render', '--out', out, '--config', cfg, '--stages', 'stage5', '--project-dir', dir]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /every job runs first: module load cuda\/12\.4/);
  const job = readFileSync(join(out, 'scripts', 'stage5a.sbatch'), 'utf8');
  assert.match(job, /set \+u\neval 'module load cuda\/12\.4' \|\| fail 'slurm\.setup line 1 failed: module load cuda\/12\.4'\neval 'source venv\/bin\/activate' \|\| fail .*\nset -u\n/);
  assert.match(job, /\napptainer exec --nv fvc\.sif \S+ \S+fvc\.js train --models logistic_regression/);
  assert.ok(job.indexOf('slurm.setup') < job.indexOf('checking prerequisites'), 'the environment before the checks that call fvc');
  writeFileSync(cfg, 'models: [logistic_regression]\nslurm:\n  setup: "module load a\\nrm -rf /"\n');
  const bad = cli(['slurm', 'render', '--out', join(dir, 'env-bad'), '--config', cfg]);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /slurm\.setup\[0\]: one shell line each/);
});

test('GPU jobs are not submitted when fvc on such a node sees no CUDA: the check job names the node (this cluster: a fake GPU, a CPU build)', () => {
  const args = [
    '--metadata',
    join(dir, 'corpus', 'metadata.csv'),
    ...common,
    '--models',
    'naive_cnn,logistic_regression',
    '--stages',
    'stage5',
    '--gpus',
    '1',
    '--output-dir',
    join(dir, 'gpu-out'),
    '--no-report',
  ];
  const r = cli(['slurm', 'submit', '--name', 'gpucheck', ...args]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /node \S+ \([^)]*1 GPU\(s\); check job \d+\) cannot run the GPU jobs stage5c: .*no CUDA device/s);
  assert.match(r.stderr, /Nothing was submitted/);
  assert.not.ok(existsSync(join(root, '.fvc', 'slurm', 'gpucheck', 'jobs.tsv')), 'no job ids: nothing was submitted');
  const alone = cli(['slurm', 'check-nodes', '--name', 'gpucheck', ...args]);
  assert.is(alone.code, 1);
  assert.match(alone.stdout, /1 GPU\(s\)\s+\S+\s+FAILED/);
});

test('models on deep features: one extraction job per backbone after Stage 3, its models after it; fold-checkpoint backbones wait for their model fold by fold', async () => {
  const out = join(dir, 'review-extract');
  const models = 'i3d,xgboost_i3d,xgboost_pretrained_inception,xgboost_pretrained_inception_stage2,xgboost_r2plus1d,xgboost';
  const r = cli([
    'slurm',
    'render',
    '--out',
    out,
    '--metadata',
    'm.csv',
    '--models',
    models,
    '--weights',
    'inception_v3=/w/inception.pth,r2plus1d_18=/w/r2p1.pth',
    '--fold-arrays',
    '--n-splits',
    '3',
    '--project-dir',
    dir,
  ]);
  assert.is(r.code, 0, r.stderr);
  const coordinator = readFileSync(join(out, 'submit.sh'), 'utf8');
  const submits = Object.fromEntries([...coordinator.matchAll(/^submit (\S+) "(.*)"$/gm)].map((m) => [m[1], m[2]]));
  // Extraction once per backbone with a weights file; i3d's comes from i3d's folds instead.
  assert.equal(
    Object.keys(submits)
      .filter((j) => j.startsWith('extract-'))
      .sort(),
    ['extract-inception_v3', 'extract-r2plus1d_18'],
  );
  assert.is(submits['extract-inception_v3'], 'afterok:${JOB_stage3}');
  // Above --shard-videos, an extraction is an array of shards, then the unsharded job that writes the tables.
  const sharded = join(dir, 'review-extract-shards');
  writeFileSync(join(dir, 'm40.csv'), `video_path,label\n${Array.from({ length: 40 }, (_, i) => `v${i}.mp4,${i % 2}`).join('\n')}\n`);
  const rs = cli([
    'slurm',
    'render',
    '--out',
    sharded,
    '--metadata',
    join(dir, 'm40.csv'),
    '--copies',
    '1',
    '--models',
    'xgboost_r2plus1d',
    '--weights',
    'r2plus1d_18=/w/r2p1.pth',
    '--stages',
    'stage3,extract,stage5',
    '--shard-videos',
    '30',
    '--project-dir',
    dir,
  ]);
  assert.is(rs.code, 0, rs.stderr);
  const shardSubmits = Object.fromEntries([...readFileSync(join(sharded, 'submit.sh'), 'utf8').matchAll(/^submit (\S+) "(.*)"$/gm)].map((m) => [m[1], m[2]]));
  // 40 videos and one copy: 80 rows, three shards of at most 30, for Stage 3 and the extraction alike.
  assert.equal(Object.keys(shardSubmits), ['stage3-shards', 'stage3', 'extract-r2plus1d_18-shards', 'extract-r2plus1d_18', 'stage5h', 'report']);
  assert.is(shardSubmits['extract-r2plus1d_18-shards'], 'afterok:${JOB_stage3}');
  assert.is(shardSubmits['extract-r2plus1d_18'], 'afterok:${JOB_extract_r2plus1d_18_shards}');
  assert.match(readFileSync(join(sharded, 'scripts', 'extract-r2plus1d_18-shards.sbatch'), 'utf8'), /#SBATCH --array=1-3\n[\s\S]*--only extract --shard "\$SLURM_ARRAY_TASK_ID\/3"/);
  for (const job of ['stage5f-grid', 'stage5f_stage2-grid']) assert.ok(submits[job]?.includes('${JOB_extract_inception_v3}'), job);
  assert.ok(submits['stage5h-grid']?.includes('${JOB_extract_r2plus1d_18}'));
  assert.is(submits['stage5g-folds'], 'afterok:${JOB_stage5g_grid},aftercorr:${JOB_stage5o_folds}', 'fold k of xgboost_i3d after fold k of i3d');
  assert.not.match(submits['stage5beta-grid'] as string, /extract/);
  const script = readFileSync(join(out, 'scripts', 'extract-inception_v3.sbatch'), 'utf8');
  // The bare model extracts for the _stage2 variant too, and with the weights the model jobs use.
  assert.match(
    script,
    /train --models xgboost_pretrained_inception --threads "\$\{SLURM_CPUS_PER_TASK:-1\}" --weights inception_v3=\/w\/inception\.pth,r2plus1d_18=\/w\/r2p1\.pth --only extract \|\|/,
  );
  assert.match(script, /export FVC_FEATURES_DIR=\S+\n/);
  assert.match(readFileSync(join(out, 'scripts', 'stage5f_stage2-folds.sbatch'), 'utf8'), /--weights inception_v3=\/w\/inception\.pth/);
  // Without fold arrays, the whole model job waits for i3d's.
  const flat = join(dir, 'review-extract-flat');
  assert.is(cli(['slurm', 'render', '--out', flat, '--stages', 'stage5', '--models', 'xgboost_i3d,i3d', '--project-dir', dir]).code, 0);
  assert.match(readFileSync(join(flat, 'submit.sh'), 'utf8'), /submit stage5g "afterok:\$\{JOB_stage5o\}"/);
  // Only stage 5: no extraction job, the models extract for themselves.
  assert.not.match(readFileSync(join(flat, 'submit.sh'), 'utf8'), /extract-/);
  // An ensemble's fold k waits for fold k of every member.
  const ens = join(dir, 'review-ensemble');
  assert.is(cli(['slurm', 'render', '--out', ens, '--stages', 'stage5', '--models', 'ensemble:xgboost+svm,svm,xgboost', '--fold-arrays', '--project-dir', dir]).code, 0);
  assert.match(
    readFileSync(join(ens, 'submit.sh'), 'utf8'),
    /submit stage5ens_xgboost\+svm-folds "afterok:\$\{JOB_stage5ens_xgboost_svm_grid\},aftercorr:\$\{JOB_stage5b_folds\}:\$\{JOB_stage5beta_folds\}"/,
  );
});

test('the video transformers get GPU jobs with the model defaults; 5i and 5j fold k wait for fold k of vit_gru and vit_transformer', () => {
  const out = join(dir, 'review-transformers');
  const models = 'xgboost_vit_gru,vit_gru,xgboost_vit_transformer,vit_transformer,timesformer,vivit';
  const r = cli(['slurm', 'render', '--out', out, '--stages', 'stage5', '--models', models, '--fold-arrays', '--n-splits', '3', '--project-dir', dir]);
  assert.is(r.code, 0, r.stderr);
  const coordinator = readFileSync(join(out, 'submit.sh'), 'utf8');
  assert.match(coordinator, /submit stage5i-folds "afterok:\$\{JOB_stage5i_grid\},aftercorr:\$\{JOB_stage5k_folds\}"/);
  assert.match(coordinator, /submit stage5j-folds "afterok:\$\{JOB_stage5j_grid\},aftercorr:\$\{JOB_stage5l_folds\}"/);
  for (const id of ['5k', '5l', '5m', '5n']) {
    const job = readFileSync(join(out, 'scripts', `stage${id}-folds.sbatch`), 'utf8');
    assert.ok(job.includes('#SBATCH --gpus=1\n') && job.includes('#SBATCH --mem=64G\n'), id);
  }
});

test('a run configuration reaches every job: deep options through fvc train --config, resources from its resources section', () => {
  const cfg = join(dir, 'run.yaml');
  writeFileSync(cfg, 'models: [naive_cnn]\nnSplits: 3\ntrain:\n  deep: { epochs: 3, width: 0.25 }\nresources:\n  models: { naive_cnn: { time: "1:00:00", gpus: 0 } }\n');
  const out = join(dir, 'review-config');
  const r = cli(['slurm', 'render', '--out', out, '--stages', 'stage5', '--config', cfg, '--project-dir', dir]);
  assert.is(r.code, 0, r.stderr);
  const job = readFileSync(join(out, 'scripts', 'stage5c.sbatch'), 'utf8');
  assert.match(job, new RegExp(`train --models naive_cnn .*--config ${cfg.replace(/[/.]/g, '\\$&')}`));
  assert.match(job, new RegExp(`slurm check --models naive_cnn --config ${cfg.replace(/[/.]/g, '\\$&')}`));
  assert.ok(job.includes('#SBATCH --time=1:00:00\n') && !job.includes('--gpus'), 'resources from the configuration');
  assert.ok(job.includes('export FVC_N_SPLITS=3\n'));
});

test('a data-parallel model renders nodes, a task per GPU and an srun line; its grid search and aggregation stay single jobs', () => {
  const cfg = join(dir, 'ddp.yaml');
  writeFileSync(cfg, 'models: [naive_cnn]\nnSplits: 3\nresources:\n  models: { naive_cnn: { gpus: 4, nodes: 2 } }\n');
  const out = join(dir, 'review-ddp');
  const r = cli(['slurm', 'render', '--out', out, '--stages', 'stage5', '--config', cfg, '--fold-arrays', '--project-dir', dir]);
  assert.is(r.code, 0, r.stderr);
  const folds = readFileSync(join(out, 'scripts', 'stage5c-folds.sbatch'), 'utf8');
  for (const line of ['--nodes=2', '--ntasks-per-node=4', '--gpus-per-task=1']) assert.ok(folds.includes(`#SBATCH ${line}\n`), line);
  assert.not.match(folds, /#SBATCH --gpus=/);
  assert.match(folds, /\nsrun --kill-on-bad-exit=1 .*train --models naive_cnn .*--folds "\$SLURM_ARRAY_TASK_ID"/);
  const grid = readFileSync(join(out, 'scripts', 'stage5c-grid.sbatch'), 'utf8');
  assert.ok(grid.includes('#SBATCH --gpus=1\n') && !grid.includes('--nodes') && !/srun/.test(grid), grid);
  assert.not.match(readFileSync(join(out, 'scripts', 'stage5c-aggregate.sbatch'), 'utf8'), /--nodes|--gpus|srun/);
});

test("a data-parallel fold as one SLURM job of two tasks (srun): each task is a rank, rank 0 on the job's first node, and one process's result", async () => {
  const clipsDir = join(dir, 'ddp-clips');
  mkdirSync(clipsDir, { recursive: true });
  const clips = artefactClips(clipsDir);
  const options = { numFrames: 4, cropSize: 32, frameSize: 48, epochs: 2, batchSize: 8, lrHead: 1e-3, augment: true, scale: { width: 0.25, depth: 1 }, loaderThreads: 1 };
  const fold = (out: string) => ({
    architecture: 'vit_ti_16',
    train: clips.slice(0, 24),
    val: clips.slice(24, 33),
    outDir: join(dir, out),
    options,
    seed: 2,
    threads: 1,
    device: 'cpu' as const,
    resume: false,
  });
  const single = await trainDeepFold(fold('ddp-single'));
  const request = join(dir, 'ddp-fold.json');
  writeFileSync(request, JSON.stringify(fold('ddp-srun')));
  const result = join(dir, 'ddp-srun.json');
  const log = join(dir, 'ddp-srun.log');
  const job = join(dir, 'ddp.sbatch');
  const rank = [process.execPath, '--import', 'tsx', join(root, 'test', 'distributed_rank.ts'), `@${request}`, result].join(' ');
  writeFileSync(
    job,
    `#!/bin/bash\n#SBATCH --ntasks=2\n#SBATCH --cpus-per-task=1\n#SBATCH --mem=2G\n#SBATCH --time=0:10:00\n#SBATCH --output=${log}\n#SBATCH --chdir=${root}\nexport FVC_TEST_TIMEOUT=60\nsrun --kill-on-bad-exit=1 ${rank}\n`,
  );
  execFileSync('sbatch', ['--wait', job], { env: process.env, stdio: 'ignore', timeout: 300_000 });
  const text = readFileSync(log, 'utf8');
  assert.match(text, /rank 1 of 2 \(slurm\): joining the rendezvous at [^:]+:\d+/);
  assert.match(text, /rank 1 of 2: job 0 \(vit_ti_16, .*\) done/);
  const r = JSON.parse(readFileSync(result, 'utf8')) as { valProbs: number[]; epochs: Array<{ val_loss: number }> };
  const diff = Math.max(...r.valProbs.map((p, i) => Math.abs(p - (single.valProbs[i] as number))));
  assert.ok(diff < 1e-5, `validation probabilities differ from one process's by ${diff}\n${text}`);
});

test('a real submission with deep features: the extraction job extracts, the model jobs reuse it, and fold k of xgboost_r2plus1d reads fold k of r2plus1d', async () => {
  const small = ['--epochs', '1', '--batch-size', '4', '--num-frames', '4', '--frame-size', '80', '--crop-size', '76', '--width', '0.25', '--depth', '1', '--no-plots'];
  const out = join(dir, 'deep-out');
  const s0 = await submit(
    {
      name: 'deep',
      stages: ['extract', 'stage5'],
      dirs: { stage1: join(data, 'stage1'), stage2: join(data, 'stage2'), stage3: join(data, 'stage3'), stage4: join(data, 'stage4'), stage5: out },
      featuresDir: join(dir, 'features'),
      models: ['xgboost_r2plus1d', 'r2plus1d', 'xgboost_pretrained_inception', 'xgboost_pretrained_inception_stage2'],
      randomInit: true,
      nSplits: 3,
      seed: 5,
      foldArrays: true,
      report: false,
      useTracking: false,
      projectDir: dir,
      resources: { all: { 'cpus-per-task': 1, mem: '1G', time: '0:20:00', gpus: 0 } },
      extraArgs: { stage5: small },
    },
    { dir: join(dir, 'deep-submission'), log: () => undefined },
  );
  assert.ok(s0.jobs.some((j) => j.job === 'extract-inception_v3'));
  const s = await waitForSubmission(join(dir, 'deep-submission'), { timeoutSeconds: 900, intervalSeconds: 1 });
  assert.ok(
    s.ok,
    JSON.stringify(
      s.jobs.filter((j) => j.state !== 'COMPLETED'),
      null,
      1,
    ),
  );
  const logs = join(dir, 'logs');
  const extractLog = readdirSync(join(logs, 'extract')).find((f) => /^extract-inception_v3-\d+\.err$/.test(f)) as string;
  assert.match(readFileSync(join(logs, 'extract', extractLog), 'utf8'), /inception_v3 features of \d+ videos .*\((\d+) extracted, 0 reused\)/);
  // Every fold task of both models on inception reused the table: nothing extracted twice.
  const reused = readdirSync(join(logs, 'stage5')).filter((f) => /^stage5f(_stage2)?-fold-\d+_\d\.err$/.test(f));
  assert.is(reused.length, 6);
  for (const f of reused) assert.match(readFileSync(join(logs, 'stage5', f), 'utf8'), /inception_v3 features of \d+ videos .*\(0 extracted, \d+ reused\)/, f);
  for (const fold of [1, 2, 3]) {
    const cfg = readJson(join(out, 'xgboost_r2plus1d', `fold_${fold}`, 'config.json'));
    assert.is(cfg.backbone_weights.trained_by, `r2plus1d/fold_${fold}`);
  }
  assert.ok(existsSync(join(out, 'xgboost_pretrained_inception_stage2', 'best_model', 'model.json')));
});

test('a failing job: status names the model, shows its error log tail and exits 1; the report after it still runs', async () => {
  const r = cli([
    'slurm',
    'submit',
    '--name',
    'broken',
    '--stages',
    'stage5',
    ...common,
    '--stage2-dir',
    join(dir, 'nowhere'),
    '--models',
    'logistic_regression',
    '--output-dir',
    join(dir, 'broken-out'),
  ]);
  assert.is(r.code, 0, r.stderr);
  const sdir = join(root, '.fvc', 'slurm', 'broken');
  const s = await waitForSubmission(sdir, { timeoutSeconds: 300, intervalSeconds: 1 });
  const job = s.jobs.find((j) => j.job === 'stage5a');
  assert.is(job?.state, 'FAILED');
  assert.match(job?.errTail ?? '', /nowhere\/features_metadata\.parquet: no such file/);
  const status = cli(['slurm', 'status', '--name', 'broken']);
  assert.is(status.code, 1);
  assert.match(status.stdout, /logistic_regression \(stage5a, job \d+\) FAILED; .*stage5a-\d+\.err:\n.*no such file/);
  rmSync(sdir, { recursive: true, force: true });
});

test('a resubmission while jobs still run is refused; --force cancels and resubmits; cancel stops the rest', async () => {
  const args = [
    'slurm',
    'submit',
    '--name',
    'busy',
    '--stages',
    'stage5',
    ...common,
    '--models',
    'logistic_regression',
    '--output-dir',
    join(dir, 'busy-out'),
    '--no-report',
    '--fvc-command',
    `sleep 30; ${process.execPath} ${join(root, 'bin', 'fvc.js')}`,
  ];
  assert.is(cli(args).code, 0);
  const again = cli(args);
  assert.is(again.code, 1);
  assert.match(again.stderr, /submission 'busy' .* still has 1 job\(s\) queued or running .*--force/);
  const forced = cli([...args, '--force']);
  assert.is(forced.code, 0, forced.stderr);
  assert.match(forced.stderr, /cancelled \d+ of the earlier submission/);
  const cancel = cli(['slurm', 'cancel', '--name', 'busy']);
  assert.match(cancel.stdout, /cancelled \d+/);
  const s = await waitForSubmission(join(root, '.fvc', 'slurm', 'busy'), { timeoutSeconds: 60, intervalSeconds: 0.5 });
  assert.is(s.jobs[0]?.state, 'CANCELLED');
  rmSync(join(root, '.fvc', 'slurm', 'busy'), { recursive: true, force: true });
});

test("an sbatch rejection names the script and SLURM's reason, and cancels the jobs already submitted", async () => {
  const out = join(dir, 'rejected');
  const r = cli(['slurm', 'submit', '--dir', out, '--stages', 'stage4,stage5', ...common, '--models', 'logistic_regression', '--mem', '900G', '--output-dir', join(dir, 'rejected-out')]);
  assert.is(r.code, 1);
  assert.match(r.stderr, new RegExp(`sbatch rejected ${out}/scripts/stage5a\\.sbatch: .*(Memory specification|node configuration)`));
  assert.match(r.stderr, /the 1 job\(s\) already submitted were cancelled/);
  const s = await submissionStatus(out);
  assert.is(s.jobs.find((j) => j.job === 'stage4')?.state, 'CANCELLED');
  assert.is(s.jobs.find((j) => j.job === 'stage5a')?.state, 'NOT_SUBMITTED');
});

test('no sbatch on PATH is a clear error; bad resources name the field', async () => {
  const r = runCli(['slurm', 'submit', '--stages', 'stage5', '--models', 'svm', '--dir', join(dir, 'nopath')], { PATH: '/nonexistent' });
  assert.is(r.code, 1);
  assert.match(r.stderr, /sbatch is not on PATH/);
  writeFileSync(join(dir, 'bad.yaml'), 'models:\n  svm:\n    mem: lots\n');
  const bad = cli(['slurm', 'render', '--out', join(dir, 'bad'), '--stages', 'stage5', '--models', 'svm', '--resources', join(dir, 'bad.yaml')]);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /bad\.yaml: invalid SLURM resources:\n {2}- models\.svm\.mem: expected a size/);
  const err = await renderSubmission({ name: 'no spaces allowed' }, join(dir, 'x')).then(
    () => null,
    (e: Error) => e,
  );
  assert.match(err?.message ?? '', /submission name 'no spaces allowed'/);
});

test.run();
