/**
 * Ensembles of trained Stage 5 models (the seed's train_ensemble), scored fold by
 * fold on what each member predicted for that fold's validation videos, so no member
 * ever saw the fold it is scored on. Members train first, in the same run or an
 * earlier one into the same folder with the same folds (checked video by video).
 *
 * - `mean` (`ensemble:a+b`): the members' probabilities averaged; nothing is fitted.
 * - `stack` (`stack:a+b`): a logistic regression on the members' log-odds, fitted only
 *   on out-of-fold predictions of fold k's training videos: each member is refitted
 *   (with the parameters it used in fold k) on inner folds of fold k's training
 *   videos, and predicts the inner fold it left out. No validation video of fold k, and
 *   no prediction a member made for a video it trained on, reaches the stacker.
 *   Every row it was fitted on is kept in the fold's stacker_training.csv.
 *
 * best_model/ carries the members' models of the best fold (and the stacker) and
 * predicts with each, then combines.
 */
import { FOLD_FILES, modelFoldDir } from '../../evaluation/fold-layout.js';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FvcError } from '../../errors.js';
import { csvCell } from '../../util/csv.js';
import { readFoldPredictions } from '../../evaluation/predictions.js';
import { tempName } from '../../util/fs.js';
import type { FeatureData } from '../dataset.js';
import { exportFoldModel } from '../best-model.js';
import { stratifiedGroupKFold, type Fold } from '../folds.js';
import type { FoldContext, Stage5Model } from '../model.js';
import type { ResolvedModel } from '../model.js';
import type { GridValue } from '../spec.js';
import { applyStacker, fitStacker, type Stacker } from '../stacker.js';

export type EnsembleRule = 'mean' | 'stack';

/** Inner folds of the stacker's nested cross-validation (fewer when the training videos have fewer groups). */
const INNER_FOLDS = 3;

/** Member m's fold-k validation probabilities, in the order of `ids`. */
function memberFoldProbs(outputDir: string, m: ResolvedModel, fold: number, ids: readonly string[]): Float64Array {
  const foldDir = modelFoldDir(outputDir, m.modelType, fold);
  const file = join(foldDir, 'predictions.csv');
  if (!existsSync(file) || !existsSync(join(foldDir, 'metadata.json')))
    throw new FvcError('ERR_FILE_NOT_FOUND', `ensemble member ${m.modelType} has no finished fold ${fold} (${file}): train it first with the same data, folds and seed`);
  const rows = new Map(readFoldPredictions(file, m.modelType).map((p) => [p.id, p.prob]));
  if (rows.size !== ids.length || ids.some((id) => !rows.has(id)))
    throw new FvcError('ERR_INVALID_DATA', `ensemble member ${m.modelType} fold ${fold} validated on other videos than this fold's (${file}): members must share the data, folds and seed`);
  return Float64Array.from(ids, (id) => rows.get(id) as number);
}

/**
 * Out-of-fold probabilities of every member for fold k's training videos: each member
 * refitted on inner folds of those videos only, with the parameters it used in fold k.
 */
async function innerOutOfFold(ctx: FoldContext<FeatureData>, members: readonly ResolvedModel[], memberData: (m: ResolvedModel) => Promise<FeatureData>) {
  const { cfg, data, fold, dir } = ctx;
  const ids = fold.train.map((i) => data.ids[i] as string);
  const labels = fold.train.map((i) => data.labels[i] as number);
  const groups = fold.train.map((i) => data.groups[i] as string);
  const nInner = Math.min(INNER_FOLDS, new Set(groups).size);
  const inner = stratifiedGroupKFold(labels, groups, nInner, cfg.seed + 1000 * fold.fold);
  const innerOf = new Int32Array(ids.length);
  for (const f of inner) for (const i of f.val) innerOf[i] = f.fold;
  const probs = members.map(() => new Float64Array(ids.length));
  const scratch = tempName(join(dir, 'inner'));
  try {
    for (const [j, m] of members.entries()) {
      const md = await memberData(m);
      const at = new Map(md.ids.map((id, i) => [id, i]));
      const missing = ids.find((id) => !at.has(id));
      if (missing !== undefined) throw new FvcError('ERR_INVALID_DATA', `stacking: member ${m.modelType} has no row for training video ${missing}: members must share the data`);
      const meta = JSON.parse(await readFile(join(modelFoldDir(cfg.outputDir, m.modelType, fold.fold), FOLD_FILES.metadata), 'utf8')) as { params?: Record<string, GridValue> };
      for (const f of inner) {
        const toMember = (rows: number[]) => rows.map((i) => at.get(ids[i] as string) as number);
        const innerFold: Fold = { fold: f.fold, train: toMember(f.train), val: toMember(f.val), balance: f.balance };
        const fitDir = join(scratch, `${m.modelType}_${f.fold}`);
        await mkdir(fitDir, { recursive: true });
        ctx.log(`${ctx.model.modelType}: fold ${fold.fold} inner fold ${f.fold}/${inner.length}: ${m.modelType} on ${f.train.length} training videos`);
        const fitted = await m.impl.fit({ model: m, cfg, log: () => undefined, params: meta.params ?? {}, data: md, fold: innerFold, dir: fitDir, ...(ctx.signal ? { signal: ctx.signal } : {}) });
        f.val.forEach((i, k) => ((probs[j] as Float64Array)[i] = fitted.probs[k] as number));
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return { ids, labels, innerOf, probs, nInner: inner.length };
}

export function ensembleModel(members: readonly ResolvedModel[], rule: EnsembleRule = 'mean'): Stage5Model<FeatureData> {
  const [first] = members;
  if (!first) throw new FvcError('ERR_INVALID_ARGUMENT', 'an ensemble needs at least one member');
  const names = members.map((m) => m.modelType);
  // Each member's own data, loaded once per run (stacking refits members).
  const loaded = new Map<string, Promise<FeatureData>>();
  return {
    resumable: false,
    // The first member's rows: the same videos, labels and groups, so the same folds.
    dataKey: async (ctx) => `ensemble:${await first.impl.dataKey({ ...ctx, model: first })}`,
    load: async (ctx) => first.impl.load({ ...ctx, model: first }) as Promise<FeatureData>,
    settings: async () => ({ members: names, rule, ...(rule === 'stack' ? { inner_folds: INNER_FOLDS, stacker: 'logistic regression on log-odds, C=1' } : {}) }),
    fit: async (ctx) => {
      const { cfg, data, fold, dir } = ctx;
      const expected = fold.val.map((i) => data.ids[i] as string);
      const val = members.map((m) => memberFoldProbs(cfg.outputDir, m, fold.fold, expected));
      await mkdir(join(dir, 'members'), { recursive: true });
      for (const m of members) await exportFoldModel(modelFoldDir(cfg.outputDir, m.modelType, fold.fold), join(dir, 'members', m.modelType), m);
      const probs = new Float64Array(expected.length);
      let stacker: Stacker | undefined;
      if (rule === 'mean') val.forEach((p) => p.forEach((v, k) => (probs[k] = (probs[k] as number) + v / members.length)));
      else {
        const memberData = (m: ResolvedModel) => {
          const key = m.modelType;
          if (!loaded.has(key)) loaded.set(key, m.impl.load({ model: m, cfg, log: ctx.log, ...(ctx.signal ? { signal: ctx.signal } : {}) }) as Promise<FeatureData>);
          return loaded.get(key) as Promise<FeatureData>;
        };
        const oof = await innerOutOfFold(ctx, members, memberData);
        const rows = oof.ids.map((_, i) => oof.probs.map((p) => p[i] as number));
        stacker = fitStacker(rows, oof.labels);
        expected.forEach(
          (_, k) =>
            (probs[k] = applyStacker(
              stacker as Stacker,
              val.map((p) => p[k] as number),
            )),
        );
        const lines = oof.ids.map((id, i) => [csvCell(id), oof.innerOf[i], oof.labels[i], ...(rows[i] as number[])].join(','));
        await writeFile(join(dir, 'stacker_training.csv'), `video_id,inner_fold,label,${names.map(csvCell).join(',')}\n${lines.join('\n')}\n`);
        ctx.log(
          `${ctx.model.modelType}: fold ${fold.fold} stacker on ${oof.ids.length} out-of-fold rows (${oof.nInner} inner folds): ${names.map((n, j) => `${n} ${stacker?.coef[j]?.toFixed(3)}`).join(', ')}, intercept ${stacker.intercept.toFixed(3)}`,
        );
      }
      const description = { rule, members: names, ...(stacker ? { stacker } : {}) };
      await writeFile(join(dir, 'ensemble.json'), `${JSON.stringify(description, null, 2)}\n`);
      return { kind: 'ensemble', file: 'ensemble.json', extraFiles: ['members'], probs, nativeParams: { rule, ...(stacker ? { stacker } : {}) }, describe: description };
    },
    predict: async (best, videos, o) => {
      const memberNames = (best.descriptor.members as string[] | undefined) ?? [];
      const stacker = best.descriptor.stacker as Stacker | undefined;
      if (best.descriptor.rule === 'stack' && !stacker) throw new FvcError('ERR_INVALID_DATA', `${join(best.dir, 'model.json')}: a stacking ensemble without its stacker`);
      const perMember: Float64Array[] = [];
      for (const name of memberNames) {
        const dir = join(best.dir, 'members', name);
        o.saved.check(dir);
        perMember.push(await o.saved.predict(dir, videos));
      }
      return Float64Array.from(videos, (_, i) => {
        const p = perMember.map((m) => m[i] as number);
        return stacker ? applyStacker(stacker, p) : p.reduce((s, v) => s + v, 0) / p.length;
      });
    },
  };
}
