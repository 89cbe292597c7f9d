/**
 * The Node-free build for GPU machines (-DFVC_TORCH_ONLY=ON, scripts/gpu-deep.sh):
 * it compiles against LibTorch alone, and fvc-deep-check passes its checks on the CPU,
 * so the recipe for the first GPU machine cannot rot unnoticed between such machines.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeDeepModels } from '../ts/deep/models.js';
import { artifacts, root } from './helpers.js';

const build = join(artifacts, 'build-torch-only');

test('FVC_TORCH_ONLY builds fvc-deep-check, which trains every architecture through fvc\'s trainer without Node', async () => {
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], timeout: 900_000, maxBuffer: 1 << 26 });
    return { code: r.status ?? 1, out: `${r.stdout?.toString() ?? ''}${r.stderr?.toString() ?? ''}` };
  };
  const configure = run('cmake', ['-S', '.', '-B', build, '-DFVC_TORCH_ONLY=ON', '-DCMAKE_BUILD_TYPE=Release']);
  assert.is(configure.code, 0, configure.out.slice(-3000));
  const compile = run('cmake', ['--build', build, '--parallel', '2']);
  assert.is(compile.code, 0, compile.out.slice(-3000));
  const check = run(join(build, 'fvc-deep-check'), ['--device', 'cpu', '--threads', '2', '--work', join(artifacts, 'deep-check')]);
  assert.is(check.code, 0, check.out.slice(-3000));
  assert.match(check.out, /^0 failed$/m);
  for (const { name } of await describeDeepModels({ threads: 2 })) assert.match(check.out, new RegExp(`^ok {3}${name}: one epoch on cpu`, 'm'), name);
  assert.match(check.out, /^ok {3}depthwise_conv3d \(x 2x6x5x10x9, kernel 3x3x3, stride 1x2x2/m);
  // A GPU request on a machine without one is refused, not run on the CPU.
  const cuda = run(join(build, 'fvc-deep-check'), ['--device', 'cuda', '--work', join(artifacts, 'deep-check')]);
  assert.is(cuda.code, 2);
  assert.match(cuda.out, /device: 'cuda' was requested but LibTorch sees no CUDA device/);
});

test.run();
