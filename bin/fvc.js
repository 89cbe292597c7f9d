#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/ (compiled from ts/ by `npm run setup`).
import('../dist/cli/main.js').then((m) => m.main(process.argv)).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main.js')) {
    console.error('fvc: not built yet; run `npm run setup` in the fvc checkout first');
  } else {
    console.error(err);
  }
  process.exitCode = 1;
});
