/**
 * The patch grid: how a ViT cuts its input into tokens. The image is enlarged by an integer
 * factor (nearest, so pixels stay honest), lines are drawn on patch boundaries, and optionally
 * each patch carries its index, row-major, i.e. the token number after the prefix tokens
 * (token prefix + i, with token order [cls, distill?, registers…, patches]).
 */
import {
  type Canvas,
  type RGB,
  ImageError,
  drawGrid,
  drawText,
  fillRect,
  textHeight,
  textWidth,
} from '../image/index.js';
import { scaleCanvas } from './render.js';

export interface PatchGridOptions {
  /** Draw each patch's index in its top-left corner. */
  numbers?: boolean;
  /** Integer enlargement; default: autoPatchScale. */
  scale?: number;
  lineColor?: RGB;
}

export const GRID_RED: RGB = [255, 0, 0];
const NUMBER_INK: RGB = [255, 255, 255];
const NUMBER_BOX: RGB = [0, 0, 0];

/** Pixels a patch needs per side to hold its index: 1 for the grid line, the box, 1 spare. */
function numberNeeds(count: number): { width: number; height: number } {
  return { width: textWidth(String(count - 1)) + 4, height: textHeight() + 4 };
}

/**
 * The smallest integer scale at which the longer side is at least `min` pixels and, with
 * numbers, every patch is large enough for its index.
 */
export function autoPatchScale(
  size: { width: number; height: number },
  patch: { width: number; height: number },
  numbers: boolean,
  min = 128,
): number {
  let k = Math.max(1, Math.ceil(min / Math.max(size.width, size.height)));
  if (numbers) {
    const count = (size.width / patch.width) * (size.height / patch.height);
    const need = numberNeeds(count);
    k = Math.max(k, Math.ceil(need.width / patch.width), Math.ceil(need.height / patch.height));
  }
  return k;
}

/** Whether the indices fit inside their patches at this scale. */
export function numbersFit(
  size: { width: number; height: number },
  patch: { width: number; height: number },
  scale: number,
): boolean {
  const need = numberNeeds((size.width / patch.width) * (size.height / patch.height));
  return patch.width * scale >= need.width && patch.height * scale >= need.height;
}

/**
 * The image with its patch grid. Throws ImageError('argument') unless the image divides into
 * whole patches, as a ViT's input must.
 */
export function patchGridFigure(
  image: Canvas,
  patch: { width: number; height: number },
  opts: PatchGridOptions = {},
): Canvas {
  const { width: W, height: H } = image;
  const { width: pw, height: ph } = patch;
  if (!Number.isInteger(pw) || !Number.isInteger(ph) || pw < 1 || ph < 1) {
    throw new ImageError('argument', '<patches>', `invalid patch size ${ph}×${pw}`);
  }
  if (W % pw !== 0 || H % ph !== 0) {
    throw new ImageError(
      'argument',
      '<patches>',
      `a ${H}×${W} image does not divide into ${ph}×${pw} patches`,
    );
  }
  const rows = H / ph;
  const cols = W / pw;
  const k = opts.scale ?? autoPatchScale({ width: W, height: H }, patch, opts.numbers ?? false);
  const c = scaleCanvas(image, k);
  // Copy: scaleCanvas returns its input unchanged at k = 1, and the caller's image must not change.
  const out: Canvas = k === 1 ? { ...c, data: c.data.slice() } : c;
  drawGrid(out, rows, cols, opts.lineColor ?? GRID_RED);
  if (opts.numbers) {
    for (let r = 0; r < rows; r++)
      for (let q = 0; q < cols; q++) {
        const t = String(r * cols + q);
        // Just inside the patch, after the grid line at its first pixel (none for row/col 0).
        const x = q * pw * k + 1;
        const y = r * ph * k + 1;
        fillRect(out, x, y, textWidth(t) + 2, textHeight() + 2, NUMBER_BOX);
        drawText(out, t, x + 1, y + 1, NUMBER_INK);
      }
  }
  return out;
}
