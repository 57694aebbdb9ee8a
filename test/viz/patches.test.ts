// The patch-grid figure on small synthetic images: grid lines on patch boundaries, numbers in the
// corner of each patch, scale choice.
import { describe, expect, it } from 'vitest';
import { type Canvas, createCanvas, getPixel } from '../../runtime/image/index.js';
import {
  GRID_RED,
  autoPatchScale,
  numbersFit,
  patchGridFigure,
} from '../../runtime/viz/patches.js';

const GRAY: [number, number, number] = [100, 100, 100];

describe('patch grid', () => {
  it('draws lines on patch boundaries of an 8 × 4 image cut into 4 × 2 patches', () => {
    const img = createCanvas(8, 4, GRAY);
    const fig = patchGridFigure(img, { width: 2, height: 2 }, { scale: 1 });
    expect([fig.width, fig.height]).toEqual([8, 4]);
    // Vertical lines at x = 2, 4, 6; one horizontal line at y = 2; nothing else changes.
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 8; x++) {
        const line = x === 2 || x === 4 || x === 6 || y === 2;
        expect(getPixel(fig, x, y), `(${x}, ${y})`).toEqual(line ? [...GRID_RED] : GRAY);
      }
    expect(getPixel(img, 2, 0)).toEqual(GRAY); // the input is not drawn on
  });

  it('scales by whole pixels: lines at multiples of patch · scale', () => {
    const img = createCanvas(4, 4, GRAY);
    img.data.set([10, 20, 30], 0); // pixel (0, 0)
    const fig = patchGridFigure(img, { width: 2, height: 2 }, { scale: 3 });
    expect([fig.width, fig.height]).toEqual([12, 12]);
    expect(getPixel(fig, 2, 2)).toEqual([10, 20, 30]); // pixel (0, 0) → a 3 × 3 block
    expect(getPixel(fig, 3, 3)).toEqual(GRAY);
    expect(getPixel(fig, 6, 0)).toEqual([...GRID_RED]);
    expect(getPixel(fig, 5, 0)).toEqual(GRAY);
    expect(getPixel(fig, 0, 6)).toEqual([...GRID_RED]);
  });

  it('writes row-major patch numbers in white on black in each corner', () => {
    // 2 × 2 patches of 12 pixels: "0" "1" / "2" "3".
    const fig = patchGridFigure(
      createCanvas(24, 24, GRAY),
      { width: 12, height: 12 },
      { scale: 1, numbers: true },
    );
    // Box of patch 0 at (1, 1), 7 × 9; the digit at (2, 2). "0" row 0 is '.###.': ink at x 3..5.
    expect(getPixel(fig, 1, 1)).toEqual([0, 0, 0]);
    expect(getPixel(fig, 2, 2)).toEqual([0, 0, 0]);
    expect(getPixel(fig, 3, 2)).toEqual([255, 255, 255]);
    expect(getPixel(fig, 8, 1)).toEqual(GRAY); // right of the box
    // Patch 3 starts at (12, 12): its box at (13, 13), "3" row 0 is '#####': ink at x 14..18.
    expect(getPixel(fig, 13, 13)).toEqual([0, 0, 0]);
    expect(getPixel(fig, 14, 14)).toEqual([255, 255, 255]);
    expect(getPixel(fig, 18, 14)).toEqual([255, 255, 255]);
    // Patch 1 starts at (12, 0): digit at (14, 2); "1" row 0 is '..#..': ink only at x 16.
    expect(getPixel(fig, 16, 2)).toEqual([255, 255, 255]);
    expect(getPixel(fig, 15, 2)).toEqual([0, 0, 0]);
  });

  it('chooses a scale that fits the numbers and a visible size', () => {
    // 28 × 28 with 4-pixel patches (49 patches, "48" is 11 pixels wide → 15 needed): scale 5 for
    // 140 pixels ≥ 128, and 4·5 = 20 ≥ 15.
    expect(autoPatchScale({ width: 28, height: 28 }, { width: 4, height: 4 }, true)).toBe(5);
    // 224 with 16-pixel patches: "195" is 17 pixels wide → 21 needed → scale 2.
    expect(autoPatchScale({ width: 224, height: 224 }, { width: 16, height: 16 }, true)).toBe(2);
    expect(autoPatchScale({ width: 224, height: 224 }, { width: 16, height: 16 }, false)).toBe(1);
    expect(numbersFit({ width: 224, height: 224 }, { width: 16, height: 16 }, 1)).toBe(false);
  });

  it('refuses an image that does not divide into patches', () => {
    const img: Canvas = createCanvas(10, 8);
    expect(() => patchGridFigure(img, { width: 4, height: 4 })).toThrow(
      /8×10 image does not divide into 4×4 patches/,
    );
  });
});
