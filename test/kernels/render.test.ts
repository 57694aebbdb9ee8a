/** Render-time properties (no GPU): deterministic text, names, literals, index folding, CSE. */
import { describe, expect, it } from 'vitest';
import { attentionGrid } from '../../compiler/codegen/wgsl/flash-attention.js';
import {
  broadcastIndex,
  DYNAMIC,
  ew,
  f32,
  grid1d,
  packUniforms,
  renderAttention,
  renderElementwise,
  renderMatmul,
  renderNorm,
  renderReduce,
  renderSoftmax,
  type KernelSource,
} from '../../compiler/codegen/wgsl/index.js';

/** Each family, rendered from a fresh description object every call. */
const families: Record<string, () => KernelSource> = {
  matmul: () =>
    renderMatmul({
      transB: true,
      bias: true,
      activation: 'gelu',
      residual: 'buffer',
      align: { k: 4, n: 4 },
      im2col: { channels: 3, height: 32, width: 32, patchH: 16, patchW: 16 },
    }),
  norm: () => renderNorm({ kind: 'layernorm', eps: 1e-6, saveStats: true, alignD: 4 }),
  attention: () => renderAttention({ layout: 'qkv', heads: 12, headDim: 64, probs: true }),
  elementwise: () =>
    renderElementwise({
      shape: [DYNAMIC, 197, 768],
      inputs: [{ shape: [DYNAMIC, 197, 768] }, { shape: [1, 197, 768] }],
      outputs: [ew.add(ew.input(0), ew.input(1))],
    }),
  reduce: () => renderReduce({ op: 'sum', strategy: 'workgroup' }),
  softmax: () => renderSoftmax({ kind: 'logsoftmax' }),
};

describe('rendered kernels are deterministic and self-describing', () => {
  for (const [family, render] of Object.entries(families)) {
    it(`${family}: same description → identical text, filename-safe name, bindings in order`, () => {
      const a = render();
      const b = render();
      expect(b.wgsl).toBe(a.wgsl);
      expect(b.name).toBe(a.name);
      expect(a.name).toMatch(/^[a-z0-9_]+$/);
      expect(a.wgsl.startsWith(`// vitc kernel: ${a.name}\n`)).toBe(true);
      expect(a.bindings.map((d) => d.binding)).toEqual(a.bindings.map((_, i) => i));
      for (const d of a.bindings) {
        expect(a.wgsl).toContain(`@binding(${d.binding}) var<`);
        // Every declared binding is used in the shader body.
        expect(
          a.wgsl.split(`${d.name}[`).length + a.wgsl.split(`${d.name}.`).length,
        ).toBeGreaterThan(2);
      }
      expect(a.wgsl).toContain(`@workgroup_size(${a.workgroupSize.join(', ')})`);
    });
  }

  it('different descriptions give different text and names', () => {
    const a = renderMatmul({ transB: true });
    const b = renderMatmul({ transB: true, activation: 'relu' });
    const c = renderMatmul({ transB: true, tiling: { rows: 2, cols: 4, workgroup: [8, 8] } });
    expect(new Set([a.wgsl, b.wgsl, c.wgsl]).size).toBe(3);
    expect(new Set([a.name, b.name, c.name]).size).toBe(3);
    const n1 = renderNorm({ kind: 'layernorm', eps: 1e-6 });
    const n2 = renderNorm({ kind: 'layernorm', eps: 1e-5 });
    expect(n1.name).not.toBe(n2.name);
  });
});

describe('builder helpers', () => {
  it('f32 literals: shortest round-tripping decimal, always a float literal', () => {
    expect(f32(0.1)).toBe('0.1');
    expect(f32(1)).toBe('1.0');
    expect(f32(-2)).toBe('-2.0');
    expect(f32(-0)).toBe('-0.0');
    expect(f32(1e-6)).toBe('0.000001');
    expect(f32(1e-12)).toBe('1.0e-12');
    expect(f32(1e21)).toBe('1.0e21');
    expect(f32(Math.SQRT1_2)).toBe('0.70710677');
    for (const v of [Math.PI, 1 / 3, 6.02e23, -1.2e-38, 3.4e38]) {
      expect(Math.fround(Number(f32(v)))).toBe(Math.fround(v));
    }
    expect(() => f32(NaN)).toThrow();
    expect(() => f32(Infinity)).toThrow();
    expect(() => f32(1e-40)).toThrow(/subnormal/);
  });

  it('packUniforms writes u32 and f32 fields little-endian, padded to 16 bytes', () => {
    const buf = packUniforms(
      [
        { name: 'M', type: 'u32' },
        { name: 'lr', type: 'f32' },
      ],
      { M: 197, lr: 0.5 },
    );
    expect(buf.byteLength).toBe(16);
    const v = new DataView(buf);
    expect(v.getUint32(0, true)).toBe(197);
    expect(v.getFloat32(4, true)).toBe(0.5);
    expect(() => packUniforms([{ name: 'M', type: 'u32' }], { M: -1 })).toThrow(/u32/);
    expect(() => packUniforms([{ name: 'M', type: 'u32' }], {})).toThrow(/no value/);
  });

  it('grid1d folds counts beyond 65535 into a second dimension without losing any', () => {
    expect(grid1d(10)).toEqual([10, 1, 1]);
    expect(grid1d(65535)).toEqual([65535, 1, 1]);
    const [x, y] = grid1d(200000);
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y).toBeGreaterThanOrEqual(200000);
    expect(grid1d(0)).toEqual([0, 1, 1]);
  });
});

describe('elementwise index folding and CSE', () => {
  it('folds broadcast index math to the fewest div/mod terms', () => {
    const out = [2, 3, 5];
    expect(broadcastIndex(out, [2, 3, 5], 'x')).toBe('o');
    expect(broadcastIndex(out, [5], 'x')).toBe('o % 5u');
    expect(broadcastIndex(out, [2, 3, 1], 'x')).toBe('o / 5u');
    expect(broadcastIndex(out, [1, 3, 5], 'x')).toBe('o % 15u');
    expect(broadcastIndex(out, [2, 1, 5], 'x')).toBe('o % 5u + (o / 15u) * 5u');
    expect(broadcastIndex(out, [1], 'x')).toBe('0u');
    expect(broadcastIndex([DYNAMIC, 4, 6], [DYNAMIC, 4, 1], 'x')).toBe('o / 6u');
    expect(broadcastIndex([DYNAMIC, 4, 6], [1, 4, 6], 'x')).toBe('o % 24u');
    expect(() => broadcastIndex(out, [3, 5, 1], 'x')).toThrow(/broadcast/);
  });

  it('computes a shared subexpression once for several outputs', () => {
    const g = ew.unary('gelu', ew.add(ew.input(0), ew.input(1)));
    const k = renderElementwise({
      shape: [8],
      inputs: [{ shape: [8] }, { shape: [8] }],
      outputs: [ew.mul(g, ew.c(2)), ew.sub(g, ew.c(-1))],
    });
    const body = k.wgsl.slice(k.wgsl.indexOf('fn main'));
    expect(body.split('gelu_f32(').length - 1).toBe(1);
    expect(body).toContain('- (-1.0)');
  });
});

describe('attentionGrid (the grid of every attention kernel)', () => {
  it('flattens [B·N] rows or keeps images apart, and refuses grids beyond the limit', () => {
    expect(attentionGrid('k', { N: 197, batch: 3 }, 12, 64, 'flat')).toEqual([10, 12, 1]);
    expect(attentionGrid('k', { N: 197, batch: 3 }, 12, 64, 'perImage')).toEqual([4, 12, 3]);
    expect(attentionGrid('k', { N: 0, batch: 3 }, 12, 64, 'flat')).toEqual([0, 1, 1]);
    expect(() => attentionGrid('k', { N: 65536, batch: 65 }, 1, 64, 'flat')).toThrow(
      /k: grid 66560×1×1 is too large/,
    );
    expect(() => attentionGrid('k', { N: 8, batch: 70000 }, 1, 64, 'perImage')).toThrow(
      /k: grid 1×1×70000 is too large/,
    );
  });
});
