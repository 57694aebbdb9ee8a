import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { ImageError, decodeImage, readImage, sniffFormat } from '../../runtime/image/index.js';
import { buildPng } from './png-builder.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'images');
const tmp = mkdtempSync(join(tmpdir(), 'vitc-image-'));

/** pngjs-encoded image from RGBA 8-bit (or 16-bit) pixels. */
function pngjsWrite(
  width: number,
  height: number,
  rgba: number[],
  colorType: 0 | 2 | 4 | 6,
  bitDepth: 8 | 16 = 8,
): Uint8Array {
  const png = new PNG({ width, height, bitDepth, inputHasAlpha: true });
  png.data =
    bitDepth === 16
      ? Buffer.from(new Uint16Array(rgba).buffer)
      : Buffer.from(Uint8Array.from(rgba));
  return PNG.sync.write(png, { colorType, inputColorType: 6, bitDepth, inputHasAlpha: true });
}

function expectImageError(fn: () => unknown, code: string, file: string, text?: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ImageError);
  const e = err as ImageError;
  expect(e.code).toBe(code);
  expect(e.file).toBe(file);
  expect(e.message.startsWith(`${file}: error ${code}: `)).toBe(true);
  if (text) expect(e.message).toMatch(text);
}

// 3×2 RGBA pixels used by the pngjs variants.
const RGBA = [
  10, 20, 30, 255, 200, 100, 0, 128, 0, 0, 0, 0, 255, 255, 255, 255, 7, 8, 9, 1, 60, 50, 40, 250,
];

describe('PNG variants', () => {
  it('8-bit RGBA, RGB, gray+alpha, gray (written by pngjs)', () => {
    const rgba = decodeImage(pngjsWrite(3, 2, RGBA, 6));
    expect([rgba.width, rgba.height, rgba.channels, rgba.format, rgba.bitDepth]).toEqual([
      3,
      2,
      4,
      'png',
      8,
    ]);
    expect(Array.from(rgba.data)).toEqual(RGBA);

    // Opaque input so that pngjs's RGBA→RGB packing does not composite.
    const opaque = RGBA.map((v, i) => (i % 4 === 3 ? 255 : v));
    const rgb = decodeImage(pngjsWrite(3, 2, opaque, 2));
    expect(rgb.channels).toBe(3);
    expect(Array.from(rgb.data)).toEqual(opaque.filter((_, i) => i % 4 !== 3));

    // Gray from pngjs is (r+g+b)/3 truncated: use r=g=b so the expected value is exact.
    const grays = [0, 17, 128, 200, 254, 255];
    const grayRgba = grays.flatMap((g, i) => [g, g, g, i * 40]);
    const ga = decodeImage(pngjsWrite(3, 2, grayRgba, 4));
    expect(ga.channels).toBe(4); // gray+alpha: gray replicated into RGB, alpha kept
    expect(Array.from(ga.data.subarray(4, 8))).toEqual([17, 17, 17, 40]);
    const g = decodeImage(
      pngjsWrite(
        3,
        2,
        grays.flatMap((v) => [v, v, v, 255]),
        0,
      ),
    );
    expect(g.channels).toBe(1);
    expect(Array.from(g.data)).toEqual(grays);
  });

  it('16-bit RGBA and gray are scaled exactly (v · 255 / 65535)', () => {
    const px16 = [0, 65535, 257, 65535, 1000, 30000, 65534, 32768];
    const img = decodeImage(pngjsWrite(2, 1, px16, 6, 16));
    expect(img.bitDepth).toBe(16);
    expect(img.channels).toBe(4);
    px16.forEach((v, i) => expect(img.data[i]).toBeCloseTo((v * 255) / 65535, 4));
    expect(img.data[2]).toBe(1); // 257 is exactly level 1

    const gray = buildPng({
      width: 2,
      height: 1,
      depth: 16,
      colorType: 0,
      samples: [65535, 25700],
    });
    expect(Array.from(decodeImage(gray).data)).toEqual([255, 100]);
  });

  it('palette (8-bit and 4-bit), with tRNS giving an alpha channel', () => {
    const palette: [number, number, number][] = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [9, 99, 199],
    ];
    const samples = [0, 1, 2, 3, 3, 2];
    const p8 = decodeImage(
      buildPng({ width: 3, height: 2, depth: 8, colorType: 3, samples, palette }),
    );
    expect(p8.channels).toBe(3);
    expect(Array.from(p8.data)).toEqual(samples.flatMap((i) => palette[i]!));
    const p4 = decodeImage(
      buildPng({
        width: 3,
        height: 2,
        depth: 4,
        colorType: 3,
        samples,
        palette,
        trns: [255, 0, 128],
      }),
    );
    expect(p4.channels).toBe(4);
    // Entries past the tRNS list are opaque.
    expect(Array.from(p4.data)).toEqual(
      samples.flatMap((i) => [...palette[i]!, [255, 0, 128, 255][i]!]),
    );
  });

  it('1-, 2- and 4-bit gray scale to 0..255 as PIL does', () => {
    const one = decodeImage(
      buildPng({
        width: 9,
        height: 1,
        depth: 1,
        colorType: 0,
        samples: [1, 0, 1, 1, 0, 0, 0, 1, 1],
      }),
    );
    expect(Array.from(one.data)).toEqual([255, 0, 255, 255, 0, 0, 0, 255, 255]);
    const two = decodeImage(
      buildPng({ width: 4, height: 1, depth: 2, colorType: 0, samples: [0, 1, 2, 3] }),
    );
    expect(Array.from(two.data)).toEqual([0, 85, 170, 255]);
    const four = decodeImage(
      buildPng({ width: 3, height: 1, depth: 4, colorType: 0, samples: [0, 7, 15] }),
    );
    expect(Array.from(four.data)).toEqual([0, 119, 255]);
  });

  it('a tRNS key colour keeps its colour (PIL drops transparency, pngjs would zero it)', () => {
    const rgb = buildPng({
      width: 2,
      height: 1,
      depth: 8,
      colorType: 2,
      samples: [10, 20, 30, 1, 2, 3],
      trns: [10, 20, 30],
    });
    const img = decodeImage(rgb);
    expect(img.channels).toBe(3);
    expect(Array.from(img.data)).toEqual([10, 20, 30, 1, 2, 3]);
    const gray = buildPng({
      width: 3,
      height: 1,
      depth: 8,
      colorType: 0,
      samples: [5, 77, 5],
      trns: [77],
    });
    expect(Array.from(decodeImage(gray).data)).toEqual([5, 77, 5]);
  });

  it('Adam7-interlaced PNG decodes to the same pixels', () => {
    const width = 11;
    const height = 9;
    const samples = Array.from({ length: width * height * 3 }, (_, i) => (i * 37) % 256);
    const plain = decodeImage(buildPng({ width, height, depth: 8, colorType: 2, samples }));
    const inter = decodeImage(
      buildPng({ width, height, depth: 8, colorType: 2, samples, interlace: true }),
    );
    expect(Array.from(inter.data)).toEqual(samples);
    expect(Array.from(plain.data)).toEqual(samples);
  });

  it('the committed sample PNG and its RGBA twin', () => {
    const pat = decodeImage(join(FIX, 'pattern.png'));
    expect([pat.width, pat.height, pat.channels]).toEqual([40, 30, 3]);
    // pattern(): R = (x·2654435761 + y·40503 + x·y·97) mod 251, G = checkerboard, B = 255x/39.
    const px = (x: number, y: number) =>
      Array.from(pat.data.subarray((y * 40 + x) * 3, (y * 40 + x) * 3 + 3));
    expect(px(0, 0)).toEqual([0, 0, 0]);
    expect(px(3, 0)).toEqual([(3 * 2654435761) % 251, 255, 19]); // next checker cell
    expect(px(39, 29)).toEqual([(39 * 2654435761 + 29 * 40503 + 39 * 29 * 97) % 251, 0, 255]);
    const rgba = decodeImage(join(FIX, 'pattern-rgba.png'));
    expect(rgba.channels).toBe(4);
    expect(rgba.data[(1 * 40 + 5) * 4 + 3]).toBe(35); // alpha = 7x mod 256
  });
});

describe('JPEG', () => {
  // jpeg-js has its own IDCT and upsamples chroma by replication where libjpeg (PIL) interpolates,
  // so values differ by a few levels; compare against PIL's decode with a tolerance.
  function compareToPil(name: string, maxMean: number, maxAbs: number) {
    const img = decodeImage(join(FIX, name));
    const ref = decodeImage(join(FIX, 'pil', `${name}.png`));
    expect([img.width, img.height, img.channels]).toEqual([ref.width, ref.height, ref.channels]);
    let sum = 0;
    let max = 0;
    for (let i = 0; i < img.data.length; i++) {
      const d = Math.abs(img.data[i]! - ref.data[i]!);
      sum += d;
      max = Math.max(max, d);
    }
    expect(sum / img.data.length).toBeLessThan(maxMean);
    expect(max).toBeLessThanOrEqual(maxAbs);
    return img;
  }

  it('baseline 4:4:4 JPEG matches PIL closely', () => {
    const img = compareToPil('shapes.jpg', 0.6, 4);
    expect([img.format, img.channels, img.width, img.height]).toEqual(['jpeg', 3, 64, 48]);
    // Inside the red disc (centre 16,18) and the blue square.
    const at = (x: number, y: number) =>
      Array.from(img.data.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3));
    at(16, 18).forEach((v, c) => expect(Math.abs(v - [220, 30, 30][c]!)).toBeLessThanOrEqual(4));
    at(46, 14).forEach((v, c) => expect(Math.abs(v - [30, 40, 200][c]!)).toBeLessThanOrEqual(4));
  });

  it('progressive 4:2:0 JPEG decodes (jpeg-js supports SOF2)', () => {
    // With 2× subsampled chroma the upsampling difference shows at colour edges (up to ~70
    // levels on this tiny, edge-dense image); most pixels stay within a few levels.
    const img = compareToPil('shapes-progressive.jpg', 6, 80);
    const ref = decodeImage(join(FIX, 'pil', 'shapes-progressive.jpg.png'));
    const close = img.data.filter((v, i) => Math.abs(v - ref.data[i]!) < 5).length;
    expect(close / img.data.length).toBeGreaterThan(0.7);
  });

  it('grayscale JPEG gives one channel', () => {
    const img = compareToPil('gray.jpg', 0.6, 3);
    expect(img.channels).toBe(1);
  });

  it('a .png file that is actually a JPEG decodes by magic bytes', async () => {
    const p = join(tmp, 'really-a-jpeg.png');
    copyFileSync(join(FIX, 'shapes.jpg'), p);
    const img = await readImage(p);
    expect(img.format).toBe('jpeg');
    expect(img.source).toBe(p);
    expect(sniffFormat(readFileSync(p))).toBe('jpeg');
  });
});

describe('bad input gives ImageError naming the file', () => {
  const write = (name: string, bytes: Uint8Array) => {
    const p = join(tmp, name);
    writeFileSync(p, bytes);
    return p;
  };

  it('missing, empty, random bytes', () => {
    const missing = join(tmp, 'nope.png');
    expectImageError(() => decodeImage(missing), 'VITC0501', missing, /no such file/);
    const empty = write('empty.png', new Uint8Array(0));
    expectImageError(() => decodeImage(empty), 'VITC0502', empty, /empty/);
    const noise = write(
      'noise.jpg',
      Uint8Array.from({ length: 300 }, (_, i) => (i * 73 + 11) % 256),
    );
    expectImageError(() => decodeImage(noise), 'VITC0503', noise, /not a PNG or JPEG/);
  });

  it('truncated and corrupt PNGs', () => {
    const png = readFileSync(join(FIX, 'shapes.png'));
    const cut = write('cut.png', png.subarray(0, Math.floor(png.length / 2)));
    expectImageError(() => decodeImage(cut), 'VITC0504', cut, /truncated PNG/);
    const header = write('header-only.png', png.subarray(0, 20));
    expectImageError(() => decodeImage(header), 'VITC0504', header, /truncated/);
    const bad = Uint8Array.from(png);
    bad[40] = bad[40]! ^ 0xff; // inside the IDAT data: the CRC no longer matches
    const crc = write('crc.png', bad);
    expectImageError(() => decodeImage(crc), 'VITC0504', crc);
  });

  it('truncated JPEG and unsupported JPEG kinds', () => {
    const jpg = readFileSync(join(FIX, 'shapes.jpg'));
    const cut = write('cut.jpg', jpg.subarray(0, Math.floor(jpg.length * 0.7)));
    expectImageError(() => decodeImage(cut), 'VITC0505', cut, /truncated/);
    // Turn SOF0 into SOF3 (lossless): a valid kind of JPEG that jpeg-js cannot decode.
    const lossless = Uint8Array.from(jpg);
    const sof = lossless.findIndex((b, i) => b === 0xff && lossless[i + 1] === 0xc0);
    lossless[sof + 1] = 0xc3;
    const p = write('lossless.jpg', lossless);
    expectImageError(() => decodeImage(p), 'VITC0506', p, /lossless/);
    expectImageError(() => decodeImage(new Uint8Array([0xff, 0xd8, 0xff])), 'VITC0505', '<bytes>');
  });

  it('size limits stop decompression bombs before decoding', () => {
    expectImageError(
      () =>
        decodeImage(readFileSync(join(FIX, 'shapes.jpg')), { maxDimension: 32, source: 'big.jpg' }),
      'VITC0507',
      'big.jpg',
      /64×48/,
    );
    // A header claiming 100000×100000 is refused from the header alone.
    const huge = buildPng({ width: 1, height: 1, depth: 8, colorType: 0, samples: [0] });
    new DataView(huge.buffer, huge.byteOffset).setUint32(16, 100000);
    new DataView(huge.buffer, huge.byteOffset).setUint32(20, 100000);
    expectImageError(() => decodeImage(huge, { source: 'huge.png' }), 'VITC0507', 'huge.png');
    // Images whose data inflates far past what their 4×4 header implies (pngjs would inflate the
    // interlaced one without any limit).
    for (const interlace of [true, false]) {
      const bomb = buildPng({
        width: 4,
        height: 4,
        depth: 8,
        colorType: 0,
        samples: new Array(16).fill(0),
        interlace,
        idat: deflateSync(new Uint8Array(50_000_000)),
      });
      expect(bomb.length).toBeLessThan(100_000);
      expectImageError(
        () => decodeImage(bomb, { source: 'bomb.png' }),
        'VITC0507',
        'bomb.png',
        /inflates/,
      );
    }
  });
});
