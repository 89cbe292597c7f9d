/**
 * The Node-free build for GPU machines (-DFVC_TORCH_ONLY=ON, scripts/gpu-deep.sh):
 * it compiles against LibTorch alone, and fvc-deep-check passes its checks on the CPU,
 * so the recipe for the first GPU machine cannot rot unnoticed between such machines.
 * GPU machines carry a PyTorch 2.x, whose C++ API differs from Debian's 1.13: the
 * Node-free build is checked against a 2.x LibTorch where the machine image has a torch
 * wheel, and fvc-deep-check against Debian's from the addon's own build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeDeepModels } from '../ts/deep/architectures.js';
import { artifacts, root } from './helpers.js';

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], timeout: 900_000, maxBuffer: 1 << 26 });
  return { code: r.status ?? 1, out: `${r.stdout?.toString() ?? ''}${r.stderr?.toString() ?? ''}` };
}

/** Runs fvc-deep-check's CPU checks; returns its output. */
async function check(program: string, build: string): Promise<string> {
  const out = run(program, ['--device', 'cpu', '--threads', '2', '--work', join(build, 'deep-check')]);
  assert.is(out.code, 0, out.out.slice(-3000));
  assert.match(out.out, /^0 failed$/m);
  for (const { name } of await describeDeepModels({ threads: 2 })) assert.match(out.out, new RegExp(`^ok {3}${name}: one epoch on cpu`, 'm'), name);
  assert.match(out.out, /^ok {3}depthwise_conv3d \(x 2x6x5x10x9, kernel 3x3x3, stride 1x2x2/m);
  return out.out;
}

// Debian's LibTorch: the program from the addon build's own objects (the setup step built
// them), so this costs one file's compile; the Node-free configuration itself is built
// below against torch 2.x, the LibTorch that GPU machines carry.
test("fvc-deep-check trains every architecture through fvc's trainer without Node, and refuses a GPU it does not have", async () => {
  const build = join(root, 'build');
  const compile = run('cmake', ['--build', build, '--target', 'fvc-deep-check', '--parallel', '2']);
  assert.is(compile.code, 0, compile.out.slice(-3000));
  const program = join(build, 'fvc-deep-check');
  await check(program, join(artifacts, 'deep-check-debian'));
  // A GPU request on a machine without one is refused, not run on the CPU.
  const cuda = run(program, ['--device', 'cuda', '--work', join(artifacts, 'deep-check-debian')]);
  assert.is(cuda.code, 2);
  assert.match(cuda.out, /device: 'cuda' was requested but LibTorch sees no CUDA device/);
});

// FVC_TEST_TORCH_WHEEL names a torch wheel; otherwise the newest CPU one in the image's
// wheel folder. Its LibTorch (include/, lib/, share/cmake) is all the build needs.
function torchWheel(): string | undefined {
  if (process.env.FVC_TEST_TORCH_WHEEL) return process.env.FVC_TEST_TORCH_WHEEL;
  const dir = '/opt/wheels';
  const wheels = existsSync(dir) ? readdirSync(dir).filter((f) => /^torch-2\.\d+\.\d+\+cpu-.*\.whl$/.test(f)) : [];
  wheels.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return wheels.length ? join(dir, wheels[wheels.length - 1]!) : undefined;
}

const wheel = torchWheel();

/** The wheel's LibTorch (include/, lib/, share/cmake), unpacked once. */
function unpackedWheel(): string {
  const home = join(artifacts, 'libtorch2', basename(wheel!, '.whl'));
  if (!existsSync(join(home, 'torch'))) {
    const tmp = `${home}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const unzip = run('unzip', ['-q', wheel!, 'torch/lib/*', 'torch/include/*', 'torch/share/*', '-d', tmp]);
    assert.is(unzip.code, 0, unzip.out.slice(-2000));
    renameSync(tmp, home);
  }
  return home;
}

(wheel ? test : test.skip)(
  `FVC_TORCH_ONLY (the GPU recipe's build) builds and passes its checks against PyTorch 2.x's LibTorch (${wheel ? basename(wheel) : 'no torch 2.x wheel on this machine'})`,
  async () => {
    const home = unpackedWheel();
    const build = join(artifacts, 'build-torch-only-2', basename(wheel!, '.whl'));
    const configure = run('cmake', ['-S', '.', '-B', build, '-DFVC_TORCH_ONLY=ON', '-DCMAKE_BUILD_TYPE=Release', `-DCMAKE_PREFIX_PATH=${join(home, 'torch', 'share', 'cmake')}`]);
    assert.is(configure.code, 0, configure.out.slice(-3000));
    const compile = run('cmake', ['--build', build, '--parallel', '2']);
    assert.is(compile.code, 0, compile.out.slice(-3000));
    const out = await check(join(build, 'fvc-deep-check'), build);
    // The wheel's own LibTorch is what ran, not Debian's found on the system path, and
    // version-specific calls (autocast) raise no deprecation warnings on every batch.
    assert.match(out, /^LibTorch 2\.\d+\.\d+, CUDA no/m);
    assert.not.match(out, /deprecated/i);
    const ldd = run('ldd', [join(build, 'fvc-deep-check')]);
    assert.not.match(ldd.out, /libc10\.so\.1\.13/);
  },
);

// What FVC_LIBTORCH does on a GPU node, on this machine's CPU: the whole addon (video,
// features, models and the LibTorch core) against PyTorch 2.x's LibTorch, and the deep
// training tests run on that build, so the newer LibTorch API is exercised end to end.
(wheel ? test : test.skip)(`the whole addon builds against PyTorch 2.x's LibTorch (${wheel ? basename(wheel) : 'no torch 2.x wheel on this machine'}) and passes the deep training tests on it`, () => {
  const home = unpackedWheel();
  const out = join(artifacts, 'build-addon-torch2', basename(wheel!, '.whl'));
  const cmakeJs = join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
  const build = run(process.execPath, [cmakeJs, 'build', '--out', out, '--parallel', '2', `--CDCMAKE_PREFIX_PATH=${join(home, 'torch', 'share', 'cmake')}`]);
  assert.is(build.code, 0, build.out.slice(-3000));
  const addon = join(out, 'Release', 'fvc.node');
  const env = { ...process.env, FVC_ADDON: addon };
  const info = spawnSync(process.execPath, [join(root, 'bin', 'fvc.js'), 'info', '--json'], { cwd: root, env, encoding: 'utf8' });
  assert.is(info.status, 0, info.stderr);
  const build2 = JSON.parse(info.stdout).build as { addon: { path: string }; torch: { version: string; path: string } };
  assert.is(build2.addon.path, addon);
  assert.match(build2.torch.version, /^2\./);
  assert.ok(build2.torch.path.startsWith(home), `LibTorch from the wheel, not Debian's: ${build2.torch.path}`);
  const deep = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'test', 'run.ts'), 'deep-train'], { cwd: root, env, encoding: 'utf8', timeout: 1_200_000, maxBuffer: 1 << 26 });
  assert.is(deep.status, 0, `${deep.stdout.slice(-4000)}\n${deep.stderr.slice(-2000)}`);
  assert.match(deep.stdout, /^\d+ passed, 0 failed$/m);
});

test.run();
