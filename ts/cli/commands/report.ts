/** `fvc plots` and `fvc report`: PNG plots and the HTML page of a run's outputs. */
import type { Command } from 'commander';
import { generatePlots } from '../../plots/plots.js';
import { buildReport } from '../../report/report.js';
import { sourceOptions, type SourceFlags } from './query.js';
import { configOption, runSources } from '../run-sources.js';

const log = (m: string) => process.stderr.write(`${m}\n`);

export function registerReport(program: Command): void {
  configOption(
    program
      .command('plots')
      .description("draw every model's plots ({model}/plots/*.png) and the model comparison")
      .option('--output-dir <dir>', 'Stage 5 results (default: FVC_STAGE5_OUTPUT_DIR or data/stage5)')
      .option('--models <list>', 'only these models (comma-separated)'),
  ).action(async (flags: { config?: string; outputDir?: string; models?: string }) => {
    const o = await runSources(flags);
    const r = await generatePlots({
      stage5Dir: o.outputDir,
      ...(o.models
        ? {
            models: o.models
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
          }
        : {}),
      log,
    });
    for (const s of r.skipped) log(`${s.model}: no ${s.plot} (${s.reason})`);
    for (const f of r.files) process.stdout.write(`${f}\n`);
  });

  sourceOptions(
    program
      .command('report')
      .description("one self-contained HTML page: model comparison, every model's metrics and plots, configuration, timings")
      .option('-o, --out <file>', 'output file (default {output-dir}/report.html)')
      .option('--title <text>', 'page title'),
  ).action(async (flags: SourceFlags & { out?: string; title?: string }) => {
    const o = await runSources(flags);
    const r = await buildReport({ stage5Dir: o.outputDir, stage1Dir: o.stage1Dir, stage2Dir: o.stage2Dir, stage3Dir: o.stage3Dir, stage4Dir: o.stage4Dir, output: o.out, title: o.title, log });
    log(`${r.models.length} model(s), ${r.plots} plots`);
    process.stdout.write(`${r.output}\n`);
  });
}
