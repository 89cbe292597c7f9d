/**
 * Vega-Lite spec -> SVG (Vega's headless renderer) -> PNG (resvg), with no browser.
 * resvg draws no text unless given font files, so DejaVu Sans (fonts-dejavu-core)
 * is passed explicitly and named in every spec's config.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FvcError } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';

export const FONT_FAMILY = 'DejaVu Sans';
const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'];

// `any` at this boundary only: Vega-Lite's TopLevelSpec type is a deep union that
// the plot builders would otherwise have to satisfy literally.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Spec = Record<string, any>;

function fontFiles(): string[] {
  const dirs = [process.env.FVC_FONT_DIR, '/usr/share/fonts/truetype/dejavu'].filter((d): d is string => Boolean(d));
  for (const d of dirs) {
    const files = FONT_FILES.map((f) => join(d, f)).filter(existsSync);
    if (files.length) return files;
  }
  throw new FvcError('ERR_FILE_NOT_FOUND', `DejaVu Sans not found in ${dirs.join(' or ')}: install fonts-dejavu-core or set FVC_FONT_DIR to a folder holding DejaVuSans.ttf`);
}

/** The shared look: the font, white background, room at the edges. */
export function withTheme(spec: Spec): Spec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    padding: 12,
    ...spec,
    config: { font: FONT_FAMILY, title: { fontSize: 14 }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11 }, ...(spec.config ?? {}) },
  };
}

export async function renderSvg(spec: Spec): Promise<string> {
  const [vl, vega] = await Promise.all([import('vega-lite'), import('vega')]);
  // Vega-Lite's warnings (e.g. merged sort orders) are about layout choices it resolves itself.
  const quiet = {
    level: () => quiet,
    error: (...m: unknown[]) => {
      throw new Error(m.join(' '));
    },
    warn: () => quiet,
    info: () => quiet,
    debug: () => quiet,
  };
  const compiled = vl.compile(withTheme(spec) as Parameters<typeof vl.compile>[0], { logger: quiet as never }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Renders at 2x for sharp text and writes the PNG atomically. */
export async function renderPng(spec: Spec, path: string): Promise<void> {
  const svg = await renderSvg(spec);
  const { Resvg } = await import('@resvg/resvg-js');
  const png = new Resvg(svg, { font: { fontFiles: fontFiles(), loadSystemFonts: false, defaultFontFamily: FONT_FAMILY }, fitTo: { mode: 'zoom', value: 2 }, background: 'white' }).render().asPng();
  await writeFileAtomic(path, png);
}
