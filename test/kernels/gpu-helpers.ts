/**
 * Upload / run / read back for kernel tests on the real WebGPU adapter (SwiftShader on machines
 * without a GPU). One device and one pipeline cache per test worker.
 */

import {
  packUniforms,
  type KernelSizes,
  type KernelSource,
} from '../../compiler/codegen/wgsl/builder.js';
import { acquireDevice, sharedDevice, withErrorScope } from '../../runtime/device.js';
import { PipelineCache } from '../../runtime/pipelines.js';

export interface TestGpu {
  device: GPUDevice;
  cache: PipelineCache;
  description: string;
}

let gpuPromise: Promise<TestGpu> | undefined;

export function testGpu(): Promise<TestGpu> {
  gpuPromise ??= sharedDevice().then((d) => ({
    device: d.device,
    cache: new PipelineCache(d.device),
    description: d.info.description,
  }));
  return gpuPromise;
}

let lavapipePromise: Promise<TestGpu> | undefined;

/** lavapipe (VITC_ADAPTER=lavapipe's driver): shader-f16, and subgroups of 8 where SwiftShader has 4. */
export function lavapipeGpu(): Promise<TestGpu> {
  lavapipePromise ??= acquireDevice({ adapter: 'lavapipe', quiet: true }).then((d) => ({
    device: d.device,
    cache: new PipelineCache(d.device),
    description: d.info.description,
  }));
  return lavapipePromise;
}

/** Storage buffers are padded to 16 bytes so vec4<f32> views of any length stay in bounds. */
function paddedBytes(elements: number): number {
  return Math.max(16, Math.ceil((elements * 4) / 16) * 16);
}

/**
 * What to bind to each read_write binding: an element count (the buffer starts filled with NaN, so
 * an element the kernel forgot to write fails any comparison) or initial contents.
 */
export type OutputInit = number | Float32Array;

/**
 * Runs `kernel` once with the given sizes. `inputs` supplies every 'read' binding by name,
 * `outputs` every 'read_write' binding; the uniform struct is packed from `sizes`. Returns the
 * read_write buffers' contents (trimmed to their requested length).
 */
export async function runKernel(
  kernel: KernelSource,
  sizes: KernelSizes,
  inputs: Record<string, Float32Array>,
  outputs: Record<string, OutputInit>,
  gpu?: TestGpu,
): Promise<Record<string, Float32Array>> {
  const { device, cache } = gpu ?? (await testGpu());
  const pipeline = await cache.get(kernel);
  const created: GPUBuffer[] = [];
  const make = (bytes: number, usage: number): GPUBuffer => {
    const b = device.createBuffer({ size: bytes, usage });
    created.push(b);
    return b;
  };
  const results: { name: string; length: number; buffer: GPUBuffer; staging: GPUBuffer }[] = [];
  try {
    const entries: GPUBindGroupEntry[] = [];
    await withErrorScope(device, async () => {
      for (const b of kernel.bindings) {
        let buffer: GPUBuffer;
        if (b.kind === 'uniform') {
          const data = packUniforms(kernel.uniforms, sizes);
          buffer = make(data.byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
          device.queue.writeBuffer(buffer, 0, data);
        } else if (b.kind === 'read') {
          const data = inputs[b.name];
          if (!data) throw new Error(`${kernel.name}: no input for binding '${b.name}'`);
          buffer = make(paddedBytes(data.length), GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
          device.queue.writeBuffer(buffer, 0, data as Float32Array<ArrayBuffer>);
        } else {
          const init = outputs[b.name];
          if (init === undefined)
            throw new Error(`${kernel.name}: no output for binding '${b.name}'`);
          const data = typeof init === 'number' ? new Float32Array(init).fill(NaN) : init;
          const bytes = paddedBytes(data.length);
          const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
          buffer = make(bytes, usage);
          device.queue.writeBuffer(buffer, 0, data as Float32Array<ArrayBuffer>);
          const staging = make(bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
          results.push({ name: b.name, length: data.length, buffer, staging });
        }
        entries.push({ binding: b.binding, resource: { buffer } });
      }
      const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(...kernel.dispatch(sizes));
      pass.end();
      for (const r of results)
        encoder.copyBufferToBuffer(r.buffer, 0, r.staging, 0, r.staging.size);
      device.queue.submit([encoder.finish()]);
    });
    const out: Record<string, Float32Array> = {};
    for (const r of results) {
      await r.staging.mapAsync(GPUMapMode.READ);
      out[r.name] = new Float32Array(r.staging.getMappedRange().slice(0, r.length * 4));
      r.staging.unmap();
    }
    return out;
  } finally {
    for (const b of created) b.destroy();
  }
}
