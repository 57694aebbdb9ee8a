/**
 * PNG output: 8-bit gray, gray+alpha, RGB or RGBA, encoded by pngjs and written atomically
 * (temp file in the same folder, then rename), so a figure being regenerated is never seen half
 * written and an interrupted run leaves the old file intact.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { PNG, type ColorType } from 'pngjs';
import { ImageError, checkRaster, type RasterImage } from './errors.js';

/** 8-bit pixels, row-major, channels interleaved (a draw.ts Canvas is one). */
export interface Image8 {
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  data: Uint8Array;
}

const COLOR_TYPE: Record<number, ColorType> = { 1: 0, 2: 4, 3: 2, 4: 6 };

/** Encode to PNG bytes; `name` labels the image in errors. */
export function encodePng(img: Image8, name = '<png>'): Uint8Array {
  const { width, height, channels, data } = img;
  const colorType = COLOR_TYPE[channels];
  if (colorType === undefined) {
    throw new ImageError('channels', name, `PNG output has 1 to 4 channels, not ${channels}`);
  }
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ImageError('argument', name, `invalid image size ${width}×${height}`);
  }
  if (data.length !== width * height * channels) {
    throw new ImageError(
      'argument',
      name,
      `pixel buffer has ${data.length} bytes, expected ${width}×${height}×${channels}`,
    );
  }
  // pngjs reads only width, height and data from its first argument; with the same input and
  // output colour type at 8 bits it uses the bytes as they are.
  const png = { width, height, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
  const bytes = PNG.sync.write(png as unknown as PNG, {
    colorType,
    inputColorType: colorType,
    inputHasAlpha: channels === 2 || channels === 4,
    bitDepth: 8,
  });
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Write a PNG file atomically. Errors (missing folder, permissions) are ImageError VITC0510. */
export async function writePng(path: string, img: Image8): Promise<void> {
  const bytes = encodePng(img, path);
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    throw new ImageError('write', path, `cannot write PNG: ${code ?? (e as Error).message}`);
  }
}

/** Float 0..255 pixels (decode/resize output) as 8-bit: rounded and clamped. */
export function toImage8(img: RasterImage): Image8 {
  checkRaster(img);
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++)
    data[i] = Math.min(255, Math.max(0, Math.round(img.data[i]!)));
  return { width: img.width, height: img.height, channels: img.channels, data };
}
