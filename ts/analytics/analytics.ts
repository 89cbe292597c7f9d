/**
 * SQL over everything a run wrote, in an embedded DuckDB (no server). Each output
 * is a view with a stable name; a source that does not exist yet is an empty view
 * with the same columns, so queries never depend on which stages have run.
 *
 *   metrics_log      every metrics.jsonl line + model_type, fold
 *   fold_results     one row per model and fold: model_type, fold, val_* metrics
 *   predictions      model_type, fold, video_id, label, prob, source_group
 *                    (video_id NULL in files written before video ids)
 *   features_stage2  Stage 2 feature table; features_stage4 likewise
 *   timings          every timings.jsonl line (stage, model_type, fold, seconds, peak_rss_mb, ...)
 *
 * DuckDB returns BIGINT as JS bigint: converted to number (or string beyond 2^53) here.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { FvcError } from '../errors.js';
import { subgroupMetrics } from '../evaluation/subgroups.js';
import { TIMINGS_FILE } from '../util/timings.js';

export interface AnalyticsSources {
  /** Stage 5 output (FVC_STAGE5_OUTPUT_DIR, default data/stage5). */
  stage5Dir?: string;
  stage1Dir?: string;
  stage2Dir?: string;
  stage3Dir?: string;
  stage4Dir?: string;
}

export interface QueryResult {
  columns: string[];
  rows: Array<Record<string, unknown>>;
}

export const VIEWS = ['metrics_log', 'fold_results', 'predictions', 'features_stage2', 'features_stage4', 'timings'] as const;

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
const list = (files: string[]) => `[${files.map(lit).join(', ')}]`;
const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** Model folders of a Stage 5 output: those holding metrics.json or fold_N folders. */
function modelDirs(stage5: string): string[] {
  if (!existsSync(stage5)) return [];
  return readdirSync(stage5, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => join(stage5, d.name))
    .filter((d) => existsSync(join(d, 'metrics.json')) || readdirSync(d).some((f) => /^fold_\d+$/.test(f)));
}

function foldFiles(stage5: string, file: string): string[] {
  return modelDirs(stage5).flatMap((m) =>
    readdirSync(m)
      .filter((f) => /^fold_\d+$/.test(f))
      .map((f) => join(m, f, file))
      .filter(existsSync),
  );
}

/** A file's first line (a CSV header), without reading the rest. */
function firstLine(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return (buf.subarray(0, n).toString('utf8').split(/\r?\n/, 1)[0] ?? '').trim();
  } finally {
    closeSync(fd);
  }
}

function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
    // DuckDB value wrappers (timestamps, decimals, lists) print as their SQL text.
    const s = (v as { toString(): string }).toString();
    return s === '[object Object]' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) : s;
  }
  return v;
}

export class Analytics {
  private constructor(
    private readonly connection: DuckDBConnection,
    readonly sources: Required<AnalyticsSources>,
    /** The feature columns of each feature view, from its feature_schema.json. */
    readonly featureColumns: Record<'features_stage2' | 'features_stage4', string[]>,
  ) {}

  static async open(sources: AnalyticsSources = {}): Promise<Analytics> {
    const s: Required<AnalyticsSources> = {
      stage5Dir: resolve(sources.stage5Dir ?? process.env.FVC_STAGE5_OUTPUT_DIR ?? 'data/stage5'),
      stage1Dir: resolve(sources.stage1Dir ?? process.env.FVC_STAGE1_OUTPUT_DIR ?? 'data/stage1'),
      stage2Dir: resolve(sources.stage2Dir ?? process.env.FVC_STAGE2_OUTPUT_DIR ?? 'data/stage2'),
      stage3Dir: resolve(sources.stage3Dir ?? process.env.FVC_STAGE3_OUTPUT_DIR ?? 'data/stage3'),
      stage4Dir: resolve(sources.stage4Dir ?? process.env.FVC_STAGE4_OUTPUT_DIR ?? 'data/stage4'),
    };
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    const featureColumns = { features_stage2: [] as string[], features_stage4: [] as string[] };
    const views = Analytics.viewSql(s, featureColumns);
    for (const sql of views) await c.run(sql);
    return new Analytics(c, s, featureColumns);
  }

  private static viewSql(s: Required<AnalyticsSources>, featureColumns: Record<string, string[]>): string[] {
    const out: string[] = [];
    const modelOf = (col: string, tail: string) => `regexp_extract(${col}, '([^/]+)/${tail}$', 1)`;
    const foldOf = (col: string, file: string) => `CAST(regexp_extract(${col}, 'fold_([0-9]+)/${file}$', 1) AS INTEGER)`;

    const jsonl = foldFiles(s.stage5Dir, 'metrics.jsonl');
    out.push(
      jsonl.length
        ? `CREATE VIEW metrics_log AS SELECT ${modelOf('filename', 'fold_[0-9]+/metrics\\.jsonl')} AS model_type, ${foldOf('filename', 'metrics\\.jsonl')} AS fold, run_id, CAST(timestamp AS TIMESTAMP) AS timestamp, step, epoch, phase, metric, value
           FROM read_json(${list(jsonl)}, format = 'newline_delimited', filename = true, columns = {run_id: 'VARCHAR', timestamp: 'VARCHAR', step: 'BIGINT', epoch: 'BIGINT', phase: 'VARCHAR', metric: 'VARCHAR', value: 'DOUBLE'})`
        : `CREATE VIEW metrics_log AS SELECT NULL::VARCHAR AS model_type, NULL::INTEGER AS fold, NULL::VARCHAR AS run_id, NULL::TIMESTAMP AS timestamp, NULL::BIGINT AS step, NULL::BIGINT AS epoch, NULL::VARCHAR AS phase, NULL::VARCHAR AS metric, NULL::DOUBLE AS value WHERE false`,
    );

    const summaries = modelDirs(s.stage5Dir)
      .map((d) => join(d, 'metrics.json'))
      .filter(existsSync);
    out.push(
      summaries.length
        ? `CREATE VIEW fold_results AS SELECT * FROM (SELECT model_type, unnest(fold_results, recursive := true) FROM read_json(${list(summaries)}, union_by_name = true, maximum_object_size = 33554432)) ORDER BY model_type, fold`
        : `CREATE VIEW fold_results AS SELECT NULL::VARCHAR AS model_type, NULL::INTEGER AS fold, NULL::DOUBLE AS val_acc, NULL::DOUBLE AS val_f1, NULL::DOUBLE AS val_auc, NULL::DOUBLE AS val_loss WHERE false`,
    );

    // Files written before video ids name videos by path in an `id` column: kept for
    // plain queries with a NULL video_id, never joined (subgroups() refuses them).
    const preds = foldFiles(s.stage5Dir, 'predictions.csv');
    const fresh = preds.filter((f) => firstLine(f).split(',').includes('video_id'));
    const old = preds.filter((f) => !fresh.includes(f));
    const predsOf = (files: string[], isFresh: boolean) =>
      `SELECT ${modelOf('filename', 'fold_[0-9]+/predictions\\.csv')} AS model_type, fold, ${isFresh ? 'video_id' : 'NULL::VARCHAR AS video_id'}, label, prob, ${isFresh ? 'source_group' : 'NULL::VARCHAR AS source_group'}
           FROM read_csv(${list(files)}, header = true, filename = true, union_by_name = true, types = {${isFresh ? `'video_id': 'VARCHAR', 'source_group': 'VARCHAR'` : `'id': 'VARCHAR'`}, 'fold': 'INTEGER', 'label': 'INTEGER', 'prob': 'DOUBLE'})`;
    const parts = [...(fresh.length ? [predsOf(fresh, true)] : []), ...(old.length ? [predsOf(old, false)] : [])];
    out.push(
      parts.length
        ? `CREATE VIEW predictions AS ${parts.join(' UNION ALL BY NAME ')}`
        : `CREATE VIEW predictions AS SELECT NULL::VARCHAR AS model_type, NULL::INTEGER AS fold, NULL::VARCHAR AS video_id, NULL::INTEGER AS label, NULL::DOUBLE AS prob, NULL::VARCHAR AS source_group WHERE false`,
    );

    for (const [view, dir, file] of [
      ['features_stage2', s.stage2Dir, 'features_metadata.parquet'],
      ['features_stage4', s.stage4Dir, 'features_scaled_metadata.parquet'],
    ] as const) {
      const path = join(dir, file);
      if (existsSync(path)) {
        out.push(`CREATE VIEW ${view} AS SELECT * FROM read_parquet(${lit(path)})`);
        const schema = join(dir, 'feature_schema.json');
        featureColumns[view] = existsSync(schema) ? (JSON.parse(readFileSync(schema, 'utf8')) as { features: string[] }).features : [];
      } else out.push(`CREATE VIEW ${view} AS SELECT NULL::VARCHAR AS video_path, NULL::INTEGER AS label WHERE false`);
    }

    const timingFiles = [s.stage1Dir, s.stage2Dir, s.stage3Dir, s.stage4Dir, s.stage5Dir].map((d) => join(d, TIMINGS_FILE)).filter(existsSync);
    const timingColumns = `{stage: 'VARCHAR', model_type: 'VARCHAR', fold: 'INTEGER', started_at: 'VARCHAR', ended_at: 'VARCHAR', seconds: 'DOUBLE', peak_rss_mb: 'DOUBLE', status: 'VARCHAR', items: 'BIGINT'}`;
    out.push(
      timingFiles.length
        ? `CREATE VIEW timings AS SELECT stage, model_type, fold, CAST(started_at AS TIMESTAMP) AS started_at, CAST(ended_at AS TIMESTAMP) AS ended_at, seconds, peak_rss_mb, status, items FROM read_json(${list(timingFiles)}, format = 'newline_delimited', columns = ${timingColumns}) ORDER BY started_at`
        : `CREATE VIEW timings AS SELECT NULL::VARCHAR AS stage, NULL::VARCHAR AS model_type, NULL::INTEGER AS fold, NULL::TIMESTAMP AS started_at, NULL::TIMESTAMP AS ended_at, NULL::DOUBLE AS seconds, NULL::DOUBLE AS peak_rss_mb, NULL::VARCHAR AS status, NULL::BIGINT AS items WHERE false`,
    );
    return out;
  }

  async query(sql: string): Promise<QueryResult> {
    try {
      const reader = await this.connection.runAndReadAll(sql);
      const columns = reader.columnNames();
      const rows = reader.getRowObjects().map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)])));
      return { columns, rows };
    } catch (err) {
      const message = (err as Error).message;
      // A misspelt column: list what the views it reads do have.
      const found: string[] = [];
      if (/column .* not found|does not have a column/i.test(message))
        for (const view of VIEWS.filter((v) => new RegExp(`\\b${v}\\b`).test(sql))) {
          const cols = await this.connection.runAndReadAll(`SELECT column_name FROM (DESCRIBE ${view})`).then(
            (r) => r.getRowObjects().map((x) => String(x.column_name)),
            () => [],
          );
          found.push(`columns of ${view}: ${cols.join(', ')}`);
        }
      throw new FvcError('ERR_INVALID_ARGUMENT', `query failed: ${message}\n${found.length ? `${found.join('\n')}\n` : ''}(views: ${VIEWS.join(', ')})`);
    }
  }

  /** The folders this instance read, and whether any of them exists (a run was found). */
  foundRun(): { found: boolean; looked: string[] } {
    const s = this.sources;
    const looked = [s.stage5Dir, s.stage1Dir, s.stage2Dir, s.stage3Dir, s.stage4Dir];
    return { found: looked.some((d) => existsSync(d)), looked };
  }

  /** The seed's training results summary: per model, mean and std (population, as metrics.json) of val accuracy/F1/AUC/loss, and the fold count. */
  trainingSummary(): Promise<QueryResult> {
    return this.query(`SELECT model_type,
        AVG(val_acc) AS avg_val_acc, STDDEV_POP(val_acc) AS std_val_acc,
        AVG(val_f1) AS avg_val_f1, STDDEV_POP(val_f1) AS std_val_f1,
        AVG(val_auc) AS avg_val_auc, STDDEV_POP(val_auc) AS std_val_auc,
        AVG(val_loss) AS avg_val_loss, STDDEV_POP(val_loss) AS std_val_loss,
        COUNT(*) AS fold_count
      FROM fold_results GROUP BY model_type ORDER BY avg_val_f1 DESC, model_type`);
  }

  /**
   * Per model, the operating points and calibration over folds (mean and population
   * std): TPR at FPR 1/5/10%, EER, Brier score, ECE. Columns of results written before
   * these metrics existed are left out, not invented.
   */
  async operatingPoints(): Promise<QueryResult> {
    const have = new Set(await this.columnsOf('fold_results'));
    const metrics = ['val_tpr_at_fpr_1', 'val_tpr_at_fpr_5', 'val_tpr_at_fpr_10', 'val_eer', 'val_brier', 'val_ece'].filter((m) => have.has(m));
    if (!metrics.length) return { columns: ['model_type'], rows: [] };
    const cols = metrics.map((m) => `AVG(${m}) AS avg_${m.slice(4)}, STDDEV_POP(${m}) AS std_${m.slice(4)}`).join(', ');
    return this.query(`SELECT model_type, ${cols}, COUNT(*) AS fold_count FROM fold_results GROUP BY model_type ORDER BY model_type`);
  }

  /**
   * Per model, the out-of-fold metrics broken down by a metadata column of the
   * features table (manipulation, source, ...): each prediction joined to its video's
   * value; one-class groups scored against every video of the other class.
   */
  async subgroups(column: string, view: 'features_stage2' | 'features_stage4' = 'features_stage2'): Promise<QueryResult> {
    const have = new Set(await this.columnsOf(view));
    if (!have.has(column)) throw new FvcError('ERR_INVALID_ARGUMENT', `--by ${column}: ${view} has no such column (columns: ${[...have].join(', ')})`);
    if (!have.has('video_id'))
      throw new FvcError('ERR_INVALID_DATA', `${view}: written by an fvc before video ids (no video_id column): rerun fvc ${view.replace('features_', '')} (finished videos are reused)`);
    const unnamed = await this.query(`SELECT DISTINCT model_type FROM predictions WHERE video_id IS NULL ORDER BY 1`);
    if (unnamed.rows.length)
      throw new FvcError(
        'ERR_INVALID_DATA',
        `${unnamed.rows.map((r) => String(r.model_type)).join(', ')}: predictions written by an fvc before video ids cannot be matched to ${view}'s videos: retrain ${unnamed.rows.length > 1 ? 'them' : 'it'}`,
      );
    const joined = await this.query(
      `SELECT p.model_type, p.label, p.prob, f.value FROM predictions p LEFT JOIN (SELECT video_id, ANY_VALUE(${ident(column)}) AS value FROM ${view} GROUP BY 1) f ON p.video_id = f.video_id ORDER BY p.model_type, p.fold, p.video_id`,
    );
    const byModel = new Map<string, Array<{ label: 0 | 1; prob: number; value: unknown }>>();
    for (const r of joined.rows) byModel.set(String(r.model_type), [...(byModel.get(String(r.model_type)) ?? []), { label: Number(r.label) as 0 | 1, prob: Number(r.prob), value: r.value }]);
    const rows = [...byModel].flatMap(([model, preds]) =>
      subgroupMetrics(
        preds.map((p) => ({ label: p.label, [column]: p.value })),
        preds.map((p) => p.prob),
        [column],
        0.5,
        view,
      ).map((g) => ({
        model_type: model,
        [column]: g.value,
        videos: g.videos,
        against: g.against,
        roc_auc: g.metrics.roc_auc,
        tpr_at_fpr_5: g.metrics.tpr_at_fpr_5,
        accuracy: g.metrics.accuracy,
        ece: g.metrics.ece,
      })),
    );
    return { columns: ['model_type', column, 'videos', 'against', 'roc_auc', 'tpr_at_fpr_5', 'accuracy', 'ece'], rows };
  }

  private async columnsOf(view: string): Promise<string[]> {
    return (await this.query(`SELECT column_name FROM (DESCRIBE ${view})`)).rows.map((r) => String(r.column_name));
  }

  /** Videos per label, with the number of sources and mean geometry, frame rate and duration where the table has them. */
  async videoStatistics(view: 'features_stage2' | 'features_stage4' = 'features_stage2'): Promise<QueryResult> {
    const have = new Set(await this.columnsOf(view));
    const extra = [
      ...(have.has('source_id') ? ['COUNT(DISTINCT source_id) AS sources'] : []),
      ...['width', 'height', 'fps', 'duration'].filter((c) => have.has(c)).map((c) => `AVG(${ident(c)}) AS avg_${c}`),
    ];
    return this.query(`SELECT label, COUNT(*) AS videos${extra.map((e) => `, ${e}`).join('')} FROM ${view} GROUP BY label ORDER BY label`);
  }

  /** Per feature: count, mean, std, min, max and missing values. */
  featureStatistics(view: 'features_stage2' | 'features_stage4' = 'features_stage2'): Promise<QueryResult> {
    const cols = this.featureColumns[view];
    if (!cols.length) return Promise.resolve({ columns: ['feature', 'count', 'mean', 'std', 'min', 'max', 'missing'], rows: [] });
    const parts = cols.map(
      (c) =>
        `SELECT ${lit(c)} AS feature, COUNT(${ident(c)}) AS count, AVG(${ident(c)}) AS mean, STDDEV_SAMP(${ident(c)}) AS std, MIN(${ident(c)}) AS min, MAX(${ident(c)}) AS max, COUNT(*) - COUNT(${ident(c)}) AS missing FROM ${view}`,
    );
    return this.query(parts.join('\nUNION ALL\n'));
  }

  close(): void {
    this.connection.closeSync();
  }
}
