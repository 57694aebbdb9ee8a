/**
 * WGSL helper functions for the non-trivial scalar math shared by several kernel families
 * (matmul epilogues, elementwise expressions): erf, an overflow-safe tanh, GELU (exact and tanh),
 * sigmoid and SiLU. A kernel asks for the helpers it uses with `mathPrelude`, which returns them
 * with their dependencies, each once, in a fixed order (so rendered text stays deterministic).
 */

import { f32 } from './builder.js';
import { erfWgsl, horner } from './erf.js';

/** Activations a matmul epilogue can apply. `gelu` is exact (erf); `gelu_tanh` is the approximation. */
export type Activation = 'none' | 'gelu' | 'gelu_tanh' | 'relu' | 'silu';

export const ACTIVATIONS: readonly Activation[] = ['none', 'gelu', 'gelu_tanh', 'relu', 'silu'];

export type MathFn =
  'erf_f32' | 'tanh_f32' | 'gelu_f32' | 'gelu_tanh_f32' | 'sigmoid_f32' | 'silu_f32';

/**
 * tanh(x)/x − 1 = x²·R(x²) on |x| < 1, highest degree first (fit error 1.8e-8, same method as
 * erf). Below 1 the exp form 1 − 2/(e^{2|x|} + 1) would cancel and lose relative accuracy.
 */
export const TANH_SMALL_R = [
  -0.00042681722, 0.0025288917, -0.008239751, 0.021670977, -0.053937353, 0.1333315, -0.3333333,
] as const;

/** exp(x) overflows f32 past ~88.7; WGSL leaves overflowing results undefined, so clamp first. */
const EXP_ARG_MAX = 80;

function tanhWgsl(): string {
  return [
    '// tanh that neither overflows (exp argument clamped) nor cancels near 0 (odd polynomial).',
    'fn tanh_f32(x: f32) -> f32 {',
    '  let a = abs(x);',
    '  let z = x * x;',
    `  let small = x + x * z * (${horner(TANH_SMALL_R, 'z')});`,
    `  let e = exp(min(2.0 * a, ${f32(EXP_ARG_MAX)}));`,
    '  let big = sign(x) * (1.0 - 2.0 / (e + 1.0));',
    '  return select(big, small, a < 1.0);',
    '}',
  ].join('\n');
}

const FRAC_1_SQRT_2 = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_TANH_CUBIC = 0.044715;
const GELU_TANH_CLAMP = 10;

const DEFINITIONS: Record<MathFn, { deps: MathFn[]; text: () => string }> = {
  erf_f32: { deps: [], text: erfWgsl },
  tanh_f32: { deps: [], text: tanhWgsl },
  gelu_f32: {
    deps: ['erf_f32'],
    text: () =>
      [
        '// Exact GELU, as torch.nn.GELU(): 0.5·x·(1 + erf(x/√2)).',
        'fn gelu_f32(x: f32) -> f32 {',
        `  return 0.5 * x * (1.0 + erf_f32(x * ${f32(FRAC_1_SQRT_2)}));`,
        '}',
      ].join('\n'),
  },
  gelu_tanh_f32: {
    deps: ['tanh_f32'],
    text: () =>
      [
        "// GELU, tanh approximation, as torch.nn.GELU(approximate='tanh').",
        'fn gelu_tanh_f32(x: f32) -> f32 {',
        `  // tanh(u) is ±1 in f32 once |x| > ${f32(GELU_TANH_CLAMP)}; clamping keeps x³ finite.`,
        `  let xc = clamp(x, ${f32(-GELU_TANH_CLAMP)}, ${f32(GELU_TANH_CLAMP)});`,
        `  let u = ${f32(SQRT_2_OVER_PI)} * (xc + ${f32(GELU_TANH_CUBIC)} * xc * xc * xc);`,
        '  return 0.5 * x * (1.0 + tanh_f32(u));',
        '}',
      ].join('\n'),
  },
  sigmoid_f32: {
    deps: [],
    text: () =>
      [
        '// 1/(1 + e^−x) through e = e^−|x| ≤ 1: exp never overflows, and for x ≪ 0 the result',
        '// e/(1 + e) underflows to 0 gracefully (so silu(x) = x·sigmoid(x) → 0, not x·tiny).',
        'fn sigmoid_f32(x: f32) -> f32 {',
        '  let e = exp(-abs(x));',
        '  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);',
        '}',
      ].join('\n'),
  },
  silu_f32: {
    deps: ['sigmoid_f32'],
    text: () => ['fn silu_f32(x: f32) -> f32 {', '  return x * sigmoid_f32(x);', '}'].join('\n'),
  },
};

/** Emission order: dependencies before users, independent of request order. */
const ORDER: MathFn[] = [
  'erf_f32',
  'tanh_f32',
  'sigmoid_f32',
  'gelu_f32',
  'gelu_tanh_f32',
  'silu_f32',
];

/** The WGSL text of the requested helpers and their dependencies (empty string if none). */
export function mathPrelude(needed: Iterable<MathFn>): string {
  const want = new Set<MathFn>();
  const add = (f: MathFn): void => {
    if (want.has(f)) return;
    want.add(f);
    for (const d of DEFINITIONS[f].deps) add(d);
  };
  for (const f of needed) add(f);
  return ORDER.filter((f) => want.has(f))
    .map((f) => DEFINITIONS[f].text())
    .join('\n\n');
}

/** WGSL expression applying `act` to the f32 expression `x`, and the helpers it needs. */
export function activationExpr(act: Activation, x: string): { expr: string; needs: MathFn[] } {
  switch (act) {
    case 'none':
      return { expr: x, needs: [] };
    case 'relu':
      return { expr: `max(${x}, 0.0)`, needs: [] };
    case 'gelu':
      return { expr: `gelu_f32(${x})`, needs: ['gelu_f32'] };
    case 'gelu_tanh':
      return { expr: `gelu_tanh_f32(${x})`, needs: ['gelu_tanh_f32'] };
    case 'silu':
      return { expr: `silu_f32(${x})`, needs: ['silu_f32'] };
  }
}
