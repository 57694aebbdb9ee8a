/**
 * Index arithmetic for elementwise inputs that are strided views of their buffer (a transpose,
 * slice or broadcast read in place instead of copied): see ElementwiseDesc.inputs.
 */
import { check, u32 } from './builder.js';

const KIND = 'elementwise';
/** The dynamic-batch marker of elementwise shapes (same value as elementwise.ts DYNAMIC). */
const DYNAMIC = -1;

/**
 * Index expression of a strided view `inShape`/`strides` (+ `offset`), right-aligned against
 * `outShape`, at flat output index `o`: Σ coordinate·stride over the output axes, with runs of
 * axes that are contiguous in the view (or all broadcast) merged into one div/mod term.
 */
export function stridedIndex(
  outShape: readonly number[],
  inShape: readonly number[],
  strides: readonly number[],
  offset: number,
  what: string,
): string {
  const r = outShape.length;
  check(inShape.length <= r, KIND, `${what} has rank ${inShape.length} > output rank ${r}`);
  check(strides.length === inShape.length, KIND, `${what}: one stride per axis`);
  check(!outShape.includes(DYNAMIC), KIND, `${what}: strided inputs need a static output shape`);
  const pad = r - inShape.length;
  // Per output axis: the element stride of the view along it (0 where the input broadcasts).
  const eff = outShape.map((S, d) => {
    const I = d < pad ? 1 : inShape[d - pad];
    check(
      I === S || I === 1,
      KIND,
      `${what} shape [${inShape}] does not broadcast to [${outShape}]`,
    );
    return I === 1 ? 0 : strides[d - pad];
  });
  // Merge from the innermost axis: [size, viewStride, outStride] runs.
  const runs: { size: number; stride: number; outStride: number }[] = [];
  let outStride = 1;
  for (let d = r - 1; d >= 0; d--) {
    const S = outShape[d];
    if (S === 1) continue;
    const last = runs[runs.length - 1];
    if (last && eff[d] === last.stride * last.size) last.size *= S;
    else runs.push({ size: S, stride: eff[d], outStride });
    outStride *= S;
  }
  const terms: string[] = [];
  runs.forEach((g, i) => {
    if (g.stride === 0) return;
    let t = g.outStride === 1 ? 'o' : `o / ${u32(g.outStride)}`;
    if (i < runs.length - 1)
      t = g.outStride === 1 ? `o % ${u32(g.size)}` : `(${t}) % ${u32(g.size)}`;
    if (g.stride !== 1) t = `(${t}) * ${u32(g.stride)}`;
    terms.push(t);
  });
  if (offset !== 0) terms.push(u32(offset));
  return terms.length ? terms.join(' + ') : '0u';
}
