import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateCorpus, readTable } from '../ts/index.js';
import { parseCsv } from '../ts/util/csv.js';
import { loadMetadata } from '../ts/data/metadata.js';
import { loadStageFeatures } from '../ts/train/dataset.js';
import { joinHandcrafted } from '../ts/train/implementations/embedding-model.js';
import { renderAirflowDag } from '../ts/pipeline/airflow.js';
import { activeStages, DEPENDENCIES, STAGES } from '../ts/pipeline/dag.js';
import { runPipeline } from '../ts/pipeline/runner.js';
import { artifacts, runCli } from './helpers.js';

const dir = join(artifacts, 'pipeline');
const data = join(dir, 'data');
const dirs = Object.fromEntries(STAGES.map((s) => [s, join(data, s)]));
const config = () => ({
  metadata: join(dir, 'corpus', 'metadata.csv'),
  dirs,
  copies: 1,
  numFrames: 4,
  nSplits: 3,
  seed: 5,
  models: ['logistic_regression', 'xgboost'],
  logsDir: join(dir, 'logs'),
  retryDelayMs: 0,
  log: () => undefined,
});

/** [start, end] of each attempt in a stage log. */
function attempts(log: string): Array<[number, number]> {
  const starts = [...log.matchAll(/^=== (\S+) attempt/gm)].map((m) => Date.parse(m[1] as string));
  const ends = [...log.matchAll(/^=== (\S+) exit/gm)].map((m) => Date.parse(m[1] as string));
  return starts.map((s, i) => [s, ends[i] as number]);
}

// Airflow cannot be installed here: read the declared graph from the file's syntax tree.
const DAG_READER = `
import ast, json, sys
tree = ast.parse(open(sys.argv[1]).read())
tasks, edges, dag = {}, [], {}
for node in ast.walk(tree):
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and getattr(node.value.func, "id", "") == "BashOperator":
        kw = {k.arg: ast.literal_eval(k.value) for k in node.value.keywords}
        tasks[node.targets[0].id] = kw
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.BinOp) and isinstance(node.value.op, ast.RShift):
        edges.append([node.value.left.id, node.value.right.id])
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "DAG":
        for k in node.keywords:
            if k.arg in ("dag_id", "tags"): dag[k.arg] = ast.literal_eval(k.value)
            if k.arg == "schedule_interval": dag[k.arg] = repr(ast.literal_eval(k.value))
    if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "default_args":
        d = node.value
        for key, value in zip(d.keys, d.values):
            if key.value in ("retries", "email_on_failure", "email"): dag[key.value] = ast.literal_eval(value)
            if key.value == "retry_delay": dag["retry_delay_minutes"] = ast.literal_eval(value.keywords[0].value)
print(json.dumps({"tasks": tasks, "edges": sorted(edges), "dag": dag}))`;

function readDag(file: string) {
  execFileSync('/usr/bin/python3', ['-m', 'py_compile', file]);
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', DAG_READER, file]).toString());
}

test.before(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await generateCorpus({ out: join(dir, 'corpus'), videos: 12, duration: 1, seed: 8, quiet: true });
});

test('the pipeline runs every stage in dependency order, stage2 beside stage3, one log per stage; a rerun skips done work', async () => {
  const r = await runPipeline({ ...config(), extraArgs: { stage5: ['--no-tracking', '--no-plots'] } });
  assert.ok(r.ok, JSON.stringify(r.stages));
  const active = activeStages(config());
  assert.equal(active, ['stage1', 'stage2', 'stage3', 'stage4', 'stage5'], 'no model reads deep features: no extract stage');
  assert.equal(
    r.stages.map((s) => s.stage),
    active,
  );
  for (const f of ['stage1/augmented_metadata.parquet', 'stage2/features_metadata.parquet', 'stage3/scaled_metadata.parquet', 'stage4/features_scaled_metadata.parquet', 'stage5/xgboost/metrics.json'])
    assert.ok(existsSync(join(data, f)), f);
  const span = (s: string) => attempts(readFileSync(join(dir, 'logs', `${s}.log`), 'utf8'))[0] as [number, number];
  for (const s of active) for (const d of DEPENDENCIES[s].filter((x) => active.includes(x))) assert.ok(span(s)[0] >= span(d)[1], `${s} starts after ${d} ends`);
  const [s2, s3] = [span('stage2'), span('stage3')];
  assert.ok(s2[0] < s3[1] && s3[0] < s2[1], 'stage2 and stage3 overlap in time');
  assert.match(readFileSync(join(dir, 'logs', 'stage5.log'), 'utf8'), /Execution time: [\d.]+ seconds/);
  // Stage 1's copies are videos of their own: their Stage 2 rows name their own file as
  // source_video (what Stage 3 scaled, so the Stage 2 + 4 join pairs the right rows), and
  // every video has its own id in predictions (a shared one dropped half of them from the statistics).
  const s2rows = await readTable(join(data, 'stage2', 'features_metadata.parquet'));
  const copies = s2rows.filter((r) => Number(r.augmentation_index) > 0);
  assert.ok(copies.length > 0 && copies.length === s2rows.length / 2);
  for (const c of copies) assert.is(c.source_video, join(data, 'stage1', c.video_path as string));
  assert.is(new Set(s2rows.map((r) => r.source_video)).size, s2rows.length);
  const ids = [1, 2, 3].flatMap((k) => parseCsv(readFileSync(join(data, 'stage5', 'xgboost', `fold_${k}`, 'predictions.csv'), 'utf8')).map((r) => r.video_id));
  assert.is(ids.length, s2rows.length);
  assert.is(new Set(ids).size, ids.length, 'one prediction per video, each under its own id');

  const again = await runPipeline({ ...config(), extraArgs: { stage5: ['--no-tracking', '--no-plots'] } });
  assert.ok(again.ok);
  const log2 = readFileSync(join(dir, 'logs', 'stage2.log'), 'utf8');
  assert.match(log2.slice(log2.lastIndexOf('attempt 1')), /0 computed, \d+ already done/);
  assert.match(
    readFileSync(join(dir, 'logs', 'stage5.log'), 'utf8')
      .split('attempt 1')
      .at(-1) as string,
    /fold 1 already done/,
  );
});

test("a model on deep features with Stage 2's beside them keeps Stage 1's copies: each Stage 3 row gets the Stage 2 row of the same video id", async () => {
  const stage3 = join(data, 'stage3', 'scaled_metadata.parquet');
  const { rows } = await loadMetadata(stage3);
  const hc = await loadStageFeatures('stage2', dirs.stage2 as string, dirs.stage4 as string);
  const s2rows = await readTable(join(data, 'stage2', 'features_metadata.parquet'));
  const joined = joinHandcrafted(rows, hc);
  assert.is(joined.leftOut, 0);
  assert.ok(rows.some((r) => Number(r.augmentation_index) > 0));
  joined.rows.forEach((r, i) => {
    const s2 = s2rows[joined.matched[i] as number] as Record<string, unknown>;
    assert.is(s2.video_id, r.video_id);
    assert.is(Number(s2.augmentation_index), Number(r.augmentation_index), `${r.video_path}: a copy is paired with a copy, an original with an original`);
    assert.is(s2.source_video, resolve(dirname(stage3), r.original_video_path as string), 'the Stage 2 row describes the file Stage 3 scaled');
    assert.equal([...joined.x.subarray(i * hc.cols, (i + 1) * hc.cols)], [...hc.x.subarray((joined.matched[i] as number) * hc.cols, ((joined.matched[i] as number) + 1) * hc.cols)]);
  });
  assert.is(new Set(joined.matched).size, rows.length, 'no Stage 2 row serves two videos');

  const out = join(dir, 'stage5-embedding');
  const r = runCli([
    'train',
    '--models',
    'xgboost_pretrained_inception_stage2',
    '--stage2-dir',
    dirs.stage2 as string,
    '--stage3-dir',
    dirs.stage3 as string,
    '--output-dir',
    out,
    '--features-dir',
    join(dir, 'features'),
    '--frame-cache-dir',
    join(dir, 'cache'),
    '--random-init',
    '--width',
    '0.25',
    '--depth',
    '1',
    '--num-frames',
    '4',
    '--crop-size',
    '96',
    '--frame-size',
    '96',
    '--n-splits',
    '3',
    '--no-tracking',
    '--no-plots',
  ]);
  assert.is(r.code, 0, r.stderr);
  assert.not.match(r.stderr + r.stdout, /left out/);
  const ids = [1, 2, 3].flatMap((k) => parseCsv(readFileSync(join(out, 'xgboost_pretrained_inception_stage2', `fold_${k}`, 'predictions.csv'), 'utf8')).map((p) => p.video_id));
  assert.is(ids.length, rows.length, 'every Stage 3 video, copies included, is predicted');
});

test('a stage that fails deterministically is not retried, a timed-out one is; dependents are skipped, and the CLI prints the cause and exits non-zero', async () => {
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, 'video_path,label\nmissing.mp4,2\n');
  const r = await runPipeline({ ...config(), metadata: bad, dirs: { ...dirs, stage1: join(dir, 'bad-stage1') }, logsDir: join(dir, 'bad-logs'), retries: 1 });
  assert.not.ok(r.ok);
  const byStage = Object.fromEntries(r.stages.map((s) => [s.stage, s]));
  assert.is(byStage.stage1?.status, 'failed');
  assert.is(byStage.stage1?.attempts, 1, 'a bad table fails the same way every time: not retried');
  assert.is(byStage.stage1?.code, 'ERR_INVALID_DATA');
  assert.match(byStage.stage1?.cause ?? '', /label '2' is not 0 \(real\) or 1 \(fake\)/, "the stage's own error, not only its exit code");
  for (const s of ['stage2', 'stage3', 'stage4', 'stage5']) assert.is(byStage[s]?.status, 'skipped', s);
  assert.match(readFileSync(join(dir, 'bad-logs', 'stage1.log'), 'utf8'), /label/);
  const slow = await runPipeline({ ...config(), stages: ['stage1'], dirs: { ...dirs, stage1: join(dir, 'slow-stage1') }, logsDir: join(dir, 'slow-logs'), retries: 1, timeoutSeconds: 0.05 });
  assert.is(slow.stages[0]?.attempts, 2, 'a timeout may pass on a second try: retried');
  assert.match(slow.stages[0]?.reason ?? '', /timed out/);
  const cli = runCli(['pipeline', '--metadata', bad, '--stage1-dir', join(dir, 'bad-stage1'), '--stages', 'stage1', '--retries', '0', '--logs-dir', join(dir, 'bad-logs')]);
  assert.is(cli.code, 1);
  assert.match(cli.stderr, /pipeline: stage1 failed/);
  assert.match(cli.stderr, /pipeline: stage1: .*label '2' is not 0 \(real\) or 1 \(fake\)/s, 'the cause reaches the console, not only the log');
  assert.match(cli.stdout, /label '2' is not 0/, "the table's reason column is the cause");
  const unknown = runCli(['pipeline', '--metadata', bad, '--stages', 'stage9']);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /unknown stage\(s\) stage9/);
});

test("fvc airflow render: a DAG that compiles and declares exactly the runner's graph", () => {
  const out = join(dir, 'airflow', 'dags', 'fvc_pipeline_dag.py');
  const r = runCli(['airflow', 'render', '--metadata', join(dir, 'corpus', 'metadata.csv'), '--out', out, '--email', 'ml@example.org']);
  assert.is(r.code, 0, r.stderr);
  const g = readDag(out);
  const active = STAGES.filter((s) => s !== 'extract');
  assert.equal(Object.keys(g.tasks).sort(), [...active].sort());
  for (const s of active) assert.is(g.tasks[s].task_id, s);
  assert.equal(g.edges, active.flatMap((s) => DEPENDENCIES[s].filter((d) => d !== 'extract').map((d) => [d, s])).sort());
  assert.equal(g.dag, {
    dag_id: 'fvc_pipeline',
    tags: ['fvc', 'video-classification', 'ml'],
    schedule_interval: 'None',
    retries: 1,
    retry_delay_minutes: 5,
    email: ['ml@example.org'],
    email_on_failure: true,
  });
  assert.match(g.tasks.stage4.bash_command, /npx fvc stage4 --metadata \S+stage3\/scaled_metadata\.parquet/);
  assert.match(renderAirflowDag({ metadata: 'm.csv' }), /"email_on_failure": False/);
});

test("a path holding Jinja's {{ }}, {% %} or {# #} reaches bash as written: Airflow renders bash_command with Jinja (issue 31)", () => {
  const project = join(dir, "odd {{ ds }} {% if true %}x{% endif %} {#c#} {{{ '");
  const out = join(dir, 'airflow', 'dags', 'jinja_dag.py');
  writeFileSync(out, renderAirflowDag({ metadata: 'm{{x}}.csv', projectDir: project }));
  const g = readDag(out);
  const rendered = execFileSync('/usr/bin/python3', ['-c', 'import sys, jinja2; print(jinja2.Template(sys.argv[1]).render(ds="2026-12-06"), end="")', g.tasks.stage1.bash_command]).toString();
  assert.is(rendered.startsWith(`cd '${project.replace(/'/g, `'\\''`)}' && npx fvc stage1 `), true, rendered);
  assert.match(rendered, /--metadata '\S*m\{\{x\}\}\.csv'/);
  assert.not.match(rendered, /2026-12-06/);
});

test('a model on a pretrained backbone adds the extract stage: after stage3, before stage5, with the same weights as stage5', () => {
  const out = join(dir, 'airflow', 'dags', 'deep_dag.py');
  const r = runCli(['airflow', 'render', '--metadata', 'm.csv', '--out', out, '--models', 'xgboost_pretrained_inception_stage2,xgboost_i3d,xgboost', '--weights', 'inception_v3=w/inception.pth']);
  assert.is(r.code, 0, r.stderr);
  const g = readDag(out);
  assert.equal(Object.keys(g.tasks).sort(), [...STAGES].sort());
  assert.equal(g.edges, STAGES.flatMap((s) => DEPENDENCIES[s].map((d) => [d, s])).sort());
  // i3d has no weights file: its features come from i3d's fold checkpoints, not from this stage.
  assert.match(g.tasks.extract.bash_command, /fvc train --models xgboost_pretrained_inception --stage2-dir \S+ .*--weights inception_v3=\S+\/w\/inception\.pth --only extract$/);
  assert.match(g.tasks.stage5.bash_command, /--models xgboost_pretrained_inception_stage2,xgboost_i3d,xgboost .*--weights inception_v3=/);
});

test.run();
