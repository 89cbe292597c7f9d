/**
 * The deep training request's scalar options, declared once on this side: the run
 * configuration's `deep` keys (type, default, range, through `deepTrainShape`), the
 * native request's type (`DeepTrainOptions`) and the `fvc train` flags
 * (ts/cli/deep-train-flags.ts) all come from this table. The native core declares the
 * same table in cpp/torch/deep.h (FVC_DEEP_TRAIN_OPTIONS); test/native-contract.test.ts
 * holds the two equal, so a new option is a line here, a line there and its use in
 * cpp/torch/trainer.cpp.
 */
import { z } from 'zod';

interface NumberField {
  type: 'int' | 'number';
  default: number;
  min: number;
  max: number;
  /** Not sent unless set (the native default stands for "as another option"). */
  optional?: true;
  doc: string;
}
interface BoolField {
  type: 'bool';
  default: boolean;
  min: 0;
  max: 1;
  doc: string;
}
export type DeepTrainField = NumberField | BoolField;

export const DEEP_TRAIN_FIELDS = {
  epochs: { type: 'int', default: 20, min: 1, max: 100000, doc: 'training epochs per fold' },
  batchSize: { type: 'int', default: 8, min: 1, max: 65536, doc: 'clips per optimiser step (the effective batch)' },
  microBatch: { type: 'int', default: 0, min: 0, max: 65536, optional: true, doc: 'clips per forward pass; smaller than the batch accumulates gradients (0 or unset: the batch)' },
  lrBackbone: { type: 'number', default: 5e-6, min: 0, max: 10, doc: 'learning rate of pretrained layers' },
  lrHead: { type: 'number', default: 5e-4, min: 0, max: 10, doc: 'learning rate of the head, and of every layer when training from scratch' },
  weightDecay: { type: 'number', default: 1e-4, min: 0, max: 10, doc: 'AdamW weight decay (transformers: none on norms, biases, position embeddings and class tokens)' },
  layerDecay: { type: 'number', default: 1, min: 1e-6, max: 1, doc: "transformers: BEiT's layer-wise learning-rate decay, block i of L at layerDecay^(L + 1 - i), e.g. 0.75 (1: off)" },
  gradientCheckpointing: { type: 'bool', default: false, min: 0, max: 1, doc: 'transformers: recompute each block in the backward pass (less memory, more time)' },
  warmupEpochs: { type: 'int', default: 2, min: 0, max: 100000, doc: 'epochs of linear learning-rate warmup before the cosine decay' },
  maxGradNorm: { type: 'number', default: 1, min: 1e-6, max: 1e9, doc: 'gradients clipped to this global norm' },
  patience: { type: 'int', default: 5, min: 1, max: 100000, doc: 'epochs without a better validation AUC (loss when validation has one class) before stopping early' },
  classWeights: { type: 'bool', default: true, min: 0, max: 1, doc: 'weight the loss by inverse class frequency' },
  mixedPrecision: { type: 'bool', default: true, min: 0, max: 1, doc: 'bf16 autocast when training on CUDA (CPU always runs float32)' },
  loaderThreads: { type: 'int', default: 2, min: 1, max: 256, doc: 'threads decoding and augmenting clips while the model trains' },
  labelSmoothing: { type: 'number', default: 0, min: 0, max: 1, doc: "the training loss's label smoothing, as PyTorch's CrossEntropyLoss(label_smoothing); validation losses stay unsmoothed" },
  syncBatchNorm: {
    type: 'bool',
    default: false,
    min: 0,
    max: 1,
    doc: "data-parallel folds: batch norm with the statistics of every rank's clips, as PyTorch's SyncBatchNorm (default: each rank's own, as DDP)",
  },
} as const satisfies Record<string, DeepTrainField>;

type Fields = typeof DEEP_TRAIN_FIELDS;
export type DeepTrainKey = keyof Fields;
type Value<F> = F extends { type: 'bool' } ? boolean : number;
type Optional<F> = F extends { optional: true } ? true : false;

/** The options as the run configuration holds them after its defaults (an optional one may be absent). */
export type DeepTrainOptions = { [K in DeepTrainKey as Optional<Fields[K]> extends true ? never : K]: Value<Fields[K]> } & {
  [K in DeepTrainKey as Optional<Fields[K]> extends true ? K : never]?: Value<Fields[K]>;
};

type Shape = {
  [K in DeepTrainKey]: Optional<Fields[K]> extends true ? z.ZodOptional<z.ZodNumber> : z.ZodDefault<Fields[K] extends { type: 'bool' } ? z.ZodBoolean : z.ZodNumber>;
};

function schemaOf(f: DeepTrainField): z.ZodType {
  if (f.type === 'bool') return z.boolean().default(f.default).describe(f.doc);
  const n = (f.type === 'int' ? z.number().int() : z.number()).min(f.min).max(f.max).describe(f.doc);
  return 'optional' in f ? n.optional() : n.default(f.default);
}

/** The zod fields of the run configuration's `deep` block that the native trainer reads. */
export const deepTrainShape = Object.fromEntries(Object.entries(DEEP_TRAIN_FIELDS).map(([k, f]) => [k, schemaOf(f)])) as unknown as Shape;

/** The declared fields as test/native-contract.test.ts compares them with the native core's. */
export const deepTrainFieldList = (): Array<{ name: string; type: string; default: number | boolean; min: number; max: number }> =>
  Object.entries(DEEP_TRAIN_FIELDS).map(([name, f]) => ({ name, type: f.type, default: f.default, min: f.min, max: f.max }));
