// Timing and statistics shared by every benchmark: medians of wall-clock times of whole
// forwards (or training steps), each ending in a readback, so GPU time is always included.
import { cpus, loadavg } from 'node:os';

/** Median of a non-empty list (mean of the two middle values for even lengths). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of an empty list');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Wall-clock milliseconds of `f()` (which must resolve only after its GPU work finished). */
export async function timeMs<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

/** Deterministic pseudo-random values in [-1, 1) (a 32-bit LCG): the same images for every peer. */
export function benchImages(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

export function benchLabels(n: number, classes: number, seed = 2): Int32Array {
  const out = new Int32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s % Math.max(1, classes);
  }
  return out;
}

/** What else the machine was doing: SwiftShader runs on the CPU, so load skews every number. */
export function machineLoad(): { cpus: number; loadavg: [number, number, number] } {
  const [a, b, c] = loadavg();
  return { cpus: cpus().length, loadavg: [round(a, 2), round(b, 2), round(c, 2)] };
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Summary of one timed series. */
export interface Series {
  runs_ms: number[];
  median_ms: number;
  images_per_s: number;
}

export function series(runsMs: readonly number[], batch: number): Series {
  const med = median(runsMs);
  return {
    runs_ms: runsMs.map((x) => round(x, 2)),
    median_ms: round(med, 2),
    images_per_s: round((1000 * batch) / med, 4),
  };
}

/**
 * Interleaved timing: one run of each contestant per round, so a change in machine load (other
 * processes on SwiftShader's shared cores) hits both alike instead of skewing the ratio.
 */
export async function interleaved(
  contestants: readonly (() => Promise<unknown>)[],
  warmup: number,
  runs: number,
  onRound?: (round: number, ms: number[]) => void,
): Promise<number[][]> {
  for (let w = 0; w < warmup; w++) for (const c of contestants) await c();
  const times: number[][] = contestants.map(() => []);
  for (let r = 0; r < runs; r++) {
    const ms: number[] = [];
    for (const [i, c] of contestants.entries()) {
      const t = await timeMs(c);
      times[i].push(t.ms);
      ms.push(t.ms);
    }
    onRound?.(r, ms);
  }
  return times;
}
