/**
 * "Fake" footage: the source graph of a real clip with a manipulation that leaves
 * the kinds of traces deepfake detectors look for, applied to a face-sized region.
 * Each takes [src] and produces [v].
 */
import type { Rng } from '../util/rng.js';

export const MANIPULATIONS = ['blend_patch', 'warp', 'resample', 'flicker', 'double_compression', 'lag'] as const;
export type Manipulation = (typeof MANIPULATIONS)[number];
/**
 * What a corpus's fakes are made with unless asked otherwise: every manipulation but
 * `lag`, which only motion features see (schema 3) and which would change every
 * existing corpus's draws; ask for it by name.
 */
export const DEFAULT_MANIPULATIONS: readonly Manipulation[] = ['blend_patch', 'warp', 'resample', 'flicker', 'double_compression'];

export interface Region {
  w: number;
  h: number;
  x: number;
  y: number;
}

const even = (v: number) => Math.max(2, 2 * Math.round(v / 2));
const fixed = (v: number, digits = 3) => v.toFixed(digits);

/** A face-sized box (taller than wide) near the centre. */
export function faceRegion(rng: Rng, width: number, height: number): Region {
  const w = even(Math.min(width, height) * rng.range(0.3, 0.45));
  const h = Math.min(even(w * rng.range(1.1, 1.3)), even(height * 0.9));
  const x = Math.round((width - w) / 2 + rng.range(-0.15, 0.15) * width);
  const y = Math.round((height - h) / 2 + rng.range(-0.1, 0.1) * height);
  return { w, h, x: Math.min(Math.max(0, x), width - w), y: Math.min(Math.max(0, y), height - h) };
}

export interface ManipulationSpec {
  /** Filtergraph from [src] to [v]. */
  graph: string;
  /** CRF of a first, low-quality encode before the final one; set only for double compression. */
  firstPassCrf?: number;
}

/**
 * `strength` scales how far each manipulation moves the pixels from the real clip
 * (1: the default, subtle traces). The random draws are the same at any strength, so
 * corpora that differ only in strength hold the same clips with fainter or plainer traces.
 */
export function manipulationGraph(kind: Manipulation, rng: Rng, width: number, height: number, strength = 1): ManipulationSpec {
  const r = faceRegion(rng, width, height);
  // A deviation from the identity value `at`, scaled by strength and kept in [lo, hi].
  const scaled = (v: number, at: number, lo: number, hi: number) => (strength === 1 ? v : Math.min(hi, Math.max(lo, at + (v - at) * strength)));
  const crop = `crop=${r.w}:${r.h}:${r.x}:${r.y}`;
  switch (kind) {
    case 'blend_patch': {
      // A donor patch from elsewhere in the frame, colour-shifted and softened,
      // pasted with a feathered edge: the classic face-swap boundary.
      const dx = Math.max(0, Math.min(width - r.w, r.x + rng.int(-r.w, r.w)));
      const dy = Math.max(0, Math.min(height - r.h, r.y + rng.int(-r.h / 2, r.h / 2)));
      const feather = Math.max(2, Math.round(r.w * 0.12));
      const brightness = scaled(rng.range(-0.08, 0.08), 0, -1, 1);
      const saturation = scaled(rng.range(0.7, 1.3), 1, 0, 3);
      const hue = Math.round(scaled(rng.int(-20, 20), 0, -180, 180));
      const sigma = scaled(rng.range(0.8, 2.2), 0, 0.1, 64);
      return {
        graph:
          `[src]split[base][donor];[donor]crop=${r.w}:${r.h}:${dx}:${dy},` +
          `eq=brightness=${fixed(brightness)}:saturation=${fixed(saturation)},hue=h=${hue},` +
          `gblur=sigma=${fixed(sigma)},format=yuva420p,` +
          `geq=lum='lum(X,Y)':cb='cb(X,Y)':cr='cr(X,Y)':a='255*min(1,min(min(X,W-1-X),min(Y,H-1-Y))/${feather})'[patch];` +
          `[base][patch]overlay=${r.x}:${r.y}:format=auto,format=yuv420p[v]`,
      };
    }
    case 'warp': {
      const k1 = scaled(rng.range(-0.35, 0.35), 0, -1, 1);
      const k2 = scaled(rng.range(-0.2, 0.2), 0, -1, 1);
      const dx = Math.round(scaled(rng.int(-3, 3), 0, -r.w, r.w));
      const dy = Math.round(scaled(rng.int(-3, 3), 0, -r.h, r.h));
      return {
        graph: `[src]split[base][face];[face]${crop},lenscorrection=k1=${fixed(k1)}:k2=${fixed(k2)}[patch];` + `[base][patch]overlay=${r.x + dx}:${r.y + dy}[v]`,
      };
    }
    case 'resample': {
      const factor = scaled(rng.range(2.5, 5), 1, 1, Math.min(r.w, r.h) / 2);
      return {
        graph:
          `[src]split[base][face];[face]${crop},scale=${even(r.w / factor)}:${even(r.h / factor)}:flags=area,` +
          `scale=${r.w}:${r.h}:flags=${rng.pick(['neighbor', 'bilinear'])}[patch];[base][patch]overlay=${r.x}:${r.y}[v]`,
      };
    }
    case 'flicker': {
      const period = rng.pick([2, 3, 4, 6]);
      const brightness = scaled(rng.range(0.05, 0.14), 0, -1, 1);
      const contrast = scaled(rng.range(0.85, 1.15), 1, 0, 4);
      return {
        graph:
          `[src]split[base][face];[face]${crop},eq=brightness=${fixed(brightness)}:contrast=${fixed(contrast)}[patch];` +
          `[base][patch]overlay=${r.x}:${r.y}:enable='lt(mod(n,${period}),${Math.max(1, Math.floor(period / 2))})'[v]`,
      };
    }
    case 'lag': {
      // The same clip 0.2-0.5 s earlier or later inside a face-sized region, nothing else
      // changed: colour, noise and sharpness match, only the motion is out of step. Where
      // the shifted clip has no frame (its first or last seconds) the region is the original.
      const shift = Math.max(0.04, scaled(rng.range(0.2, 0.5), 0, 0, 10));
      const timing = rng.pick(['earlier', 'later']) === 'later' ? `setpts=PTS+${fixed(shift)}/TB` : `trim=start=${fixed(shift)},setpts=PTS-STARTPTS`;
      return { graph: `[src]split[base][face];[face]${timing},${crop}[patch];[base][patch]overlay=${r.x}:${r.y}:eof_action=pass[v]` };
    }
    case 'double_compression':
      // The final pass encodes at CRF 23: strength scales the first pass's distance from it.
      return { graph: `[src]null[v]`, firstPassCrf: Math.round(scaled(rng.int(36, 44), 23, 0, 51)) };
  }
}
