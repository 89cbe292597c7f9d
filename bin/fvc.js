#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/ (compiled from ts/ by `npm run setup`).
import { availableParallelism } from 'node:os';

// Native work runs on libuv's pool (4 threads by default): size it to the machine
// before anything starts the pool.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism() + 2));

import('../dist/cli/main.js')
  .then((m) => m.main(process.argv))
  .catch((err) => {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
      console.error('fvc: not built yet; run `npm run setup` in the fvc checkout first');
    } else {
      console.error(err);
    }
    process.exitCode = 1;
  });
