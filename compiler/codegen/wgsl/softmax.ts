/**
 * Softmax / log-softmax renderer over the last axis of x [rows, cols] (classifier logits, or
 * attention scores when they are materialised). Output y has x's shape.
 *
 *   softmax:    y = exp(x − max) / Σ exp(x − max)
 *   logsoftmax: y = x − max − log Σ exp(x − max)
 *
 * Subtracting the row maximum keeps every exp argument ≤ 0 (no overflow, and at least one term
 * equals 1, so the sum never underflows to 0 and log never sees 0). One workgroup per row: a
 * max reduction, then a sum reduction, both through workgroup memory; rows beyond 65535 fold
 * into a second grid dimension. rows and cols are uniforms.
 */

import {
  BindingSet,
  check,
  entrySignature,
  flatWorkgroupIndex,
  grid1d,
  isPowerOfTwo,
  KernelSpecError,
  renderHeader,
  renderUniformStruct,
  renderWorkgroupReduce,
  sanitizeName,
  sizeOf,
  u32,
  WgslWriter,
  type KernelSizes,
  type KernelSource,
  type UniformField,
  type Vec3,
} from './builder.js';

export interface SoftmaxDesc {
  kind: 'softmax' | 'logsoftmax';
  /** Invocations per workgroup (power of two ≤ 256); default 64. */
  workgroupSize?: number;
  name?: string;
}

const UNIFORMS: readonly UniformField[] = [
  { name: 'rows', type: 'u32' },
  { name: 'cols', type: 'u32' },
];

export function renderSoftmax(desc: SoftmaxDesc): KernelSource {
  const { kind } = desc;
  const wg = desc.workgroupSize ?? 64;
  check(kind === 'softmax' || kind === 'logsoftmax', 'softmax', `unknown kind '${kind}'`);
  check(isPowerOfTwo(wg) && wg <= 256, 'softmax', 'workgroupSize must be a power of two ≤ 256');
  const name = sanitizeName(desc.name ?? `${kind}_wg${wg}`);
  const binds = new BindingSet()
    .storage('x', 'read', 'f32')
    .storage('y', 'read_write', 'f32')
    .uniform('u', 'Uniforms');

  const w = new WgslWriter();
  renderHeader(w, name, [
    kind === 'softmax'
      ? 'Softmax over the last axis: y = exp(x − max) / Σ exp(x − max).'
      : 'Log-softmax over the last axis: y = x − max − log Σ exp(x − max).',
    `x, y: [rows, cols]; one workgroup of ${wg} per row.`,
  ]);
  renderUniformStruct(w, UNIFORMS);
  binds.render(w);
  w.line();
  w.line(`const WG = ${u32(wg)};`);
  w.line('var<workgroup> partial: array<f32, WG>;');
  w.line();
  renderWorkgroupReduce(w, 'workgroup_max', 'partial', wg, (a, b) => `max(${a}, ${b})`);
  w.line();
  renderWorkgroupReduce(w, 'workgroup_sum', 'partial', wg, (a, b) => `${a} + ${b}`);
  w.line();
  w.block(entrySignature([wg, 1, 1]), () => {
    w.line(`let row = ${flatWorkgroupIndex};`);
    w.comment('Uniform exit: row depends only on the workgroup id, so barriers stay legal.');
    w.block('if (row >= u.rows)', () => w.line('return;'));
    w.line('let base = row * u.cols;');
    w.comment('Invocations with no element start from element 0 (harmless for max).');
    w.line('var m = x[base];');
    w.block('for (var i = lid; i < u.cols; i = i + WG)', () => w.line('m = max(m, x[base + i]);'));
    w.line('let mx = workgroup_max(m, lid);');
    w.line('var s = 0.0;');
    w.block('for (var i = lid; i < u.cols; i = i + WG)', () =>
      w.line('s += exp(x[base + i] - mx);'),
    );
    w.line('let total = workgroup_sum(s, lid);');
    if (kind === 'softmax') {
      w.line('let inv = 1.0 / total;');
      w.block('for (var i = lid; i < u.cols; i = i + WG)', () =>
        w.line('y[base + i] = exp(x[base + i] - mx) * inv;'),
      );
    } else {
      w.comment('(x − max) first: exact for nearby values, then one rounding for the log term.');
      w.line('let lse = log(total);');
      w.block('for (var i = lid; i < u.cols; i = i + WG)', () =>
        w.line('y[base + i] = (x[base + i] - mx) - lse;'),
      );
    }
  });

  return {
    name,
    wgsl: w.toString(),
    entry: 'main',
    workgroupSize: [wg, 1, 1],
    bindings: binds.decls,
    uniforms: UNIFORMS,
    dispatch(sizes: KernelSizes): Vec3 {
      const rows = sizeOf(sizes, 'rows', name);
      const cols = sizeOf(sizes, 'cols', name);
      if (cols === 0) throw new KernelSpecError(`${name}: cols must be positive`);
      return grid1d(rows);
    },
  };
}
