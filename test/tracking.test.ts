import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { train } from '../ts/train/engine.js';
import { LOG_BATCH_LIMITS, splitBatch } from '../ts/tracking/rest-store.js';
import { Rng } from '../ts/util/rng.js';
import { artifacts } from './helpers.js';

const dir = join(artifacts, 'tracking');
const table = join(dir, 'features.csv');

/** Reads a YAML file with PyYAML, as MLflow does. */
const pyYaml = (path: string) => JSON.parse(execFileSync('/usr/bin/python3', ['-c', 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', path]).toString());

test.before(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(9);
  const lines = ['id,label,a,b,c'];
  for (let i = 0; i < 90; i++) {
    const y = i % 2;
    lines.push(`v${i},${y},${rng.next() + y},${rng.next()},${rng.next() - 0.3 * y}`);
  }
  writeFileSync(table, `${lines.join('\n')}\n`);
});

test('MLflow file store: experiment per model, parent run per CV, nested run per fold, laid out as MLflow writes it', async () => {
  const mlruns = join(dir, 'mlruns');
  const r = await train({
    models: ['logistic_regression', 'xgboost'],
    features: { path: table, labelColumn: 'label', idColumn: 'id' },
    nSplits: 3,
    outputDir: join(dir, 'stage5'),
    trackingUri: pathToFileURL(mlruns).href,
    quiet: true,
    plots: false,
  });
  assert.equal(r.failed, []);
  assert.equal(pyYaml(join(mlruns, '0', 'meta.yaml')).name, 'Default');
  assert.ok(existsSync(join(mlruns, '.trash')));
  const experiments = readdirSync(mlruns).filter((d) => d !== '0' && d !== '.trash');
  assert.is(experiments.length, 2);
  for (const model of ['logistic_regression', 'xgboost']) {
    const expId = experiments.find((e) => pyYaml(join(mlruns, e, 'meta.yaml')).name === model) as string;
    assert.ok(expId, `experiment ${model}`);
    const exp = pyYaml(join(mlruns, expId, 'meta.yaml'));
    assert.equal(Object.keys(exp).sort(), ['artifact_location', 'creation_time', 'experiment_id', 'last_update_time', 'lifecycle_stage', 'name']);
    assert.is(exp.experiment_id, expId, 'experiment_id is a string');
    assert.is(exp.artifact_location, pathToFileURL(join(mlruns, expId)).href);
    assert.is(exp.lifecycle_stage, 'active');
    const runs = readdirSync(join(mlruns, expId)).filter((d) => d !== 'meta.yaml');
    assert.is(runs.length, 4, 'a parent run and three folds');
    const metas = runs.map((id) => ({ id, meta: pyYaml(join(mlruns, expId, id, 'meta.yaml')), tag: (k: string) => readFileSync(join(mlruns, expId, id, 'tags', k), 'utf8') }));
    const parent = metas.find((m) => m.meta.run_name === `${model}_cv`);
    assert.ok(parent, 'parent run');
    for (const { id, meta, tag } of metas) {
      assert.equal(Object.keys(meta).sort(), [
        'artifact_uri',
        'end_time',
        'entry_point_name',
        'experiment_id',
        'lifecycle_stage',
        'run_id',
        'run_name',
        'run_uuid',
        'source_name',
        'source_type',
        'source_version',
        'start_time',
        'status',
        'tags',
        'user_id',
      ]);
      assert.match(id, /^[0-9a-f]{32}$/);
      assert.is(meta.run_id, id);
      assert.is(meta.run_uuid, id);
      assert.is(meta.experiment_id, expId);
      assert.is(meta.status, 3, 'FINISHED');
      assert.is(meta.source_type, 4, 'LOCAL');
      assert.ok(meta.end_time >= meta.start_time && meta.start_time > 1.7e12);
      assert.is(meta.artifact_uri, pathToFileURL(join(mlruns, expId, id, 'artifacts')).href);
      assert.is(tag('mlflow.runName'), meta.run_name);
      assert.is(tag('mlflow.user'), meta.user_id);
      assert.is(tag('mlflow.source.type'), 'LOCAL');
      assert.is(tag('model_type'), model);
      if (id === parent?.id) continue;
      const fold = Number(tag('fold'));
      assert.is(meta.run_name, `fold_${fold}`);
      assert.is(tag('mlflow.parentRunId'), parent?.id);
      const foldMeta = JSON.parse(readFileSync(join(dir, 'stage5', model, `fold_${fold}`, 'metadata.json'), 'utf8'));
      for (const key of ['val_acc', 'val_f1', 'val_loss', 'val_precision_class0']) {
        const [ts, value, step] = readFileSync(join(mlruns, expId, id, 'metrics', key), 'utf8')
          .trim()
          .split(' ');
        assert.ok(Number(ts) > 1.7e12);
        assert.ok(Math.abs(Number(value) - foldMeta[key]) < 1e-12, `${key}: ${value} vs ${foldMeta[key]}`);
        assert.is(Number(step), fold, 'step is the fold, as the seed logs it');
      }
      assert.is(readFileSync(join(mlruns, expId, id, 'params', 'model_type'), 'utf8'), model);
      const modelFile = model === 'xgboost' ? 'xgboost_model.json' : 'model.liblinear';
      assert.equal(readFileSync(join(mlruns, expId, id, 'artifacts', 'models', modelFile)), readFileSync(join(dir, 'stage5', model, `fold_${fold}`, modelFile)));
    }
    const mean = readFileSync(join(mlruns, expId, parent?.id as string, 'metrics', 'mean_val_f1'), 'utf8')
      .trim()
      .split(' ');
    assert.ok(Math.abs(Number(mean[1]) - (r.models.find((m) => m.modelType === model)?.mean.val_f1 as number)) < 1e-12);
    assert.ok(existsSync(join(mlruns, expId, parent?.id as string, 'artifacts', 'results', 'metrics.json')));
  }
  // A second run reuses the experiments.
  await train({
    models: ['logistic_regression'],
    features: { path: table, labelColumn: 'label', idColumn: 'id' },
    nSplits: 3,
    outputDir: join(dir, 'stage5b'),
    trackingUri: mlruns,
    gridSearch: false,
    quiet: true,
    plots: false,
  });
  assert.is(readdirSync(mlruns).filter((d) => d !== '0' && d !== '.trash').length, 2);
});

test("after a kill, a rerun continues the cross-validation's MLflow runs: the fold cut off mid-log ends KILLED, no fold is logged twice, a repeated run logs nothing", async () => {
  const mlruns = join(dir, 'mlruns-resume');
  const out = join(dir, 'stage5-resume');
  const run = (seed = 1) =>
    train({
      models: ['logistic_regression'],
      features: { path: table, labelColumn: 'label', idColumn: 'id' },
      nSplits: 3,
      seed,
      outputDir: out,
      trackingUri: mlruns,
      gridSearch: false,
      quiet: true,
      plots: false,
    });
  await run();
  const exp = readdirSync(mlruns).find((d) => d !== '0' && d !== '.trash') as string;
  const runs = () =>
    readdirSync(join(mlruns, exp))
      .filter((d) => d !== 'meta.yaml')
      .map((id) => ({
        id,
        meta: pyYaml(join(mlruns, exp, id, 'meta.yaml')),
        fold: existsSync(join(mlruns, exp, id, 'tags', 'fold')) ? Number(readFileSync(join(mlruns, exp, id, 'tags', 'fold'), 'utf8')) : null,
      }));
  assert.is(runs().length, 4);
  // The same run again: every fold done and logged, so MLflow gets nothing new.
  await run();
  assert.is(runs().length, 4, 'a repeated run logs no second set');

  // What kill -9 leaves while fold 3 is being logged: the parent RUNNING, fold 3's run
  // RUNNING and recorded as pending, fold 3's results not yet written.
  const statePath = join(out, 'logistic_regression', 'mlflow_runs.json');
  const state = JSON.parse(readFileSync(statePath, 'utf8'));
  const parent = state.parentRunId as string;
  const fold3 = state.folds['3'].runId as string;
  const setRunning = (id: string) => {
    const metaPath = join(mlruns, exp, id, 'meta.yaml');
    writeFileSync(
      metaPath,
      readFileSync(metaPath, 'utf8')
        .replace(/^status: \d+$/m, 'status: 1')
        .replace(/^end_time: \d+$/m, 'end_time: null'),
    );
  };
  setRunning(parent);
  setRunning(fold3);
  writeFileSync(statePath, JSON.stringify({ ...state, finished: false, pid: 999999, folds: { ...state.folds, 3: { ...state.folds['3'], state: 'pending' } } }));
  rmSync(join(out, 'logistic_regression', 'fold_3', 'metadata.json'));
  await run();
  const after = runs();
  assert.is(after.filter((r) => r.fold === null).length, 1, 'the parent is continued, not a second one');
  assert.is(after.find((r) => r.id === parent)?.meta.status, 3, 'and FINISHED now');
  assert.is(after.find((r) => r.id === fold3)?.meta.status, 5, 'the run cut off mid-log is KILLED');
  const finished = after
    .filter((r) => r.fold !== null && r.meta.status === 3)
    .map((r) => r.fold)
    .sort();
  assert.equal(finished, [1, 2, 3], 'each fold logged once');
  assert.ok(
    after.every((r) => r.meta.status !== 1),
    'nothing left RUNNING',
  );

  // Another configuration starts a new parent; one never ended would be marked KILLED.
  await run(2);
  assert.is(runs().filter((r) => r.fold === null).length, 2);
});

/** A stand-in for an MLflow tracking server that checks each request against the REST API's documented schema. */
function schemaServer() {
  const calls: Array<{ method: string; path: string; body: unknown }> = [];
  const problems: string[] = [];
  const experiments = new Map<string, string>();
  const runs = new Map<string, { experiment_id: string; status: string }>();
  const uploads = new Map<string, Buffer>();
  let failNextLogBatch = 1;
  const isStr = (v: unknown) => typeof v === 'string';
  const isNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  const check = (ok: boolean, what: string) => ok || problems.push(what);
  const kv = (list: unknown, name: string) => (Array.isArray(list) && list.every((e) => isStr(e?.key) && isStr(e?.value)) ? true : problems.push(`${name}: not a list of {key, value} strings`));
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'PUT' && url.pathname.startsWith('/api/2.0/mlflow-artifacts/artifacts/')) {
      uploads.set(decodeURIComponent(url.pathname.slice('/api/2.0/mlflow-artifacts/artifacts/'.length)), raw);
      calls.push({ method: 'PUT', path: url.pathname, body: null });
      return send(200, {});
    }
    const body = raw.length ? JSON.parse(raw.toString()) : null;
    calls.push({ method: req.method ?? '', path: url.pathname, body });
    if (req.method !== 'GET') check(req.headers['content-type'] === 'application/json', `${url.pathname}: content-type ${req.headers['content-type']}`);
    switch (`${req.method} ${url.pathname}`) {
      case 'GET /api/2.0/mlflow/experiments/get-by-name': {
        const name = url.searchParams.get('experiment_name') ?? '';
        check(name.length > 0, 'get-by-name: experiment_name missing');
        const id = experiments.get(name);
        return id ? send(200, { experiment: { experiment_id: id, name, lifecycle_stage: 'active' } }) : send(404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: `no experiment ${name}` });
      }
      case 'POST /api/2.0/mlflow/experiments/create': {
        check(isStr(body?.name) && body.name.length > 0, 'experiments/create: name must be a non-empty string');
        const id = String(experiments.size + 1);
        experiments.set(body.name, id);
        return send(200, { experiment_id: id });
      }
      case 'POST /api/2.0/mlflow/runs/create': {
        check(isStr(body?.experiment_id) && experiments.has([...experiments].find(([, v]) => v === body.experiment_id)?.[0] ?? ''), 'runs/create: unknown experiment_id');
        check(isNum(body?.start_time) && Number.isInteger(body.start_time), 'runs/create: start_time must be an int64 of ms');
        check(isStr(body?.user_id) && isStr(body?.run_name), 'runs/create: user_id and run_name are strings');
        kv(body?.tags, 'runs/create tags');
        const runId = `run${runs.size + 1}`.padEnd(32, '0');
        runs.set(runId, { experiment_id: body.experiment_id, status: 'RUNNING' });
        return send(200, {
          run: { info: { run_id: runId, experiment_id: body.experiment_id, status: 'RUNNING', artifact_uri: `mlflow-artifacts:/${body.experiment_id}/${runId}/artifacts` }, data: {} },
        });
      }
      case 'POST /api/2.0/mlflow/runs/log-batch': {
        if (failNextLogBatch-- > 0) return send(503, { error_code: 'TEMPORARILY_UNAVAILABLE' });
        check(runs.has(body?.run_id), 'log-batch: unknown run_id');
        const m = body?.metrics ?? [];
        const p = body?.params ?? [];
        const t = body?.tags ?? [];
        check(m.length <= 1000 && p.length <= 100 && t.length <= 100 && m.length + p.length + t.length <= 1000, `log-batch over limits: ${m.length} metrics, ${p.length} params, ${t.length} tags`);
        check(
          m.every((x: { key: unknown; value: unknown; timestamp: unknown; step: unknown }) => isStr(x.key) && isNum(x.value) && Number.isInteger(x.timestamp) && Number.isInteger(x.step)),
          'log-batch: metric needs key, value, int timestamp, int step',
        );
        kv(p, 'log-batch params');
        kv(t, 'log-batch tags');
        return send(200, {});
      }
      case 'POST /api/2.0/mlflow/runs/update': {
        check(runs.has(body?.run_id), 'runs/update: unknown run_id');
        check(['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'].includes(body?.status), `runs/update: status ${body?.status}`);
        check(Number.isInteger(body?.end_time), 'runs/update: end_time must be an int64');
        const run = runs.get(body.run_id);
        if (run) run.status = body.status;
        return send(200, { run_info: { run_id: body.run_id, status: body.status } });
      }
      default:
        problems.push(`unexpected ${req.method} ${url.pathname}`);
        return send(404, { error_code: 'ENDPOINT_NOT_FOUND' });
    }
  });
  return { server, calls, problems, experiments, runs, uploads };
}

test('MLflow REST client against a local schema-checking HTTP server (no MLflow server can be installed here)', async () => {
  const s = schemaServer();
  await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r));
  const uri = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
  try {
    const r = await train({
      models: ['logistic_regression'],
      features: { path: table, labelColumn: 'label', idColumn: 'id' },
      nSplits: 3,
      outputDir: join(dir, 'stage5-rest'),
      trackingUri: uri,
      gridSearch: false,
      quiet: true,
      plots: false,
    });
    assert.equal(r.failed, []);
    assert.equal(s.problems, []);
    assert.equal([...s.experiments.keys()], ['logistic_regression']);
    assert.is(s.runs.size, 4);
    assert.ok([...s.runs.values()].every((run) => run.status === 'FINISHED'));
    // params of the parent, per fold its params when it starts and its results when it ends, the summary: 8, plus the retry of the first, answered 503.
    assert.is(s.calls.filter((c) => c.path.endsWith('log-batch')).length, 9, 'a 503 was retried');
    const fold1 = s.calls.find((c) => c.path.endsWith('runs/create') && (c.body as { run_name: string }).run_name === 'fold_1')?.body as { tags: Array<{ key: string; value: string }> };
    assert.ok(fold1.tags.some((t) => t.key === 'mlflow.parentRunId'));
    const uploaded = [...s.uploads.keys()].find((k) => k.endsWith('/artifacts/models/model.liblinear')) as string;
    assert.ok(uploaded, `uploads: ${[...s.uploads.keys()].join(', ')}`);
    assert.match(uploaded, /^\d+\/run\w+\/artifacts\/models\/model\.liblinear$/);
  } finally {
    s.server.close();
  }
});

test('log-batch calls are split to the REST limits', () => {
  const metrics = Array.from({ length: 2500 }, (_, i) => ({ key: `m${i}`, value: i, timestamp: 1, step: 0 }));
  const params = Array.from({ length: 250 }, (_, i) => ({ key: `p${i}`, value: 'x' }));
  const calls = splitBatch({ metrics, params, tags: [] });
  for (const c of calls) {
    assert.ok(c.metrics.length <= LOG_BATCH_LIMITS.metrics && c.params.length <= LOG_BATCH_LIMITS.params);
    assert.ok(c.metrics.length + c.params.length + c.tags.length <= LOG_BATCH_LIMITS.total);
  }
  assert.is(
    calls.reduce((n, c) => n + c.metrics.length, 0),
    2500,
  );
  assert.is(
    calls.reduce((n, c) => n + c.params.length, 0),
    250,
  );
});

test('an unreachable tracking server never fails training', async () => {
  process.env.MLFLOW_HTTP_REQUEST_MAX_RETRIES = '1';
  try {
    const r = await train({
      models: ['logistic_regression'],
      features: { path: table, labelColumn: 'label', idColumn: 'id' },
      nSplits: 3,
      outputDir: join(dir, 'stage5-down'),
      trackingUri: 'http://127.0.0.1:9',
      gridSearch: false,
      quiet: true,
      plots: false,
    });
    assert.equal(r.failed, []);
    assert.is(r.models[0]?.folds.length, 3);
  } finally {
    delete process.env.MLFLOW_HTTP_REQUEST_MAX_RETRIES;
  }
});

test.run();
