// The ONNX Runtime peer: vitc's forward graph exported to ONNX (bench/onnx/) and run by
// onnxruntime-web's WebGPU execution provider on vitc's own GPUDevice.
//
// Setup notes (checked with onnxruntime-web 1.30 on dawn.node):
// - `onnxruntime-web/webgpu` is the build with the WebGPU EP; the package's Node entry is
//   wasm-only. Its wasm binary is found next to the bundle in node_modules.
// - The device goes in the EP options, `{ name: 'webgpu', device }` (the native WebGPU EP of
//   1.2x ignores `env.webgpu.device`; without a device it calls requestDevice on the adapter,
//   which fails because vitc's adapter already made its device). ORT checks
//   `instanceof GPUDevice`, which dawn.node's globals satisfy.
// - One wasm thread: threaded wasm in Node spawns workers, which buys nothing here (the work is
//   on the GPU) and keeps the process alive.
import { readFileSync } from 'node:fs';
import { brotliDecompressSync } from 'node:zlib';
import { lowerVit } from '../../compiler/lower/vit.js';
import type { Spec } from '../../compiler/spec/types.js';
import type { VitcDevice } from '../../runtime/device.js';
import { exportOnnx } from '../onnx/export.js';
import { installPeerGpu } from './gpu-env.js';
import type { Peer } from './peer.js';

type Ort = typeof import('onnxruntime-web');

let ortModule: Promise<Ort> | undefined;
let ortDevice: GPUDevice | undefined;

async function loadOrt(dev: VitcDevice): Promise<Ort> {
  installPeerGpu(dev);
  ortModule ??= import('onnxruntime-web/webgpu') as Promise<Ort>;
  const ort = await ortModule;
  if (ortDevice === undefined) {
    ort.env.wasm.numThreads = 1;
    // In a bundle (the GPU kit) the wasm is not beside the code: VITC_ORT_WASM names the file
    // (.br: brotli-compressed, as bench/gpu-pack.sh ships it).
    const wasm = process.env.VITC_ORT_WASM;
    if (wasm) {
      const bytes = readFileSync(wasm);
      ort.env.wasm.wasmBinary = wasm.endsWith('.br') ? brotliDecompressSync(bytes) : bytes;
    }
    ort.env.logLevel = (process.env.VITC_ORT_LOG as 'verbose') ?? 'error';
    ortDevice = dev.device;
  } else if (ortDevice !== dev.device) {
    // ORT binds its WebGPU backend to the first device for the life of the process.
    throw new Error('onnxruntime-web is already bound to another GPUDevice in this process');
  }
  return ort;
}

export async function createOrtPeer(
  dev: VitcDevice,
  spec: Spec,
  params: ReadonlyMap<string, Float32Array>,
  batch: number,
): Promise<Peer> {
  const ort = await loadOrt(dev);
  const graph = lowerVit(spec, { batch, mode: 'eval' });
  const bytes = exportOnnx(graph, { params, name: spec.name });
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: [{ name: 'webgpu', device: dev.device }],
    graphOptimizationLevel: 'all',
    // VITC_ORT_LOG=verbose also shows the session's node placement and fusions.
    ...(process.env.VITC_ORT_LOG ? { logSeverityLevel: 0 as const, logVerbosityLevel: 0 } : {}),
  });
  const [C, H, W] = [spec.image.channels, spec.image.height, spec.image.width];
  const outName = session.outputNames[0];
  return {
    name: 'ort',
    version: `onnxruntime-web ${ort.env.versions.web ?? ort.env.versions.common} (WebGPU EP)`,
    batch,
    modelBytes: bytes.length,
    async forward(images: Float32Array): Promise<Float32Array> {
      const input = new ort.Tensor('float32', images, [batch, C, H, W]);
      const out = await session.run({ image: input });
      const t = out[outName];
      // getData() downloads when the tensor lives on the GPU; the default output location is the CPU.
      const data = (await t.getData()) as Float32Array;
      const copy = Float32Array.from(data);
      for (const v of Object.values(out)) v.dispose();
      return copy;
    },
    async destroy() {
      await session.release();
    },
  };
}
