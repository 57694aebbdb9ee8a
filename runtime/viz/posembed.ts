/**
 * Position-embedding similarity, the figure of Dosovitskiy et al. 2020 (Fig. 7, centre): for each
 * patch position, the cosine similarity of its position embedding to every other patch position,
 * drawn as a rows × cols grid of small rows × cols maps. A learned embedding that has picked up
 * the 2-D structure shows a bright spot at the tile's own position fading with distance, often
 * with row and column stripes.
 */
import { sincos2dTable } from '../../compiler/ir/consts.js';
import { type Spec, patchGrid, prefixTokens } from '../../compiler/spec/types.js';
import {
  type Canvas,
  type ColormapName,
  BLACK,
  createCanvas,
  drawText,
  fillRect,
  mapColor,
  textHeight,
  textWidth,
} from '../image/index.js';

/** Position embeddings of the patch positions only, [rows · cols, dim] row-major. */
export interface PosTable {
  rows: number;
  cols: number;
  dim: number;
  values: Float64Array;
  kind: 'learned' | 'sincos2d';
}

/** The same temperature as the lowering's sincos2d const (compiler/lower/vit.ts). */
const SINCOS_TEMPERATURE = 10000;

/**
 * The patch part of the model's position embedding: a learned `pos_embed` [1, L, D] from the
 * weights (its first prefix rows skipped when it covers the prefix tokens), or the fixed sincos2d
 * table. `pos none` has nothing to show and throws.
 */
export function patchPosEmbed(spec: Spec, params?: ReadonlyMap<string, Float32Array>): PosTable {
  const { rows, cols } = patchGrid(spec);
  const P = rows * cols;
  const D = spec.width;
  if (spec.pos.kind === 'none') {
    throw new Error(`model "${spec.name}" has no position embedding (pos none)`);
  }
  if (spec.pos.kind === 'sincos2d') {
    return {
      rows,
      cols,
      dim: D,
      values: sincos2dTable(rows, cols, D, SINCOS_TEMPERATURE),
      kind: 'sincos2d',
    };
  }
  const pe = params?.get('pos_embed');
  if (!pe) throw new Error(`model "${spec.name}": the weights have no pos_embed`);
  const skip = spec.pos.prefix ? prefixTokens(spec) : 0;
  if (pe.length !== (skip + P) * D) {
    throw new Error(`pos_embed has ${pe.length} values, expected [1, ${skip + P}, ${D}]`);
  }
  return { rows, cols, dim: D, values: Float64Array.from(pe.subarray(skip * D)), kind: 'learned' };
}

/** Cosine similarity of every pair of rows of an [n, dim] table → [n, n]; a zero row gives NaN. */
export function cosineSimilarity(values: ArrayLike<number>, n: number, dim: number): Float64Array {
  if (values.length !== n * dim)
    throw new Error(`table has ${values.length} values, expected ${n}×${dim}`);
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += values[i * dim + k]! ** 2;
    norms[i] = Math.sqrt(s);
  }
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) {
      let dot = 0;
      for (let k = 0; k < dim; k++) dot += values[i * dim + k]! * values[j * dim + k]!;
      // Clamp: rounding can push |cos| a hair past 1, which would fall off the colormap.
      const c = Math.max(-1, Math.min(1, dot / (norms[i]! * norms[j]!)));
      out[i * n + j] = c;
      out[j * n + i] = c;
    }
  return out;
}

export interface SimilarityFigureOptions {
  /** Pixels per cell of a small map (default: small maps about 32 pixels wide). */
  cell?: number;
  /** White separator between small maps (default 2). */
  gap?: number;
  colormap?: ColormapName;
  /** Row and column numbers of the patch positions (default true). */
  labels?: boolean;
  /** A colour bar from −1 (bottom) to 1 (top) on the right (default true). */
  colorbar?: boolean;
}

export interface SimilarityLayout {
  width: number;
  height: number;
  /** Top-left of the small map of patch (0, 0). */
  x0: number;
  y0: number;
  cell: number;
  gap: number;
  /** Size of one small map. */
  mapWidth: number;
  mapHeight: number;
  bar?: { x: number; y: number; width: number; height: number };
}

const MARGIN = 4;
const BAR_WIDTH = 8;

export function similarityLayout(
  rows: number,
  cols: number,
  opts: SimilarityFigureOptions = {},
): SimilarityLayout {
  const cell = opts.cell ?? Math.max(1, Math.ceil(32 / Math.max(rows, cols)));
  const gap = opts.gap ?? 2;
  if (!Number.isInteger(cell) || cell < 1)
    throw new Error(`cell size must be a positive integer, got ${cell}`);
  if (!Number.isInteger(gap) || gap < 0)
    throw new Error(`gap must be a non-negative integer, got ${gap}`);
  const labels = opts.labels ?? true;
  const mapWidth = cols * cell;
  const mapHeight = rows * cell;
  const x0 = MARGIN + (labels ? textWidth(String(rows - 1)) + 3 : 0);
  const y0 = MARGIN + (labels ? textHeight() + 3 : 0);
  const gridW = cols * mapWidth + (cols - 1) * gap;
  const gridH = rows * mapHeight + (rows - 1) * gap;
  let width = x0 + gridW + MARGIN;
  let bar: SimilarityLayout['bar'];
  if (opts.colorbar ?? true) {
    bar = { x: width + 2, y: y0, width: BAR_WIDTH, height: gridH };
    width = bar.x + BAR_WIDTH + 3 + textWidth('-1') + MARGIN;
  }
  return { width, height: y0 + gridH + MARGIN, x0, y0, cell, gap, mapWidth, mapHeight, bar };
}

/**
 * The grid of similarity maps: the small map at grid position (r, c) shows row r·cols + c of
 * `sim`, i.e. how similar every patch position is to patch (r, c). Colours span [−1, 1] in
 * every map, so maps are comparable with each other and across models.
 */
export function similarityFigure(
  sim: ArrayLike<number>,
  rows: number,
  cols: number,
  opts: SimilarityFigureOptions = {},
): Canvas {
  const P = rows * cols;
  if (sim.length !== P * P)
    throw new Error(`similarity has ${sim.length} values, expected ${P}×${P}`);
  const L = similarityLayout(rows, cols, opts);
  const cmap = opts.colormap ?? 'viridis';
  const c = createCanvas(L.width, L.height);
  for (let q = 0; q < P; q++) {
    const mx = L.x0 + (q % cols) * (L.mapWidth + L.gap);
    const my = L.y0 + Math.floor(q / cols) * (L.mapHeight + L.gap);
    for (let p = 0; p < P; p++) {
      const color = mapColor((sim[q * P + p]! + 1) / 2, cmap);
      fillRect(
        c,
        mx + (p % cols) * L.cell,
        my + Math.floor(p / cols) * L.cell,
        L.cell,
        L.cell,
        color,
      );
    }
  }
  if (opts.labels ?? true) {
    // Numbers centred on each small map: column numbers above, row numbers to the left.
    for (let j = 0; j < cols; j++) {
      const t = String(j);
      const x = L.x0 + j * (L.mapWidth + L.gap) + Math.floor((L.mapWidth - textWidth(t)) / 2);
      drawText(c, t, x, MARGIN, BLACK);
    }
    for (let i = 0; i < rows; i++) {
      const t = String(i);
      const y = L.y0 + i * (L.mapHeight + L.gap) + Math.floor((L.mapHeight - textHeight()) / 2);
      drawText(c, t, L.x0 - 3 - textWidth(t), y, BLACK);
    }
  }
  if (L.bar) {
    const { x, y, width, height } = L.bar;
    for (let k = 0; k < height; k++) {
      // Top row is +1, bottom row −1.
      const t = height > 1 ? 1 - k / (height - 1) : 1;
      fillRect(c, x, y + k, width, 1, mapColor(t, cmap));
    }
    const tx = x + width + 3;
    drawText(c, '1', tx, y, BLACK);
    drawText(c, '0', tx, y + Math.floor((height - textHeight()) / 2), BLACK);
    drawText(c, '-1', tx, y + height - textHeight(), BLACK);
  }
  return c;
}
