// Makes the peers (tfjs-backend-webgpu, onnxruntime-web) run on vitc's own GPUDevice, so vitc and
// the peer share one adapter by construction — never a second adapter that Dawn might pick
// differently (a hardware GPU for one, SwiftShader for the other).
//
// Both peers look for the browser's `navigator.gpu`. Node 20 has no `navigator`, so we install
// one whose `gpu` only ever hands out vitc's adapter. dawn.node's globals (GPUBufferUsage, …) are
// already on globalThis: runtime/device.ts assigns them when it loads Dawn.
import type { VitcDevice } from '../../runtime/device.js';

const patched = new WeakSet<GPUQueue>();

/**
 * dawn.node rejects `queue.writeBuffer` from a SharedArrayBuffer-backed view, and
 * onnxruntime-web's wasm heap is one (its threaded builds allocate shared memory). Copying such
 * data into a plain ArrayBuffer first is what a browser does internally anyway.
 */
function patchWriteBuffer(queue: GPUQueue): void {
  if (patched.has(queue)) return;
  patched.add(queue);
  const original = queue.writeBuffer.bind(queue);
  const isShared = (b: ArrayBufferLike) =>
    typeof SharedArrayBuffer !== 'undefined' && b instanceof SharedArrayBuffer;
  queue.writeBuffer = ((buffer, bufferOffset, data, dataOffset, size) => {
    const src = data as ArrayBufferView | ArrayBuffer;
    if (ArrayBuffer.isView(src) && isShared(src.buffer)) {
      const bpe = (src as unknown as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
      const start = src.byteOffset + (dataOffset ?? 0) * bpe;
      const bytes = size !== undefined ? size * bpe : src.byteLength - (dataOffset ?? 0) * bpe;
      const copy = new Uint8Array(bytes);
      copy.set(new Uint8Array(src.buffer, start, bytes));
      return original(buffer, bufferOffset, copy.buffer, 0, bytes);
    }
    if (!ArrayBuffer.isView(src) && isShared(src as ArrayBufferLike)) {
      const copy = new Uint8Array(src as ArrayBufferLike).slice().buffer;
      return original(buffer, bufferOffset, copy, dataOffset, size);
    }
    return original(buffer, bufferOffset, data, dataOffset, size);
  }) as GPUQueue['writeBuffer'];
}

/** A `navigator.gpu` stand-in that only knows vitc's adapter. */
function gpuShim(dev: VitcDevice): Partial<GPU> {
  return {
    requestAdapter: async () => dev.adapter,
    getPreferredCanvasFormat: () => 'rgba8unorm',
    wgslLanguageFeatures: new Set<string>() as unknown as WGSLLanguageFeatures,
  };
}

/** Installs `navigator.gpu` (vitc's adapter) and the writeBuffer copy; idempotent. */
export function installPeerGpu(dev: VitcDevice): void {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  const shim = gpuShim(dev);
  if (!g.navigator) {
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu: shim },
      configurable: true,
      writable: true,
    });
  } else if (!g.navigator.gpu) {
    try {
      g.navigator.gpu = shim;
    } catch {
      Object.defineProperty(g.navigator, 'gpu', { value: shim, configurable: true });
    }
  }
  patchWriteBuffer(dev.device.queue);
}
