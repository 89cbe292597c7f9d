/** `fvc query`: SQL over a run's outputs through the analytics views. */
import type { Command } from 'commander';
import { Analytics, VIEWS, type QueryResult } from '../../analytics/analytics.js';
import { FvcError } from '../../errors.js';
import { toCsv } from '../../util/csv.js';
import { choiceOption } from '../parse.js';
import { formatTable, printJson } from '../output.js';
import { configOption, runSources, type RunSourceFlags } from '../run-sources.js';

const PRESETS = ['training_summary', 'operating_points', 'subgroups', 'video_statistics', 'feature_statistics'] as const;

export type SourceFlags = RunSourceFlags;

/** The flags naming where each stage's output lives (or the run configuration that says), shared by query, plots and report. */
export function sourceOptions(cmd: Command): Command {
  return configOption(cmd)
    .option('--output-dir <dir>', 'Stage 5 results (default: FVC_STAGE5_OUTPUT_DIR or data/stage5)')
    .option('--stage1-dir <dir>', 'Stage 1 output (default: FVC_STAGE1_OUTPUT_DIR or data/stage1)')
    .option('--stage2-dir <dir>', 'Stage 2 output (default: FVC_STAGE2_OUTPUT_DIR or data/stage2)')
    .option('--stage3-dir <dir>', 'Stage 3 output (default: FVC_STAGE3_OUTPUT_DIR or data/stage3)')
    .option('--stage4-dir <dir>', 'Stage 4 output (default: FVC_STAGE4_OUTPUT_DIR or data/stage4)');
}

export async function openAnalytics(flags: SourceFlags): Promise<Analytics> {
  const o = await runSources(flags);
  const a = await Analytics.open({ stage5Dir: o.outputDir, stage1Dir: o.stage1Dir, stage2Dir: o.stage2Dir, stage3Dir: o.stage3Dir, stage4Dir: o.stage4Dir });
  // Empty views over folders that do not exist would answer any query with no rows: say where we looked instead.
  const { found, looked } = a.foundRun();
  if (!found) {
    a.close();
    throw new FvcError('ERR_FILE_NOT_FOUND', `no run found: none of ${looked.join(', ')} exists (give --config with the run's configuration, --output-dir, or run from the project folder)`);
  }
  return a;
}

const cell = (v: unknown): string | number => (v === null || v === undefined ? '' : typeof v === 'number' ? Number(v.toPrecision(10)) : typeof v === 'object' ? JSON.stringify(v) : String(v));

export function printResult(r: QueryResult, format: 'table' | 'json' | 'csv'): void {
  if (format === 'json') return printJson(r.rows);
  if (format === 'csv') {
    process.stdout.write(
      toCsv(
        r.columns,
        r.rows.map((row) => Object.fromEntries(r.columns.map((c) => [c, typeof row[c] === 'object' && row[c] !== null ? JSON.stringify(row[c]) : (row[c] as string | number | boolean | null)]))),
      ),
    );
    return;
  }
  process.stdout.write(
    formatTable(
      r.rows.map((row) => r.columns.map((c) => cell(row[c]))),
      r.columns,
    ),
  );
}

export function registerQuery(program: Command): void {
  sourceOptions(
    program
      .command('query')
      .description(`SQL over the outputs (views: ${VIEWS.join(', ')})`)
      .argument('[sql]', 'a DuckDB SQL query')
      .option('--preset <name>', `a built-in query: ${PRESETS.join(', ')}`, choiceOption(PRESETS))
      .option('--features <view>', 'feature table of the statistics and subgroups presets', choiceOption(['features_stage2', 'features_stage4'] as const))
      .option('--by <column>', 'subgroups: the metadata column to break results down by (e.g. manipulation)')
      .option('--json', 'print rows as JSON')
      .option('--csv', 'print CSV'),
  ).action(async (sql: string | undefined, o: SourceFlags & { preset?: (typeof PRESETS)[number]; features?: 'features_stage2' | 'features_stage4'; by?: string; json?: boolean; csv?: boolean }) => {
    if (o.preset === 'subgroups' && !o.by) throw new FvcError('ERR_INVALID_ARGUMENT', '--preset subgroups needs --by <column> (e.g. manipulation)');
    if (!sql && !o.preset) throw new FvcError('ERR_INVALID_ARGUMENT', 'give a SQL query or --preset');
    if (sql && o.preset) throw new FvcError('ERR_INVALID_ARGUMENT', 'give either a SQL query or --preset, not both');
    const a = await openAnalytics(o);
    try {
      const r =
        o.preset === 'training_summary'
          ? await a.trainingSummary()
          : o.preset === 'operating_points'
            ? await a.operatingPoints()
            : o.preset === 'subgroups'
              ? await a.subgroups(o.by as string, o.features)
              : o.preset === 'video_statistics'
                ? await a.videoStatistics(o.features)
                : o.preset === 'feature_statistics'
                  ? await a.featureStatistics(o.features)
                  : await a.query(sql as string);
      printResult(r, o.json ? 'json' : o.csv ? 'csv' : 'table');
    } finally {
      a.close();
    }
  });
}
