/**
 * Fused elementwise renderer: one or more output tensors, each an expression tree over several
 * input tensors, constants and run-time scalars, with numpy broadcasting.
 *
 * Layout: every tensor is row-major and contiguous. Inputs are broadcast to the output shape the
 * numpy way (shapes aligned on the right; a size-1 or missing axis repeats). The index math is
 * resolved at render time: each input's address is the flat output index `o` folded through the
 * fewest div/mod terms (axes with the same broadcast status merge), so an input shaped like the
 * output reads `in[o]`, a bias [D] reads `in[o % D]`, a per-row value [R, 1] reads `in[o / D]`.
 *
 * Dynamic leading axis: an output shape may start with DYNAMIC (-1), the batch, whose size is
 * `sizes.lead` at run time, so one pipeline serves every batch size; an input then either has
 * that axis (also written DYNAMIC) or broadcasts over it (size 1 or absent), e.g. a position
 * embedding [1, N, D] added to tokens [-1, N, D].
 *
 * Several outputs share common subexpressions (each distinct subtree is computed once), which is
 * what an optimizer step needs (new param, new moments). An output may overwrite one of the
 * inputs in place (`inPlace`): that input is then read from the output's own buffer, because
 * WebGPU forbids binding one buffer both read-only and writable in a dispatch.
 * Run-time scalars (`param`, e.g. a scheduled learning rate) are f32 fields of the uniform.
 */

import { activationExpr, mathPrelude, type MathFn } from './activations.js';
import { stridedIndex } from './strided-index.js';
import {
  BindingSet,
  ceilDiv,
  check,
  entrySignature,
  f32,
  flatWorkgroupIndex,
  grid1d,
  isPowerOfTwo,
  KernelSpecError,
  renderHeader,
  renderUniformStruct,
  sanitizeName,
  sizeOf,
  u32,
  WgslWriter,
  type KernelSizes,
  type KernelSource,
  type UniformField,
  type Vec3,
} from './builder.js';

export const UNARY_OPS = [
  'neg', 'exp', 'log', 'sqrt', 'rsqrt', 'recip', 'square', 'abs',
  'tanh', 'erf', 'gelu', 'gelu_tanh', 'relu', 'silu', 'sigmoid', 'step',
] as const; // prettier-ignore
export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'max', 'min'] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];
export type BinaryOp = (typeof BINARY_OPS)[number];

export type Expr =
  | { op: 'input'; index: number }
  | { op: 'const'; value: number }
  | { op: 'param'; name: string }
  | { op: UnaryOp; x: Expr }
  | { op: BinaryOp; a: Expr; b: Expr };

/** Expression constructors, so callers write `ew.add(ew.input(0), ew.c(1))`. */
export const ew = {
  input: (index: number): Expr => ({ op: 'input', index }),
  c: (value: number): Expr => ({ op: 'const', value }),
  param: (name: string): Expr => ({ op: 'param', name }),
  unary: (op: UnaryOp, x: Expr): Expr => ({ op, x }),
  binary: (op: BinaryOp, a: Expr, b: Expr): Expr => ({ op, a, b }),
  add: (a: Expr, b: Expr): Expr => ({ op: 'add', a, b }),
  sub: (a: Expr, b: Expr): Expr => ({ op: 'sub', a, b }),
  mul: (a: Expr, b: Expr): Expr => ({ op: 'mul', a, b }),
  div: (a: Expr, b: Expr): Expr => ({ op: 'div', a, b }),
};

export interface ElementwiseDesc {
  /** Output shape (every output has it); shape[0] may be DYNAMIC (-1): the batch, at run time. */
  shape: readonly number[];
  /**
   * Input shapes; an axis aligned with a DYNAMIC output axis is DYNAMIC (batched) or 1. With
   * `strides` (elements, one per axis of `shape`, 0 allowed) and `offset`, the input is a strided
   * view of its buffer (a transpose, slice or broadcast read in place, no copy); static shapes only.
   */
  inputs: readonly { shape: readonly number[]; strides?: readonly number[]; offset?: number }[];
  outputs: readonly Expr[];
  /** Output `output` overwrites input `input` (same shape as the output). */
  inPlace?: readonly { output: number; input: number }[];
  /** Invocations per workgroup (power of two ≤ 256; default 256), one element each. */
  workgroupSize?: number;
  name?: string;
}

const KIND = 'elementwise';

const UNARY_WGSL: Record<UnaryOp, (x: string) => { expr: string; needs?: MathFn }> = {
  neg: (x) => ({ expr: `-${x}` }),
  exp: (x) => ({ expr: `exp(${x})` }),
  log: (x) => ({ expr: `log(${x})` }),
  sqrt: (x) => ({ expr: `sqrt(${x})` }),
  rsqrt: (x) => ({ expr: `inverseSqrt(${x})` }),
  recip: (x) => ({ expr: `1.0 / ${x}` }),
  square: (x) => ({ expr: `${x} * ${x}` }),
  abs: (x) => ({ expr: `abs(${x})` }),
  tanh: (x) => ({ expr: `tanh_f32(${x})`, needs: 'tanh_f32' }),
  erf: (x) => ({ expr: `erf_f32(${x})`, needs: 'erf_f32' }),
  gelu: (x) => activationOf('gelu', x),
  gelu_tanh: (x) => activationOf('gelu_tanh', x),
  relu: (x) => activationOf('relu', x),
  silu: (x) => activationOf('silu', x),
  sigmoid: (x) => ({ expr: `sigmoid_f32(${x})`, needs: 'sigmoid_f32' }),
  // Heaviside (relu' for autodiff): 1 where x > 0, else 0 (0 at 0, as compiler/ir/ops.ts defines it).
  step: (x) => ({ expr: `select(0.0, 1.0, ${x} > 0.0)` }),
};

function activationOf(act: 'gelu' | 'gelu_tanh' | 'relu' | 'silu', x: string) {
  const a = activationExpr(act, x);
  return { expr: a.expr, needs: a.needs[0] };
}

const BINARY_WGSL: Record<BinaryOp, (a: string, b: string) => string> = {
  add: (a, b) => `${a} + ${b}`,
  sub: (a, b) => `${a} - ${b}`,
  mul: (a, b) => `${a} * ${b}`,
  div: (a, b) => `${a} / ${b}`,
  max: (a, b) => `max(${a}, ${b})`,
  min: (a, b) => `min(${a}, ${b})`,
};

/** One merged run of output axes: all broadcast, or all present in the input. */
interface AxisGroup {
  outStride: number;
  /** Product of the group's output sizes; undefined if it contains the dynamic leading axis. */
  size: number | undefined;
  inStride: number;
  present: boolean;
  outermost: boolean;
}

/** Marks the dynamic leading (batch) axis in shapes: its size is `sizes.lead` at run time. */
export const DYNAMIC = -1;

/**
 * Render-time index expression of an input of shape `inShape` (right-aligned against `outShape`)
 * at flat output index `o`. Axes of equal broadcast status merge, so the result has at most one
 * div/mod pair per alternation between broadcast and present axes.
 */
export function broadcastIndex(
  outShape: readonly number[],
  inShape: readonly number[],
  what: string,
): string {
  const r = outShape.length;
  check(inShape.length <= r, KIND, `${what} has rank ${inShape.length} > output rank ${r}`);
  const padded = [...Array(r - inShape.length).fill(1), ...inShape] as number[];
  const groups: AxisGroup[] = [];
  let outStride = 1;
  let inStride = 1;
  for (let d = r - 1; d >= 0; d--) {
    const S = outShape[d];
    const I = padded[d];
    const dyn = S === DYNAMIC;
    check(
      I === S || I === 1,
      KIND,
      `${what} shape [${inShape}] does not broadcast to [${outShape}] (axis ${d})`,
    );
    if (S === 1) continue; // size-1 output axes contribute nothing
    const present = I !== 1;
    const last = groups[groups.length - 1];
    if (last && last.present === present) {
      last.size = dyn || last.size === undefined ? undefined : last.size * S;
    } else {
      groups.push({ outStride, size: dyn ? undefined : S, inStride, present, outermost: false });
    }
    if (!dyn) outStride *= S;
    if (present && !dyn) inStride *= I;
  }
  if (groups.length) groups[groups.length - 1].outermost = true;
  const terms: string[] = [];
  for (const g of groups) {
    if (!g.present) continue;
    let t = g.outStride === 1 ? 'o' : `o / ${u32(g.outStride)}`;
    if (!g.outermost && g.size !== undefined) {
      t = g.outStride === 1 ? `o % ${u32(g.size)}` : `(${t}) % ${u32(g.size)}`;
    }
    if (g.inStride !== 1) t = `(${t}) * ${u32(g.inStride)}`;
    terms.push(t);
  }
  return terms.length ? terms.join(' + ') : '0u';
}

function collectParams(e: Expr, out: Set<string>): void {
  if (e.op === 'param') out.add(e.name);
  else if ('x' in e) collectParams(e.x, out);
  else if ('a' in e) {
    collectParams(e.a, out);
    collectParams(e.b, out);
  }
}

export function renderElementwise(desc: ElementwiseDesc): KernelSource {
  const { shape, inputs, outputs } = desc;
  const dyn = shape[0] === DYNAMIC;
  const wg = desc.workgroupSize ?? 256;
  check(outputs.length >= 1, KIND, 'needs at least one output expression');
  check(
    shape.every((s, i) => Number.isInteger(s) && (s >= 1 || (i === 0 && s === DYNAMIC))),
    KIND,
    `bad output shape [${shape}] (sizes ≥ 1; only the first may be DYNAMIC)`,
  );
  inputs.forEach((inp, i) =>
    check(
      inp.shape.every(
        (s, d) =>
          Number.isInteger(s) &&
          (s >= 1 || (s === DYNAMIC && dyn && d === 0 && inp.shape.length === shape.length)),
      ),
      KIND,
      `input ${i} shape [${inp.shape}]: sizes ≥ 1, DYNAMIC only on the output's dynamic axis`,
    ),
  );
  check(isPowerOfTwo(wg) && wg <= 256, KIND, `workgroupSize must be a power of two ≤ 256`);
  const inPlace = new Map<number, number>(); // input → output
  for (const p of desc.inPlace ?? []) {
    check(
      p.output >= 0 && p.output < outputs.length,
      KIND,
      `inPlace output ${p.output} out of range`,
    );
    check(p.input >= 0 && p.input < inputs.length, KIND, `inPlace input ${p.input} out of range`);
    const s = inputs[p.input].shape;
    check(
      s.length === shape.length && s.every((v, i) => v === shape[i]),
      KIND,
      `in-place input ${p.input} must have the output shape`,
    );
    inPlace.set(p.input, p.output);
  }
  const params = new Set<string>();
  outputs.forEach((e) => collectParams(e, params));
  const paramNames = [...params].sort();
  for (const p of paramNames) {
    check(/^[a-z][a-z0-9_]*$/.test(p) && p !== 'lead', KIND, `bad param name '${p}'`);
  }
  const uniforms: UniformField[] = [];
  if (dyn) uniforms.push({ name: 'lead', type: 'u32' });
  for (const p of paramNames) uniforms.push({ name: p, type: 'f32' });
  const inner = shape.slice(dyn ? 1 : 0).reduce((a, b) => a * b, 1);

  // Post-order emission with structural CSE: each distinct subtree becomes one `let`.
  const body: string[] = [];
  const names = new Map<string, string>();
  const needs = new Set<MathFn>();
  const used = new Set<number>();
  const emit = (e: Expr): string => {
    switch (e.op) {
      case 'const':
        return e.value < 0 || Object.is(e.value, -0) ? `(${f32(e.value)})` : f32(e.value);
      case 'param':
        return `u.${e.name}`;
      case 'input': {
        check(
          Number.isInteger(e.index) && e.index >= 0 && e.index < inputs.length,
          KIND,
          `input ${e.index} out of range`,
        );
        const key = `in:${e.index}`;
        let n = names.get(key);
        if (!n) {
          n = `x${e.index}`;
          names.set(key, n);
          used.add(e.index);
          const alias = inPlace.get(e.index);
          const buf = alias !== undefined ? `out${alias}` : `in${e.index}`;
          const inp = inputs[e.index];
          const idx =
            alias !== undefined
              ? 'o'
              : inp.strides
                ? stridedIndex(shape, inp.shape, inp.strides, inp.offset ?? 0, `input ${e.index}`)
                : broadcastIndex(shape, inp.shape, `input ${e.index}`);
          body.push(`let ${n} = ${buf}[${idx}];`);
        }
        return n;
      }
    }
    const key = JSON.stringify(e);
    const seen = names.get(key);
    if (seen) return seen;
    let expr: string;
    if ('x' in e) {
      const op = UNARY_WGSL[e.op as UnaryOp];
      check(op !== undefined, KIND, `unknown unary op '${e.op}'`);
      const r = op(emit(e.x));
      if (r.needs) needs.add(r.needs);
      expr = r.expr;
    } else {
      const op = BINARY_WGSL[e.op as BinaryOp];
      check(op !== undefined, KIND, `unknown op '${(e as { op: string }).op}'`);
      expr = op(emit(e.a), emit(e.b));
    }
    const n = `t${names.size - used.size}`;
    names.set(key, n);
    body.push(`let ${n} = ${expr};`);
    return n;
  };
  const results = outputs.map((e) => emit(e));

  const binds = new BindingSet();
  for (let i = 0; i < inputs.length; i++) {
    if (used.has(i) && !inPlace.has(i)) binds.storage(`in${i}`, 'read', 'f32');
  }
  for (let j = 0; j < outputs.length; j++) binds.storage(`out${j}`, 'read_write', 'f32');
  if (uniforms.length) binds.uniform('u', 'Uniforms');

  const shapeText = `[${dyn ? ['lead', ...shape.slice(1)].join(', ') : shape.join(', ')}]`;
  const name = sanitizeName(
    desc.name ??
      `ew_${outputs.length}o_${inputs.length}i_${shapeText.replace(/\W+/g, 'x')}_${hashText(body.join('\n') + results.join(','))}`,
  );
  const w = new WgslWriter();
  renderHeader(w, name, [
    `Fused elementwise over output shape ${shapeText}; one element per invocation.`,
    ...inputs.map(
      (s, i) =>
        `in${i}: [${s.shape.join(', ')}]${s.strides ? ` strides [${s.strides.join(', ')}] offset ${s.offset ?? 0}` : ''}${inPlace.has(i) ? ` (in place of out${inPlace.get(i)})` : ''}${used.has(i) ? '' : ' (unused)'}`,
    ),
  ]);
  if (uniforms.length) renderUniformStruct(w, uniforms);
  binds.render(w);
  w.line();
  const prelude = mathPrelude(needs);
  if (prelude) w.raw(prelude).line();
  w.line(`const WG = ${u32(wg)};`);
  w.line();
  w.block(entrySignature([wg, 1, 1]), () => {
    w.line(`let o = ${flatWorkgroupIndex} * WG + lid;`);
    w.line(`let count = ${dyn ? `u.lead * ${u32(inner)}` : u32(inner)};`);
    w.block('if (o >= count)', () => w.line('return;'));
    for (const l of body) w.line(l);
    results.forEach((r, j) => w.line(`out${j}[o] = ${r};`));
  });

  return {
    name,
    wgsl: w.toString(),
    entry: 'main',
    workgroupSize: [wg, 1, 1],
    bindings: binds.decls,
    uniforms,
    dispatch(sizes: KernelSizes): Vec3 {
      const lead = dyn ? sizeOf(sizes, 'lead', name) : 1;
      const count = lead * inner;
      if (count > 0xffffffff) throw new KernelSpecError(`${name}: ${count} elements exceed u32`);
      return grid1d(ceilDiv(count, wg));
    },
  };
}

/** Short stable hash (FNV-1a, 32 bit) so distinct expressions get distinct default names. */
function hashText(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
