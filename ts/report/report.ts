/**
 * One self-contained HTML page for a run (opens offline from disk): the model
 * comparison table, every model's metrics, best parameters, configuration and
 * plots (PNG embedded as data URIs), and the time log. A small inline script
 * marks the page once every plot has decoded, which the headless-browser test reads.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Analytics, type AnalyticsSources, type QueryResult } from '../analytics/analytics.js';
import { generatePlots } from '../plots/plots.js';
import { compareModels, outOfFoldPredictions } from '../train/compare.js';
import { rocAuc } from '../train/metrics.js';
import { writeFileAtomic } from '../util/fs.js';

export interface ReportOptions extends AnalyticsSources {
  /** Output file (default {stage5}/report.html). */
  output?: string;
  title?: string;
  log?: (m: string) => void;
}

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
const num = (v: unknown, digits = 4) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(digits)) : v === null || v === undefined ? '—' : String(v));

function table(r: QueryResult, caption?: string): string {
  const head = r.columns.map((c) => `<th>${esc(c)}</th>`).join('');
  const body = r.rows.map((row) => `<tr>${r.columns.map((c) => `<td>${esc(num(row[c]))}</td>`).join('')}</tr>`).join('\n');
  return `<div class="scroll"><table>${caption ? `<caption>${esc(caption)}</caption>` : ''}<thead><tr>${head}</tr></thead><tbody>${body || `<tr><td colspan="${r.columns.length}">no rows</td></tr>`}</tbody></table></div>`;
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
h1{font-size:1.6rem}h2{border-bottom:1px solid #ddd;padding-bottom:.3rem;margin-top:2.5rem}
table{border-collapse:collapse;margin:1rem 0;font-size:.85rem}th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}caption{text-align:left;font-weight:bold;margin-bottom:.3rem}
figure{display:inline-block;margin:.5rem;vertical-align:top}img.plot{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.8rem;color:#666;text-align:center}pre{background:#f7f7f7;padding:.6rem;overflow:auto;font-size:.8rem}
nav a{margin-right:1rem}.muted{color:#777}.scroll{overflow-x:auto}`;

const CHECK = `<script>
window.addEventListener('load', () => {
  const imgs = [...document.querySelectorAll('img.plot')];
  const ok = imgs.filter((i) => i.complete && i.naturalWidth > 0).length;
  document.body.setAttribute('data-plots-total', String(imgs.length));
  document.body.setAttribute('data-plots-loaded', String(ok));
});
</script>`;

/**
 * Every model against the one with the highest out-of-fold AUC, on the videos both
 * scored: "is the best really better". Pairs that scored different videos are left
 * out (compareModels refuses them).
 */
function compareWithBest(stage5: string, models: readonly string[]): QueryResult {
  const aucs = models.flatMap((m) => {
    try {
      const p = outOfFoldPredictions(stage5, m);
      const ids = [...p.keys()];
      const auc = rocAuc(
        ids.map((id) => p.get(id)?.label as number),
        ids.map((id) => p.get(id)?.prob as number),
      );
      return auc === null ? [] : [{ m, auc }];
    } catch {
      return [];
    }
  });
  const best = aucs.reduce<{ m: string; auc: number } | undefined>((b, x) => (!b || x.auc > b.auc ? x : b), undefined);
  const rows: QueryResult['rows'] = [];
  for (const { m } of aucs) {
    if (!best || m === best.m) continue;
    try {
      const c = compareModels(stage5, m, best.m, { n: 1000, seed: 0 });
      rows.push({
        model_type: m,
        against: best.m,
        videos: c.videos,
        auc: c.aucA,
        best_auc: c.aucB,
        difference: c.difference,
        p: c.p,
        interval_low: c.interval?.low ?? null,
        interval_high: c.interval?.high ?? null,
        resampled: c.interval ? `${c.interval.units} ${c.interval.over}` : null,
      });
    } catch {
      // scored other videos: no paired comparison
    }
  }
  return { columns: ['model_type', 'against', 'videos', 'auc', 'best_auc', 'difference', 'p', 'interval_low', 'interval_high'], rows };
}

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
    const versusBest = compareWithBest(stage5, models);
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
      const config = existsSync(join(dir, 'fold_1', 'config.json')) ? (JSON.parse(readFileSync(join(dir, 'fold_1', 'config.json'), 'utf8')) as Record<string, unknown>) : {};
      const keys = Object.keys(metrics)
        .filter((k) => k.startsWith('mean_'))
        .map((k) => k.slice(5));
      const metricRows: QueryResult = { columns: ['metric', 'mean', 'std'], rows: keys.map((k) => ({ metric: k, mean: metrics[`mean_${k}`], std: metrics[`std_${k}`] })) };
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
${table(folds, 'Per fold')}
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
${table(summary, 'Validation metrics over folds (mean and population std, as metrics.json)')}
${operating.rows.length ? table(operating, 'Operating points and calibration over folds: fakes caught at a false-positive rate of 1%, 5%, 10% of real videos, EER, Brier score, expected calibration error') : ''}
${versusBest.rows.length ? table(versusBest, `Each model against the highest out-of-fold AUC (${String(versusBest.rows[0]?.against ?? '')}): out-of-fold AUC difference, DeLong's two-sided p and a 95% bootstrap interval (1000 resamples of whole sources, or of videos where the predictions record no source)`) : ''}
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
    await writeFileAtomic(output, html);
    return { output, models, plots, summary };
  } finally {
    a.close();
  }
}
