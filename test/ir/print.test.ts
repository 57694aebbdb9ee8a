import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import type { Graph, Node } from '../../compiler/ir/graph.js';
import { printGraph } from '../../compiler/ir/print.js';

function sample(): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', [2, 3]);
  const labels = b.input('labels', [2], 'i32');
  const seed = b.input('rng_seed', [], 'i32');
  const y = b.scope('blocks.0.attn', () => {
    const w = b.param('blocks.0.attn.qkv.weight', [4, 3]);
    return b.matmul(x, w, { transB: true });
  });
  const s = b.slice(y, 1, 1, 3);
  const n = b.layernorm(s, null, b.param('nb', [2]), 1e-6);
  const d = b.dropout(n, seed, 0.1, 3);
  const t = b.constant('tbl', [2, 2], { kind: 'values', values: [1, -0.5, 0, 2] });
  const big = b.constant('big', [3, 3], { kind: 'values', values: [1, 2, 3, 4, 5, 6, 7, 8, 9] });
  const sc = b.constant('pe', [4, 8], {
    kind: 'sincos2d',
    rows: 2,
    cols: 2,
    dim: 8,
    temperature: 10000,
  });
  const l = b.crossEntropy(b.binary('add', d, t), labels, 0.1);
  b.output('loss', l);
  b.output('big', big);
  b.output('pe', sc);
  return b.build();
}

describe('printGraph', () => {
  it('prints one documented line per node', () => {
    expect(printGraph(sample()).split('\n').slice(0, 10)).toEqual([
      '%0 = input "x" : f32[2,3]',
      '%1 = input "labels" : i32[2]',
      '%2 = input "rng_seed" : i32[]',
      '%3 = param "blocks.0.attn.qkv.weight" : f32[4,3]',
      '%4 = matmul %0, %3 transB : f32[2,4]  # blocks.0.attn',
      '%5 = slice %4 axis=1 start=1 end=3 : f32[2,2]',
      '%6 = param "nb" : f32[2]',
      '%7 = layernorm %5, %6 eps=0.000001 bias : f32[2,2]',
      '%8 = dropout %7, %2 rate=0.1 stream=3 : f32[2,2]',
      '%9 = const "tbl" values([1,-0.5,0,2]) : f32[2,2]',
    ]);
  });

  it('prints long constants by count and fingerprint, generated ones by parameters, then outputs', () => {
    const lines = printGraph(sample()).split('\n');
    expect(lines[10]).toMatch(/^%10 = const "big" values\(n=9,fnv=[0-9a-f]{8}\) : f32\[3,3\]$/);
    expect(lines[11]).toBe(
      '%11 = const "pe" sincos2d(rows=2,cols=2,dim=8,temperature=10000) : f32[4,8]',
    );
    expect(lines[12]).toBe('%12 = add %8, %9 : f32[2,2]');
    expect(lines[13]).toBe('%13 = cross_entropy %12, %1 smoothing=0.1 : f32[]');
    expect(lines.slice(14)).toEqual([
      'output loss = %13',
      'output big = %10',
      'output pe = %11',
      '',
    ]);
  });

  it('is byte-stable: same graph, rebuilt graph, and reordered attribute objects print the same', () => {
    const a = printGraph(sample());
    expect(printGraph(sample())).toBe(a);
    const g = sample();
    const shuffled: Graph = {
      nodes: g.nodes.map(
        (n) => ({ ...n, attrs: Object.fromEntries(Object.entries(n.attrs).reverse()) }) as Node,
      ),
      outputs: g.outputs,
    };
    expect(printGraph(shuffled)).toBe(a);
  });

  it('fingerprints differ when constant values differ', () => {
    const mk = (v: number) => {
      const b = new GraphBuilder();
      b.output('c', b.constant('c', [9], { kind: 'values', values: [1, 2, 3, 4, 5, 6, 7, 8, v] }));
      return printGraph(b.build());
    };
    expect(mk(9)).not.toBe(mk(9.000001));
  });
});
