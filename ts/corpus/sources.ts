/**
 * Procedural "real" footage: ffmpeg lavfi sources with seeded parameters. Each
 * returns a filtergraph whose output pad is [src].
 */
import type { Rng } from '../util/rng.js';

export const SOURCE_KINDS = ['testsrc2', 'mandelbrot', 'life', 'cellauto', 'gradients', 'shapes'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

export interface SourceSpec {
  kind: SourceKind;
  width: number;
  height: number;
  fps: number;
  duration: number;
  graph: string;
}

const hex = (rng: Rng) => rng.int(0, 0xffffff).toString(16).padStart(6, '0');
const fixed = (v: number, digits = 3) => v.toFixed(digits);

/**
 * A source's filtergraph, ending in [src]: always opaque yuv420p (what the encoder
 * keeps anyway), because fakes overlay patches of it and overlay blends by the patch's
 * alpha; gradients, for one, renders RGBA with alpha near 0, which drew patches invisible.
 */
export function sourceGraph(kind: SourceKind, rng: Rng, width: number, height: number, fps: number, duration: number): string {
  return `${sourceChain(kind, rng, width, height, fps, duration)},format=yuv420p[src]`;
}

function sourceChain(kind: SourceKind, rng: Rng, width: number, height: number, fps: number, duration: number): string {
  const size = `s=${width}x${height}:r=${fps}`;
  switch (kind) {
    case 'testsrc2':
      return `testsrc2=${size},hue=h=${rng.int(0, 359)}:s=${fixed(rng.range(0.6, 1.4))}`;
    case 'mandelbrot':
      return (
        `mandelbrot=${size}:maxiter=${rng.int(64, 160)}:start_x=${fixed(-0.7436 + rng.range(-0.02, 0.02), 6)}` +
        `:start_y=${fixed(0.1318 + rng.range(-0.02, 0.02), 6)}:start_scale=${fixed(rng.range(1.5, 3))}` +
        `:end_scale=${fixed(rng.range(0.05, 0.4))}:end_pts=${Math.round(duration * fps)}:inner=${rng.pick(['black', 'period', 'convergence', 'mincol'])}`
      );
    case 'life':
      return (
        `life=${size}:ratio=${fixed(rng.range(0.1, 0.45))}:seed=${rng.int(0, 2 ** 31 - 1)}:mold=${rng.int(0, 40)}` +
        `:life_color=#${hex(rng)}:death_color=#${hex(rng)}:mold_color=#${hex(rng)},gblur=sigma=${fixed(rng.range(0.3, 1.2))}`
      );
    case 'cellauto':
      return (
        `cellauto=${size}:rule=${rng.pick([18, 30, 45, 73, 90, 110, 126, 150])}:random_fill_ratio=${fixed(rng.range(0.2, 0.8))}` +
        `:random_seed=${rng.int(0, 2 ** 31 - 1)}:scroll=1,format=yuv420p,eq=gamma_r=${fixed(rng.range(0.6, 1.6))}:gamma_b=${fixed(rng.range(0.6, 1.6))}`
      );
    case 'gradients':
      return (
        `gradients=${size}:c0=0x${hex(rng)}:c1=0x${hex(rng)}:c2=0x${hex(rng)}:nb_colors=3:seed=${rng.int(0, 2 ** 31 - 1)}` + `:speed=${fixed(rng.range(0.01, 0.06))},noise=alls=${rng.int(2, 8)}:allf=t`
      );
    case 'shapes': {
      const sw = 2 * Math.round((rng.range(0.15, 0.3) * width) / 2);
      const sh = 2 * Math.round((rng.range(0.15, 0.3) * height) / 2);
      const x0 = rng.int(0, width - sw);
      const y0 = rng.int(0, height - sh);
      return (
        `color=c=0x${hex(rng)}:${size},noise=alls=${rng.int(8, 30)}:allf=t+u[bg];` +
        `color=c=0x${hex(rng)}:s=${sw}x${sh}:r=${fps}[fg];` +
        `[bg][fg]overlay=x='${x0}+${fixed(rng.range(10, width / 4), 1)}*sin(${fixed(rng.range(0.5, 3))}*t)'` +
        `:y='${y0}+${fixed(rng.range(5, height / 4), 1)}*cos(${fixed(rng.range(0.5, 3))}*t)'`
      );
    }
  }
}
