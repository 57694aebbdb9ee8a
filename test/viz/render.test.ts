// Heatmap overlays and figures: pixels of tiny known maps, through a PNG written and read back.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type Canvas,
  createCanvas,
  getPixel,
  mapColor,
  writePng,
} from '../../runtime/image/index.js';
import {
  FIGURE_MARGIN,
  autoScale,
  denormalize,
  heatmapOverlay,
  overlayFigure,
  scaleCanvas,
} from '../../runtime/viz/render.js';

const tmp = mkdtempSync(join(tmpdir(), 'vitc-viz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const VIRIDIS_0 = [68, 1, 84]; // matplotlib viridis(0.0) = #440154
// viridis(1.0) = (0.9932, 0.9062, 0.1439); matplotlib's 8-bit table truncates 36.7 to 36.
const VIRIDIS_1 = [253, 231, 36];

function readPng(path: string): {
  width: number;
  height: number;
  px: (x: number, y: number) => number[];
} {
  const png = PNG.sync.read(readFileSync(path));
  return {
    width: png.width,
    height: png.height,
    px: (x, y) =>
      Array.from(png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 3)),
  };
}

/** A 4 × 2 gray image: left half 0, right half 200. */
function grayImage(): Canvas {
  const c = createCanvas(4, 2, [0, 0, 0]);
  for (let y = 0; y < 2; y++)
    for (let x = 2; x < 4; x++) c.data.set([200, 200, 200], (y * 4 + x) * 3);
  return c;
}

describe('heatmap overlay', () => {
  it('blends the colormap over the image, one patch per map cell', async () => {
    // A 1 × 2 map [0.1, 0.3] over 4 × 2 pixels: left patch at the colormap's low end, right at
    // its high end. alpha 0.5: pixel = round(.5·colour + .5·image).
    const over = heatmapOverlay(grayImage(), [0.1, 0.3], 1, 2, { alpha: 0.5, colormap: 'viridis' });
    await writePng(join(tmp, 'overlay.png'), over);
    const r = readPng(join(tmp, 'overlay.png'));
    expect([r.width, r.height]).toEqual([4, 2]);
    const left = VIRIDIS_0.map((v) => Math.round(0.5 * v));
    const right = VIRIDIS_1.map((v) => Math.round(0.5 * v + 100));
    for (const y of [0, 1]) {
      expect(r.px(0, y)).toEqual(left);
      expect(r.px(1, y)).toEqual(left);
      expect(r.px(2, y)).toEqual(right);
      expect(r.px(3, y)).toEqual(right);
    }
  });

  it('uses a given range instead of the map’s own', () => {
    const over = heatmapOverlay(grayImage(), [0.5, 0.5], 1, 2, {
      alpha: 1,
      colormap: 'viridis',
      min: 0,
      max: 1,
    });
    // 0.5 → table index floor(0.5·256) = 128.
    expect(getPixel(over, 0, 0)).toEqual(mapColor(0.5, 'viridis'));
  });

  it('smooth (bilinear) stays within the colours of the two cells', () => {
    const over = heatmapOverlay(createCanvas(8, 1, [0, 0, 0]), [0, 1], 1, 2, {
      alpha: 1,
      colormap: 'gray',
      smooth: true,
    });
    const row = Array.from({ length: 8 }, (_, x) => getPixel(over, x, 0)[0]);
    // Pixel centres at (x + .5)/4 − .5 in cell units: 0, 0, .125, .375, .625, .875, 1, 1 → gray floor(t·256).
    expect(row).toEqual([0, 0, 32, 96, 160, 224, 255, 255]);
  });
});

describe('figures', () => {
  it('upscales by whole pixels and picks a scale of at least 112 pixels', () => {
    const c = scaleCanvas(grayImage(), 3);
    expect([c.width, c.height]).toEqual([12, 6]);
    expect(getPixel(c, 5, 5)).toEqual([0, 0, 0]);
    expect(getPixel(c, 6, 0)).toEqual([200, 200, 200]);
    expect(autoScale(28, 28)).toBe(4);
    expect(autoScale(224, 224)).toBe(1);
  });

  it('undoes the normalization of a preprocessed tensor', () => {
    const spec = {
      image: { height: 1, width: 2, channels: 1 },
      preprocess: { mean: [0.5], std: [0.25], interpolation: 'bilinear' as const, crop: 1 },
    };
    // (x · .25 + .5) · 255: −2 → 0, 1 → 191.25 → 191.
    const c = denormalize(Float32Array.from([-2, 1]), spec);
    expect(Array.from(c.data)).toEqual([0, 0, 0, 191, 191, 191]);
    expect(() => denormalize(new Float32Array(3), spec)).toThrow(/3 values, expected 1×1×2/);
  });

  it('lays out the image and labelled maps side by side', async () => {
    const fig = overlayFigure(
      grayImage(),
      [{ label: 'image' }, { map: [0, 1], label: 'layer 0' }],
      { rows: 1, cols: 2 },
      { alpha: 1, colormap: 'viridis', scale: 2 },
    );
    await writePng(join(tmp, 'fig.png'), fig);
    const r = readPng(join(tmp, 'fig.png'));
    const m = FIGURE_MARGIN;
    const labelH = 7 + m;
    // Two 8 × 4 panels: width m + 2·(8 + m), height m + labelH + 4 + m.
    expect([r.width, r.height]).toEqual([m + 2 * (8 + m), m + labelH + 4 + m]);
    const y = m + labelH;
    expect(r.px(m, y)).toEqual([0, 0, 0]); // image panel, left half
    expect(r.px(m + 7, y + 3)).toEqual([200, 200, 200]); // image panel, right half
    const x2 = m + 8 + m;
    expect(r.px(x2, y)).toEqual(VIRIDIS_0); // map panel, cell 0
    expect(r.px(x2 + 7, y + 3)).toEqual(VIRIDIS_1); // map panel, cell 1
    // The label is drawn in black above each panel ("I" of "image": its top bar at x+1..x+3).
    expect(r.px(m + 1, m)).toEqual([0, 0, 0]);
    expect(r.px(m, m + 7)).toEqual([255, 255, 255]);
  });
});
