// Values of `const` nodes. Generated tables live here (not in the lowering) so that the
// interpreter, the code generator and the tests all materialize the identical numbers.
import { numel } from './graph.js';
import type { ConstInit } from './ops.js';

/**
 * big_vision's posemb_sincos_2d (vit.py), [rows·cols, dim]:
 *   y, x = meshgrid(arange(rows), arange(cols), indexing='ij'); q = dim/4
 *   ω = 1 / temperature^(arange(q) / (q - 1))
 *   pe = concat([sin(x·ω), cos(x·ω), sin(y·ω), cos(y·ω)], axis=1)
 * With q = 1 the exponent is taken as 0 (big_vision would divide by zero).
 */
export function sincos2dTable(
  rows: number,
  cols: number,
  dim: number,
  temperature: number,
): Float64Array {
  if (dim % 4 !== 0) throw new Error(`sincos2d: dim ${dim} is not a multiple of 4`);
  const q = dim / 4;
  const omega = new Float64Array(q);
  for (let k = 0; k < q; k++) omega[k] = 1 / Math.pow(temperature, q > 1 ? k / (q - 1) : 0);
  const out = new Float64Array(rows * cols * dim);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const o = (r * cols + c) * dim;
      for (let k = 0; k < q; k++) {
        out[o + k] = Math.sin(c * omega[k]);
        out[o + q + k] = Math.cos(c * omega[k]);
        out[o + 2 * q + k] = Math.sin(r * omega[k]);
        out[o + 3 * q + k] = Math.cos(r * omega[k]);
      }
    }
  return out;
}

/** The values of a const node of `shape`, row-major. */
export function constValues(init: ConstInit, shape: readonly number[]): Float64Array {
  switch (init.kind) {
    case 'values':
      return Float64Array.from(init.values);
    case 'fill':
      return new Float64Array(numel(shape)).fill(init.value);
    case 'sincos2d':
      return sincos2dTable(init.rows, init.cols, init.dim, init.temperature);
  }
}
