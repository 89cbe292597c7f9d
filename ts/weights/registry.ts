/**
 * Published weights for fvc's architectures, by name, as torchvision's weights enums
 * and torch.hub know them: where each file is, how to check it, what input it was
 * trained with and under which terms. `arch:name` (r2plus1d_18:kinetics400) names one.
 *
 * Hashes: torchvision publishes the first hex digits of each file's SHA-256 in its
 * name (torch.hub's HASH_REGEX `-([a-f0-9]*)\.`), and fvc checks them as torch.hub
 * does; PyTorchVideo publishes none, so fvc records the SHA-256 of what it downloaded
 * and says once that it was not checked; so do timm (model.safetensors, whose names the
 * native loader maps to torchvision's) and the TimeSformer authors. Weights of an image
 * ViT also initialise the video transformers built on the same ViT (`architectures`).
 */
import { FvcError } from '../errors.js';
import type { InputPreset } from '../native/binding.js';
import { suggest } from '../util/suggest.js';

/** The input the weights were trained with: frames, frame size and crop where they matter, and the normalisation. */
export type WeightsPreset = Partial<Pick<InputPreset, 'numFrames' | 'cropSize' | 'frameSize'>> & Pick<InputPreset, 'mean' | 'std'>;

export interface PublishedWeights {
  /** `architecture:name`. */
  id: string;
  architecture: string;
  /** Other fvc architectures these weights initialise (the video transformers on the same ViT). */
  architectures?: readonly string[];
  name: string;
  url: string;
  /** The file's full SHA-256, where the publisher gives it. */
  sha256?: string;
  /** The leading hex digits of its SHA-256, where that is all that is published (torchvision's file names). */
  sha256Prefix?: string;
  preset: WeightsPreset;
  classes: string;
  licence: string;
  publisher: string;
}

const TV = 'https://download.pytorch.org/models/';
const TIMM = 'https://huggingface.co/timm/';
const PTV = 'https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics/';
const KINETICS_TV: WeightsPreset = { frameSize: 128, cropSize: 112, mean: [0.43216, 0.394666, 0.37645], std: [0.22803, 0.22145, 0.216989] };
const IMAGENET: Pick<WeightsPreset, 'mean' | 'std'> = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
const PTV_NORM: Pick<WeightsPreset, 'mean' | 'std'> = { mean: [0.45, 0.45, 0.45], std: [0.225, 0.225, 0.225] };
const TV_LICENCE = 'BSD-3-Clause (torchvision); the training data keeps its own terms';
const PTV_LICENCE = 'Apache-2.0 (PyTorchVideo); the training data keeps its own terms';
// timm's ViT preset: mean and std 0.5, bicubic resize to 224 / crop_pct 0.9 = 248, crop 224.
const TIMM_VIT: WeightsPreset = { frameSize: 248, cropSize: 224, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
/** The video transformers built on a ViT of one size (suffix '' for B/16, '_s16', '_ti16'). */
const onVit = (suffix: string) => ['vit_gru', 'vit_transformer', 'timesformer', 'vivit'].map((m) => `${m}${suffix}`);

/** torchvision's file names carry the hash prefix: the part after the last '-' before the extension. */
const torchvision = (architecture: string, name: string, file: string, preset: WeightsPreset, classes: string, architectures?: readonly string[]): PublishedWeights => ({
  id: `${architecture}:${name}`,
  architecture,
  ...(architectures ? { architectures } : {}),
  name,
  url: `${TV}${file}`,
  sha256Prefix: /-([a-f0-9]+)\./.exec(file)?.[1] as string,
  preset,
  classes,
  licence: TV_LICENCE,
  publisher: 'torchvision',
});

const pytorchvideo = (architecture: string, file: string, preset: Omit<WeightsPreset, 'mean' | 'std'>): PublishedWeights => ({
  id: `${architecture}:kinetics400`,
  architecture,
  name: 'kinetics400',
  url: `${PTV}${file}`,
  preset: { ...preset, ...PTV_NORM },
  classes: 'Kinetics-400 (400 classes)',
  licence: PTV_LICENCE,
  publisher: 'PyTorchVideo',
});

/** timm's ViT (ImageNet-21k, fine-tuned on ImageNet-1k): one model.safetensors per repository, no published hash. */
const timmVit = (architecture: string, suffix: string, repository: string): PublishedWeights => ({
  id: `${architecture}:${repository.slice(repository.indexOf('.') + 1)}`,
  architecture,
  architectures: onVit(suffix),
  name: repository.slice(repository.indexOf('.') + 1),
  url: `${TIMM}${repository}/resolve/main/model.safetensors`,
  preset: TIMM_VIT,
  classes: 'ImageNet-1k (1000 classes), pretrained on ImageNet-21k',
  licence: 'Apache-2.0 (timm); the training data keeps its own terms',
  publisher: 'timm',
});

const BUILT_IN: readonly PublishedWeights[] = [
  torchvision('r3d_18', 'kinetics400', 'r3d_18-b3b3357e.pth', { numFrames: 16, ...KINETICS_TV }, 'Kinetics-400 (400 classes)'),
  torchvision('mc3_18', 'kinetics400', 'mc3_18-a90a0ba3.pth', { numFrames: 16, ...KINETICS_TV }, 'Kinetics-400 (400 classes)'),
  torchvision('r2plus1d_18', 'kinetics400', 'r2plus1d_18-91a641e6.pth', { numFrames: 16, ...KINETICS_TV }, 'Kinetics-400 (400 classes)'),
  torchvision('inception_v3', 'imagenet1k', 'inception_v3_google-0cc3c7bd.pth', { frameSize: 342, cropSize: 299, ...IMAGENET }, 'ImageNet-1k (1000 classes; the file holds AuxLogits.*)'),
  torchvision('vit_b_16', 'imagenet1k', 'vit_b_16-c867db91.pth', { frameSize: 256, cropSize: 224, ...IMAGENET }, 'ImageNet-1k (1000 classes)', onVit('')),
  torchvision('vit_b_16', 'swag_e2e', 'vit_b_16_swag-9ac1b537.pth', { frameSize: 384, cropSize: 384, ...IMAGENET }, 'ImageNet-1k, SWAG end to end (384 px, 577 positions)', onVit('')),
  torchvision('vit_b_16', 'swag_linear', 'vit_b_16_lc_swag-4e70ced5.pth', { frameSize: 224, cropSize: 224, ...IMAGENET }, 'ImageNet-1k, SWAG linear classifier', onVit('')),
  timmVit('vit_b_16', '', 'vit_base_patch16_224.augreg2_in21k_ft_in1k'),
  timmVit('vit_s_16', '_s16', 'vit_small_patch16_224.augreg_in21k_ft_in1k'),
  timmVit('vit_ti_16', '_ti16', 'vit_tiny_patch16_224.augreg_in21k_ft_in1k'),
  {
    id: 'timesformer:kinetics400',
    architecture: 'timesformer',
    name: 'kinetics400',
    // The authors' README link, asking Dropbox for the file itself (dl=1) rather than its page.
    url: 'https://www.dropbox.com/s/g5t24we9gl5yk88/TimeSformer_divST_8x32_224_K400.pyth?dl=1',
    preset: { numFrames: 8, frameSize: 256, cropSize: 224, ...PTV_NORM },
    classes: 'Kinetics-400 (400 classes); divided space-time attention, 8 frames at 224 px',
    licence: 'CC BY-NC 4.0 (TimeSformer): non-commercial use only; the training data keeps its own terms',
    publisher: 'TimeSformer (Facebook Research)',
  },
  pytorchvideo('i3d_r50', 'I3D_8x8_R50.pyth', { numFrames: 8, frameSize: 256, cropSize: 224 }),
  pytorchvideo('x3d_xs', 'X3D_XS.pyth', { numFrames: 4, frameSize: 182, cropSize: 160 }),
  pytorchvideo('x3d_s', 'X3D_S.pyth', { numFrames: 13, frameSize: 182, cropSize: 160 }),
  pytorchvideo('x3d_m', 'X3D_M.pyth', { numFrames: 16, frameSize: 256, cropSize: 224 }),
  pytorchvideo('slowfast_r50', 'SLOWFAST_8x8_R50.pyth', { numFrames: 32, frameSize: 256, cropSize: 224 }),
];

const added: PublishedWeights[] = [];

/** Every entry: the built-in ones, then those a project registered. */
export const allWeights = (): readonly PublishedWeights[] => [...BUILT_IN, ...added];

/**
 * Adds weights a project publishes itself (a lab's own checkpoints on an internal
 * server), checked like the built-in ones; the id must be new.
 */
export function registerWeights(entry: Omit<PublishedWeights, 'id'>): PublishedWeights {
  const id = `${entry.architecture}:${entry.name}`;
  if (!/^[a-z0-9_]+$/.test(entry.name)) throw new FvcError('ERR_INVALID_ARGUMENT', `registerWeights: name '${entry.name}': use lower-case letters, digits and '_'`);
  if (allWeights().some((w) => w.id === id)) throw new FvcError('ERR_INVALID_ARGUMENT', `registerWeights: ${id} is taken`);
  if (!entry.sha256 && !entry.sha256Prefix) throw new FvcError('ERR_INVALID_ARGUMENT', `registerWeights: ${id} needs its sha256`);
  if (entry.sha256 && !/^[a-f0-9]{64}$/.test(entry.sha256)) throw new FvcError('ERR_INVALID_ARGUMENT', `registerWeights: ${id}: sha256 must be 64 lower-case hex digits`);
  const w = { ...entry, id };
  added.push(w);
  return w;
}

/** Whether the weights initialise an fvc architecture: their own, or one built on the same backbone. */
export const initialises = (w: PublishedWeights, architecture: string): boolean => w.architecture === architecture || (w.architectures ?? []).includes(architecture);

/**
 * A registry reference: `arch:name`, or a bare name given for a known architecture
 * (its own weights first, then those of its backbone: `vit_gru=augreg2_in21k_ft_in1k`).
 */
export function findWeights(ref: string, architecture?: string): PublishedWeights | undefined {
  const id = ref.includes(':') ? ref : architecture ? `${architecture}:${ref}` : ref;
  const own = allWeights().find((w) => w.id === id);
  if (own || ref.includes(':') || !architecture) return own;
  return allWeights().find((w) => w.name === ref && initialises(w, architecture));
}

/** Like findWeights, but a miss is an error with the names that exist. */
export function weightsByName(ref: string, architecture?: string): PublishedWeights {
  const found = findWeights(ref, architecture);
  if (found) return found;
  const id = ref.includes(':') ? ref : architecture ? `${architecture}:${ref}` : ref;
  const close = suggest(
    id,
    allWeights().map((w) => w.id),
  );
  throw new FvcError(
    'ERR_INVALID_ARGUMENT',
    `weights '${id}': not a published name${close.length ? `; did you mean ${close.map((c) => `'${c}'`).join(' or ')}?` : ''} (fvc weights list shows them; a file path or an https:// URL with #sha256=... works too)`,
  );
}

/** A reference that looks like a registry name rather than a path: `arch:name` with no slash or dot. */
export const looksLikeName = (ref: string) => /^[a-z0-9_]+:[a-z0-9_]+$/.test(ref);
