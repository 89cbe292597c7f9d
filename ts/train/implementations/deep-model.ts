/**
 * Deep video models trained end to end (5c, 5d, 5e, 5o-5u): frame-cache clips
 * sampled as the architecture's preset says (run settings override it), the
 * native trainer per fold, the fold's checkpoint for prediction.
 */
import { faceCrop } from '../../video/faces.js';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { FrameCache } from '../../cache/frame-cache.js';
import { architectureInfo, samplingFor, type Sampling } from '../../deep/presets.js';
import { predictDeepClips, trainDeepFold, type DeepOptions } from '../../deep/train.js';
import { FvcError } from '../../errors.js';
import type { FlowMethod } from '../../native/binding.js';
import { resolveDevice } from '../../runtime.js';
import { mapPool } from '../../util/pool.js';
import { cacheSampling, loadClipData } from '../clips.js';
import { selectionSplit } from '../folds.js';
import type { TrainConfig } from '../config.js';
import type { ModelContext, Stage5Model } from '../model.js';
import { architectureFor, weightsFileFor, type ModelSpec } from '../catalogue.js';
import { publishedSampling, weightsSource } from '../../weights/preset.js';

/** The weights file configured for an architecture or model, if any. */
export const weightsFor = (cfg: TrainConfig, architecture: string, spec: ModelSpec): string | undefined => weightsFileFor(cfg.deep.weights, architecture, spec);

/** The run's sampling settings, each overriding the architecture's preset where set. */
export function samplingOverrides(cfg: TrainConfig): Partial<Sampling> {
  const { numFrames } = cfg;
  const { cropSize, frameSize } = cfg.deep;
  return { ...(numFrames ? { numFrames } : {}), ...(cropSize ? { cropSize } : {}), ...(frameSize ? { frameSize } : {}) };
}

/**
 * The trainer's options for one architecture: the run's settings over the preset of
 * its published weights (when it starts from them) over the architecture's preset.
 */
export async function deepOptionsFor(cfg: TrainConfig, spec: ModelSpec, architecture: string): Promise<DeepOptions & { flowMethod: FlowMethod }> {
  const { width, depth, weights: _all, architectures: _a, randomInit: _r, extractBatchSize: _e, cropSize: _c, frameSize: _f, faces: askedFaces, innerValidation: _i, ...rest } = cfg.deep;
  const weights = weightsFor(cfg, architecture, spec);
  const sampling = await samplingFor(architecture, { ...(weights ? await publishedSampling(weights, architecture) : {}), ...samplingOverrides(cfg) });
  const faces = askedFaces ? await faceCrop(askedFaces, 'deep.faces') : undefined;
  return { ...rest, ...sampling, scale: { width, depth }, ...(weights ? { weights } : {}), ...(faces ? { faces } : {}) };
}

async function resolved({ cfg, model }: ModelContext) {
  const architecture = architectureFor(model.spec, cfg.deep.architectures);
  const [options, info] = await Promise.all([deepOptionsFor(cfg, model.spec, architecture), architectureInfo(architecture)]);
  return { architecture, options, layout: info.layout };
}

/**
 * `pretrained`: the model is defined by its pretrained backbone (5d), so training it
 * from random weights needs deep.randomInit; the others train from scratch by default.
 */
export function deepModel(o: { pretrained?: boolean } = {}): Stage5Model {
  return {
    resumable: true,
    checkDevice: ({ cfg }) => void resolveDevice(cfg.device),
    dataKey: async (ctx) => {
      const { options, layout } = await resolved(ctx);
      return `clips:${layout}:${options.numFrames}:${options.frameSize}${options.faces ? `:faces:${JSON.stringify(options.faces)}` : ''}`;
    },
    load: async (ctx) => {
      const { options, layout } = await resolved(ctx);
      return loadClipData(ctx.cfg, ctx.log, options, layout);
    },
    settings: async (ctx) => {
      const { architecture, options } = await resolved(ctx);
      if (o.pretrained && !options.weights && !ctx.cfg.deep.randomInit)
        throw new FvcError(
          'ERR_INVALID_ARGUMENT',
          `${ctx.model.modelType}: a pretrained model needs its backbone's weights (deep.weights / --weights ${architecture}=FILE, e.g. torchvision's .pth); train it from random weights only by asking for it (deep.randomInit / --random-init)`,
        );
      return {
        architecture,
        deep: options,
        ...(o.pretrained && !options.weights ? { backbone_weights: 'random initialisation (asked for)' } : {}),
        ...(options.weights ? { weights_source: weightsSource(options.weights) } : {}),
        ...(ctx.cfg.deep.innerValidation ? { inner_validation: ctx.cfg.deep.innerValidation } : {}),
      };
    },
    fit: async (ctx) => {
      const { model, data, fold, dir, cfg, log, signal, onEpoch, onBatch } = ctx;
      const { architecture, options } = await resolved(ctx);
      const clip = (i: number) => ({ npy: data.clips?.[i] as string, label: data.labels[i] as number, ...(data.flows ? { flow: data.flows[i] as string } : {}) });
      const inner = cfg.deep.innerValidation;
      // With an inner split, the epochs' validation columns are the selection split's.
      const { fit, select } = inner ? selectionSplit(fold.train, data.labels, data.groups, inner, cfg.seed + fold.fold) : { fit: fold.train, select: fold.val };
      if (inner)
        log(
          `${model.modelType}: fold ${fold.fold}: ${select.length} of its ${fold.train.length} training videos pick the best epoch (deep.innerValidation ${inner}); its ${fold.val.length} held-out videos only score it`,
        );
      const valName = inner ? 'select' : 'val';
      const r = await trainDeepFold({
        architecture,
        train: fit.map(clip),
        val: select.map(clip),
        outDir: dir,
        options,
        seed: cfg.seed + fold.fold,
        threads: cfg.threads,
        device: deviceOf(cfg),
        resume: cfg.resume,
        onEpoch: (e) => {
          log(
            `${model.modelType}: fold ${fold.fold} epoch ${e.epoch}/${cfg.deep.epochs} train_loss ${e.train_loss.toFixed(4)} ${valName}_loss ${e.val_loss.toFixed(4)} ${valName}_auc ${e.val_auc?.toFixed(4) ?? 'n/a'}${e.best ? ' (best)' : ''} data wait ${(e.data_wait * 100).toFixed(1)}% (${e.seconds.toFixed(1)} s)`,
          );
          onEpoch?.(e);
        },
        ...(onBatch ? { onBatch } : {}),
        ...(signal ? { signal } : {}),
      });
      if (r.resumedFrom) log(`${model.modelType}: fold ${fold.fold} resumed after epoch ${r.resumedFrom}`);
      // The optimiser's groups say what layer-wise decay and the weight-decay exemptions did.
      const paramGroups = r.paramGroups.map((g) => ({ lr: g.lr, weight_decay: g.weightDecay, tensors: g.names.length }));
      const nativeParams = {
        architecture,
        parameters: r.parameters,
        best_epoch: r.bestEpoch,
        stopped_early: r.stoppedEarly,
        param_groups: paramGroups,
        ...options,
        ...(inner ? { inner_validation: { fraction: inner, videos: select.map((i) => data.ids[i] as string) } } : {}),
      };
      // The held-out videos, scored once by the epoch the selection split picked (model.pt).
      const probs = inner ? await predictDeepClips({ architecture, checkpoint: join(dir, 'model.pt'), clips: fold.val.map(clip), options, threads: cfg.threads, device: deviceOf(cfg) }) : r.valProbs;
      return { kind: 'torch', file: 'model.pt', nativeParams, probs, epochs: r.epochs, describe: { architecture, deep: options } };
    },
    predict: async (best, videos, o) => {
      const { architecture, deep } = best.descriptor as { architecture?: string; deep?: DeepOptions & { flowMethod?: FlowMethod } };
      if (!architecture || !deep)
        throw new FvcError('ERR_INVALID_DATA', `${join(best.dir, 'model.json')}: a deep model's descriptor needs its architecture and deep options (retrain with this version of fvc)`);
      const { layout } = await architectureInfo(architecture);
      const cache = new FrameCache(o.frameCacheDir);
      const clips = await mapPool(videos, availableParallelism(), async (video) => {
        // Face crops are cut as in training: the settings travel in the descriptor.
        const faces = deep.faces ? await faceCrop(deep.faces, `${join(best.dir, 'model.json')}: deep.faces`) : undefined;
        const e = await cache.get(video, cacheSampling(layout, deep.numFrames, deep.frameSize, faces));
        return { npy: e.npyPath, label: 0, ...(layout === 'rgb+flow' ? { flow: await cache.flow(e, deep.flowMethod ?? 'dis') } : {}) };
      });
      return predictDeepClips({ architecture, checkpoint: best.modelFile, clips, options: deep, threads: o.threads, device: o.device });
    },
  };
}

/** The device deep work runs on; resolving 'auto' loads the addon, so it happens at fit time. */
export const deviceOf = (cfg: TrainConfig) => resolveDevice(cfg.device);
