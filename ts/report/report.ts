/**
 * One self-contained HTML page for a run (opens offline from disk): the model
 * comparison table, every model's metrics, best parameters, configuration and
 * plots (PNG embedded as data URIs), and the time log. A small inline script
 * marks the page once every plot has decoded, which the headless-browser test reads.
 */
import { FOLD_FILES, foldDir } from '../evaluation/fold-layout.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Analytics, type AnalyticsSources, type QueryResult } from '../analytics/analytics.js';
import { generatePlots } from '../plots/plots.js';
import { chanceVerdict, WEAK_AUC, type ChanceVerdict } from '../evaluation/chance.js';
import { compareModels, outOfFoldPredictions } from '../evaluation/compare.js';
import { computeMetrics } from '../evaluation/metrics.js';
import { formatDuration } from '../util/progress.js';
import { writeFileAtomic } from '../util/fs.js';

export interface ReportOptions extends AnalyticsSources {
  /** Output file (default {stage5}/report.html). */
  output?: string;
  title?: string;
  log?: (m: string) => void;
}

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
const num = (v: unknown, digits = 4) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(digits)) : v === null || v === undefined ? '—' : String(v));

/**
 * Readable names for the keys results are stored under (val_tpr_at_fpr_5 ->
 * "TPR at 5% FPR"); unknown keys are shown as they are.
 */
const METRIC_NAMES: Record<string, string> = {
  acc: 'accuracy',
  f1: 'F1',
  precision: 'precision',
  recall: 'recall',
  auc: 'ROC AUC',
  ap: 'average precision',
  eer: 'EER',
  loss: 'log loss',
  tpr_at_fpr_1: 'TPR at 1% FPR',
  tpr_at_fpr_5: 'TPR at 5% FPR',
  tpr_at_fpr_10: 'TPR at 10% FPR',
  brier: 'Brier score',
  ece: 'calibration error (ECE)',
  threshold: 'chosen threshold',
  roc_auc: 'ROC AUC',
  average_precision: 'average precision',
  log_loss: 'log loss',
};

export function readableMetric(key: string): string {
  let k = key.replace(/^(avg|mean|std)_/, '').replace(/^val_/, '');
  let suffix = '';
  const cls = /_class([01])$/.exec(k);
  if (cls) {
    suffix = cls[1] === '1' ? ' (fake)' : ' (real)';
    k = k.slice(0, -7);
  }
  if (k.endsWith('_at_threshold')) {
    suffix += ' at chosen threshold';
    k = k.slice(0, -'_at_threshold'.length);
  }
  const name = METRIC_NAMES[k] ?? k.replace(/_/g, ' ');
  return `${name}${suffix}`;
}

const COLUMN_NAMES: Record<string, string> = {
  model_type: 'model',
  fold_count: 'folds',
  interval_low: '95% CI low',
  interval_high: '95% CI high',
  peak_rss_mb: 'peak RSS (MB)',
  started_at: 'started',
};

function table(r: QueryResult, caption?: string, header: (c: string) => string = (c) => COLUMN_NAMES[c] ?? METRIC_NAMES[c] ?? c): string {
  const head = r.columns.map((c) => `<th>${esc(header(c))}</th>`).join('');
  const body = r.rows.map((row) => `<tr>${r.columns.map((c) => `<td>${esc(num(row[c]))}</td>`).join('')}</tr>`).join('\n');
  return `<table>${caption ? `<caption>${esc(caption)}</caption>` : ''}<thead><tr>${head}</tr></thead><tbody>${body || `<tr><td colspan="${r.columns.length}">no rows</td></tr>`}</tbody></table>`;
}

const pm = (mean: unknown, std: unknown) => (typeof mean === 'number' ? `${mean.toFixed(4)}${typeof std === 'number' ? ` ± ${std.toFixed(4)}` : ''}` : '—');

/** avg_x / std_x column pairs as one "mean ± std" column each, named readably. */
function meanStdTable(r: QueryResult, keep: readonly string[] = ['model_type']): QueryResult {
  const metrics = r.columns.filter((c) => c.startsWith('avg_')).map((c) => c.slice(4));
  const columns = [...keep, ...metrics.map(readableMetric), ...r.columns.filter((c) => c === 'fold_count')];
  const rows = r.rows.map((row) => ({
    ...Object.fromEntries(keep.map((k) => [k, row[k]])),
    ...Object.fromEntries(metrics.map((m) => [readableMetric(m), pm(row[`avg_${m}`], row[`std_${m}`])])),
    ...(row.fold_count === undefined ? {} : { fold_count: row.fold_count }),
  }));
  return { columns, rows };
}

/** Per-fold results with metrics as rows and folds as columns, so many metrics never widen the page. */
function foldTable(folds: QueryResult): QueryResult {
  const ids = folds.rows.map((r) => `fold ${String(r.fold)}`);
  const metrics = folds.columns.filter((c) => c !== 'fold');
  return {
    columns: ['metric', ...ids],
    rows: metrics.map((m) => ({ metric: readableMetric(m), ...Object.fromEntries(folds.rows.map((r, i) => [ids[i] as string, r[m]])) })),
  };
}

const PLOT_TITLES: Record<string, string> = {
  training_curves: 'Training curves',
  roc_pr_curves: 'ROC and precision-recall curves',
  confusion_matrix: 'Confusion matrix',
  prediction_distribution: 'Prediction distribution',
  reliability: 'Reliability (calibration)',
  cv_fold_comparison: 'Cross-validation folds',
  hyperparameter_search: 'Hyperparameter search',
  model_comparison: 'Model comparison',
};

function img(path: string): string {
  const name = basename(path, '.png');
  return `<figure><img class="plot" alt="${esc(PLOT_TITLES[name] ?? name)}" src="data:image/png;base64,${readFileSync(path).toString('base64')}"><figcaption>${esc(PLOT_TITLES[name] ?? name)}</figcaption></figure>`;
}

const CSS = `body{font-family:"DejaVu Sans",system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#222;padding:0 1rem}
h1{font-size:1.6rem;overflow-wrap:anywhere}h2{border-bottom:1px solid #ddd;padding-bottom:.3rem;margin-top:2.5rem;overflow-wrap:anywhere}
table{border-collapse:collapse;margin:1rem 0;font-size:.85rem;max-width:100%}th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}
td:first-child{overflow-wrap:anywhere}
td.verdict-chance{color:#a00;font-weight:bold}code,p{overflow-wrap:anywhere}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}caption{text-align:left;font-weight:bold;margin-bottom:.3rem}
figure{display:inline-block;margin:.5rem;vertical-align:top}img.plot{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.8rem;color:#666;text-align:center}pre{background:#f7f7f7;padding:.6rem;overflow:auto;font-size:.8rem}
nav{overflow-wrap:anywhere}nav a{margin-right:1rem}.muted{color:#777}`;

const CHECK = `<script>
window.addEventListener('load', () => {
  const imgs = [...document.querySelectorAll('img.plot')];
  const ok = imgs.filter((i) => i.complete && i.naturalWidth > 0).length;
  document.body.setAttribute('data-plots-total', String(imgs.length));
  document.body.setAttribute('data-plots-loaded', String(ok));
  // Elements reaching past the page's width (a table that would need horizontal scrolling).
  const page = document.documentElement.clientWidth;
  const wide = [...document.body.querySelectorAll('*')].filter((e) => e.getBoundingClientRect().right > page + 1);
  document.body.setAttribute('data-too-wide', String(wide.length));
  document.body.setAttribute('data-too-wide-first', wide.length ? wide[0].tagName + ' ' + (wide[0].textContent || '').slice(0, 60) : '');
});
</script>`;

/**
 * Every model against the one with the highest out-of-fold AUC, on the videos both
 * scored: "is the best really better". A model that cannot be paired (it scored other
 * videos, or its predictions predate video ids) keeps its row, saying why.
 */
function compareWithBest(stage5: string, verdicts: ReadonlyArray<{ model: string; verdict: ChanceVerdict | null }>): QueryResult {
  const scored = verdicts.filter((v): v is { model: string; verdict: ChanceVerdict & { auc: number } } => v.verdict?.auc !== null && v.verdict?.auc !== undefined);
  const best = scored.reduce<(typeof scored)[number] | undefined>((b, x) => (!b || x.verdict.auc > b.verdict.auc ? x : b), undefined);
  const columns = ['model_type', 'auc', 'best_auc', 'difference', 'ci', 'p', 'videos', 'note'];
  if (!best) return { columns, rows: [] };
  const rows: QueryResult['rows'] = [];
  for (const { model: m } of verdicts) {
    if (m === best.model) continue;
    try {
      const c = compareModels(stage5, m, best.model, { n: 1000, seed: 0 });
      const ci = c.interval ? `${c.interval.low.toFixed(4)} to ${c.interval.high.toFixed(4)}` : '—';
      rows.push({ model_type: m, auc: c.aucA, best_auc: c.aucB, difference: c.difference, ci, p: c.p, videos: c.videos, note: c.interval ? `${c.interval.units} ${c.interval.over} resampled` : '' });
    } catch (err) {
      rows.push({ model_type: m, auc: null, best_auc: best.verdict.auc, difference: null, ci: null, p: null, videos: null, note: `not compared: ${(err as Error).message}` });
    }
  }
  return { columns, rows };
}

/** Fold metadata of a model folder (finished folds only). */
function foldMetadata(dir: string): Array<Record<string, unknown>> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((d) => /^fold_\d+$/.test(d) && existsSync(join(dir, d, 'metadata.json')))
    .map((d) => JSON.parse(readFileSync(join(dir, d, 'metadata.json'), 'utf8')) as Record<string, unknown>);
}

const compact = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)} k` : String(n));

/**
 * One row per model: what a reader checks first. Out-of-fold AUC with its 95% interval
 * over sources and the chance verdict (chance.ts), TPR at 5% FPR and EER of the pooled
 * out-of-fold predictions, the model's size and the time its folds took.
 */
function headline(stage5: string, verdicts: ReadonlyArray<{ model: string; verdict: ChanceVerdict | null; error?: string }>): QueryResult {
  const rows = verdicts.map(({ model, verdict, error }) => {
    const meta = foldMetadata(join(stage5, model));
    const seconds = meta.reduce((t, m) => t + (typeof m.seconds === 'number' ? m.seconds : 0), 0);
    const params = meta.map((m) => (m.native_params as Record<string, unknown> | undefined)?.parameters).find((p): p is number => typeof p === 'number');
    const features = meta.map((m) => m.feature_importance_gain ?? (m as { feature_names?: unknown }).feature_names).find((f) => f && typeof f === 'object');
    let oof: { tpr: number | null; eer: number | null } = { tpr: null, eer: null };
    try {
      const p = [...outOfFoldPredictions(stage5, model).values()];
      const m = computeMetrics(
        p.map((x) => x.label),
        p.map((x) => x.prob),
      );
      oof = { tpr: m.tpr_at_fpr_5, eer: m.eer };
    } catch {
      // the verdict column already says why there is nothing to score
    }
    const f = (x: number | null | undefined) => (x === null || x === undefined ? '—' : x.toFixed(3));
    const verdictText = !verdict ? `not scored: ${error ?? 'no predictions'}` : verdict.atChance ? 'AT CHANCE' : verdict.weak ? `above chance, weakly (AUC < ${WEAK_AUC})` : 'above chance';
    return {
      model_type: model,
      'out-of-fold AUC (95% CI)': verdict ? `${f(verdict.auc)} (${f(verdict.low)}–${f(verdict.high)})` : '—',
      verdict: verdictText,
      'TPR at 5% FPR': oof.tpr,
      EER: oof.eer,
      parameters: params !== undefined ? compact(params) : features ? `${Object.keys(features).length} features` : '—',
      'training time': meta.length ? `${formatDuration(seconds)} (${meta.length} folds)` : '—',
      videos: verdict ? `${verdict.videos} (${verdict.units} ${verdict.over})` : '—',
    };
  });
  // Best first: the order a reader ranks them in.
  const auc = (m: string) => verdicts.find((v) => v.model === m)?.verdict?.auc ?? -1;
  rows.sort((a, b) => auc(b.model_type) - auc(a.model_type));
  return { columns: ['model_type', 'out-of-fold AUC (95% CI)', 'verdict', 'TPR at 5% FPR', 'EER', 'parameters', 'training time', 'videos'], rows };
}

const VERSUS_NAMES: Record<string, string> = {
  model_type: 'model',
  auc: 'AUC',
  best_auc: "best's AUC",
  difference: 'difference',
  ci: '95% CI of the difference',
  p: "DeLong's p",
  videos: 'videos',
  note: 'note',
};
const bestOf = (v: ReadonlyArray<{ model: string; verdict: ChanceVerdict | null }>) =>
  v.reduce<{ model: string; auc: number } | undefined>((b, x) => (x.verdict?.auc != null && (!b || x.verdict.auc > b.auc) ? { model: x.model, auc: x.verdict.auc } : b), undefined)?.model ?? '';

/** Writes the page; returns it with the training summary it shows. */
export async function buildReport(options: ReportOptions = {}): Promise<{ output: string; models: string[]; plots: number; summary: QueryResult }> {
  const a = await Analytics.open(options);
  const stage5 = a.sources.stage5Dir;
  try {
    const summary = await a.trainingSummary();
    const operating = await a.operatingPoints();
    // Per manipulation where the videos say which (the corpus does): what a reviewer asks first.
    const byManipulation = await a.subgroups('manipulation').catch(() => null);
    const models = summary.rows.map((r) => String(r.model_type));
    const verdicts = models.map((model) => {
      try {
        return { model, verdict: chanceVerdict(stage5, model) };
      } catch (err) {
        return { model, verdict: null, error: (err as Error).message };
      }
    });
    const versusBest = compareWithBest(stage5, verdicts);
    const missing = models.filter((m) => !existsSync(join(stage5, m, 'plots')));
    if (missing.length || (models.length && !existsSync(join(stage5, 'plots', 'model_comparison.png')))) {
      options.log?.(`drawing plots for ${missing.length ? missing.join(', ') : 'the model comparison'}`);
      await generatePlots({ stage5Dir: stage5, models: missing });
    }
    let plots = 0;
    const sections: string[] = [];
    for (const m of models) {
      const dir = join(stage5, m);
      const metrics = existsSync(join(dir, 'metrics.json')) ? (JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as Record<string, unknown>) : {};
      const firstConfig = join(foldDir(dir, 1), FOLD_FILES.config);
      const config = existsSync(firstConfig) ? (JSON.parse(readFileSync(firstConfig, 'utf8')) as Record<string, unknown>) : {};
      const keys = Object.keys(metrics)
        .filter((k) => k.startsWith('mean_'))
        .map((k) => k.slice(5));
      const metricRows: QueryResult = {
        columns: ['metric', 'mean ± std over folds'],
        rows: keys.map((k) => ({ metric: readableMetric(k), 'mean ± std over folds': pm(metrics[`mean_${k}`], metrics[`std_${k}`]) })),
      };
      const folds = await a.query(`SELECT * EXCLUDE (model_type) FROM fold_results WHERE model_type = '${m.replace(/'/g, "''")}' ORDER BY fold`);
      const pngs = existsSync(join(dir, 'plots'))
        ? readdirSync(join(dir, 'plots'))
            .filter((f) => f.endsWith('.png'))
            .sort((x, y) => Object.keys(PLOT_TITLES).indexOf(x.slice(0, -4)) - Object.keys(PLOT_TITLES).indexOf(y.slice(0, -4)))
        : [];
      plots += pngs.length;
      const { feature_names: _names, ...shownConfig } = config;
      sections.push(`<section id="${esc(m)}"><h2>${esc(m)}</h2>
<p>Best fold: <b>${esc(num(metrics.best_fold))}</b>; best parameters: <code>${esc(JSON.stringify(metrics.best_params ?? {}))}</code>; selection metric: ${esc(metrics.selection_metric ?? 'f1')}.</p>
${table(metricRows, 'Mean and std over folds')}
${table(foldTable(folds), 'Per fold')}
${pngs.map((p) => img(join(dir, 'plots', p))).join('\n')}
<details><summary>Run configuration</summary><pre>${esc(JSON.stringify(shownConfig, null, 2))}</pre></details></section>`);
    }
    const comparison = join(stage5, 'plots', 'model_comparison.png');
    if (existsSync(comparison)) plots++;
    const timings = await a.query(
      `SELECT stage, COALESCE(model_type, '') AS model_type, COALESCE(CAST(fold AS VARCHAR), '') AS fold, status, ROUND(seconds, 2) AS seconds, ROUND(peak_rss_mb, 0) AS peak_rss_mb, items, started_at FROM timings ORDER BY started_at`,
    );
    const stageTotals = await a.query(
      `SELECT stage, ROUND(SUM(seconds), 2) AS seconds, ROUND(MAX(peak_rss_mb), 0) AS peak_rss_mb FROM timings WHERE model_type IS NULL AND fold IS NULL GROUP BY stage ORDER BY stage`,
    );
    const title = options.title ?? `fvc report — ${stage5}`;
    const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title><style>${CSS}</style></head>
<body>
<h1>${esc(title)}</h1>
<p class="muted">Generated ${esc(new Date().toISOString())} from ${esc(stage5)}; ${models.length} model(s).</p>
<nav>${models.map((m) => `<a href="#${esc(m)}">${esc(m)}</a>`).join('')}<a href="#timings">timings</a></nav>
<h2>Model comparison</h2>
${table(headline(stage5, verdicts), "Every model at a glance: out-of-fold AUC (every fold's validation predictions pooled) with a 95% bootstrap interval over whole sources, whether it beats guessing, fakes caught at 5% of real videos flagged, equal error rate, size and training time")}
${table(meanStdTable(summary), 'Validation metrics over folds (mean ± population std, as metrics.json)')}
${operating.rows.length ? table(meanStdTable(operating), 'Operating points and calibration over folds (mean ± std): fakes caught at a false-positive rate of 1%, 5%, 10% of real videos, EER, Brier score, expected calibration error') : ''}
${versusBest.rows.length ? table(versusBest, `Each model against the highest out-of-fold AUC (${bestOf(verdicts)}): out-of-fold AUC difference, DeLong's two-sided p and a 95% bootstrap interval (1000 resamples of whole sources, or of videos where the predictions record no source)`, (c) => VERSUS_NAMES[c] ?? c) : ''}
${byManipulation?.rows.length ? table(byManipulation, "Out-of-fold results per manipulation (each manipulation's fakes against every real video)") : ''}
${existsSync(comparison) ? img(comparison) : ''}
${sections.join('\n')}
<section id="timings"><h2>Timings</h2>
${table(stageTotals, 'Per stage run')}
${table(timings, 'Every stage, model and fold')}
</section>
${CHECK}
</body></html>
`;
    const output = resolve(options.output ?? join(stage5, 'report.html'));
    await mkdir(dirname(output), { recursive: true });
    await writeFileAtomic(output, html);
    return { output, models, plots, summary };
  } finally {
    a.close();
  }
}
