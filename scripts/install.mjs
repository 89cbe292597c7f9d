#!/usr/bin/env node
// npm's install step for fvc as a dependency: use a binary that already loads (a
// prebuild shipped in prebuilds/, or an earlier build), else compile the addon with
// cmake-js against the system's libraries, as sharp and better-sqlite3 do. A missing
// system library gets one message with the exact apt-get line. Inside an fvc git
// checkout this does nothing: `npm run setup` builds there, with its own log.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const say = (m) => process.stderr.write(`fvc install: ${m}\n`);

if (process.env.FVC_SKIP_INSTALL_BUILD || existsSync(join(root, '.git'))) process.exit(0);

// FVC_LIBTORCH / FVC_XGBOOST: build against these (a CUDA LibTorch on a GPU node), never a prebuild.
const own = ownLibraries();
if (!own.args.length) {
  try {
    require('node-gyp-build')(root);
    process.exit(0); // a prebuilt or earlier binary loads: nothing to compile
  } catch {
    // none matches this machine: compile below
  }
}

/**
 * FVC_LIBTORCH: a LibTorch folder, a pip/conda PyTorch's torch package folder, or its
 * cmake_prefix_path (python -c 'import torch; print(torch.utils.cmake_prefix_path)');
 * FVC_XGBOOST: an XGBoost install prefix (include/xgboost/c_api.h, lib/libxgboost.so).
 */
function ownLibraries() {
  const args = [];
  const skip = new Set();
  const torch = process.env.FVC_LIBTORCH;
  if (torch) {
    const prefix = [torch, join(torch, 'share', 'cmake')].find((p) => existsSync(join(p, 'Torch', 'TorchConfig.cmake')));
    if (!prefix) {
      say(`FVC_LIBTORCH=${torch}: no Torch/TorchConfig.cmake there or under share/cmake (give a LibTorch folder, or python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')`);
      process.exit(1);
    }
    args.push(`--CDCMAKE_PREFIX_PATH=${prefix}`);
    skip.add('libtorch-dev');
    say(`building against FVC_LIBTORCH (${prefix}) instead of any prebuilt binary`);
  }
  const xgb = process.env.FVC_XGBOOST;
  if (xgb) {
    if (!existsSync(join(xgb, 'include', 'xgboost', 'c_api.h'))) {
      say(`FVC_XGBOOST=${xgb}: no include/xgboost/c_api.h there (give the prefix XGBoost was installed into)`);
      process.exit(1);
    }
    args.push(`--CDXGBOOST_ROOT=${xgb}`);
    skip.add('libxgboost-dev');
    say(`building against FVC_XGBOOST (${xgb}) instead of any prebuilt binary`);
  }
  return { args, skip };
}

// Debian package per library the build needs, found through pkg-config or dpkg.
const PACKAGES = [
  'build-essential',
  'cmake',
  'pkg-config',
  'libtorch-dev',
  'libxgboost-dev',
  'libavformat-dev',
  'libavcodec-dev',
  'libswscale-dev',
  'libavutil-dev',
  'libopencv-dev',
  'liblinear-dev',
  'libsvm-dev',
  'zlib1g-dev',
  'libdlib-dev',
  'libopenblas0-pthread',
];
const missing = PACKAGES.filter((p) => !own.skip.has(p)).filter((p) => {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' });
  return r.error ? false : !/install ok installed/.test(r.stdout);
});
if (missing.length) {
  say(`the native core needs system libraries that are not installed: ${missing.join(', ')}`);
  say(`install them, then run npm install again:\n  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing.join(' ')}`);
  process.exit(1);
}

if (!own.args.length) say('no prebuilt binary for this machine: compiling the native core with cmake-js (15-20 minutes on 2 cores; FVC_BUILD_JOBS sets the parallelism)');
const jobs = process.env.FVC_BUILD_JOBS ?? String(availableParallelism());
const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--parallel', jobs, ...own.args], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  say(
    'the native build failed (output above). Check that the Debian packages of the README\'s "Native build" are installed, or point CMAKE_PREFIX_PATH / XGBOOST_ROOT at your own LibTorch / XGBoost.',
  );
  process.exit(1);
}
try {
  execFileSync(process.execPath, ['-e', `require('node-gyp-build')(${JSON.stringify(root)})`], { cwd: root, stdio: 'inherit' });
} catch {
  say('the native core was built but does not load (see above)');
  process.exit(1);
}
say('native core built');
