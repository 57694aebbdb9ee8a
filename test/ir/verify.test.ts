import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import type { Graph, Node } from '../../compiler/ir/graph.js';
import { assertValidGraph, verifyGraph } from '../../compiler/ir/verify.js';

function small(): Graph {
  const b = new GraphBuilder();
  const x = b.input('x', [2, 3]);
  const w = b.param('w', [4, 3]);
  const y = b.matmul(x, w, { transB: true });
  b.output('y', b.unary('relu', y));
  return b.build();
}

/** A copy of g with node i replaced by patch(node). */
function edit(g: Graph, i: number, patch: (n: Node) => object): Graph {
  return {
    nodes: g.nodes.map((n) => (n.id === i ? ({ ...n, ...patch(n) } as Node) : n)),
    outputs: g.outputs,
  };
}

describe('verifyGraph', () => {
  it('accepts a well-formed graph', () => {
    expect(verifyGraph(small())).toEqual([]);
    expect(() => assertValidGraph(small())).not.toThrow();
  });

  it('catches a wrong recorded shape', () => {
    const g = edit(small(), 2, () => ({ shape: [2, 5] }));
    // Each node is checked against its inputs' recorded types, so the consumer is flagged too.
    expect(verifyGraph(g)).toEqual([
      '%2: matmul is f32[2,5] but infers f32[2,4]',
      '%3: relu is f32[2,4] but infers f32[2,5]',
    ]);
  });

  it('catches a wrong dtype', () => {
    const g = edit(small(), 3, () => ({ dtype: 'i32' }));
    expect(verifyGraph(g)).toEqual(['%3: relu is i32[2,4] but infers f32[2,4]']);
  });

  it('catches references forward and to missing nodes', () => {
    expect(verifyGraph(edit(small(), 2, () => ({ inputs: [0, 3] })))).toEqual([
      '%2: matmul reads %3, which comes later (not topological)',
    ]);
    expect(verifyGraph(edit(small(), 3, () => ({ inputs: [9] })))).toEqual([
      '%3: relu reads %9, which does not exist',
    ]);
  });

  it('catches ids out of place, unknown ops and bad attrs', () => {
    expect(verifyGraph(edit(small(), 1, () => ({ id: 7 })))).toEqual([
      '%1 (w): id is 7, expected its position 1',
    ]);
    expect(verifyGraph(edit(small(), 3, () => ({ op: 'frobnicate' })))).toEqual([
      '%3: unknown op "frobnicate"',
    ]);
    const bad = verifyGraph(edit(small(), 2, () => ({ attrs: { transA: false, transB: false } })));
    expect(bad).toEqual([
      '%2: matmul: contraction sizes differ (3 vs 4) (inputs: f32[2,3], f32[4,3])',
    ]);
  });

  it('catches duplicate parameters and inputs, and bad outputs', () => {
    const g = small();
    const dupParam = edit(g, 0, () => ({ op: 'param', attrs: { name: 'w' }, shape: [2, 3] }));
    expect(verifyGraph(dupParam)).toEqual(['%1 (w): parameter "w" already declared at %0']);
    const outs: Graph = {
      nodes: g.nodes,
      outputs: [...g.outputs, { name: 'y', node: 1 }, { name: 'z', node: 99 }],
    };
    expect(verifyGraph(outs)).toEqual([
      'output "y" is declared twice',
      'output "z" refers to %99, which does not exist',
    ]);
  });

  it('assertValidGraph lists every problem', () => {
    const g = edit(
      edit(small(), 2, () => ({ dtype: 'i32' })),
      3,
      () => ({ inputs: [9] }),
    );
    expect(() => assertValidGraph(g, 'test graph')).toThrow(
      'test graph is invalid:\n  %2: matmul is i32[2,4] but infers f32[2,4]\n  %3: relu reads %9, which does not exist',
    );
  });
});
