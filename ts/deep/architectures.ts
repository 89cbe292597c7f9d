/**
 * The deep video models of the native engine (LibTorch): what they are, their
 * sizes, and their logits for one clip, so a weight port can be checked against
 * the library it came from.
 */
import { native, type ModelScale, type NativeLogits, type NativeModelDescription } from '../native/binding.js';
import { setTorchThreads } from '../runtime.js';

export type { ModelScale };

/** Which Stage 5 model an architecture serves is the catalogue's to say (train/catalogue.ts stage5IdOf), not the engine's. */
export interface DeepModelDescription extends NativeModelDescription {
  numClasses: number;
}

export async function describeDeepModels(o: { models?: string[]; numClasses?: number; scale?: ModelScale; threads?: number } = {}): Promise<DeepModelDescription[]> {
  if (o.threads) setTorchThreads(o.threads);
  const numClasses = o.numClasses ?? 2;
  const list = await native.describeModels({ ...(o.models ? { models: o.models } : {}), numClasses, ...o.scale });
  return list.map((d) => ({ ...d, numClasses }));
}

export interface LogitsOptions {
  model: string;
  /** float32 .npy [C, T, H, W] (or a batch [B, C, T, H, W]), taken as the model's input as is. */
  input: string;
  /** .safetensors state dict with torchvision / PyTorchVideo names; without it the model's seeded initialisation. */
  weights?: string;
  numClasses?: number;
  scale?: ModelScale;
  seed?: number;
  threads?: number;
  /** 'embedding': the model's feature-extraction row per clip instead of its logits. */
  output?: 'logits' | 'embedding';
  /** With one label per clip: every parameter's gradient of the mean cross-entropy (eval mode), written as .safetensors. */
  gradients?: { labels: number[]; out: string };
}

/** Eval-mode logits (or embeddings) of the model for the clip(s): [B, numClasses]. */
export async function modelLogits(o: LogitsOptions): Promise<NativeLogits & { rows: number[][] }> {
  if (o.threads) setTorchThreads(o.threads);
  const r = await native.modelLogits({
    model: o.model,
    input: o.input,
    ...(o.weights ? { weights: o.weights } : {}),
    numClasses: o.numClasses ?? 2,
    seed: o.seed ?? 0,
    ...o.scale,
    ...(o.output ? { output: o.output } : {}),
    ...(o.gradients ? { labels: o.gradients.labels, gradients: o.gradients.out } : {}),
  });
  const k = r.shape[1] ?? 1;
  const rows = Array.from({ length: r.shape[0] ?? 0 }, (_, i) => Array.from(r.logits.subarray(i * k, (i + 1) * k)));
  return { ...r, rows };
}
