import type { Command } from 'commander';
import { loadMetadata } from '../../data/metadata.js';
import { intOption } from '../parse.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check a metadata table before any stage: columns, labels, files, duplicates, row count; every problem at once')
    .requiredOption('--metadata <table>', 'video metadata table (.csv or .parquet)')
    .option('--root <dir>', "resolve relative video paths against this folder (default: the table's folder)")
    .option('--min-rows <n>', 'minimum number of videos (the seed pipeline required 3000)', intOption(1), 1)
    .option('--no-probe', 'skip opening every file to check it holds a video stream')
    .action(async (o: { metadata: string; root?: string; minRows: number; probe: boolean }) => {
      const r = await loadMetadata(o.metadata, { minRows: o.minRows, probe: o.probe, ...(o.root ? { root: o.root } : {}) });
      const { real, fake } = r.classBalance;
      const pct = (n: number) => ((100 * n) / Math.max(1, real + fake)).toFixed(1);
      process.stdout.write(`${o.metadata}: ${r.rows.length} videos, ok; class balance: ${real} real (${pct(real)}%), ${fake} fake (${pct(fake)}%)\n`);
    });
}
