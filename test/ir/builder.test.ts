import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { ShapeError } from '../../compiler/ir/infer.js';

describe('GraphBuilder shape inference', () => {
  it('infers matmul shapes with trans flags and batch broadcasting', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 1, 5, 4]);
    const w = b.input('w', [3, 6, 4]);
    expect(b.shape(b.matmul(x, w, { transB: true }))).toEqual([2, 3, 5, 6]);
    const y = b.input('y', [4, 5]);
    expect(b.shape(b.matmul(y, b.input('z', [4, 7]), { transA: true }))).toEqual([5, 7]);
  });

  it('names the op and the shapes when shapes do not fit', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 3]);
    const y = b.input('y', [4, 5]);
    expect(() => b.matmul(x, y)).toThrow(ShapeError);
    expect(() => b.matmul(x, y)).toThrow(
      'matmul: contraction sizes differ (3 vs 4) (inputs: f32[2,3], f32[4,5])',
    );
    expect(() => b.binary('add', x, y)).toThrow(
      'add: shapes do not broadcast (inputs: f32[2,3], f32[4,5])',
    );
    expect(() => b.reshape(x, [4, 2])).toThrow('reshape: cannot reshape 6 elements to [4,2]');
    expect(() => b.slice(x, 1, 2, 4)).toThrow(
      'slice: slice [2, 4) out of range for axis 1 of size 3',
    );
    expect(() => b.concat([x, y], 0)).toThrow('concat: inputs differ outside axis 0');
    expect(() => b.transpose(x, [0, 0])).toThrow(
      'transpose: perm [0,0] is not a permutation of rank 2',
    );
    expect(() => b.broadcastTo(x, [3, 3])).toThrow('broadcast_to: cannot broadcast to [3,3]');
    expect(() => b.im2col(b.input('img', [1, 3, 8, 8]), 3, 4)).toThrow(
      'im2col: patch 3x4 does not tile 8x8',
    );
    expect(() => b.layernorm(x, y, null, 1e-6)).toThrow('layernorm: affine input 1 must be [3]');
    expect(() => b.reduce('reduce_sum', x, 2)).toThrow(
      'reduce_sum: axis 2 out of range for rank 2',
    );
  });

  it('checks dtypes: labels and seeds are i32, arithmetic is f32', () => {
    const b = new GraphBuilder();
    const logits = b.input('logits', [2, 5]);
    const labels = b.input('labels', [2], 'i32');
    expect(b.dtype(b.crossEntropy(logits, labels, 0.1))).toBe('f32');
    expect(() => b.crossEntropy(logits, b.input('bad', [2]), 0)).toThrow('labels must be i32[2]');
    expect(() => b.unary('exp', labels)).toThrow('exp: input 0 must be f32');
    expect(() => b.dropout(logits, b.input('seed', [1], 'i32'), 0.1, 0)).toThrow(
      'seed must be an i32 scalar',
    );
    const seed = b.input('rng_seed', [], 'i32');
    expect(() => b.dropout(logits, seed, 1, 0)).toThrow('rate 1 outside [0, 1)');
    expect(b.shape(b.oneHot(labels, 5))).toEqual([2, 5]);
  });

  it('names nodes after the open scopes and parameters after themselves', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 4]);
    const y = b.scope('blocks.0', () => b.scope('attn', () => b.unary('exp', x)));
    const p = b.scope('ignored', () => b.param('head.weight', [3, 4]));
    const g = b.build();
    expect(g.nodes[x].name).toBeUndefined();
    expect(g.nodes[y].name).toBe('blocks.0.attn');
    expect(g.nodes[p].name).toBe('head.weight');
  });

  it('rejects duplicate parameters, inputs and outputs, and missing nodes', () => {
    const b = new GraphBuilder();
    const p = b.param('w', [2]);
    expect(() => b.param('w', [2])).toThrow('param "w" is declared twice');
    b.input('x', [2]);
    expect(() => b.input('x', [2])).toThrow('input "x" is declared twice');
    b.output('y', p);
    expect(() => b.output('y', p)).toThrow('output "y" is declared twice');
    expect(() => b.unary('neg', 42)).toThrow('neg: input %42 does not exist');
  });

  it('normalizes negative axes and builds frozen graphs', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2, 3, 4]);
    const s = b.softmax(x);
    b.output('s', s);
    const g = b.build();
    const node = g.nodes[s];
    expect(node.op === 'softmax' && node.attrs.axis).toBe(2);
    expect(Object.isFrozen(g.nodes)).toBe(true);
    expect(Object.isFrozen(g.nodes[0])).toBe(true);
  });
});
