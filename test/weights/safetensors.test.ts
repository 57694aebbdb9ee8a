// The safetensors reader and writer, byte for byte, and every error it reports.
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { toBfloat16, toHalf } from '../../runtime/half.js';
import {
  WeightsError,
  encodeSafetensors,
  parseSafetensors,
  readSafetensors,
  tensorData,
  writeSafetensors,
} from '../../runtime/safetensors.js';

/** A safetensors file from a header (object or raw text) and data bytes, built by hand. */
function build(header: unknown, data: number[] | Uint8Array = [], pad = true): Uint8Array {
  let text = typeof header === 'string' ? header : JSON.stringify(header);
  if (pad) while (text.length % 8 !== 0) text += ' ';
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function f32Bytes(...xs: number[]): number[] {
  const b = new Uint8Array(4 * xs.length);
  const v = new DataView(b.buffer);
  xs.forEach((x, i) => v.setFloat32(4 * i, x, true));
  return [...b];
}

/** Runs f, expecting a WeightsError with this code whose message names every string given. */
function expectError(f: () => unknown, code: string, ...mentions: string[]): WeightsError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WeightsError);
    const err = e as WeightsError;
    expect(err.code).toBe(code);
    expect(err.message).toContain(`error ${code}`);
    for (const m of mentions) expect(err.message).toContain(m);
    return err;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

describe('reading', () => {
  it('parses a hand-built file: dtypes, shapes, offsets, metadata', () => {
    const i64 = new Uint8Array(16);
    new DataView(i64.buffer).setBigInt64(0, -3n, true);
    new DataView(i64.buffer).setBigInt64(8, 1n << 40n, true);
    const bytes = build(
      {
        __metadata__: { format: 'pt', note: 'hand built' },
        w: { dtype: 'F32', shape: [2, 1], data_offsets: [0, 8] },
        ids: { dtype: 'I64', shape: [2], data_offsets: [8, 24] },
        h: { dtype: 'F16', shape: [], data_offsets: [24, 26] },
      },
      [...f32Bytes(1.5, -0.25), ...i64, 0x00, 0x3c],
    );
    const file = parseSafetensors(bytes, 'hand.safetensors');
    expect(file.metadata).toEqual({ format: 'pt', note: 'hand built' });
    expect([...file.tensors.keys()]).toEqual(['w', 'ids', 'h']);
    expect(file.tensors.get('w')!.shape).toEqual([2, 1]);
    expect(Array.from(tensorData(file, 'w') as Float32Array)).toEqual([1.5, -0.25]);
    expect(Array.from(tensorData(file, 'ids') as BigInt64Array)).toEqual([-3n, 1n << 40n]);
    expect(Array.from(tensorData(file, 'h') as Uint16Array)).toEqual([0x3c00]); // scalar 1.0
  });

  it('reads unaligned data sections (headers that are not padded)', () => {
    const bytes = build(
      { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } },
      f32Bytes(7),
      false,
    );
    expect(Array.from(tensorData(parseSafetensors(bytes), 'a') as Float32Array)).toEqual([7]);
  });

  it('reads the fixture written by the Python reference writer', async () => {
    const path = fileURLToPath(
      new URL('../fixtures/posembed/posembed.safetensors', import.meta.url),
    );
    const file = await readSafetensors(path);
    expect(file.metadata.generator).toBe('tools/reference/posembed_fixture.py');
    const t = file.tensors.get('up_4x4_6x6_p1.input')!;
    expect(t.dtype).toBe('F32');
    expect(t.shape).toEqual([1, 17, 8]);
  });
});

describe('writing', () => {
  it('produces exactly the Rust layout: sorted names, space-padded header, packed data', () => {
    const bytes = encodeSafetensors(
      [
        { name: 'z', dtype: 'I32', shape: [2], data: Int32Array.from([1, -1]) },
        { name: 'a', dtype: 'F32', shape: [1], data: Float32Array.from([2]) },
      ],
      { k: 'v' },
    );
    const header =
      '{"__metadata__":{"k":"v"},' +
      '"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' +
      '"z":{"dtype":"I32","shape":[2],"data_offsets":[4,12]}}';
    const expected = build(header, [...f32Bytes(2), 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    expect(header.length % 8).not.toBe(0); // the padding is exercised
    expect(bytes).toEqual(expected);
    expect((bytes.length - 12 - 8) % 8).toBe(0);
  });

  it('round-trips F32, F16, BF16, F64, I32 and I64', () => {
    const xs = Float32Array.from([0, 1, -2.5, 1 / 3, 1e-6, 65504, 3e38]);
    const bytes = encodeSafetensors([
      { name: 'f32', dtype: 'F32', shape: [7], data: xs },
      { name: 'f16', dtype: 'F16', shape: [7], data: xs },
      { name: 'bf16', dtype: 'BF16', shape: [7, 1], data: xs },
      { name: 'f64', dtype: 'F64', shape: [1, 2], data: Float64Array.from([Math.PI, -1e300]) },
      {
        name: 'i32',
        dtype: 'I32',
        shape: [3],
        data: Int32Array.from([0, 2 ** 31 - 1, -(2 ** 31)]),
      },
      { name: 'i64', dtype: 'I64', shape: [1], data: BigInt64Array.from([-(2n ** 63n)]) },
    ]);
    const file = parseSafetensors(bytes);
    expect(tensorData(file, 'f32')).toEqual(xs);
    expect(Array.from(tensorData(file, 'f16') as Uint16Array)).toEqual(Array.from(xs, toHalf));
    expect(Array.from(tensorData(file, 'bf16') as Uint16Array)).toEqual(Array.from(xs, toBfloat16));
    expect(file.tensors.get('bf16')!.shape).toEqual([7, 1]);
    expect(Array.from(tensorData(file, 'f64') as Float64Array)).toEqual([Math.PI, -1e300]);
    expect(Array.from(tensorData(file, 'i32') as Int32Array)).toEqual([0, 2 ** 31 - 1, -(2 ** 31)]);
    expect(Array.from(tensorData(file, 'i64') as BigInt64Array)).toEqual([-(2n ** 63n)]);
  });

  it('is deterministic regardless of input order', () => {
    const a = { name: 'a', dtype: 'F32' as const, shape: [1], data: Float32Array.from([1]) };
    const b = { name: 'b', dtype: 'F32' as const, shape: [1], data: Float32Array.from([2]) };
    expect(encodeSafetensors([a, b])).toEqual(encodeSafetensors([b, a]));
  });

  it('writes atomically and leaves no temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vitc-st-'));
    const path = join(dir, 'w.safetensors');
    const t = { name: 'x', dtype: 'F32' as const, shape: [2], data: Float32Array.from([1, 2]) };
    await writeSafetensors(path, [t], { a: 'b' });
    expect(await readdir(dir)).toEqual(['w.safetensors']);
    expect(parseSafetensors(await readFile(path)).metadata).toEqual({ a: 'b' });
  });
});

describe('errors', () => {
  const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };

  it('VITC0401: file shorter than the length prefix', () => {
    expectError(
      () => parseSafetensors(new Uint8Array(5), 'short.st'),
      'VITC0401',
      'short.st',
      '5 bytes',
    );
  });

  it('VITC0402: header length beyond the file or the 100 MB limit', () => {
    const bytes = build({ w: ok }, f32Bytes(1, 2));
    new DataView(bytes.buffer).setBigUint64(0, BigInt(bytes.length), true);
    expectError(() => parseSafetensors(bytes, 'long.st'), 'VITC0402', 'long.st', 'past the end');
    const huge = new Uint8Array(200_000_016);
    new DataView(huge.buffer).setBigUint64(0, 200_000_000n, true);
    expectError(() => parseSafetensors(huge, 'huge.st'), 'VITC0402', '100 MB');
  });

  it('VITC0403: header not JSON or not UTF-8', () => {
    expectError(
      () => parseSafetensors(build('{"w": ', []), 'bad.st'),
      'VITC0403',
      'bad.st',
      'JSON',
    );
    const bytes = build('{"w":1}', []);
    bytes[9] = 0xff;
    expectError(() => parseSafetensors(bytes, 'utf.st'), 'VITC0403', 'UTF-8');
  });

  it('VITC0404: malformed header entries name the tensor', () => {
    expectError(() => parseSafetensors(build([1, 2])), 'VITC0404', 'not a JSON object');
    expectError(() => parseSafetensors(build({ w: 3 })), 'VITC0404', '"w"');
    expectError(
      () => parseSafetensors(build({ w: { shape: [1], data_offsets: [0, 4] } }, f32Bytes(1))),
      'VITC0404',
      '"w"',
      'dtype',
    );
    const badShape = { dtype: 'F32', shape: [-1], data_offsets: [0, 4] };
    expectError(
      () => parseSafetensors(build({ w: badShape }, f32Bytes(1))),
      'VITC0404',
      '"w"',
      'shape [-1]',
    );
    const badOffsets = { dtype: 'F32', shape: [1], data_offsets: [0] };
    expectError(
      () => parseSafetensors(build({ w: badOffsets }, f32Bytes(1))),
      'VITC0404',
      '"w"',
      'data_offsets',
    );
  });

  it('VITC0405: unknown dtype', () => {
    const e = { dtype: 'U8', shape: [4], data_offsets: [0, 4] };
    expectError(
      () => parseSafetensors(build({ mask: e }, [1, 2, 3, 4]), 'u8.st'),
      'VITC0405',
      'u8.st',
      '"mask"',
      'U8',
    );
  });

  it('VITC0406: offsets out of range', () => {
    const e = { dtype: 'F32', shape: [4], data_offsets: [0, 16] };
    expectError(
      () => parseSafetensors(build({ big: e }, f32Bytes(1, 2))),
      'VITC0406',
      '"big"',
      '[0, 16]',
    );
    const rev = { dtype: 'F32', shape: [0], data_offsets: [8, 4] };
    expectError(() => parseSafetensors(build({ rev }, f32Bytes(1, 2))), 'VITC0406', '"rev"');
  });

  it('VITC0407: overlapping tensors', () => {
    const a = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
    const b = { dtype: 'F32', shape: [2], data_offsets: [4, 12] };
    expectError(
      () => parseSafetensors(build({ a, b }, f32Bytes(1, 2, 3))),
      'VITC0407',
      '"b"',
      '"a"',
    );
  });

  it('VITC0408: gaps and trailing bytes', () => {
    const a = { dtype: 'F32', shape: [1], data_offsets: [4, 8] };
    expectError(
      () => parseSafetensors(build({ a }, f32Bytes(1, 2))),
      'VITC0408',
      '"a"',
      '4 unused bytes',
    );
    expectError(
      () => parseSafetensors(build({ w: ok }, f32Bytes(1, 2, 3))),
      'VITC0408',
      '"w"',
      'trailing',
    );
  });

  it('VITC0409: byte length does not match shape × dtype size', () => {
    const e = { dtype: 'F16', shape: [3], data_offsets: [0, 8] };
    expectError(
      () => parseSafetensors(build({ odd: e }, f32Bytes(1, 2)), 'o.st'),
      'VITC0409',
      'o.st',
      '"odd"',
      'F16 [3] needs 6 bytes',
      'span 8',
    );
  });

  it('VITC0410: __metadata__ that is not a string map', () => {
    expectError(
      () => parseSafetensors(build({ __metadata__: { n: 1 }, w: ok }, f32Bytes(1, 2))),
      'VITC0410',
      '"n"',
    );
    expectError(
      () => parseSafetensors(build({ __metadata__: [], w: ok }, f32Bytes(1, 2))),
      'VITC0410',
    );
  });

  it('VITC0411: unreadable file', async () => {
    await expect(readSafetensors('/nonexistent/w.safetensors')).rejects.toThrow(
      /\/nonexistent\/w\.safetensors: error VITC0411: cannot read file: ENOENT/,
    );
  });

  it('VITC0412: unwritable target leaves nothing behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vitc-st-'));
    const t = { name: 'x', dtype: 'F32' as const, shape: [1], data: Float32Array.from([1]) };
    // The target is a directory: the rename fails after the temp file was written.
    const target = join(dir, 'sub');
    await writeFile(join(dir, 'keep'), 'x');
    await import('node:fs/promises').then((fs) => fs.mkdir(target));
    await expect(writeSafetensors(target, [t])).rejects.toThrow(
      /sub: error VITC0412: cannot write file/,
    );
    expect((await readdir(dir)).sort()).toEqual(['keep', 'sub']);
    expect((await stat(target)).isDirectory()).toBe(true);
    await expect(writeSafetensors(join(dir, 'no', 'w.st'), [t])).rejects.toThrow(
      /VITC0412.*ENOENT/,
    );
  });

  it('VITC0413: a tensor the writer cannot encode', () => {
    const short = { name: 'w', dtype: 'F32' as const, shape: [2, 2], data: new Float32Array(3) };
    expectError(
      () => encodeSafetensors([short], {}, 'out.st'),
      'VITC0413',
      'out.st',
      '"w"',
      '[2, 2] needs 4 values, got 3',
    );
    const twice = { name: 'w', dtype: 'F32' as const, shape: [1], data: new Float32Array(1) };
    expectError(() => encodeSafetensors([twice, twice]), 'VITC0413', '"w"', 'used twice');
    const wrongType = { name: 'ids', dtype: 'I32' as const, shape: [1], data: new Float32Array(1) };
    expectError(
      () => encodeSafetensors([wrongType]),
      'VITC0413',
      '"ids"',
      'I32 cannot be written from a Float32Array',
    );
  });
});
