// Fusion decisions for matmuls: which neighbours are folded into the matmul kernel, and why
// the others are not. A value may be folded only if nothing else reads it and it is not a graph
// output, because a fused value never reaches memory.
//
//   prologue:  im2col → matmul                         (patch embedding reads the image directly)
//   epilogue:  matmul → +bias[N] → activation → ×scale[N] → +residual   (each stage optional, in order)
import { type Graph, type Node, consumers, shapeEquals } from '../ir/graph.js';
import { isLeafOp } from '../ir/ops.js';
import type { Activation } from './wgsl/activations.js';

export interface MatmulFusion {
  im2col?: number;
  bias?: number;
  activation?: Activation;
  scale?: number;
  residual?: number;
  /** Epilogue nodes folded into the matmul, in order; the last one's value is the kernel's output. */
  chain: number[];
}

export interface FusionPlan {
  /** Nodes computed inside another node's kernel (no kernel, no buffer of their own). */
  absorbed: Set<number>;
  matmuls: Map<number, MatmulFusion>;
  /** One line per decision, for `vitc explain --fusion` and VITC_DUMP=fused. */
  reasons: string[];
}

const EPILOGUE_ACTIVATIONS: ReadonlySet<string> = new Set(['gelu', 'gelu_tanh', 'relu', 'silu']);

export function planFusion(g: Graph): FusionPlan {
  const readers = consumers(g);
  const outputs = new Set(g.outputs.map((o) => o.node));
  const absorbed = new Set<number>();
  const matmuls = new Map<number, MatmulFusion>();
  const reasons: string[] = [];
  const tag = (n: Node) => `%${n.id} ${n.op}${n.name ? ` ${n.name}` : ''}`;
  /** The only reader of `id`, if folding `id` away is allowed. */
  const soleReader = (id: number): Node | undefined => {
    if (outputs.has(id)) return undefined;
    const r = readers[id];
    return r.length === 1 ? g.nodes[r[0]] : undefined;
  };
  const other = (n: Node, id: number): Node | undefined => {
    if (n.inputs.length !== 2) return undefined;
    if (n.inputs[0] === id && n.inputs[1] !== id) return g.nodes[n.inputs[1]];
    if (n.inputs[1] === id && n.inputs[0] !== id) return g.nodes[n.inputs[0]];
    return undefined;
  };

  for (const m of g.nodes) {
    if (m.op !== 'matmul') continue;
    const f: MatmulFusion = { chain: [] };
    const N = m.shape[m.shape.length - 1];
    const a = g.nodes[m.inputs[0]];
    const bShape = g.nodes[m.inputs[1]].shape;
    if (a.op === 'im2col' && !m.attrs.transA && bShape.length === 2) {
      if (soleReader(a.id) === m) {
        f.im2col = a.id;
        absorbed.add(a.id);
        reasons.push(`${tag(m)}: im2col ${tag(a)} folded into the A loads (no patch buffer)`);
      } else reasons.push(`${tag(m)}: im2col ${tag(a)} kept: it has other readers`);
    }
    let cur: Node = m;
    let stage = 0;
    for (;;) {
      const r = soleReader(cur.id);
      if (!r || !shapeEquals(r.shape, m.shape)) break;
      const o = other(r, cur.id);
      const vecN = o !== undefined && o.shape.length === 1 && o.shape[0] === N;
      if (stage <= 0 && r.op === 'add' && vecN) {
        f.bias = o!.id;
        stage = 1;
      } else if (stage <= 1 && EPILOGUE_ACTIVATIONS.has(r.op)) {
        f.activation = r.op as Activation;
        stage = 2;
      } else if (stage <= 2 && r.op === 'mul' && vecN) {
        f.scale = o!.id;
        stage = 3;
      } else if (stage <= 3 && r.op === 'add' && o && shapeEquals(o.shape, m.shape) && (o.id < m.id || isLeafOp(o.op))) {
        f.residual = o.id;
        stage = 4;
      } else break;
      f.chain.push(r.id);
      absorbed.add(r.id);
      cur = r;
    }
    if (f.chain.length)
      reasons.push(`${tag(m)}: epilogue ${f.chain.map((i) => tag(g.nodes[i])).join(' → ')} folded`);
    const next = soleReader(cur.id);
    if (next) reasons.push(`${tag(m)}: ${tag(next)} not folded (not an epilogue stage in order)`);
    else if (readers[cur.id].length > 1) reasons.push(`${tag(m)}: result read by ${readers[cur.id].length} nodes, epilogue ends`);
    matmuls.set(m.id, f);
  }
  return { absorbed, matmuls, reasons };
}
