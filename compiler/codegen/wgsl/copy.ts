/**
 * Strided copy: the one kernel behind every layout op that moves data (transpose, slice,
 * broadcast_to, each piece of a concat, im2col when it is not folded into a matmul).
 *
 * For every index c of the iteration shape `dims` (row-major), it copies
 *   dst[dstOffset + Σ c_d·dstStrides_d] = src[srcOffset + Σ c_d·srcStrides_d]
 * Strides may be zero (broadcast) or permuted (transpose). Everything is baked into the text:
 * plans are compiled per batch size, and a layout op's geometry never changes at run time.
 */
import {
  BindingSet,
  fixedSource,
  WgslWriter,
  check,
  entrySignature,
  flatWorkgroupIndex,
  grid1d,
  renderHeader,
  u32,
  type KernelSource,
} from './builder.js';

export interface CopyDesc {
  name: string;
  dims: readonly number[];
  srcStrides: readonly number[];
  srcOffset: number;
  dstStrides: readonly number[];
  dstOffset: number;
}

const WG = 64;

export function renderCopy(desc: CopyDesc): KernelSource {
  const { dims, srcStrides, dstStrides } = desc;
  check(
    dims.length === srcStrides.length && dims.length === dstStrides.length,
    desc.name,
    'rank mismatch',
  );
  const total = dims.reduce((a, b) => a * b, 1);
  const w = new WgslWriter();
  renderHeader(w, desc.name, [
    `strided copy over [${dims.join(', ')}]`,
    `src offset ${desc.srcOffset} strides [${srcStrides.join(', ')}]; dst offset ${desc.dstOffset} strides [${dstStrides.join(', ')}]`,
  ]);
  const bs = new BindingSet().storage('src', 'read', 'f32').storage('dst', 'read_write', 'f32');
  bs.render(w);
  w.line();
  w.block(entrySignature([WG, 1, 1]), () => {
    w.line(`let i = ${flatWorkgroupIndex} * ${u32(WG)} + lid;`);
    w.line(`if (i >= ${u32(total)}) { return; }`);
    w.line('var rest = i;');
    w.line(`var s = ${u32(desc.srcOffset)};`);
    w.line(`var d = ${u32(desc.dstOffset)};`);
    for (let k = dims.length - 1; k >= 0; k--) {
      if (dims[k] === 1) continue;
      w.line(`{ let c = rest % ${u32(dims[k])}; rest = rest / ${u32(dims[k])};`);
      w.line(`  s = s + c * ${u32(srcStrides[k])}; d = d + c * ${u32(dstStrides[k])}; }`);
    }
    w.line('dst[d] = src[s];');
  });
  return fixedSource(desc.name, w, bs, WG, grid1d(Math.ceil(total / WG)));
}
