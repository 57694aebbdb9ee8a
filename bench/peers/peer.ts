// What a benchmark peer offers: a forward pass with fixed batch on vitc's GPUDevice, computing
// the same function as vitc's forward graph from the same timm-named weights.
export interface Peer {
  name: 'tfjs' | 'ort';
  /** Library and backend, for the report. */
  version: string;
  batch: number;
  /** Size of what the peer loaded (ONNX model bytes), when meaningful. */
  modelBytes?: number;
  /** images [batch, C, H, W] → output [batch, classes]; resolves after the result is on the CPU. */
  forward(images: Float32Array): Promise<Float32Array>;
  /** One training step (forward, backward, optimizer update), resolving after it finished. */
  trainStep?(images: Float32Array, labels: Int32Array): Promise<number>;
  destroy(): Promise<void> | void;
}

export type PeerName = Peer['name'];
export const PEER_NAMES: readonly PeerName[] = ['tfjs', 'ort'];

/** Relative L2 error ‖a − b‖ / ‖b‖ (b the reference), in float64. */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relL2: lengths differ (${a.length} vs ${b.length})`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    num += d * d;
    den += b[i] * b[i];
  }
  return Math.sqrt(num / (den || 1));
}
