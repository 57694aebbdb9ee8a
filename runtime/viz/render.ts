/**
 * Drawing shared by the model pictures: the model's input shown as the image it saw (the
 * preprocessed tensor with the normalization undone), integer upscaling so that a 28-pixel input
 * is still visible, and a float map over the patch grid blended as a heatmap over that image.
 * Pure: canvases in, canvases out; the CLI writes them with writePng.
 */
import type { Spec } from '../../compiler/spec/types.js';
import {
  type Canvas,
  type ColormapName,
  ImageError,
  blend,
  colorize,
  panelGrid,
  upscaleMap,
} from '../image/index.js';

/**
 * A preprocessed [C, H, W] tensor (as preprocessImage returns it) back to 8-bit pixels:
 * x · std + mean, times 255, rounded. Gray is replicated into RGB; a 4th channel is dropped.
 */
export function denormalize(
  chw: ArrayLike<number>,
  spec: Pick<Spec, 'image' | 'preprocess'>,
): Canvas {
  const { height: H, width: W, channels: C } = spec.image;
  if (chw.length !== C * H * W) {
    throw new ImageError(
      'argument',
      '<tensor>',
      `tensor has ${chw.length} values, expected ${C}×${H}×${W}`,
    );
  }
  const data = new Uint8Array(H * W * 3);
  for (let p = 0; p < H * W; p++)
    for (let k = 0; k < 3; k++) {
      const c = C >= 3 ? k : 0;
      const v = (chw[c * H * W + p]! * spec.preprocess.std[c]! + spec.preprocess.mean[c]!) * 255;
      data[p * 3 + k] = Math.min(255, Math.max(0, Math.round(v)));
    }
  return { width: W, height: H, channels: 3, data };
}

/** Each pixel becomes a k × k block (nearest), so small inputs stay crisp when enlarged. */
export function scaleCanvas(c: Canvas, k: number): Canvas {
  if (!Number.isInteger(k) || k < 1)
    throw new ImageError('argument', '<canvas>', `scale must be a positive integer, got ${k}`);
  if (k === 1) return c;
  const W = c.width * k;
  const H = c.height * k;
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const s = (Math.floor(y / k) * c.width + Math.floor(x / k)) * 3;
      data.set(c.data.subarray(s, s + 3), (y * W + x) * 3);
    }
  return { width: W, height: H, channels: 3, data };
}

/** The smallest integer factor that makes the longer side at least `min` pixels (≥ 1). */
export function autoScale(width: number, height: number, min = 112): number {
  return Math.max(1, Math.ceil(min / Math.max(width, height)));
}

export interface OverlayOptions {
  /** Weight of the heatmap in the blend (default 0.6). */
  alpha?: number;
  colormap?: ColormapName;
  /** Bilinear upsampling of the map; default nearest, which keeps patch boundaries visible. */
  smooth?: boolean;
  /** Colour range; defaults to the map's own min..max, so each panel uses the full colormap. */
  min?: number;
  max?: number;
}

/**
 * A rows × cols map (row-major, e.g. one value per patch) stretched over the image and blended:
 * alpha · colormap((v − min) / (max − min)) + (1 − alpha) · image.
 */
export function heatmapOverlay(
  image: Canvas,
  map: ArrayLike<number>,
  rows: number,
  cols: number,
  opts: OverlayOptions = {},
): Canvas {
  let lo = opts.min ?? Infinity;
  let hi = opts.max ?? -Infinity;
  for (let i = 0; i < map.length; i++) {
    if (opts.min === undefined) lo = Math.min(lo, map[i]!);
    if (opts.max === undefined) hi = Math.max(hi, map[i]!);
  }
  // Normalize before upsampling: bilinear values stay inside [lo, hi], so the colours do not
  // depend on the interpolation.
  const up = upscaleMap(
    map,
    cols,
    rows,
    image.width,
    image.height,
    opts.smooth ? 'bilinear' : 'nearest',
  );
  const heat = colorize(up, image.width, image.height, {
    colormap: opts.colormap ?? 'inferno',
    min: lo,
    max: hi,
  });
  return blend(heat, image, opts.alpha ?? 0.6);
}

export interface MapPanel {
  /** rows · cols values over the patch grid; absent: the plain image. */
  map?: ArrayLike<number>;
  label: string;
}

/**
 * Labelled panels in a grid of `panelCols` per row (default: one row up to 5 panels, else a
 * square-ish grid): each the image (upscaled by `scale`) with its map blended over it.
 */
export function overlayFigure(
  image: Canvas,
  panels: readonly MapPanel[],
  grid: { rows: number; cols: number },
  opts: OverlayOptions & { scale?: number; panelCols?: number } = {},
): Canvas {
  const base = scaleCanvas(image, opts.scale ?? autoScale(image.width, image.height));
  const canvases = panels.map((p) =>
    p.map ? heatmapOverlay(base, p.map, grid.rows, grid.cols, opts) : base,
  );
  const n = canvases.length;
  const cols = opts.panelCols ?? (n <= 5 ? n : Math.ceil(Math.sqrt(n)));
  return panelGrid(canvases, { cols, labels: panels.map((p) => p.label), margin: FIGURE_MARGIN });
}

/** Margin around and between panels of overlayFigure (panelGrid's layout, for tests and docs). */
export const FIGURE_MARGIN = 6;
