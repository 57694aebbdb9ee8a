// Runs real compute shaders on whatever adapter this machine has (SwiftShader in CI) and checks
// every output against a CPU computation. Never skipped: no adapter is a failure to fix
// (run scripts/setup.sh), not a reason to pass.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  acquireDevice,
  DeviceError,
  GpuScopeError,
  sharedDevice,
  withErrorScope,
  type VitcDevice,
} from '../../runtime/device.js';

const WG = 64;
const N = 5000; // deliberately not a multiple of WG: the tail workgroup must guard its bounds

const SHADER = /* wgsl */ `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> prod: array<f32>;
@group(0) @binding(4) var<storage, read_write> mixed: array<f32>;
@group(0) @binding(5) var<storage, read_write> partial: array<f32>;

const N: u32 = ${N}u;
var<workgroup> tile: array<f32, ${WG}>;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(workgroup_id) wid: vec3u) {
  let i = gid.x;
  var sq = 0.0;
  if (i < N) {
    let p = a[i] * b[i];
    prod[i] = p;
    mixed[i] = p + sqrt(f32(i));
    sq = x[i] * x[i];
  }
  // Tree reduction of x[i]^2 over the workgroup in shared memory.
  tile[lid.x] = sq;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid.x < s) { tile[lid.x] = tile[lid.x] + tile[lid.x + s]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { partial[wid.x] = tile[0]; }
}
`;

let gpu: VitcDevice;

beforeAll(async () => {
  gpu = await sharedDevice();
  console.log(`WebGPU adapter: ${gpu.info.description} (${gpu.info.backend})`);
});

function storage(device: GPUDevice, data: Float32Array): GPUBuffer {
  const buf = device.createBuffer({
    size: data.byteLength,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    mappedAtCreation: true,
  });
  new Float32Array(buf.getMappedRange()).set(data);
  buf.unmap();
  return buf;
}

async function readBack(device: GPUDevice, src: GPUBuffer, count: number): Promise<Float32Array> {
  const staging = device.createBuffer({
    size: count * 4,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, 0, staging, 0, count * 4);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  staging.destroy();
  return out;
}

/** Deterministic pseudo-random f32 values in [-4, 4) (no denormals, which SwiftShader may flush). */
function randomF32(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 8 - 4;
  }
  return out;
}

describe('acquired device', () => {
  it('fills DeviceInfo from the adapter and raises limits to the adapter maximum', () => {
    const { info, adapter, device } = gpu;
    expect(info.description.length).toBeGreaterThan(0);
    expect(info.vendor.length + info.architecture.length).toBeGreaterThan(0);
    expect(['hardware', 'swiftshader', 'lavapipe', 'browser']).toContain(info.backend);
    if (info.backend === 'swiftshader') {
      expect(info.isFallback).toBe(true);
      expect(info.description).toMatch(/swiftshader/i);
    }
    for (const name of [
      'maxStorageBuffersPerShaderStage',
      'maxStorageBufferBindingSize',
      'maxComputeWorkgroupStorageSize',
      'maxComputeInvocationsPerWorkgroup',
    ] as const) {
      expect(device.limits[name]).toBe(adapter.limits[name]);
      expect(info.limits[name]).toBe(adapter.limits[name]);
    }
    for (const f of ['shader-f16', 'subgroups', 'timestamp-query'] as const) {
      expect(info.features.includes(f)).toBe(adapter.features.has(f));
    }
    expect(info.features).toEqual([...device.features].sort());
  });

  it('returns the same device from sharedDevice()', async () => {
    expect(await sharedDevice()).toBe(gpu);
  });

  it('runs a compute pipeline whose every output matches the CPU', async () => {
    const { device } = gpu;
    const a = randomF32(N, 1);
    const b = randomF32(N, 2);
    // Integers in [-500, 500]: squares and their 64-element sums stay below 2^24, so the f32
    // reduction is exact whatever order the GPU adds in.
    const x = Float32Array.from({ length: N }, (_, i) => ((i * 7919) % 1001) - 500);
    const groups = Math.ceil(N / WG);
    const bufs = [a, b, x].map((d) => storage(device, d));
    const outs = [N, N, groups].map((n) => storage(device, new Float32Array(n).fill(NaN)));

    await withErrorScope(device, async () => {
      const module = device.createShaderModule({ code: SHADER });
      const pipeline = await device.createComputePipelineAsync({
        layout: 'auto',
        compute: { module, entryPoint: 'main' },
      });
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [...bufs, ...outs].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(groups);
      pass.end();
      device.queue.submit([enc.finish()]);
    });

    const [prod, mixed, partial] = await Promise.all([
      readBack(device, outs[0], N),
      readBack(device, outs[1], N),
      readBack(device, outs[2], groups),
    ]);
    let prodBad = 0;
    let mixedBad = 0;
    for (let i = 0; i < N; i++) {
      // WGSL f32 multiplication is correctly rounded, so the product must match bit for bit.
      if (prod[i] !== Math.fround(a[i] * b[i])) prodBad++;
      // sqrt may be off by a few ulp (and the add may be fused): allow 4 ulp of the magnitudes.
      const p = Math.fround(a[i] * b[i]);
      const root = Math.sqrt(i);
      const tol = 4 * 2 ** -23 * (Math.abs(p) + root);
      if (!(Math.abs(mixed[i] - (p + root)) <= tol)) mixedBad++;
    }
    expect(prodBad).toBe(0);
    expect(mixedBad).toBe(0);
    for (let g = 0; g < groups; g++) {
      let sum = 0;
      for (let i = g * WG; i < Math.min(N, (g + 1) * WG); i++) sum += x[i] * x[i];
      expect(partial[g], `workgroup ${g}`).toBe(sum);
    }
    for (const buf of [...bufs, ...outs]) buf.destroy();
  });

  it('reports a WGSL syntax error with line and column', async () => {
    const { device } = gpu;
    const bad = '@compute @workgroup_size(1)\nfn main() {\n  let x = 1.0 +;\n}\n';
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ code: bad });
    const info = await module.getCompilationInfo();
    const scoped = await device.popErrorScope();
    expect(scoped).not.toBeNull();
    const errors = info.messages.filter((m) => m.type === 'error');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0].lineNum).toBe(3);
    expect(errors[0].linePos).toBeGreaterThan(1);
    expect(errors[0].message.length).toBeGreaterThan(0);
  });

  it('withErrorScope returns the result, or throws GpuScopeError naming the problem', async () => {
    const { device } = gpu;
    expect(await withErrorScope(device, () => 42)).toBe(42);
    const attempt = withErrorScope(device, () => device.createShaderModule({ code: 'fn main( {' }));
    await expect(attempt).rejects.toBeInstanceOf(GpuScopeError);
    await expect(
      withErrorScope(device, () => device.createBuffer({ size: 4, usage: 0 })),
    ).rejects.toThrow(/validation error: .*usage/i);
  });
});

// scripts/setup.sh unpacks lavapipe into .vendor/lavapipe on every machine, CI included: it is the
// adapter that runs the shader-f16 and subgroup kernels where there is no GPU.
describe('lavapipe', () => {
  it('is acquired by name and offers shader-f16 and subgroups', async () => {
    const lvp = await acquireDevice({ adapter: 'lavapipe', quiet: true });
    try {
      expect(lvp.info.backend).toBe('lavapipe');
      expect(lvp.info.description).toMatch(/llvmpipe/);
      expect(lvp.info.features).toEqual(expect.arrayContaining(['shader-f16', 'subgroups']));
      expect(lvp.device.features.has('shader-f16')).toBe(true);
      // The same compute shader as above, with every output checked, on this second driver.
      const x = Float32Array.from({ length: N }, (_, i) => Math.sin(i) * 3);
      const { device } = lvp;
      const module = device.createShaderModule({ code: SHADER });
      const pipeline = device.createComputePipeline({
        layout: 'auto',
        compute: { module, entryPoint: 'main' },
      });
      const ab = storage(device, x);
      const groups = Math.ceil(N / WG);
      const outs = [N, N, N, groups].map((n) =>
        device.createBuffer({
          size: n * 4,
          usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
        }),
      );
      const bind = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [ab, ab, ab, outs[0], outs[1], outs[3]].map((buffer, binding) => ({
          binding,
          resource: { buffer },
        })),
      });
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(groups);
      pass.end();
      device.queue.submit([enc.finish()]);
      const partial = await readBack(device, outs[3], groups);
      for (let g = 0; g < groups; g++) {
        let want = 0;
        for (let i = g * WG; i < Math.min(N, (g + 1) * WG); i++) want += x[i] * x[i];
        expect(partial[g]).toBeCloseTo(want, 3);
      }
    } finally {
      lvp.destroy();
    }
  });
});

describe('bad configuration', () => {
  const saved = process.env.VITC_ADAPTER;
  afterEach(() => {
    if (saved === undefined) delete process.env.VITC_ADAPTER;
    else process.env.VITC_ADAPTER = saved;
  });

  it('rejects an unknown VITC_ADAPTER with the valid values', async () => {
    process.env.VITC_ADAPTER = 'bogus';
    const attempt = acquireDevice({ quiet: true });
    await expect(attempt).rejects.toBeInstanceOf(DeviceError);
    await expect(attempt).rejects.toThrow(
      "VITC_ADAPTER='bogus' is not a valid adapter choice; use one of: auto, hardware, swiftshader, lavapipe",
    );
  });

  it('rejects a malformed Dawn toggle', async () => {
    const attempt = acquireDevice({ quiet: true, toggles: ['disable_robustness'] });
    await expect(attempt).rejects.toBeInstanceOf(DeviceError);
    await expect(attempt).rejects.toThrow(/invalid Dawn toggle 'disable_robustness'/);
  });
});
