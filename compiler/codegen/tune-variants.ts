// The step alternatives an autotuned plan (`compileSpec(spec, { tune: true })`) offers, for the
// runtime to time and choose per adapter (runtime/autotune.ts): matmul tile shapes and subgroup
// variants, flash attention K/V schedules. Plain plans and generated/ carry none (small and
// adapter-neutral).
import { type KernelSource, KernelSpecError } from './wgsl/builder.js';
import { renderFlashAttention } from './wgsl/flash-attention.js';
import {
  DEFAULT_MATMUL_TILING,
  type MatmulDesc,
  type MatmulTiling,
  renderMatmul,
} from './wgsl/matmul.js';

export type FlashSchedule = { tileK: number; kv: 'workgroup' | 'direct' };

/**
 * Tile shapes besides the default: small blocks in big workgroups (GPUs: many threads, a 64×64
 * tile), the SwiftShader default (8×8 blocks, 8×4), the renderer's 4×4 in 8×8, and 8×4 blocks
 * (fewer registers than 8×8).
 */
export const TUNE_TILINGS: readonly MatmulTiling[] = [
  { rows: 4, cols: 4, workgroup: [16, 16] },
  { rows: 8, cols: 8, workgroup: [8, 4] },
  { rows: 4, cols: 4, workgroup: [8, 8] },
  { rows: 8, cols: 4, workgroup: [16, 8] },
];

/**
 * Subgroup sizes matmuls are offered for (A rows shared by subgroupShuffle,
 * wgsl/matmul-subgroup.ts): SwiftShader has 4, lavapipe 8, NVIDIA 32, AMD 32 or 64. The runtime
 * compiles and times only the one the adapter has.
 */
export const TUNE_SUBGROUPS: readonly number[] = [4, 8, 16, 32, 64];

/**
 * Flash attention schedules: K/V read directly 1, 2 or 4 keys at a time (SwiftShader: no
 * barriers), or staged in workgroup memory 8 or 16 keys at a time (lavapipe: 1.5× faster than
 * direct there; GPUs share the loads).
 */
export const TUNE_FLASH: readonly FlashSchedule[] = [
  { kv: 'direct', tileK: 1 },
  { kv: 'direct', tileK: 2 },
  { kv: 'direct', tileK: 4 },
  { kv: 'workgroup', tileK: 8 },
  { kv: 'workgroup', tileK: 16 },
];

/** Renders, or nothing when the variant does not apply (a layout it cannot share, a tile too big). */
function attempt(render: () => KernelSource): KernelSource[] {
  try {
    return [render()];
  } catch (e) {
    if (e instanceof KernelSpecError) return [];
    throw e;
  }
}

/**
 * A matmul's alternatives: the other tile shapes (not for row-norm epilogues, which need whole
 * rows per workgroup), and the subgroup variants of its own tiling (only A's loads change, so row
 * norms may have them).
 */
export function matmulAlternatives(desc: MatmulDesc, rowNorm: boolean): KernelSource[] {
  const own = desc.tiling ?? DEFAULT_MATMUL_TILING;
  const same = (t: MatmulTiling) => JSON.stringify(t) === JSON.stringify(own);
  const tilings = rowNorm
    ? []
    : TUNE_TILINGS.filter((t) => !same(t)).map((t) => renderMatmul({ ...desc, tiling: t }));
  const subgroups = TUNE_SUBGROUPS.flatMap((size) =>
    attempt(() => renderMatmul({ ...desc, tiling: { ...own, subgroup: size } })),
  );
  return [...tilings, ...subgroups];
}

/** The other flash schedules that are drop-in replacements of `kernel` (same bindings, uniforms). */
export function flashAlternatives(
  desc: Omit<Parameters<typeof renderFlashAttention>[0], 'tileK' | 'kv'>,
  own: FlashSchedule,
  kernel: KernelSource,
): KernelSource[] {
  const signature = (k: KernelSource) => JSON.stringify([k.bindings, k.uniforms]);
  return TUNE_FLASH.filter((f) => f.kv !== own.kv || f.tileK !== own.tileK)
    .flatMap((f) => attempt(() => renderFlashAttention({ ...desc, ...f })))
    .filter((k) => signature(k) === signature(kernel));
}
