/**
 * What Stage 1 may do to a video, and the draw of one copy's parameters. Every
 * draw comes from a generator seeded by (seed, the video's path as listed, copy
 * number), so a copy does not change when other videos are added, removed or
 * processed in another order.
 */
import { createHash } from 'node:crypto';
import { FvcError } from '../errors.js';
import type { AugmentParams } from '../native/binding.js';
import { Rng } from '../util/rng.js';

export const TRANSFORMS = ['hflip', 'crop', 'rotate', 'color_jitter', 'blur', 'noise', 'recompress', 'fps', 'frame_drop'] as const;
export type TransformName = (typeof TRANSFORMS)[number];

export interface AugmentPolicy {
  /** Transforms that may be drawn (default: all). */
  transforms?: readonly TransformName[];
  /** Chance that each allowed transform is applied to a copy (default 0.5); every copy gets at least one. */
  probability?: number;
  /** x264 CRF of copies not drawn for re-compression (default 18: visually lossless, so only the drawn transforms show). */
  crf?: number;
  preset?: string;
}

export interface DrawnAugmentation {
  /** Applied transforms joined by '+', e.g. "hflip+blur+fps". */
  name: string;
  params: AugmentParams;
}

/** The ranges drawn from; chosen to stay label-preserving (a fake still looks fake). */
export const RANGES = {
  cropScale: [0.8, 0.95],
  rotateDeg: 10,
  brightness: 0.2,
  contrast: 0.2,
  saturation: 0.2,
  hue: 0.03,
  blurSigma: [0.5, 1.5],
  noiseSigma: [2, 8],
  recompressCrf: [28, 36],
  fpsScale: [0.5, 2 / 3, 0.8],
  dropProb: [0.03, 0.1],
} as const;

export function parseTransforms(list: string): TransformName[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = names.filter((n) => !(TRANSFORMS as readonly string[]).includes(n));
  if (bad.length) throw new FvcError('ERR_INVALID_ARGUMENT', `transforms: unknown ${bad.map((b) => `'${b}'`).join(', ')} (known: ${TRANSFORMS.join(', ')})`);
  if (!names.length) throw new FvcError('ERR_INVALID_ARGUMENT', 'transforms: none given');
  return names as TransformName[];
}

export function copySeed(seed: number, videoKey: string, copy: number): number {
  const h = createHash('sha256').update(`${seed}\0${videoKey}\0${copy}`).digest();
  return h.readUInt32LE(0) + 2 ** 32 * (h.readUInt32LE(4) & 0x1fffff); // 53 bits: exact in a JS number
}

export function drawAugmentation(policy: AugmentPolicy, seed: number): DrawnAugmentation {
  const allowed = policy.transforms ?? TRANSFORMS;
  const p = policy.probability ?? 0.5;
  if (!(p >= 0 && p <= 1)) throw new FvcError('ERR_INVALID_ARGUMENT', `probability: ${p} is not in [0, 1]`);
  if (!allowed.length) throw new FvcError('ERR_INVALID_ARGUMENT', 'transforms: none allowed');
  const rng = new Rng(seed % 2 ** 32);
  let chosen = allowed.filter(() => rng.next() < p);
  if (!chosen.length) chosen = [rng.pick(allowed)];
  const params: AugmentParams = { seed, crf: policy.crf ?? 18, ...(policy.preset ? { preset: policy.preset } : {}) };
  const sym = (r: number) => rng.range(1 - r, 1 + r);
  for (const t of chosen) {
    switch (t) {
      case 'hflip':
        params.hflip = true;
        break;
      case 'crop':
        params.cropScale = rng.range(...RANGES.cropScale);
        params.cropX = rng.next();
        params.cropY = rng.next();
        break;
      case 'rotate': {
        // At least a degree either way, so a drawn rotation is visible.
        const mag = rng.range(1, RANGES.rotateDeg);
        params.rotateDeg = rng.next() < 0.5 ? -mag : mag;
        break;
      }
      case 'color_jitter':
        params.brightness = sym(RANGES.brightness);
        params.contrast = sym(RANGES.contrast);
        params.saturation = sym(RANGES.saturation);
        params.hue = rng.range(-RANGES.hue, RANGES.hue);
        break;
      case 'blur':
        params.blurSigma = rng.range(...RANGES.blurSigma);
        break;
      case 'noise':
        params.noiseSigma = rng.range(...RANGES.noiseSigma);
        break;
      case 'recompress':
        params.crf = rng.int(...RANGES.recompressCrf);
        break;
      case 'fps':
        params.fpsScale = rng.pick(RANGES.fpsScale);
        break;
      case 'frame_drop':
        params.dropProb = rng.range(...RANGES.dropProb);
        break;
    }
  }
  const name = TRANSFORMS.filter((t) => chosen.includes(t)).join('+');
  return { name, params };
}
