// Scalar math the interpreter needs beyond Math: erf (W. J. Cody's rational Chebyshev
// approximations, "Rational Chebyshev approximations for the error function", Math. Comp. 1969,
// as in his SPECFUN CALERF), and the two GELU forms built on it. Cody's erf is accurate to
// ~1e-16 relative in double precision, so the exact GELU here is the exact GELU.

const A = [
  3.1611237438705656, 113.864154151050156, 377.485237685302021, 3209.37758913846947,
  0.185777706184603153,
];
const B = [23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062];
const C = [
  0.564188496988670089, 8.88314979438837594, 66.1191906371416295, 298.635138197400131,
  881.95222124176909, 1712.04761263407058, 2051.07837782607147, 1230.33935479799725,
  2.15311535474403846e-8,
];
const D = [
  15.7449261107098347, 117.693950891312499, 537.181101862009858, 1621.38957456669019,
  3290.79923573345963, 4362.61909014324716, 3439.36767414372164, 1230.33935480374942,
];
const P = [
  0.305326634961232344, 0.360344899949804439, 0.125781726111229246, 0.0160837851487422766,
  6.58749161529837803e-4, 0.0163153871373020978,
];
const Q = [
  2.56852019228982242, 1.87295284992346047, 0.527905102951428412, 0.0605183413124413191,
  0.00233520497626869185,
];
const SQRPI = 0.56418958354775628695; // 1/√π
const THRESH = 0.46875;
const XSMALL = 1.11e-16;
const XBIG = 26.543;

/** erfc(y) for y > THRESH, Cody's second and third intervals (exp(-y²) split to keep precision). */
function erfcPositive(y: number): number {
  let r: number;
  if (y <= 4) {
    let num = C[8] * y;
    let den = y;
    for (let i = 0; i < 7; i++) {
      num = (num + C[i]) * y;
      den = (den + D[i]) * y;
    }
    r = (num + C[7]) / (den + D[7]);
  } else {
    if (y >= XBIG) return 0;
    const z = 1 / (y * y);
    let num = P[5] * z;
    let den = z;
    for (let i = 0; i < 4; i++) {
      num = (num + P[i]) * z;
      den = (den + Q[i]) * z;
    }
    r = (z * (num + P[4])) / (den + Q[4]);
    r = (SQRPI - r) / y;
  }
  // exp(-y²) = exp(-ysq²)·exp(-(y-ysq)(y+ysq)) with ysq = y rounded down to 1/16: avoids the
  // cancellation of forming y² directly.
  const ysq = Math.trunc(y * 16) / 16;
  const del = (y - ysq) * (y + ysq);
  return Math.exp(-ysq * ysq) * Math.exp(-del) * r;
}

/** The error function, erf(x) = 2/√π ∫₀ˣ e^(-t²) dt. */
export function erf(x: number): number {
  const y = Math.abs(x);
  if (y <= THRESH) {
    const z = y > XSMALL ? y * y : 0;
    let num = A[4] * z;
    let den = z;
    for (let i = 0; i < 3; i++) {
      num = (num + A[i]) * z;
      den = (den + B[i]) * z;
    }
    return (x * (num + A[3])) / (den + B[3]);
  }
  if (Number.isNaN(x)) return NaN;
  const r = 0.5 - erfcPositive(y) + 0.5;
  return x < 0 ? -r : r;
}

/** The complementary error function 1 - erf(x), accurate also where erf(x) is close to 1. */
export function erfc(x: number): number {
  const y = Math.abs(x);
  if (y <= THRESH) return 1 - erf(x);
  if (Number.isNaN(x)) return NaN;
  const r = erfcPositive(y);
  return x < 0 ? 2 - r : r;
}

const SQRT1_2 = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Exact GELU, torch.nn.GELU(approximate='none'): x·Φ(x) = 0.5·x·erfc(-x/√2). */
export function gelu(x: number): number {
  // erfc(-x/√2) rather than 1 + erf(x/√2): the same value, without cancellation for x ≪ 0.
  return 0.5 * x * erfc(-x * SQRT1_2);
}

/** torch.nn.GELU(approximate='tanh'). */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

export function sigmoid(x: number): number {
  // Two branches so that neither exp overflows.
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}
