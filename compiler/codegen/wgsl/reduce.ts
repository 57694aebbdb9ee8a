/**
 * Reduction renderer: sum / mean / max over one axis of a tensor viewed as [outer, axis, inner]
 * (any axis of a contiguous tensor: outer = product of the axes before it, inner = after it).
 * Output [outer, inner]. All three sizes are uniforms, so one pipeline serves any shape.
 *
 * Two strategies, chosen by the caller (codegen knows the shapes):
 *   'serial'    one invocation per output walks the axis. Neighbouring invocations read
 *               neighbouring addresses when inner > 1 (e.g. a bias gradient: sum of [tokens, D]
 *               over tokens), so this is the right choice there. Sums are Kahan-compensated, so
 *               a long axis (tens of thousands of tokens) keeps float32 accuracy.
 *   'workgroup' one workgroup per output; invocations take strided slices of the axis and a
 *               workgroup-memory tree combines them. Right for inner == 1 with a long axis
 *               (e.g. a loss summed over a batch).
 * Outputs beyond 65535 workgroups fold into a second grid dimension.
 */

import {
  BindingSet,
  ceilDiv,
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

export type ReduceOp = 'sum' | 'mean' | 'max';

export interface ReduceDesc {
  op: ReduceOp;
  strategy?: 'serial' | 'workgroup';
  /** Invocations per workgroup (power of two ≤ 256); default 64. */
  workgroupSize?: number;
  name?: string;
}

const UNIFORMS: readonly UniformField[] = [
  { name: 'outer', type: 'u32' },
  { name: 'axis', type: 'u32' },
  { name: 'inner', type: 'u32' },
];

export function renderReduce(desc: ReduceDesc): KernelSource {
  const { op } = desc;
  const strategy = desc.strategy ?? 'serial';
  const wg = desc.workgroupSize ?? 64;
  check(['sum', 'mean', 'max'].includes(op), 'reduce', `unknown reduction '${op}'`);
  check(
    strategy === 'serial' || strategy === 'workgroup',
    'reduce',
    `unknown strategy '${strategy}'`,
  );
  check(isPowerOfTwo(wg) && wg <= 256, 'reduce', 'workgroupSize must be a power of two ≤ 256');
  const name = sanitizeName(desc.name ?? `reduce_${op}_${strategy}_wg${wg}`);
  const isMax = op === 'max';
  const binds = new BindingSet()
    .storage('x', 'read', 'f32')
    .storage('y', 'read_write', 'f32')
    .uniform('u', 'Uniforms');

  const w = new WgslWriter();
  renderHeader(w, name, [
    `${op} over the middle axis of x [outer, axis, inner] into y [outer, inner].`,
    strategy === 'serial'
      ? `One invocation per output${isMax ? '' : ' (Kahan-compensated sum)'}.`
      : `One workgroup of ${wg} per output, tree reduction in workgroup memory.`,
  ]);
  renderUniformStruct(w, UNIFORMS);
  binds.render(w);
  w.line();
  w.line(`const WG = ${u32(wg)};`);
  const finish = (acc: string): string => (op === 'mean' ? `${acc} / f32(u.axis)` : acc);

  if (strategy === 'serial') {
    w.line();
    w.block(entrySignature([wg, 1, 1]), () => {
      w.line(`let o = ${flatWorkgroupIndex} * WG + lid;`);
      w.block('if (o >= u.outer * u.inner)', () => w.line('return;'));
      w.line('let base = (o / u.inner) * u.axis * u.inner + o % u.inner;');
      if (isMax) {
        w.line('var acc = x[base];');
        w.block('for (var a = 1u; a < u.axis; a = a + 1u)', () =>
          w.line('acc = max(acc, x[base + a * u.inner]);'),
        );
      } else {
        w.comment('Kahan summation: comp carries the low-order bits each addition drops.');
        w.line('var acc = 0.0;');
        w.line('var comp = 0.0;');
        w.block('for (var a = 0u; a < u.axis; a = a + 1u)', () => {
          w.line('let v = x[base + a * u.inner] - comp;');
          w.line('let t = acc + v;');
          w.line('comp = (t - acc) - v;');
          w.line('acc = t;');
        });
      }
      w.line(`y[o] = ${finish('acc')};`);
    });
  } else {
    w.line('var<workgroup> partial: array<f32, WG>;');
    w.line();
    renderWorkgroupReduce(w, 'workgroup_reduce', 'partial', wg, (a, b) =>
      isMax ? `max(${a}, ${b})` : `${a} + ${b}`,
    );
    w.line();
    w.block(entrySignature([wg, 1, 1]), () => {
      w.line(`let o = ${flatWorkgroupIndex};`);
      w.comment('Uniform exit: o depends only on the workgroup id, so barriers stay legal.');
      w.block('if (o >= u.outer * u.inner)', () => w.line('return;'));
      w.line('let base = (o / u.inner) * u.axis * u.inner + o % u.inner;');
      if (isMax) {
        w.comment('Invocations with no element start from element 0 (harmless for max).');
        w.line('var acc = x[base];');
        w.block('for (var a = lid; a < u.axis; a = a + WG)', () =>
          w.line('acc = max(acc, x[base + a * u.inner]);'),
        );
      } else {
        w.line('var acc = 0.0;');
        w.block('for (var a = lid; a < u.axis; a = a + WG)', () =>
          w.line('acc += x[base + a * u.inner];'),
        );
      }
      w.line('let total = workgroup_reduce(acc, lid);');
      w.block('if (lid == 0u)', () => w.line(`y[o] = ${finish('total')};`));
    });
  }

  return {
    name,
    wgsl: w.toString(),
    entry: 'main',
    workgroupSize: [wg, 1, 1],
    bindings: binds.decls,
    uniforms: UNIFORMS,
    dispatch(sizes: KernelSizes): Vec3 {
      const outer = sizeOf(sizes, 'outer', name);
      const axis = sizeOf(sizes, 'axis', name);
      const inner = sizeOf(sizes, 'inner', name);
      if (axis === 0 && op !== 'sum') {
        throw new KernelSpecError(`${name}: ${op} over an empty axis is undefined`);
      }
      const outputs = outer * inner;
      return grid1d(strategy === 'serial' ? ceilDiv(outputs, wg) : outputs);
    },
  };
}
