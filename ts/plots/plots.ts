/**
 * Every plot of a Stage 5 output: per model in `{model}/plots/` (the seed's
 * training_curves, roc_pr_curves, confusion_matrix, prediction_distribution,
 * cv_fold_comparison, hyperparameter_search) and `plots/model_comparison.png`
 * across models. Data comes through the analytics views, so the plots show
 * exactly what `fvc query` returns.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Analytics } from '../analytics/analytics.js';
import { renderPng, type Spec } from './render.js';
import {
  confusionMatrix,
  cvFoldComparison,
  hyperparameterSearch,
  modelComparison,
  predictionDistribution,
  reliabilityDiagram,
  rocPrCurves,
  trainingCurves,
  type FoldRow,
  type GridResult,
  type LogPoint,
  type Prediction,
} from './specs.js';

export interface PlotsOptions {
  /** Stage 5 output (default FVC_STAGE5_OUTPUT_DIR or data/stage5). */
  stage5Dir?: string;
  /** Only these models (default: every model with results). */
  models?: string[];
  log?: (m: string) => void;
}

export interface PlotsResult {
  files: string[];
  /** Plots left out, with why (e.g. no grid search was run). */
  skipped: Array<{ model: string; plot: string; reason: string }>;
}

export async function generatePlots(options: PlotsOptions = {}): Promise<PlotsResult> {
  const a = await Analytics.open({ stage5Dir: options.stage5Dir });
  const stage5 = a.sources.stage5Dir;
  const files: string[] = [];
  const skipped: PlotsResult['skipped'] = [];
  try {
    const folds = (await a.query('SELECT * FROM fold_results')).rows as Array<FoldRow & { model_type: string }>;
    const models = options.models ?? [...new Set(folds.map((f) => f.model_type))].sort();
    for (const model of models) {
      const dir = join(stage5, model, 'plots');
      await mkdir(dir, { recursive: true });
      const q = (sql: string) => a.query(sql.replaceAll('$model', `'${model.replace(/'/g, "''")}'`));
      const preds = (await q('SELECT fold, video_id AS id, label, prob FROM predictions WHERE model_type = $model ORDER BY fold, video_id')).rows as unknown as Prediction[];
      const log = (await q('SELECT fold, epoch, phase, metric, value FROM metrics_log WHERE model_type = $model ORDER BY fold, epoch, step')).rows as unknown as LogPoint[];
      const modelFolds = folds.filter((f) => f.model_type === model);
      const plots: Array<[string, Spec | null, string]> = [
        ['training_curves', log.length ? trainingCurves(model, log) : null, log.length ? 'fitted in one go, no epochs or rounds (see hyperparameter_search)' : 'no metrics.jsonl'],
        ['roc_pr_curves', preds.length ? rocPrCurves(model, preds) : null, 'no predictions'],
        ['confusion_matrix', preds.length ? confusionMatrix(model, preds) : null, 'no predictions'],
        ['prediction_distribution', preds.length ? predictionDistribution(model, preds) : null, 'no predictions'],
        ['reliability', preds.length ? reliabilityDiagram(model, preds) : null, 'no predictions'],
        ['cv_fold_comparison', modelFolds.length ? cvFoldComparison(model, modelFolds) : null, 'no fold results'],
        ['hyperparameter_search', ...gridSpec(model, join(stage5, model, 'grid_search.json'))],
      ];
      for (const [name, spec, reason] of plots) {
        if (!spec) {
          skipped.push({ model, plot: name, reason });
          continue;
        }
        const file = join(dir, `${name}.png`);
        await renderPng(spec, file);
        files.push(file);
      }
      options.log?.(`${model}: ${plots.filter(([, s]) => s).length} plots in ${dir}`);
    }
    if (folds.length) {
      await mkdir(join(stage5, 'plots'), { recursive: true });
      const file = join(stage5, 'plots', 'model_comparison.png');
      await renderPng(modelComparison(folds), file);
      files.push(file);
    }
  } finally {
    a.close();
  }
  return { files, skipped };
}

function gridSpec(model: string, path: string): [Spec | null, string] {
  if (!existsSync(path)) return [null, 'no grid_search.json'];
  const g = JSON.parse(readFileSync(path, 'utf8')) as { selection_metric: string; results: GridResult[] };
  if (!g.results.length) return [null, 'a single grid point: no search was run'];
  return [hyperparameterSearch(model, g.selection_metric, g.results), ''];
}
