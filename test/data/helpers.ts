// Builders for small data files written by hand, so tests know every byte.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import type { Spec } from '../../compiler/spec/types.js';

/** IDX bytes: magic 0x0000 08 nd, big-endian dims, then `data`. */
export function idxBytes(dims: number[], data: number[] | Uint8Array, type = 0x08): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const v = new DataView(out.buffer);
  out[2] = type;
  out[3] = dims.length;
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

export const gzip = (b: Uint8Array): Uint8Array => new Uint8Array(gzipSync(b));

export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), 'vitc-data-'));
  file(rel: string, bytes: Uint8Array | string): string {
    const p = join(this.path, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, bytes);
    return p;
  }
  dir(rel: string): string {
    const p = join(this.path, rel);
    mkdirSync(p, { recursive: true });
    return p;
  }
  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** An RGB PNG (colour type 2, no alpha) whose pixel (x, y) is `px(x, y)` = [r, g, b]. */
export function pngBytes(w: number, h: number, px: (x: number, y: number) => number[]): Uint8Array {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [r, g, b] = px(x, y);
      png.data.set([r!, g!, b!, 255], (y * w + x) * 4);
    }
  }
  return new Uint8Array(PNG.sync.write(png, { colorType: 2 }));
}

/** The parts of a Spec the data pipeline reads. */
export function dataSpec(
  h: number,
  w: number,
  c: number,
  mean: number[] = [0],
  std: number[] = [1],
  crop = 1,
): Pick<Spec, 'image' | 'preprocess'> {
  return {
    image: { height: h, width: w, channels: c },
    preprocess: { mean, std, interpolation: 'bilinear', crop },
  };
}
