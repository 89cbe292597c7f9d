/**
 * An ensemble of trained Stage 5 models (the seed's train_ensemble): fold k's
 * P(fake) is the mean of the members' fold-k validation probabilities, so no member
 * ever saw the fold it is scored on, and nothing is fitted on them. Members train
 * first, in the same run or an earlier one into the same folder with the same folds
 * (checked video by video). best_model/ carries the members' models of the best fold
 * and predicts with each, then averages.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FvcError } from '../../errors.js';
import { parseCsv } from '../../util/csv.js';
import type { FeatureData } from '../dataset.js';
import { exportFoldModel } from '../best-model.js';
import type { Stage5Model } from '../model.js';
import { loadModel, predictVideos } from '../predict.js';
import type { ResolvedModel } from '../registry.js';

export function ensembleModel(members: readonly ResolvedModel[]): Stage5Model<FeatureData> {
  const [first] = members;
  if (!first) throw new FvcError('ERR_INVALID_ARGUMENT', 'an ensemble needs at least one member');
  return {
    resumable: false,
    // The first member's rows: the same videos, labels and groups, so the same folds.
    dataKey: async (ctx) => `ensemble:${await first.impl.dataKey({ ...ctx, model: first })}`,
    load: async (ctx) => first.impl.load({ ...ctx, model: first }) as Promise<FeatureData>,
    settings: async () => ({ members: members.map((m) => m.modelType), rule: 'mean' }),
    fit: async ({ cfg, data, fold, dir }) => {
      const expected = fold.val.map((i) => data.ids[i] as string);
      const probs = new Float64Array(expected.length);
      await mkdir(join(dir, 'members'), { recursive: true });
      for (const m of members) {
        const foldDir = join(cfg.outputDir, m.modelType, `fold_${fold.fold}`);
        const file = join(foldDir, 'predictions.csv');
        if (!existsSync(file) || !existsSync(join(foldDir, 'metadata.json')))
          throw new FvcError('ERR_FILE_NOT_FOUND', `ensemble member ${m.modelType} has no finished fold ${fold.fold} (${file}): train it first with the same data, folds and seed`);
        const rows = new Map(parseCsv(readFileSync(file, 'utf8')).map((r) => [r.id as string, Number(r.prob)]));
        if (rows.size !== expected.length || expected.some((id) => !rows.has(id)))
          throw new FvcError('ERR_INVALID_DATA', `ensemble member ${m.modelType} fold ${fold.fold} validated on other videos than this fold's (${file}): members must share the data, folds and seed`);
        expected.forEach((id, k) => (probs[k] = (probs[k] as number) + (rows.get(id) as number) / members.length));
        await exportFoldModel(foldDir, join(dir, 'members', m.modelType), m);
      }
      await writeFile(join(dir, 'ensemble.json'), `${JSON.stringify({ rule: 'mean', members: members.map((m) => m.modelType) }, null, 2)}\n`);
      return { kind: 'ensemble', file: 'ensemble.json', extraFiles: ['members'], probs, nativeParams: { rule: 'mean' }, describe: { members: members.map((m) => m.modelType), rule: 'mean' } };
    },
    predict: async (best, videos, o) => {
      const names = (best.descriptor.members as string[] | undefined) ?? [];
      const sum = new Float64Array(videos.length);
      for (const name of names) {
        const dir = join(best.dir, 'members', name);
        loadModel(dir); // refuses a member this version cannot apply, naming it
        const p = await predictVideos(dir, videos, o);
        p.forEach((x, i) => (sum[i] = (sum[i] as number) + x.prob / names.length));
      }
      return sum;
    },
  };
}
