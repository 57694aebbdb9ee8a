import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { constValues, sincos2dTable } from '../../compiler/ir/consts.js';
import { evaluate, interpret } from '../../compiler/ir/interp.js';
import { f, maxAbsDiff } from './helpers.js';

function chain() {
  const b = new GraphBuilder();
  const x = b.input('x', [3]);
  const w = b.param('w', [3]);
  const m = b.mul(x, w);
  const e = b.unary('exp', m);
  const s = b.reduce('reduce_sum', e, 0);
  b.output('s', s);
  b.output('m', m);
  return { g: b.build(), ids: { x, w, m, e, s } };
}

describe('interpreter driver', () => {
  it('returns named outputs and accepts Float32Array parameters', () => {
    const { g } = chain();
    const out = interpret(
      g,
      new Map([['x', f([0, 1, 2])]]),
      new Map([['w', Float32Array.of(1, 0.5, -1)]]),
    );
    expect([...out.keys()]).toEqual(['s', 'm']);
    expect([...out.get('m')!]).toEqual([0, 0.5, -2]);
    expect(out.get('s')![0]).toBeCloseTo(1 + Math.exp(0.5) + Math.exp(-2), 15);
  });

  it('exposes intermediate values (all by default, or the ones asked for)', () => {
    const { g, ids } = chain();
    const feeds = new Map([['x', f([0, 1, 2])]]);
    const params = new Map([['w', f([1, 1, 1])]]);
    const all = evaluate(g, feeds, params);
    expect(maxAbsDiff(all[ids.e] as Float64Array, [1, Math.E, Math.exp(2)])).toBeLessThan(1e-15);
    const some = evaluate(g, feeds, params, { keep: [ids.e] });
    expect(some[ids.e]).toBeDefined();
    expect(some[ids.x]).toBeUndefined(); // freed after its last reader
    expect(some[ids.s]).toBeDefined(); // outputs always kept
  });

  it('reports missing or misshapen feeds and parameters by name', () => {
    const { g } = chain();
    const w = new Map([['w', f([1, 1, 1])]]);
    expect(() => interpret(g, new Map(), w)).toThrow('no feed for input "x"');
    expect(() => interpret(g, new Map([['x', f([1])]]), w)).toThrow(
      'feed "x" has 1 values, input is [3]',
    );
    expect(() => interpret(g, new Map([['x', f([1, 2, 3])]]), new Map())).toThrow(
      'no value for parameter "w"',
    );
    expect(() => interpret(g, new Map([['x', Int32Array.of(1, 2, 3)]]), w)).toThrow(
      'must be float',
    );
  });
});

describe('constants', () => {
  it('sincos2d follows big_vision: [sin(x·ω), cos(x·ω), sin(y·ω), cos(y·ω)], ω_k = T^(-k/(q-1))', () => {
    // rows 2, cols 3, dim 8 → q = 2, ω = [1, 1e-4]. Patch 5 is (y, x) = (1, 2).
    const t = sincos2dTable(2, 3, 8, 10000);
    expect(t.length).toBe(6 * 8);
    const row5 = t.slice(5 * 8, 6 * 8);
    const want = [
      Math.sin(2),
      Math.sin(2e-4),
      Math.cos(2),
      Math.cos(2e-4),
      Math.sin(1),
      Math.sin(1e-4),
      Math.cos(1),
      Math.cos(1e-4),
    ];
    expect(maxAbsDiff(row5, want)).toBeLessThan(1e-15);
    expect([...t.slice(0, 8)]).toEqual([0, 0, 1, 1, 0, 0, 1, 1]);
  });

  it('materializes fills and explicit values', () => {
    expect([...constValues({ kind: 'fill', value: 2.5 }, [2, 2])]).toEqual([2.5, 2.5, 2.5, 2.5]);
    expect([...constValues({ kind: 'values', values: [1, 2] }, [2])]).toEqual([1, 2]);
    const b = new GraphBuilder();
    b.output('c', b.constant('c', [2], { kind: 'values', values: [3, 4] }, 'i32'));
    expect([...interpret(b.build(), new Map(), new Map()).get('c')!]).toEqual([3, 4]);
  });
});
