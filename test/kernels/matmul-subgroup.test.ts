// The matmul with A rows shared in subgroups (compiler/codegen/wgsl/matmul-subgroup.ts) on both
// CPU adapters: SwiftShader (subgroups of 4) and lavapipe (8). Each kernel size runs on each
// adapter: where the size matches, the lanes hand rows on with subgroupShuffle (the first test
// proves the layout check passes there, so that path is the one checked); where it does not, the
// kernel falls back to direct loads, and must be just as right.
import { describe, expect, it } from 'vitest';
import { renderMatmul, type MatmulDesc } from '../../compiler/codegen/wgsl/matmul.js';
import { lavapipeGpu, runKernel, testGpu, type TestGpu } from './gpu-helpers.js';
import { expectClose, matmul64, randomF32 } from './reference.js';

const adapters: [string, () => Promise<TestGpu>, number][] = [
  ['SwiftShader', testGpu, 4],
  ['lavapipe', lavapipeGpu, 8],
];

/** 1 where `subgroupAll(sg_size == S && sg_id == lid % S)` holds, per invocation of an 8×4 workgroup. */
async function layoutHolds(gpu: TestGpu, size: number): Promise<number[]> {
  const kernel = {
    name: `sg_layout_${size}`,
    wgsl: `enable subgroups;
@group(0) @binding(0) var<storage, read_write> ok: array<f32>;
@compute @workgroup_size(8, 4, 1)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sg_id: u32, @builtin(subgroup_size) sg_size: u32) {
  ok[lid] = select(0.0, 1.0, subgroupAll(sg_size == ${size}u && sg_id == lid % ${size}u));
}
`,
    entry: 'main',
    workgroupSize: [8, 4, 1] as [number, number, number],
    bindings: [{ binding: 0, name: 'ok', kind: 'read_write' as const, type: 'f32' }],
    uniforms: [],
    dispatch: () => [1, 1, 1] as [number, number, number],
  };
  return Array.from((await runKernel(kernel, {}, {}, { ok: 32 }, gpu)).ok);
}

async function check(
  gpu: TestGpu,
  desc: MatmulDesc,
  M: number,
  N: number,
  K: number,
  seed: number,
) {
  const a = randomF32(M * K, seed);
  const b = randomF32(N * K, seed + 1);
  const bias = randomF32(N, seed + 2);
  const residual = randomF32(M * N, seed + 3);
  const ref = matmul64(a, b, {
    batch: 1,
    M,
    N,
    K,
    transB: true,
    sharedB: true,
    bias,
    act: 'gelu',
    residual,
  });
  const kernel = renderMatmul(desc);
  expect(kernel.wgsl).toContain('subgroupShuffle');
  expect(kernel.requires).toEqual({ features: ['subgroups'], subgroupSize: desc.tiling!.subgroup });
  const out = await runKernel(
    kernel,
    { batch: 1, M, N, K },
    { a, b, bias, residual },
    { c: M * N },
    gpu,
  );
  expectClose(out.c, ref, `${kernel.name} on ${gpu.description}`);
}

const base = (subgroup: number, rows = 8, wx = 8, wy = 4): MatmulDesc => ({
  transB: true,
  batchB: 'shared',
  bias: true,
  activation: 'gelu',
  residual: 'buffer',
  align: { n: 4, k: 4 },
  tiling: { rows, cols: 8, workgroup: [wx, wy], subgroup },
});

describe('matmul with A rows shared in subgroups', () => {
  for (const [name, gpu, size] of adapters) {
    it(`${name}: subgroups of ${size} are laid out as the kernel expects`, async () => {
      expect(await layoutHolds(await gpu(), size)).toEqual(new Array(32).fill(1));
      // A size the adapter does not have fails the check everywhere (so those kernels fall back).
      expect(await layoutHolds(await gpu(), size * 4)).toEqual(new Array(32).fill(0));
    });
    for (const s of [4, 8, 16, 32]) {
      it(`${name}: sg${s} kernel (${s === size ? 'shuffles' : 'falls back'}), ragged M, matches float64`, async () =>
        check(await gpu(), base(s), 37, 40, 24, 10 * s));
    }
    it(`${name}: 4×4 blocks in 16×4 workgroups, sg4 and sg8`, async () => {
      await check(await gpu(), base(4, 4, 16, 4), 45, 72, 16, 7);
      await check(await gpu(), base(8, 4, 16, 4), 45, 72, 16, 8);
    });
  }

  it('refuses layouts it cannot share and A loads it does not handle', () => {
    expect(() => renderMatmul(base(3))).toThrow(/power of two in 4\.\.128/);
    expect(() => renderMatmul({ ...base(8), transB: false, transA: true })).toThrow(
      /row-major A loaded as vec4/,
    );
    // 8 rows per block in workgroup rows of 4 invocations: a block spans workgroup rows.
    expect(() => renderMatmul(base(8, 8, 4, 8))).toThrow(/TM \(8\) to divide WX \(4\)/);
    expect(renderMatmul(base(32)).name).toMatch(/_sg32_/);
  });
});
