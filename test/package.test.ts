/**
 * fvc as a dependency: the packed tarball, installed into a fresh project the way a
 * user's project installs it, gives `import { train, probe } from 'fvc'` with types
 * and a working `npx fvc`. The tarball carries this build's addon as a prebuild (as
 * a release would), so the install finds a binary that loads. Without one,
 * scripts/install.mjs compiles the addon with cmake-js: the last test installs a
 * tarball without a binary and checks that (a full build: CI only).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateCorpus } from '../ts/index.js';
import { waitForSubmission } from '../ts/slurm/submission.js';
import { RUNTIME_FILES } from '../ts/util/package-files.js';
import { artifacts, root } from './helpers.js';

const work = join(artifacts, 'package');
const project = join(work, 'project');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

test.before(() => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(project, { recursive: true });
});

test('npm pack ships dist/, the addon sources and a prebuild, and no tests, benchmarks or data', () => {
  mkdirSync(join(root, 'prebuilds', 'linux-x64'), { recursive: true });
  copyFileSync(join(root, 'build', 'Release', 'fvc.node'), join(root, 'prebuilds', 'linux-x64', 'node.napi.node'));
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 }));
  const files = (packed.files as Array<{ path: string }>).map((f) => f.path);
  for (const f of ['dist/index.js', 'dist/index.d.ts', 'bin/fvc.js', 'CMakeLists.txt', 'scripts/install.mjs', 'prebuilds/linux-x64/node.napi.node', 'package.json']) assert.ok(files.includes(f), f);
  assert.ok(
    files.some((f) => f.startsWith('cpp/')),
    'the addon sources, for compiling on install',
  );
  assert.equal(
    files.filter((f) => /^(test|benchmarks|data|build|node_modules|test-artifacts)\//.test(f)),
    [],
  );
  // Every file the code reads from its own package at run time is in the tarball ...
  for (const f of RUNTIME_FILES) assert.ok(files.includes(f), `${f} is read at run time (ts/util/package-files.ts) but not packed`);
  // ... and no code reads one past that list (the addon is found by node-gyp-build in binding.ts).
  const readers = execFileSync('grep', ['-rl', 'import.meta.url', join(root, 'ts')], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .sort();
  assert.equal(readers, [join(root, 'ts', 'native', 'binding.ts'), join(root, 'ts', 'util', 'package-files.ts')], 'package files are located through ts/util/package-files.ts only');
});

test('installed into a fresh project: typed import { train } type-checks (a misspelt model does not), trains, and npx fvc runs', () => {
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz')) as string;
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
  const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', join(work, tarball)], { cwd: project, encoding: 'utf8', timeout: 600_000 });
  assert.is(install.status, 0, `${install.stdout}\n${install.stderr}`);
  assert.ok(existsSync(join(project, 'node_modules', 'fvc', 'dist', 'index.js')));

  const lines = ['id,group,label,a,b'];
  for (let i = 0; i < 40; i++) lines.push(`v${i},g${i},${i % 2},${(i % 2) * 2 + (i % 7) / 7},${(i % 5) / 5}`);
  writeFileSync(join(project, 'features.csv'), `${lines.join('\n')}\n`);
  writeFileSync(
    join(project, 'check.ts'),
    [
      "import { train, probe, type TrainEvent } from 'fvc';",
      'void probe;',
      "const events: Array<TrainEvent['type']> = [];",
      "const r = await train({ models: ['logistic_regression'], features: { path: 'features.csv', groupColumn: 'group', idColumn: 'id' }, nSplits: 3, outputDir: 'out', tracking: false, plots: false, quiet: true }, { onProgress: (e) => events.push(e.type) });",
      'const auc: number | undefined = r.models[0]?.mean.val_auc;',
      'console.log(JSON.stringify({ folds: r.models[0]?.folds.length, auc, events: events.length }));',
      '',
    ].join('\n'),
  );
  writeFileSync(join(project, 'bad.ts'), "import { train } from 'fvc';\nvoid train({ models: ['xgbost'] });\n");
  const tsconfig = (files: string[]) => ({
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      outDir: 'built',
      types: ['node'],
      typeRoots: [join(root, 'node_modules', '@types')],
      skipLibCheck: false,
    },
    files,
  });
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(tsconfig(['check.ts'])));
  writeFileSync(join(project, 'tsconfig.bad.json'), JSON.stringify({ ...tsconfig(['bad.ts']), compilerOptions: { ...tsconfig([]).compilerOptions, noEmit: true } }));
  const ok = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project, encoding: 'utf8' });
  assert.is(ok.status, 0, ok.stdout);
  const bad = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.bad.json'], { cwd: project, encoding: 'utf8' });
  assert.is(bad.status, 2, 'a misspelt model name does not compile');
  assert.match(bad.stdout, /bad\.ts.*'"xgbost"' is not assignable/);

  const run = spawnSync(process.execPath, [join(project, 'built', 'check.js')], { cwd: project, encoding: 'utf8', timeout: 300_000 });
  assert.is(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout);
  assert.is(out.folds, 3);
  assert.type(out.auc, 'number');
  assert.ok(out.events >= 8, 'progress events arrive in the user project');
  const cli = spawnSync(process.execPath, [join(project, 'node_modules', '.bin', 'fvc'), 'info', '--json'], { cwd: project, encoding: 'utf8', timeout: 120_000 });
  assert.is(cli.status, 0, cli.stderr);
  const info = JSON.parse(cli.stdout);
  assert.ok(info.versions, 'npx fvc runs the installed CLI and loads its addon');
  assert.is(info.build.addon.kind, 'prebuild', 'fvc info says which binary runs');
  assert.ok(existsSync(info.build.torch.path) && /libtorch_cpu/.test(info.build.torch.path), 'and which LibTorch file');
  // FVC_LIBTORCH asks for a build against another LibTorch: one that is not there is refused before anything compiles.
  const own = spawnSync(process.execPath, [join(project, 'node_modules', 'fvc', 'scripts', 'install.mjs')], {
    cwd: project,
    encoding: 'utf8',
    env: { ...process.env, FVC_LIBTORCH: join(work, 'no-libtorch') },
  });
  assert.is(own.status, 1);
  assert.match(own.stderr, /FVC_LIBTORCH=\S+no-libtorch: no Torch\/TorchConfig\.cmake there or under share\/cmake/);
});

test('the installed package renders and submits SLURM jobs on a local cluster: the job templates travel in the tarball', async () => {
  const cluster = `/tmp/fvc-slurm-pkg-${process.pid}`;
  const port = 20000 + ((process.pid + 7) % 20000);
  const env = { ...process.env, FVC_SLURM_CTLD_PORT: String(port), FVC_SLURM_SLURMD_PORT: String(port + 1) };
  const up = execFileSync('bash', [join(root, 'scripts', 'slurm-local.sh'), 'start', cluster], { env, stdio: ['ignore', 'pipe', 'inherit'] }).toString();
  const slurmConf = /SLURM_CONF=(\S+)/.exec(up)?.[1] as string;
  try {
    await generateCorpus({ out: join(project, 'corpus'), videos: 4, duration: 1, seed: 3, quiet: true });
    writeFileSync(join(project, 'resources.yaml'), 'all:\n  cpus-per-task: 1\n  mem: 1G\n  time: "0:10:00"\n');
    const fvc = join(project, 'node_modules', '.bin', 'fvc');
    const args = [
      '--metadata',
      'corpus/metadata.csv',
      '--stages',
      'stage1,stage2',
      '--copies',
      '0',
      '-n',
      '2',
      '--stage1-dir',
      'out/stage1',
      '--stage2-dir',
      'out/stage2',
      '--resources',
      'resources.yaml',
      '--no-report',
    ];
    const render = spawnSync(process.execPath, [fvc, 'slurm', 'render', '--out', 'review', ...args], { cwd: project, encoding: 'utf8', env: { ...env, SLURM_CONF: slurmConf } });
    assert.is(render.status, 0, render.stderr);
    const job = readFileSync(join(project, 'review', 'scripts', 'stage2.sbatch'), 'utf8');
    assert.ok(job.includes(join(project, 'node_modules', 'fvc', 'bin', 'fvc.js')), 'jobs call the installed fvc');
    const sub = spawnSync(process.execPath, [fvc, 'slurm', 'submit', '--name', 'pkg', '--json', ...args], { cwd: project, encoding: 'utf8', env: { ...env, SLURM_CONF: slurmConf } });
    assert.is(sub.status, 0, sub.stderr);
    process.env.SLURM_CONF = slurmConf;
    const s = await waitForSubmission(JSON.parse(sub.stdout).dir as string, { timeoutSeconds: 300, intervalSeconds: 1 });
    assert.ok(s.ok, JSON.stringify(s.jobs));
    assert.ok(existsSync(join(project, 'out', 'stage2', 'features_metadata.parquet')));
  } finally {
    delete process.env.SLURM_CONF;
    execFileSync('bash', [join(root, 'scripts', 'slurm-local.sh'), 'stop', cluster], { stdio: 'ignore' });
    rmSync(cluster, { recursive: true, force: true });
  }
});

// A full native build (15-20 minutes on 2 cores), so it runs where CI runs (CI=true) or
// when asked for (FVC_TEST_COMPILE_ON_INSTALL=1), and is skipped in local runs.
const compileOnInstall = process.env.CI === 'true' || process.env.FVC_TEST_COMPILE_ON_INSTALL === '1';
(compileOnInstall ? test : test.skip)('without a prebuild, npm install compiles the addon with cmake-js and it loads (compile on install; CI only)', () => {
  rmSync(join(root, 'prebuilds'), { recursive: true, force: true });
  const dest = join(work, 'source-only');
  mkdirSync(dest, { recursive: true });
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dest], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 }));
  assert.not.ok(
    (packed.files as Array<{ path: string }>).some((f) => f.path.startsWith('prebuilds/')),
    'no binary in this tarball',
  );
  const fresh = join(work, 'project-source');
  mkdirSync(fresh, { recursive: true });
  writeFileSync(join(fresh, 'package.json'), JSON.stringify({ name: 'user-project-source', private: true, type: 'module' }));
  const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', '--loglevel=error', join(dest, packed.filename as string)], {
    cwd: fresh,
    encoding: 'utf8',
    timeout: 45 * 60_000,
    maxBuffer: 1 << 28,
    env: { ...process.env, FVC_BUILD_JOBS: '2' },
  });
  assert.is(install.status, 0, `${install.stdout.slice(-4000)}\n${install.stderr.slice(-4000)}`);
  assert.match(install.stderr, /no prebuilt binary for this machine: compiling the native core with cmake-js/);
  assert.ok(existsSync(join(fresh, 'node_modules', 'fvc', 'build', 'Release', 'fvc.node')), 'the addon was compiled inside the installed package');
  const cli = spawnSync(process.execPath, [join(fresh, 'node_modules', '.bin', 'fvc'), 'info', '--json'], { cwd: fresh, encoding: 'utf8', timeout: 120_000 });
  assert.is(cli.status, 0, cli.stderr);
  assert.ok(JSON.parse(cli.stdout).versions.torch, 'the compiled addon loads, LibTorch included');
});

test.after(() => {
  rmSync(join(root, 'prebuilds'), { recursive: true, force: true });
});

test.run();
