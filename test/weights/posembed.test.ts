// Position-embedding resize against PyTorch: the fixture is written by
// tools/reference/posembed_fixture.py (timm's resample_abs_pos_embed, F.interpolate bicubic AA).
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  aaBicubicWeights,
  adaptPosEmbed,
  fma32,
  resamplePosEmbed,
  squareGrid,
} from '../../runtime/posembed-resize.js';
import { readSafetensors, tensorData } from '../../runtime/safetensors.js';
import { tinySpec } from './tiny-specs.js';

const FIXTURE = fileURLToPath(
  new URL('../fixtures/posembed/posembed.safetensors', import.meta.url),
);

interface Case {
  name: string;
  from: [number, number];
  to: [number, number];
  dim: number;
  prefix: number;
}

async function loadCases() {
  const file = await readSafetensors(FIXTURE);
  const cases = JSON.parse(file.metadata.cases) as Case[];
  return {
    machine: file.metadata.machine,
    cases: cases.map((c) => ({
      ...c,
      input: tensorData(file, `${c.name}.input`) as Float32Array,
      output: tensorData(file, `${c.name}.output`) as Float32Array,
      outShape: file.tensors.get(`${c.name}.output`)!.shape,
    })),
  };
}

const grid = ([rows, cols]: [number, number]) => ({ rows, cols });

describe('resamplePosEmbed against PyTorch (timm resample_abs_pos_embed)', async () => {
  const { cases, machine } = await loadCases();

  it('covers upsampling, downsampling and 0/1/2 prefix tokens', () => {
    const kinds = new Set(cases.map((c) => `${c.name.split('_')[0]}:${c.prefix}`));
    for (const k of ['up:0', 'up:1', 'up:2', 'down:0', 'down:1', 'down:2'])
      expect(kinds).toContain(k);
  });

  for (const c of cases) {
    it(`${c.name}: matches to 1e-6 relative`, () => {
      const got = resamplePosEmbed(c.input, grid(c.from), grid(c.to), c.dim, c.prefix);
      expect([1, got.length / c.dim, c.dim]).toEqual(c.outShape);
      expect(got.length).toBe(c.output.length);
      // Relative to each value, floored at the tensor's scale: a one-ulp difference in an O(1)
      // intermediate must not count as a large relative error where the output nearly cancels.
      const scale = c.output.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      let worst = 0;
      for (let i = 0; i < got.length; i++) {
        const want = c.output[i];
        worst = Math.max(worst, Math.abs(got[i] - want) / Math.max(Math.abs(want), scale));
      }
      expect(worst).toBeLessThanOrEqual(1e-6);
      // Prefix tokens pass through untouched.
      expect(got.subarray(0, c.prefix * c.dim)).toEqual(c.input.subarray(0, c.prefix * c.dim));
    });
  }

  it('is bit-identical to the x86-64 PyTorch kernel the fixture came from', () => {
    // The emulation follows x86-64's FMA-contracted build; a fixture made elsewhere may
    // differ by an ulp, which the 1e-6 tests above still bound.
    expect(machine).toBe('x86_64');
    for (const c of cases) {
      const got = resamplePosEmbed(c.input, grid(c.from), grid(c.to), c.dim, c.prefix);
      const diff = got.findIndex((v, i) => v !== c.output[i]);
      expect(diff, `${c.name} differs at ${diff}`).toBe(-1);
    }
  });
});

describe('resamplePosEmbed', () => {
  it('is the identity (a copy) when the grid does not change', () => {
    const x = Float32Array.from({ length: (1 + 9) * 4 }, (_, i) => Math.sin(i) * 0.1);
    const y = resamplePosEmbed(x, { rows: 3, cols: 3 }, { rows: 3, cols: 3 }, 4, 1);
    expect(y).toEqual(x);
    expect(y).not.toBe(x);
  });

  it('keeps a constant field constant (weights are normalised)', () => {
    const x = new Float32Array(16 * 5).fill(0.25);
    const y = resamplePosEmbed(x, { rows: 4, cols: 4 }, { rows: 7, cols: 3 }, 5, 0);
    for (const v of y) expect(v).toBeCloseTo(0.25, 6);
  });

  it('rejects a length that does not fit the grid', () => {
    expect(() =>
      resamplePosEmbed(new Float32Array(10), { rows: 2, cols: 2 }, { rows: 3, cols: 3 }, 2, 0),
    ).toThrow(/pos_embed has 10 values; a 2x2 grid with 0 prefix tokens and dim 2 needs 8/);
    expect(() =>
      resamplePosEmbed(new Float32Array(8), { rows: 2, cols: 2 }, { rows: 0, cols: 3 }, 2, 0),
    ).toThrow(/target grid 0x3/);
  });
});

describe('antialiased bicubic weights', () => {
  it('use 4 taps when enlarging and widen with the scale when shrinking', () => {
    const up = aaBicubicWeights(4, 6);
    expect(Math.max(...up.size)).toBeLessThanOrEqual(4);
    const down = aaBicubicWeights(24, 14); // scale 1.714: support 3.43 → up to 7 taps
    expect(Math.max(...down.size)).toBe(7);
    for (let i = 0; i < 14; i++) {
      let s = 0;
      for (let j = 0; j < down.size[i]; j++) s += down.weights[i * down.stride + j];
      expect(s).toBeCloseTo(1, 6);
    }
  });

  it("use Keys' cubic with a = -0.5 (PIL), not plain bicubic's -0.75", () => {
    // Output 1 of a 2→4 resize sits at input coordinate 0.25 (centre 0.75 in pixel units): the
    // only taps inside the image are at distances 0.25 and 0.75, normalised to sum to one.
    const keys = (a: number) => (x: number) => ((a + 2) * x - (a + 3)) * x * x + 1;
    const tap0 = (a: number) => keys(a)(0.25) / (keys(a)(0.25) + keys(a)(0.75));
    const w = aaBicubicWeights(2, 4);
    expect(w.size[1]).toBe(2);
    expect(w.weights[w.stride]).toBeCloseTo(tap0(-0.5), 6); // 0.792857…
    expect(Math.abs(w.weights[w.stride] - tap0(-0.75))).toBeGreaterThan(0.02); // 0.770548…
  });
});

describe('fma32', () => {
  it('rounds a·b + c once, where rounding in double first would hit a tie', () => {
    // x² = 1 + 2^-11 + 2^-24 is exactly halfway between two float32 values; a tiny c breaks the
    // tie. A double sum loses c (below the double ulp) and then ties to even: the wrong way.
    const x = Math.fround(1 + 2 ** -12);
    const up = Math.fround(1 + 2 ** -11 + 2 ** -23);
    const down = Math.fround(1 + 2 ** -11);
    expect(Math.fround(x * x + 2 ** -70)).toBe(down);
    expect(fma32(x, x, 2 ** -70)).toBe(up);
    expect(fma32(x, x, -(2 ** -70))).toBe(down);
    expect(fma32(x, x, 0)).toBe(down);
    expect(fma32(-x, x, -(2 ** -70))).toBe(-up);
    expect(fma32(3, 0.5, -1)).toBe(0.5);
  });
});

describe('adaptPosEmbed and squareGrid', () => {
  it('finds square grids after the prefix tokens', () => {
    expect(squareGrid(197, 1)).toEqual({ rows: 14, cols: 14 });
    expect(squareGrid(577, 1)).toEqual({ rows: 24, cols: 24 });
    expect(squareGrid(198, 1)).toBeNull();
  });

  it('resizes pos_embed to the spec grid and shares the other tensors', () => {
    const spec = tinySpec(); // 2x2 grid, 1 prefix token, width 16
    const pe = Float32Array.from({ length: (1 + 16) * 16 }, (_, i) => Math.cos(i));
    const other = new Float32Array(3);
    const out = adaptPosEmbed(
      new Map([
        ['pos_embed', pe],
        ['x', other],
      ]),
      spec,
      { rows: 4, cols: 4 },
    );
    expect(out.get('pos_embed')).toEqual(
      resamplePosEmbed(pe, { rows: 4, cols: 4 }, { rows: 2, cols: 2 }, 16, 1),
    );
    expect(out.get('pos_embed')!.length).toBe(5 * 16);
    expect(out.get('x')).toBe(other);
  });
});
