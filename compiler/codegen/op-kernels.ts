// One graph node → one kernel dispatch, for the ops that are not matmuls or layout copies:
// norms, elementwise (unary, binary with broadcasting), reductions and softmax.
import { type Graph, type Node, numel } from '../ir/graph.js';
import { CodegenError, type Loc, type PlanBuilder } from './plan-builder.js';
import { type Expr, ew, renderElementwise } from './wgsl/elementwise.js';
import { renderNorm } from './wgsl/norm.js';
import { renderNormGrad } from './wgsl/norm-grad.js';
import { renderReduce } from './wgsl/reduce.js';
import { renderSoftmax } from './wgsl/softmax.js';
import { renderCrossEntropy, renderDropout, renderOneHot } from './wgsl/training.js';

/**
 * Invocations per row for norms and softmax. Their workgroup tree reductions put barriers in
 * every row, and on SwiftShader a barrier switches every 4-wide invocation group of the
 * workgroup: LayerNorm of [2080, 192] took 327 ms at 64 invocations, 67 at 16, 35 at 8 (ViT-B
 * rows [197, 768]: 43 → 10.5 ms). Rows are many, so small workgroups still fill a GPU.
 */
export const ROW_WORKGROUP = 8;

export function renderOpKernel(
  pb: PlanBuilder,
  g: Graph,
  n: Node,
  out: Loc,
  loc: (id: number) => Loc,
  label: string,
): void {
  const input = (i: number) => g.nodes[n.inputs[i]];
  switch (n.op) {
    case 'layernorm':
    case 'rmsnorm': {
      const x = input(0);
      const D = x.shape[x.shape.length - 1];
      const weight = n.attrs.weight;
      const bias = n.op === 'layernorm' ? n.attrs.bias : false;
      const k = renderNorm({
        kind: n.op,
        eps: n.attrs.eps,
        weight,
        bias,
        alignD: D % 4 === 0 ? 4 : 1,
        workgroupSize: ROW_WORKGROUP,
      });
      const bind: Record<string, Loc> = { x: loc(x.id), y: out };
      if (weight) bind.weight = loc(n.inputs[1]);
      if (bias) bind.bias = loc(n.inputs[2]);
      pb.step(k, `${n.op} over the last axis`, label, bind, { rows: numel(x.shape) / D, D });
      return;
    }
    case 'norm_grad': {
      const x = input(0);
      const D = x.shape[x.shape.length - 1];
      // One invocation per row (no barriers): measured on SwiftShader, see norm-grad.ts.
      const k = renderNormGrad({
        center: n.attrs.center,
        eps: n.attrs.eps,
        weight: n.attrs.weight,
        part: n.attrs.part,
        alignD: D % 4 === 0 ? 4 : 1,
        strategy: 'serial',
        workgroupSize: 64,
      });
      const bind: Record<string, Loc> = { x: loc(x.id), g: loc(n.inputs[1]) };
      bind[n.attrs.part === 'weight' ? 'gxhat' : 'dx'] = out;
      if (n.attrs.weight) bind.weight = loc(n.inputs[2]);
      pb.step(k, `norm gradient (${n.attrs.part}) over the last axis`, label, bind, {
        rows: numel(x.shape) / D,
        D,
      });
      return;
    }
    case 'softmax':
    case 'logsoftmax': {
      const x = input(0);
      const cols = x.shape[x.shape.length - 1];
      if (n.attrs.axis !== x.shape.length - 1)
        throw new CodegenError(
          `${label}: ${n.op} over axis ${n.attrs.axis} (only the last axis has a kernel)`,
        );
      const k = renderSoftmax({ kind: n.op, workgroupSize: ROW_WORKGROUP });
      pb.step(
        k,
        `${n.op} over the last axis`,
        label,
        { x: loc(x.id), y: out },
        { rows: numel(x.shape) / cols, cols },
      );
      return;
    }
    case 'reduce_sum':
    case 'reduce_mean':
    case 'reduce_max': {
      const x = input(0);
      const axis = n.attrs.axis;
      const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
      const len = x.shape[axis];
      const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
      const op = n.op === 'reduce_sum' ? 'sum' : n.op === 'reduce_mean' ? 'mean' : 'max';
      // One invocation walking a long axis alone (a global gradient norm: one output over every
      // parameter) leaves a GPU idle and, on SwiftShader, 3 of 4 SIMD lanes: a workgroup per
      // output instead (clip_grad_norm of 139k values: ~80 → ~20 ms).
      const strategy = outer * inner <= 8 && len >= 1024 ? 'workgroup' : 'serial';
      const k = renderReduce({ op, strategy });
      pb.step(
        k,
        `${n.op} over one axis`,
        label,
        { x: loc(x.id), y: out },
        { outer, axis: len, inner },
      );
      return;
    }
    case 'cross_entropy': {
      const [B, K] = input(0).shape;
      const k = renderCrossEntropy({ batch: B, classes: K, smoothing: n.attrs.smoothing });
      pb.step(k, 'mean cross-entropy with label smoothing', label, {
        logits: loc(n.inputs[0]),
        labels: loc(n.inputs[1]),
        loss: out,
      });
      return;
    }
    case 'one_hot': {
      const k = renderOneHot({ count: numel(input(0).shape), classes: n.attrs.classes });
      pb.step(k, 'one-hot labels', label, { labels: loc(n.inputs[0]), out });
      return;
    }
    case 'dropout':
    case 'drop_path': {
      const x = input(0);
      const k = renderDropout({
        kind: n.op,
        numel: numel(x.shape),
        perSample: numel(x.shape.slice(1)),
        rate: n.attrs.rate,
        stream: n.attrs.stream,
      });
      pb.step(k, `${n.op} (counter-based RNG)`, label, {
        x: loc(x.id),
        seed: loc(n.inputs[1]),
        out,
      });
      return;
    }
    default: {
      const expr = elementwiseExpr(n);
      if (!expr) throw new CodegenError(`${label}: no WGSL kernel for op '${n.op}' yet`);
      const ins = n.inputs.map((i) => g.nodes[i]);
      const k = renderElementwise({
        shape: [...n.shape],
        inputs: ins.map((i) => ({ shape: [...i.shape] })),
        outputs: [expr],
      });
      const bind: Record<string, Loc> = { out0: out };
      ins.forEach((i, j) => {
        if (k.bindings.some((b) => b.name === `in${j}`)) bind[`in${j}`] = loc(i.id);
      });
      pb.step(k, `elementwise ${n.op}`, label, bind, {});
    }
  }
}

/** The elementwise expression of a unary/binary node over its inputs in0, in1. */
function elementwiseExpr(n: Node): Expr | undefined {
  return nodeExpr(
    n,
    n.inputs.map((_, i) => ew.input(i)),
  );
}

/** The elementwise expression of a unary/binary node applied to `args` (one per input). */
export function nodeExpr(n: Node, args: readonly Expr[]): Expr | undefined {
  switch (n.op) {
    case 'scale':
      return ew.mul(args[0], ew.c(n.attrs.factor));
    case 'add':
    case 'sub':
    case 'mul':
    case 'div':
    case 'max':
      return ew.binary(n.op, args[0], args[1]);
    case 'neg':
    case 'exp':
    case 'log':
    case 'sqrt':
    case 'rsqrt':
    case 'recip':
    case 'square':
    case 'tanh':
    case 'erf':
    case 'gelu':
    case 'gelu_tanh':
    case 'relu':
    case 'silu':
    case 'sigmoid':
    case 'step':
      return ew.unary(n.op, args[0]);
    default:
      return undefined;
  }
}
