// RNG_WGSL must produce bit-for-bit the interpreter's random bits: dropout masks computed on the
// GPU in the forward pass and on the CPU (or in the backward pass) have to agree exactly.
import { afterAll, describe, expect, it } from 'vitest';
import { RNG_WGSL, dropThreshold, isDropped, randomBits } from '../../compiler/ir/rng.js';
import { type VitcDevice, acquireDevice } from '../../runtime/device.js';

let dev: VitcDevice | undefined;
afterAll(() => dev?.destroy());

/** Runs vitc_random_bits and vitc_drop for every index in [0, n) on the GPU. */
async function gpuBits(
  seed: number,
  stream: number,
  n: number,
  threshold: number,
): Promise<Uint32Array> {
  dev ??= await acquireDevice({ quiet: true });
  const device = dev.device;
  const code = `${RNG_WGSL}
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let i = id.x;
  if (i >= ${n}u) { return; }
  out[2u * i] = vitc_random_bits(${seed >>> 0}u, ${stream}u, i);
  out[2u * i + 1u] = select(0u, 1u, vitc_drop(${seed >>> 0}u, ${stream}u, i, ${threshold}u));
}`;
  const module = device.createShaderModule({ code });
  const pipeline = device.createComputePipeline({
    layout: 'auto',
    compute: { module, entryPoint: 'main' },
  });
  const size = 8 * n;
  const buf = device.createBuffer({
    size,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
  });
  const read = device.createBuffer({
    size,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const bind = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: buf } }],
  });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bind);
  pass.dispatchWorkgroups(Math.ceil(n / 64));
  pass.end();
  enc.copyBufferToBuffer(buf, 0, read, 0, size);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const out = new Uint32Array(read.getMappedRange().slice(0));
  read.unmap();
  buf.destroy();
  read.destroy();
  return out;
}

describe('RNG_WGSL', () => {
  it.each([
    [0, 0, 0.1],
    [-1, 7, 0.5],
    [123456789, 2 ** 31 + 5, 0.25],
  ])(
    'seed %d stream %d rate %d: GPU bits and drops equal the interpreter',
    async (seed, stream, rate) => {
      const n = 4096;
      const got = await gpuBits(seed, stream, n, dropThreshold(rate));
      let mismatches = 0;
      for (let i = 0; i < n; i++) {
        if (got[2 * i] !== randomBits(seed, stream, i)) mismatches++;
        if ((got[2 * i + 1] === 1) !== isDropped(seed, stream, i, rate)) mismatches++;
      }
      expect(mismatches).toBe(0);
    },
  );
});
