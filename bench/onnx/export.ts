// vitc's forward Graph → an ONNX model, op by op, with the weights as initializers. The model
// computes exactly the graph's function, so ONNX Runtime runs the same math as vitc on the same
// weights; ORT's own graph optimizations (constant folding of weight transposes, LayerNorm/GELU
// fusion, …) then apply as they would to any exported model — that is the peer's best effort.
//
// Opset 17: LayerNormalization exists; ReduceMean/ReduceMax still take `axes` as an attribute
// (they moved to an input in opset 18); ReduceSum takes `axes` as an input since opset 13.
import { constValues } from '../../compiler/ir/consts.js';
import type { Graph, Node } from '../../compiler/ir/graph.js';
import {
  DataType,
  type AttrValue,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  encodeModel,
  f32Raw,
  i64Raw,
} from './proto.js';

export const OPSET = 17;

export interface ExportOptions {
  /** Weights by timm name; every `param` node of the graph must have one. */
  params: ReadonlyMap<string, Float32Array>;
  name?: string;
}

export class OnnxExportError extends Error {
  override name = 'OnnxExportError';
}

/** Builds the ONNX model object (not yet serialized). */
export function graphToOnnx(g: Graph, opts: ExportOptions): OnnxModel {
  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  const inputs: OnnxModel['inputs'] = [];
  const consts = new Map<string, string>(); // dedup key → initializer name
  const val = (id: number) => `v${id}`;
  let tmp = 0;
  const fresh = (base: string) => `${base}_t${tmp++}`;

  const emit = (op: string, ins: string[], out: string, attrs?: Record<string, AttrValue>) => {
    nodes.push({ op, inputs: ins, outputs: [out], attrs });
    return out;
  };
  const f32Const = (values: readonly number[], dims: readonly number[]) => {
    const key = `f32:${dims.join('x')}:${values.join(',')}`;
    let name = consts.get(key);
    if (!name) {
      name = `c${consts.size}`;
      consts.set(key, name);
      initializers.push({ name, dims, type: DataType.FLOAT, raw: f32Raw(values) });
    }
    return name;
  };
  const i64Const = (values: readonly number[]) => {
    const key = `i64:${values.join(',')}`;
    let name = consts.get(key);
    if (!name) {
      name = `c${consts.size}`;
      consts.set(key, name);
      initializers.push({ name, dims: [values.length], type: DataType.INT64, raw: i64Raw(values) });
    }
    return name;
  };
  const scalar = (v: number) => f32Const([v], []);
  const ints = (value: readonly number[]): AttrValue => ({ kind: 'ints', value });
  const int = (value: number): AttrValue => ({ kind: 'int', value });
  const float = (value: number): AttrValue => ({ kind: 'float', value });
  /** Swaps the last two axes (ONNX MatMul has no transpose flags). */
  const swapLast = (x: string, rank: number) => {
    const perm = [...Array(rank).keys()];
    [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
    return emit('Transpose', [x], fresh(x), { perm: ints(perm) });
  };

  for (const n of g.nodes) {
    const x = n.inputs.map(val);
    const out = val(n.id);
    const unsupported = () => {
      throw new OnnxExportError(
        `op '${n.op}' (%${n.id}) has no ONNX mapping here (forward graphs only)`,
      );
    };
    switch (n.op) {
      case 'input':
        if (n.dtype !== 'f32') unsupported();
        inputs.push({ name: n.attrs.name, type: DataType.FLOAT, dims: n.shape });
        emit('Identity', [n.attrs.name], out);
        break;
      case 'param': {
        const data = opts.params.get(n.attrs.name);
        if (!data) throw new OnnxExportError(`no weights for parameter ${n.attrs.name}`);
        if (data.length !== n.shape.reduce((a, b) => a * b, 1))
          throw new OnnxExportError(
            `parameter ${n.attrs.name}: ${data.length} values for [${n.shape}]`,
          );
        // The timm name on the initializer keeps the model readable in Netron.
        initializers.push({
          name: n.attrs.name,
          dims: n.shape,
          type: DataType.FLOAT,
          raw: f32Raw(data),
        });
        emit('Identity', [n.attrs.name], out);
        break;
      }
      case 'const':
        initializers.push({
          name: out,
          dims: n.shape,
          type: DataType.FLOAT,
          raw: f32Raw(constValues(n.attrs.init, n.shape)),
        });
        break;
      case 'matmul': {
        const [a, b] = n.inputs.map((i) => g.nodes[i]);
        const A = n.attrs.transA ? swapLast(x[0], a.shape.length) : x[0];
        const B = n.attrs.transB ? swapLast(x[1], b.shape.length) : x[1];
        emit('MatMul', [A, B], out);
        break;
      }
      case 'neg':
        emit('Neg', x, out);
        break;
      case 'exp':
        emit('Exp', x, out);
        break;
      case 'log':
        emit('Log', x, out);
        break;
      case 'sqrt':
        emit('Sqrt', x, out);
        break;
      case 'rsqrt':
        emit('Reciprocal', [emit('Sqrt', x, fresh(out))], out);
        break;
      case 'recip':
        emit('Reciprocal', x, out);
        break;
      case 'square':
        emit('Mul', [x[0], x[0]], out);
        break;
      case 'tanh':
        emit('Tanh', x, out);
        break;
      case 'erf':
        emit('Erf', x, out);
        break;
      case 'relu':
        emit('Relu', x, out);
        break;
      case 'sigmoid':
        emit('Sigmoid', x, out);
        break;
      case 'silu':
        emit('Mul', [x[0], emit('Sigmoid', x, fresh(out))], out);
        break;
      case 'scale':
        emit('Mul', [x[0], scalar(n.attrs.factor)], out);
        break;
      case 'step': {
        const gt = emit('Greater', [x[0], scalar(0)], fresh(out));
        emit('Cast', [gt], out, { to: int(DataType.FLOAT) });
        break;
      }
      case 'gelu': {
        // 0.5·x·(1 + erf(x/√2)): the pattern torch.onnx exports and ORT's GeluFusion recognises.
        const e = emit('Erf', [emit('Div', [x[0], scalar(Math.SQRT2)], fresh(out))], fresh(out));
        const h = emit('Mul', [x[0], emit('Add', [e, scalar(1)], fresh(out))], fresh(out));
        emit('Mul', [h, scalar(0.5)], out);
        break;
      }
      case 'gelu_tanh': {
        const cube = emit('Mul', [x[0], emit('Mul', [x[0], x[0]], fresh(out))], fresh(out));
        const inner = emit(
          'Add',
          [x[0], emit('Mul', [cube, scalar(0.044715)], fresh(out))],
          fresh(out),
        );
        const t = emit(
          'Tanh',
          [emit('Mul', [inner, scalar(Math.sqrt(2 / Math.PI))], fresh(out))],
          fresh(out),
        );
        const h = emit('Mul', [x[0], emit('Add', [t, scalar(1)], fresh(out))], fresh(out));
        emit('Mul', [h, scalar(0.5)], out);
        break;
      }
      case 'add':
        emit('Add', x, out);
        break;
      case 'sub':
        emit('Sub', x, out);
        break;
      case 'mul':
        emit('Mul', x, out);
        break;
      case 'div':
        emit('Div', x, out);
        break;
      case 'max':
        emit('Max', x, out);
        break;
      case 'reduce_sum':
        emit('ReduceSum', [x[0], i64Const([n.attrs.axis])], out, {
          keepdims: int(n.attrs.keepdims ? 1 : 0),
        });
        break;
      case 'reduce_mean':
      case 'reduce_max':
        emit(n.op === 'reduce_mean' ? 'ReduceMean' : 'ReduceMax', x, out, {
          axes: ints([n.attrs.axis]),
          keepdims: int(n.attrs.keepdims ? 1 : 0),
        });
        break;
      case 'softmax':
        emit('Softmax', x, out, { axis: int(n.attrs.axis) });
        break;
      case 'logsoftmax':
        emit('LogSoftmax', x, out, { axis: int(n.attrs.axis) });
        break;
      case 'layernorm': {
        const C = n.shape[n.shape.length - 1];
        const scale = n.attrs.weight ? x[1] : f32Const(new Array(C).fill(1), [C]);
        const ins = [x[0], scale];
        if (n.attrs.bias) ins.push(x[n.attrs.weight ? 2 : 1]);
        emit('LayerNormalization', ins, out, { axis: int(-1), epsilon: float(n.attrs.eps) });
        break;
      }
      case 'rmsnorm': {
        const last = n.shape.length - 1;
        const ms = emit('ReduceMean', [emit('Mul', [x[0], x[0]], fresh(out))], fresh(out), {
          axes: ints([last]),
          keepdims: int(1),
        });
        const inv = emit(
          'Reciprocal',
          [emit('Sqrt', [emit('Add', [ms, scalar(n.attrs.eps)], fresh(out))], fresh(out))],
          fresh(out),
        );
        if (n.attrs.weight) emit('Mul', [emit('Mul', [x[0], inv], fresh(out)), x[1]], out);
        else emit('Mul', [x[0], inv], out);
        break;
      }
      case 'reshape':
        emit('Reshape', [x[0], i64Const(n.attrs.shape)], out);
        break;
      case 'transpose':
        emit('Transpose', x, out, { perm: ints(n.attrs.perm) });
        break;
      case 'slice':
        emit(
          'Slice',
          [x[0], i64Const([n.attrs.start]), i64Const([n.attrs.end]), i64Const([n.attrs.axis])],
          out,
        );
        break;
      case 'concat':
        emit('Concat', x, out, { axis: int(n.attrs.axis) });
        break;
      case 'broadcast_to':
        emit('Expand', [x[0], i64Const(n.attrs.shape)], out);
        break;
      case 'im2col': {
        // [B,C,H,W] → [B,C,R,ph,Q,pw] → [B,R,Q,C,ph,pw] → [B,R·Q,C·ph·pw] (ops.ts im2col order).
        const [B, C, H, W] = g.nodes[n.inputs[0]].shape;
        const { ph, pw } = n.attrs;
        const R = H / ph;
        const Q = W / pw;
        const r6 = emit('Reshape', [x[0], i64Const([B, C, R, ph, Q, pw])], fresh(out));
        const t = emit('Transpose', [r6], fresh(out), { perm: ints([0, 2, 4, 1, 3, 5]) });
        emit('Reshape', [t, i64Const([B, R * Q, C * ph * pw])], out);
        break;
      }
      default:
        unsupported(); // loss, one_hot, dropout, drop_path: training graphs only
    }
  }

  const outputs = g.outputs.map((o) => {
    const src: Node = g.nodes[o.node];
    emit('Identity', [val(src.id)], o.name);
    return { name: o.name, type: DataType.FLOAT, dims: src.shape };
  });
  return { graphName: opts.name ?? 'vitc', nodes, initializers, inputs, outputs, opset: OPSET };
}

/** The serialized ModelProto bytes, ready for `InferenceSession.create(bytes)`. */
export function exportOnnx(g: Graph, opts: ExportOptions): Uint8Array {
  return encodeModel(graphToOnnx(g, opts));
}
