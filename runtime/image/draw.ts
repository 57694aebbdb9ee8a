/**
 * Small raster drawing on 8-bit RGB canvases, enough for vitc's figures: attention heatmaps over
 * the input, position-embedding similarity grids, patch grids and loss curves. Everything clips
 * to the canvas, so callers never bounds-check. Pure: no Node APIs.
 */
import { colormapIndex, colormapTable, type ColormapName, type RGB } from './colormap.js';
import { ImageError, checkRaster, type RasterImage } from './errors.js';
import { rasterizeText, textHeight, textWidth } from './font.js';

/** An 8-bit RGB image, row-major, channels interleaved; writePng accepts it as is. */
export interface Canvas {
  width: number;
  height: number;
  channels: 3;
  data: Uint8Array;
}

export const WHITE: RGB = [255, 255, 255];
export const BLACK: RGB = [0, 0, 0];

function argError(detail: string): ImageError {
  return new ImageError('argument', '<canvas>', detail);
}

export function createCanvas(width: number, height: number, background: RGB = WHITE): Canvas {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw argError(`invalid canvas size ${width}×${height}`);
  }
  const c: Canvas = { width, height, channels: 3, data: new Uint8Array(width * height * 3) };
  fillRect(c, 0, 0, width, height, background);
  return c;
}

export function setPixel(c: Canvas, x: number, y: number, color: RGB): void {
  if (x < 0 || y < 0 || x >= c.width || y >= c.height) return;
  const o = (y * c.width + x) * 3;
  c.data[o] = color[0];
  c.data[o + 1] = color[1];
  c.data[o + 2] = color[2];
}

export function getPixel(c: Canvas, x: number, y: number): RGB {
  const o = (y * c.width + x) * 3;
  return [c.data[o]!, c.data[o + 1]!, c.data[o + 2]!];
}

export function fillRect(c: Canvas, x: number, y: number, w: number, h: number, color: RGB): void {
  const x0 = Math.max(0, x);
  const y0 = Math.max(0, y);
  const x1 = Math.min(c.width, x + w);
  const y1 = Math.min(c.height, y + h);
  for (let py = y0; py < y1; py++) for (let px = x0; px < x1; px++) setPixel(c, px, py, color);
}

/** One-pixel line between integer points (Bresenham; endpoints rounded, both included). */
export function drawLine(
  c: Canvas,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  color: RGB,
): void {
  let x = Math.round(x0);
  let y = Math.round(y0);
  const xe = Math.round(x1);
  const ye = Math.round(y1);
  const dx = Math.abs(xe - x);
  const dy = -Math.abs(ye - y);
  const sx = x < xe ? 1 : -1;
  const sy = y < ye ? 1 : -1;
  let err = dx + dy;
  for (;;) {
    setPixel(c, x, y, color);
    if (x === xe && y === ye) return;
    const e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y += sy;
    }
  }
}

/** Rectangle outline, 1 pixel wide, inside the box [x, x + w) × [y, y + h). */
export function drawRect(c: Canvas, x: number, y: number, w: number, h: number, color: RGB): void {
  drawLine(c, x, y, x + w - 1, y, color);
  drawLine(c, x, y + h - 1, x + w - 1, y + h - 1, color);
  drawLine(c, x, y, x, y + h - 1, color);
  drawLine(c, x + w - 1, y, x + w - 1, y + h - 1, color);
}

/**
 * Lines between the cells of a rows × cols grid over the box (default: the whole canvas), e.g.
 * patch boundaries over an input image. Line i sits at the first pixel of cell i, floor(i·size/n).
 */
export function drawGrid(
  c: Canvas,
  rows: number,
  cols: number,
  color: RGB,
  box = { x: 0, y: 0, width: c.width, height: c.height },
): void {
  for (let i = 1; i < cols; i++) {
    const x = box.x + Math.floor((i * box.width) / cols);
    drawLine(c, x, box.y, x, box.y + box.height - 1, color);
  }
  for (let i = 1; i < rows; i++) {
    const y = box.y + Math.floor((i * box.height) / rows);
    drawLine(c, box.x, y, box.x + box.width - 1, y, color);
  }
}

/** Text with its top-left at (x, y) in the built-in 5×7 font; returns the width drawn. */
export function drawText(
  c: Canvas,
  text: string,
  x: number,
  y: number,
  color: RGB = BLACK,
  scale = 1,
): number {
  rasterizeText(text, x, y, scale, (px, py) => setPixel(c, px, py, color));
  return textWidth(text, scale);
}

/** Copy `src` onto `dst` with its top-left at (x, y), clipped. */
export function blit(dst: Canvas, src: Canvas, x: number, y: number): void {
  for (let sy = 0; sy < src.height; sy++) {
    const dy = y + sy;
    if (dy < 0 || dy >= dst.height) continue;
    for (let sx = 0; sx < src.width; sx++) {
      const dx = x + sx;
      if (dx < 0 || dx >= dst.width) continue;
      const s = (sy * src.width + sx) * 3;
      dst.data.set(src.data.subarray(s, s + 3), (dy * dst.width + dx) * 3);
    }
  }
}

/** A decoded/preprocessed-scale image (0..255 floats) as an RGB canvas: gray replicated, alpha dropped. */
export function toCanvas(img: RasterImage): Canvas {
  checkRaster(img);
  const C = img.channels;
  const n = img.width * img.height;
  const data = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    for (let k = 0; k < 3; k++) {
      const v = img.data[p * C + (C === 1 ? 0 : k)]!;
      data[p * 3 + k] = Math.min(255, Math.max(0, Math.round(v)));
    }
  }
  return { width: img.width, height: img.height, channels: 3, data };
}

/**
 * Upscale (or resample) a small float map, e.g. a 14×14 attention map onto a 224×224 image.
 * nearest: each output pixel takes the cell it falls in (blocky, shows patch boundaries);
 * bilinear: pixel-centre sampling with edge clamping (PyTorch interpolate, align_corners=False).
 */
export function upscaleMap(
  map: ArrayLike<number>,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
  mode: 'nearest' | 'bilinear' = 'bilinear',
): Float32Array {
  if (map.length !== width * height) {
    throw argError(`map has ${map.length} values, expected ${width}×${height}`);
  }
  if (!(
    outWidth >= 1 &&
    outHeight >= 1 &&
    Number.isInteger(outWidth) &&
    Number.isInteger(outHeight)
  )) {
    throw argError(`invalid output size ${outWidth}×${outHeight}`);
  }
  const out = new Float32Array(outWidth * outHeight);
  const sx = width / outWidth;
  const sy = height / outHeight;
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      if (mode === 'nearest') {
        const ix = Math.min(width - 1, Math.floor(x * sx));
        const iy = Math.min(height - 1, Math.floor(y * sy));
        out[y * outWidth + x] = map[iy * width + ix]!;
        continue;
      }
      const fx = Math.max(0, (x + 0.5) * sx - 0.5);
      const fy = Math.max(0, (y + 0.5) * sy - 0.5);
      const x0 = Math.min(width - 1, Math.floor(fx));
      const y0 = Math.min(height - 1, Math.floor(fy));
      const x1 = Math.min(width - 1, x0 + 1);
      const y1 = Math.min(height - 1, y0 + 1);
      const ax = fx - x0;
      const ay = fy - y0;
      const top = map[y0 * width + x0]! * (1 - ax) + map[y0 * width + x1]! * ax;
      const bottom = map[y1 * width + x0]! * (1 - ax) + map[y1 * width + x1]! * ax;
      out[y * outWidth + x] = top * (1 - ay) + bottom * ay;
    }
  }
  return out;
}

/**
 * A float map as colours: (v - min) / (max - min) through the colormap. min/max default to the
 * map's own range; a constant map takes the lowest colour; NaN cells are black.
 */
export function colorize(
  map: ArrayLike<number>,
  width: number,
  height: number,
  opts: { colormap?: ColormapName; min?: number; max?: number } = {},
): Canvas {
  if (map.length !== width * height) {
    throw argError(`map has ${map.length} values, expected ${width}×${height}`);
  }
  let lo = opts.min ?? Infinity;
  let hi = opts.max ?? -Infinity;
  if (opts.min === undefined || opts.max === undefined) {
    for (let i = 0; i < map.length; i++) {
      const v = map[i]!;
      if (Number.isNaN(v)) continue;
      if (opts.min === undefined) lo = Math.min(lo, v);
      if (opts.max === undefined) hi = Math.max(hi, v);
    }
  }
  const span = hi - lo;
  const table = colormapTable(opts.colormap ?? 'viridis');
  const c = createCanvas(width, height, BLACK);
  for (let i = 0; i < map.length; i++) {
    const k = colormapIndex(span > 0 ? (map[i]! - lo) / span : Number.isNaN(map[i]!) ? NaN : 0);
    if (k >= 0) c.data.set(table.subarray(k * 3, k * 3 + 3), i * 3);
  }
  return c;
}

/** alpha · heatmap + (1 - alpha) · image, per channel, rounded; both canvases the same size. */
export function blend(heatmap: Canvas, image: Canvas, alpha: number): Canvas {
  if (heatmap.width !== image.width || heatmap.height !== image.height) {
    throw argError(
      `blend needs equal sizes, got ${heatmap.width}×${heatmap.height} and ${image.width}×${image.height}`,
    );
  }
  if (!(alpha >= 0 && alpha <= 1)) throw argError(`blend alpha must be in [0, 1], got ${alpha}`);
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i++) {
    data[i] = Math.round(alpha * heatmap.data[i]! + (1 - alpha) * image.data[i]!);
  }
  return { width: image.width, height: image.height, channels: 3, data };
}

export interface PanelGridOptions {
  /** Panels per row (default: ceil(sqrt(n))). */
  cols?: number;
  /** Pixels around and between panels (default 4). */
  margin?: number;
  background?: RGB;
  /** One label per panel, drawn above it. */
  labels?: readonly string[];
  labelColor?: RGB;
  labelScale?: number;
}

/**
 * Panels in a grid, row-major, each in a cell as large as the largest panel (panels centred in
 * their cells), with an optional label line above each panel.
 */
export function panelGrid(panels: readonly Canvas[], opts: PanelGridOptions = {}): Canvas {
  if (panels.length === 0) throw argError('panelGrid needs at least one panel');
  const cols = opts.cols ?? Math.ceil(Math.sqrt(panels.length));
  if (!Number.isInteger(cols) || cols < 1)
    throw argError(`panelGrid cols must be ≥ 1, got ${cols}`);
  const rows = Math.ceil(panels.length / cols);
  const margin = opts.margin ?? 4;
  const scale = opts.labelScale ?? 1;
  const labelH = opts.labels ? textHeight(scale) + margin : 0;
  const cellW = Math.max(...panels.map((p) => p.width));
  const cellH = Math.max(...panels.map((p) => p.height));
  const c = createCanvas(
    margin + cols * (cellW + margin),
    margin + rows * (labelH + cellH + margin),
    opts.background ?? WHITE,
  );
  panels.forEach((p, i) => {
    const x = margin + (i % cols) * (cellW + margin);
    const y = margin + Math.floor(i / cols) * (labelH + cellH + margin);
    const label = opts.labels?.[i];
    if (label !== undefined) drawText(c, label, x, y, opts.labelColor ?? BLACK, scale);
    blit(
      c,
      p,
      x + Math.floor((cellW - p.width) / 2),
      y + labelH + Math.floor((cellH - p.height) / 2),
    );
  });
  return c;
}

/**
 * Line plot of one or more series (e.g. train and eval loss per epoch) inside the box, with a
 * frame; x runs over indices 0..n-1, y over [min, max] (default: the data's range; values outside
 * are clamped to the frame). Non-finite values break the line.
 */
export function plotSeries(
  c: Canvas,
  series: readonly (readonly number[])[],
  box: { x: number; y: number; width: number; height: number },
  opts: { colors?: readonly RGB[]; min?: number; max?: number; frame?: RGB } = {},
): void {
  const finite = series.flat().filter((v) => Number.isFinite(v));
  const lo = opts.min ?? (finite.length ? Math.min(...finite) : 0);
  const hi = opts.max ?? (finite.length ? Math.max(...finite) : 1);
  const span = hi - lo || 1;
  drawRect(c, box.x, box.y, box.width, box.height, opts.frame ?? BLACK);
  const palette = opts.colors ?? [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
  ];
  series.forEach((s, k) => {
    const color = palette[k % palette.length]!;
    const px = (i: number) =>
      box.x + 1 + (s.length > 1 ? (i * (box.width - 3)) / (s.length - 1) : 0);
    const py = (v: number) =>
      box.y + 1 + ((hi - Math.min(hi, Math.max(lo, v))) * (box.height - 3)) / span;
    for (let i = 0; i < s.length; i++) {
      if (!Number.isFinite(s[i]!)) continue;
      if (i + 1 < s.length && Number.isFinite(s[i + 1]!)) {
        drawLine(c, px(i), py(s[i]!), px(i + 1), py(s[i + 1]!), color);
      } else setPixel(c, Math.round(px(i)), Math.round(py(s[i]!)), color);
    }
  });
}
