/**
 * erf for WGSL, which has none. GELU (exact) = 0.5·x·(1 + erf(x/√2)) is the default ViT MLP
 * activation, so this must match float64 erf to float32 accuracy: max |error| ≤ 1.5e-7 on
 * [-6, 6] (checked densely on the device by test/kernels/erf.test.ts).
 *
 * Why three pieces: the obvious "1 − exp(−x²)·Q(x)" form is accurate in relative terms for erfc,
 * but near |x| ≈ 1 erfc is still ~0.16, so the few-ulp error of WGSL's `exp` (implementations
 * may differ by 3 + 2|x| ulp; SwiftShader measured up to 9) leaks into erf at ~2e-7. Instead:
 *
 *   |x| < 0.875        erf(x) = x + x·P(x²)                P: degree 5, |x·P| ≤ 0.13·|x|
 *   0.875 ≤ |x| < 2.5  erf(|x|) = C + M(|x| − 1.6875)      C = erf(1.6875) in f32, M: degree 10
 *   2.5 ≤ |x| < 4      erf(|x|) = 1 − exp(−x²)·Q(1/(1 + |x|/2))   Q: degree 4
 *   |x| ≥ 4            erf(|x|) = 1 (erfc(4) ≈ 1.5e-8 is below half an ulp of 1)
 *
 * Each piece adds a small computed correction to an exactly represented leading term, so rounding
 * in the polynomial stays well below an ulp of the result; the exp-based piece only runs where
 * erfc ≤ 4e-4, where exp's relative error no longer matters. Coefficients: weighted least squares
 * with Lawson reweighting toward minimax against mpmath (script in docs/KERNELS.md, "erf fit"),
 * fit errors 8.6e-9 (P, absolute, on x·P), 8.8e-9 (M, absolute), 3e-8 (Q, relative).
 * All branches are evaluated and combined with `select` (no divergence, no NaN leaks: the
 * unselected branches are finite for finite x, and `select` discards them anyway).
 */

import { f32 } from './builder.js';

/** Small-|x| polynomial P(z), z = x², highest degree first (Horner order). */
export const ERF_SMALL_P = [
  -0.0006222455, 0.0050358786, -0.026793959, 0.112825245, -0.37612557, 0.12837915,
] as const;

export const ERF_MID_CENTER = 1.6875;
/** erf(1.6875) rounded to f32: the leading term of the middle piece. */
export const ERF_MID_C = 0.9829897;
/** Middle polynomial M(s), s = |x| − 1.6875, highest degree first. */
export const ERF_MID_M = [
  -0.00026827352, 0.0010344663, 3.2871652e-5, -0.0061954805, 0.011716915, 0.0027319905,
  -0.049602028, 0.10239762, -0.11040166, 0.065423384, -1.6765956e-8,
] as const;

/** Tail polynomial Q(t), t = 1/(1 + |x|/2), with erfc(|x|) = exp(−x²)·Q(t), highest degree first. */
export const ERF_TAIL_Q = [0.16856417, 0.31695524, 0.2406123, 0.29187268, -0.00084626314] as const;

export const ERF_SMALL_LIMIT = 0.875;
export const ERF_TAIL_START = 2.5;
export const ERF_ONE_FROM = 4.0;

/** Horner form `((c0 * x + c1) * x − c2) …` of coefficients given highest degree first. */
export function horner(coeffs: readonly number[], x: string): string {
  let expr = f32(coeffs[0]);
  for (let i = 1; i < coeffs.length; i++) {
    const c = coeffs[i];
    const term = c < 0 ? `- ${f32(-c)}` : `+ ${f32(c)}`;
    expr = `${i > 1 ? `(${expr})` : expr} * ${x} ${term}`;
  }
  return expr;
}

/** WGSL source of `fn erf_f32(x: f32) -> f32`. */
export function erfWgsl(): string {
  return [
    '// erf accurate to float32 (max abs error 1.5e-7); see compiler/codegen/wgsl/erf.ts.',
    'fn erf_f32(x: f32) -> f32 {',
    '  let a = abs(x);',
    '  let z = x * x;',
    `  // |x| < ${f32(ERF_SMALL_LIMIT)}: x + x·P(x²) keeps the exact leading term x.`,
    `  let small = x + x * (${horner(ERF_SMALL_P, 'z')});`,
    `  // Middle: erf(${f32(ERF_MID_CENTER)}) plus a correction of at most ±0.2.`,
    `  let s = a - ${f32(ERF_MID_CENTER)};`,
    `  let mid = ${f32(ERF_MID_C)} + (${horner(ERF_MID_M, 's')});`,
    "  // Tail: 1 − erfc, where erfc ≤ 4e-4 makes exp's few-ulp error irrelevant.",
    '  let t = 1.0 / (1.0 + 0.5 * a);',
    `  let tail = 1.0 - exp(-z) * (${horner(ERF_TAIL_Q, 't')});`,
    `  let big = select(select(1.0, tail, a < ${f32(ERF_ONE_FROM)}), mid, a < ${f32(ERF_TAIL_START)});`,
    `  return select(sign(x) * big, small, a < ${f32(ERF_SMALL_LIMIT)});`,
    '}',
  ].join('\n');
}
