/**
 * A 5×7 bitmap font for labels on figures (panel titles, axis ticks, percentages), so that
 * image output needs no font files or canvas library. Lowercase letters draw as uppercase;
 * characters without a glyph draw as '?'. Glyphs are 5 columns × 7 rows, '#' = ink.
 */
import { ImageError } from './errors.js';

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 7;
/** Horizontal advance per character in font pixels (glyph plus one column of space). */
export const GLYPH_ADVANCE = 6;

// prettier-ignore
const GLYPHS: Record<string, string> = {
  '0': '.###.|#...#|#..##|#.#.#|##..#|#...#|.###.',
  '1': '..#..|.##..|..#..|..#..|..#..|..#..|.###.',
  '2': '.###.|#...#|....#|...#.|..#..|.#...|#####',
  '3': '#####|...#.|..#..|...#.|....#|#...#|.###.',
  '4': '...#.|..##.|.#.#.|#..#.|#####|...#.|...#.',
  '5': '#####|#....|####.|....#|....#|#...#|.###.',
  '6': '..##.|.#...|#....|####.|#...#|#...#|.###.',
  '7': '#####|....#|...#.|..#..|.#...|.#...|.#...',
  '8': '.###.|#...#|#...#|.###.|#...#|#...#|.###.',
  '9': '.###.|#...#|#...#|.####|....#|...#.|.##..',
  A: '.###.|#...#|#...#|#####|#...#|#...#|#...#',
  B: '####.|#...#|#...#|####.|#...#|#...#|####.',
  C: '.###.|#...#|#....|#....|#....|#...#|.###.',
  D: '###..|#..#.|#...#|#...#|#...#|#..#.|###..',
  E: '#####|#....|#....|####.|#....|#....|#####',
  F: '#####|#....|#....|####.|#....|#....|#....',
  G: '.###.|#...#|#....|#.###|#...#|#...#|.####',
  H: '#...#|#...#|#...#|#####|#...#|#...#|#...#',
  I: '.###.|..#..|..#..|..#..|..#..|..#..|.###.',
  J: '..###|...#.|...#.|...#.|...#.|#..#.|.##..',
  K: '#...#|#..#.|#.#..|##...|#.#..|#..#.|#...#',
  L: '#....|#....|#....|#....|#....|#....|#####',
  M: '#...#|##.##|#.#.#|#.#.#|#...#|#...#|#...#',
  N: '#...#|#...#|##..#|#.#.#|#..##|#...#|#...#',
  O: '.###.|#...#|#...#|#...#|#...#|#...#|.###.',
  P: '####.|#...#|#...#|####.|#....|#....|#....',
  Q: '.###.|#...#|#...#|#...#|#.#.#|#..#.|.##.#',
  R: '####.|#...#|#...#|####.|#.#..|#..#.|#...#',
  S: '.####|#....|#....|.###.|....#|....#|####.',
  T: '#####|..#..|..#..|..#..|..#..|..#..|..#..',
  U: '#...#|#...#|#...#|#...#|#...#|#...#|.###.',
  V: '#...#|#...#|#...#|#...#|#...#|.#.#.|..#..',
  W: '#...#|#...#|#...#|#.#.#|#.#.#|#.#.#|.#.#.',
  X: '#...#|#...#|.#.#.|..#..|.#.#.|#...#|#...#',
  Y: '#...#|#...#|#...#|.#.#.|..#..|..#..|..#..',
  Z: '#####|....#|...#.|..#..|.#...|#....|#####',
  ' ': '.....|.....|.....|.....|.....|.....|.....',
  '.': '.....|.....|.....|.....|.....|.##..|.##..',
  ',': '.....|.....|.....|.....|.##..|..#..|.#...',
  '-': '.....|.....|.....|#####|.....|.....|.....',
  '+': '.....|..#..|..#..|#####|..#..|..#..|.....',
  '=': '.....|.....|#####|.....|#####|.....|.....',
  '_': '.....|.....|.....|.....|.....|.....|#####',
  '%': '##...|##..#|...#.|..#..|.#...|#..##|...##',
  ':': '.....|.##..|.##..|.....|.##..|.##..|.....',
  '/': '.....|....#|...#.|..#..|.#...|#....|.....',
  '(': '...#.|..#..|.#...|.#...|.#...|..#..|...#.',
  ')': '.#...|..#..|...#.|...#.|...#.|..#..|.#...',
  '[': '.###.|.#...|.#...|.#...|.#...|.#...|.###.',
  ']': '.###.|...#.|...#.|...#.|...#.|...#.|.###.',
  '?': '.###.|#...#|....#|...#.|..#..|.....|..#..',
  '#': '.#.#.|.#.#.|#####|.#.#.|#####|.#.#.|.#.#.',
  "'": '..#..|..#..|.#...|.....|.....|.....|.....',
  '×': '.....|#...#|.#.#.|..#..|.#.#.|#...#|.....',
};

const bitmaps = new Map<string, Uint8Array>();

/** 35 bytes (row-major 5×7, 1 = ink) for a character; unknown characters give '?'. */
export function glyph(ch: string): Uint8Array {
  const key =
    GLYPHS[ch] !== undefined ? ch : GLYPHS[ch.toUpperCase()] !== undefined ? ch.toUpperCase() : '?';
  let g = bitmaps.get(key);
  if (!g) {
    const rows = GLYPHS[key]!.split('|');
    g = new Uint8Array(GLYPH_WIDTH * GLYPH_HEIGHT);
    rows.forEach((row, y) => {
      for (let x = 0; x < GLYPH_WIDTH; x++) g![y * GLYPH_WIDTH + x] = row[x] === '#' ? 1 : 0;
    });
    bitmaps.set(key, g);
  }
  return g;
}

/** Pixel width of `text` drawn at `scale` (no trailing space column). */
export function textWidth(text: string, scale = 1): number {
  const n = [...text].length;
  return n === 0 ? 0 : (n * GLYPH_ADVANCE - 1) * scale;
}

/** Pixel height of one line of text at `scale`. */
export function textHeight(scale = 1): number {
  return GLYPH_HEIGHT * scale;
}

/**
 * Rasterize `text` with its top-left corner at (x, y), calling plot(px, py) for every ink pixel
 * (each font pixel becomes a scale × scale block). Drawing targets supply plot and clip.
 */
export function rasterizeText(
  text: string,
  x: number,
  y: number,
  scale: number,
  plot: (px: number, py: number) => void,
): void {
  if (!Number.isInteger(scale) || scale < 1) {
    throw new ImageError(
      'argument',
      '<text>',
      `text scale must be a positive integer, got ${scale}`,
    );
  }
  let cx = x;
  for (const ch of text) {
    const g = glyph(ch);
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (!g[gy * GLYPH_WIDTH + gx]) continue;
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) plot(cx + gx * scale + sx, y + gy * scale + sy);
        }
      }
    }
    cx += GLYPH_ADVANCE * scale;
  }
}
