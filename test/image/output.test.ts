import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ImageError,
  blend,
  colorize,
  colormapTable,
  createCanvas,
  decodeImage,
  drawGrid,
  drawLine,
  drawText,
  encodePng,
  getPixel,
  glyph,
  mapColor,
  panelGrid,
  plotSeries,
  textWidth,
  toCanvas,
  toImage8,
  upscaleMap,
  writePng,
  type Canvas,
  type Image8,
} from '../../runtime/image/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'vitc-png-'));

function ink(c: Canvas, bg = [255, 255, 255]): number {
  let n = 0;
  for (let i = 0; i < c.width * c.height; i++) {
    if (c.data[i * 3] !== bg[0] || c.data[i * 3 + 1] !== bg[1] || c.data[i * 3 + 2] !== bg[2]) n++;
  }
  return n;
}

describe('PNG writing', () => {
  it('round-trips 1 to 4 channels through the file system', async () => {
    for (const channels of [1, 2, 3, 4] as const) {
      const img: Image8 = {
        width: 5,
        height: 3,
        channels,
        data: Uint8Array.from({ length: 15 * channels }, (_, i) => (i * 53 + channels) % 256),
      };
      const p = join(tmp, `rt-${channels}.png`);
      await writePng(p, img);
      const back = decodeImage(p);
      expect([back.width, back.height]).toEqual([5, 3]);
      // Gray+alpha decodes as RGBA (gray replicated), the others channel for channel.
      const expected =
        channels === 2
          ? Array.from({ length: 15 }, (_, p) => [
              img.data[p * 2]!,
              img.data[p * 2]!,
              img.data[p * 2]!,
              img.data[p * 2 + 1]!,
            ]).flat()
          : Array.from(img.data);
      expect(Array.from(back.data)).toEqual(expected);
    }
    // The temp files were renamed away, not left behind.
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('overwrites atomically and reports unwritable paths as VITC0510', async () => {
    const p = join(tmp, 'over.png');
    await writePng(p, { width: 1, height: 1, channels: 1, data: Uint8Array.of(10) });
    await writePng(p, { width: 1, height: 1, channels: 1, data: Uint8Array.of(200) });
    expect(decodeImage(p).data[0]).toBe(200);
    const bad = join(tmp, 'no-such-dir', 'x.png');
    await expect(
      writePng(bad, { width: 1, height: 1, channels: 1, data: Uint8Array.of(0) }),
    ).rejects.toThrow(
      new RegExp(
        `^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: error VITC0510: cannot write PNG: ENOENT`,
      ),
    );
  });

  it('rejects inconsistent buffers', () => {
    expect(() =>
      encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(5) }, 'a.png'),
    ).toThrow(/^a\.png: error VITC0509: pixel buffer has 5 bytes, expected 2×2×3/);
    expect(() =>
      toImage8({ width: 1, height: 1, channels: 1, data: Float32Array.of(300.4) }),
    ).not.toThrow();
    expect(
      Array.from(
        toImage8({ width: 2, height: 1, channels: 1, data: Float32Array.of(300.4, 12.5) }).data,
      ),
    ).toEqual([255, 13]);
  });
});

describe('colormaps (matplotlib 8-bit tables)', () => {
  it('viridis and inferno endpoints and midpoint', () => {
    expect(mapColor(0, 'viridis')).toEqual([68, 1, 84]);
    expect(mapColor(1, 'viridis')).toEqual([253, 231, 36]);
    expect(mapColor(0, 'inferno')).toEqual([0, 0, 3]);
    expect(mapColor(1, 'inferno')).toEqual([252, 254, 164]);
    // t = 0.5 → index floor(0.5·256) = 128 (matplotlib); entry 128 of viridis is (32,144,140).
    expect(mapColor(0.5, 'viridis')).toEqual([32, 144, 140]);
    expect(mapColor(-3, 'viridis')).toEqual([68, 1, 84]);
    expect(mapColor(Number.NaN)).toEqual([0, 0, 0]);
    expect(colormapTable('gray').subarray(300, 303)).toEqual(Uint8Array.of(100, 100, 100));
  });

  it('colorize scales to the map range', () => {
    const c = colorize([0, 5, 10], 3, 1, { colormap: 'viridis' });
    expect(getPixel(c, 0, 0)).toEqual([68, 1, 84]);
    expect(getPixel(c, 1, 0)).toEqual([32, 144, 140]);
    expect(getPixel(c, 2, 0)).toEqual([253, 231, 36]);
    expect(getPixel(colorize([4, 4], 2, 1), 1, 0)).toEqual([68, 1, 84]); // constant map
  });
});

describe('bitmap font', () => {
  it('renders known glyphs pixel for pixel', () => {
    const c = createCanvas(20, 9);
    expect(drawText(c, '-', 1, 1)).toBe(5);
    expect(ink(c)).toBe(5); // '-' is one row of five
    for (let x = 1; x <= 5; x++) expect(getPixel(c, x, 4)).toEqual([0, 0, 0]); // row 3 of the glyph
    const d = createCanvas(20, 9);
    drawText(d, '1:', 0, 0, [255, 0, 0]);
    expect(ink(d)).toBe(10 + 8); // '1' has 10 ink pixels, ':' has 8
    expect(getPixel(d, 2, 0)).toEqual([255, 0, 0]); // top of the 1's stem
    expect(getPixel(d, 7, 1)).toEqual([255, 0, 0]); // ':' starts at x = 6, upper dot at (1..2, 1..2)
  });

  it('scales, measures, upper-cases and substitutes unknown characters', () => {
    expect(textWidth('ab', 2)).toBe(22); // (2·6 - 1)·2
    expect(textWidth('')).toBe(0);
    expect(glyph('a')).toEqual(glyph('A'));
    expect(glyph('€')).toEqual(glyph('?'));
    const c = createCanvas(12, 16);
    drawText(c, '.', 0, 0, [0, 0, 0], 2);
    expect(ink(c)).toBe(4 * 4); // the 2×2 dot becomes 4×4
    expect(getPixel(c, 2, 10)).toEqual([0, 0, 0]);
    expect(() => drawText(c, 'x', 0, 0, [0, 0, 0], 0)).toThrow(ImageError);
  });
});

describe('drawing helpers', () => {
  it('lines include both ends and clip at the border', () => {
    const c = createCanvas(10, 10);
    drawLine(c, 0, 0, 9, 9, [0, 0, 0]);
    expect(ink(c)).toBe(10);
    drawLine(c, -5, 5, 20, 5, [0, 0, 0]);
    expect(ink(c)).toBe(10 + 9); // the horizontal line crosses the diagonal at (5, 5)
  });

  it('patch grid lines at floor(i · size / n)', () => {
    const c = createCanvas(16, 12);
    drawGrid(c, 3, 4, [0, 0, 0]);
    // Vertical lines at x = 4, 8, 12; horizontal at y = 4, 8.
    expect(getPixel(c, 4, 0)).toEqual([0, 0, 0]);
    expect(getPixel(c, 12, 11)).toEqual([0, 0, 0]);
    expect(getPixel(c, 0, 8)).toEqual([0, 0, 0]);
    expect(getPixel(c, 5, 5)).toEqual([255, 255, 255]);
    expect(ink(c)).toBe(3 * 12 + 2 * 16 - 6);
  });

  it('upscaleMap: nearest blocks, bilinear with pixel centres', () => {
    expect(Array.from(upscaleMap([1, 2, 3, 4], 2, 2, 4, 4, 'nearest'))).toEqual([
      1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4,
    ]);
    // 2 → 4 bilinear (align_corners=False): source x = (i + .5)/2 - .5 = -.25 (clamped), .25, .75, 1.25 (clamped)
    expect(Array.from(upscaleMap([0, 8], 2, 1, 4, 1, 'bilinear'))).toEqual([0, 2, 6, 8]);
    expect(() => upscaleMap([1, 2, 3], 2, 2, 4, 4)).toThrow(/VITC0509/);
  });

  it('blend mixes per channel; toCanvas expands gray', () => {
    const heat: Canvas = { width: 1, height: 1, channels: 3, data: Uint8Array.of(255, 0, 100) };
    const img: Canvas = { width: 1, height: 1, channels: 3, data: Uint8Array.of(0, 200, 100) };
    expect(Array.from(blend(heat, img, 0.25).data)).toEqual([64, 150, 100]);
    expect(() => blend(heat, createCanvas(2, 1), 0.5)).toThrow(/equal sizes/);
    const gray = toCanvas({ width: 1, height: 1, channels: 1, data: Float32Array.of(12.6) });
    expect(Array.from(gray.data)).toEqual([13, 13, 13]);
  });

  it('panelGrid lays out panels with margins and labels', () => {
    const red = createCanvas(10, 6, [255, 0, 0]);
    const blue = createCanvas(8, 6, [0, 0, 255]);
    const g = panelGrid([red, blue, red], { cols: 2, margin: 2, labels: ['A', 'B', 'C'] });
    // width 2 + 2·(10 + 2) = 26; height 2 + 2·(label 7 + 2 + 6 + 2) = 36
    expect([g.width, g.height]).toEqual([26, 36]);
    expect(getPixel(g, 2, 11)).toEqual([255, 0, 0]); // first panel below its label
    expect(getPixel(g, 15, 11)).toEqual([0, 0, 255]); // blue centred in a 10-wide cell: x = 14 + 1
    expect(getPixel(g, 14, 11)).toEqual([255, 255, 255]);
    expect(getPixel(g, 3, 2)).toEqual([0, 0, 0]); // 'A' top row .###. → x = 3..5
    expect(getPixel(g, 2, 2)).toEqual([255, 255, 255]);
  });

  it('plotSeries draws a frame and the curve between its extremes', () => {
    const c = createCanvas(30, 20);
    plotSeries(c, [[3, 2, 1]], { x: 0, y: 0, width: 30, height: 20 }, { colors: [[255, 0, 0]] });
    expect(getPixel(c, 0, 0)).toEqual([0, 0, 0]); // frame corner
    expect(getPixel(c, 1, 1)).toEqual([255, 0, 0]); // first point: max at the top-left
    expect(getPixel(c, 28, 18)).toEqual([255, 0, 0]); // last point: min at the bottom-right
  });
});

// Colormap tables are generated from matplotlib; make sure the generated file is complete.
it('colormap data has 256 entries per map', () => {
  const src = readFileSync(
    join(import.meta.dirname, '..', '..', 'runtime', 'image', 'colormap-data.ts'),
    'utf8',
  );
  expect(src).toContain('VIRIDIS_HEX');
  expect(colormapTable('inferno').length).toBe(768);
  expect(Array.from(colormapTable('inferno').subarray(765))).toEqual([252, 254, 164]);
});
