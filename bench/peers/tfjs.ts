// The TensorFlow.js peer: timm's VisionTransformer forward written with tfjs-core ops, run by
// tfjs-backend-webgpu on vitc's own GPUDevice, from the same timm-named weights.
//
// Numerics match vitc's graph (compiler/lower/): LayerNorm from tf.moments (biased variance),
// GELU as 0.5·x·(1 + erf(x/√2)) with tf.erf (Abramowitz–Stegun 7.1.26 in tfjs's WGSL, absolute
// error ≤ 1.5e-7, i.e. f32 rounding level), q scaled before q·kᵀ as timm does. Dropout is not
// applied (forward is eval; the training step is dropout-free, see trainStep). Only functional
// ops (tf.reshape(x, …)), never chained ones (x.reshape(…)): tfjs-core's Node bundle does not
// register the chained-op methods on Tensor.
import type * as TF from '@tensorflow/tfjs-core';
import { constValues } from '../../compiler/ir/consts.js';
import { modelParams } from '../../compiler/spec/params.js';
import {
  type Spec,
  headDim,
  numPatches,
  numTokens,
  patchGrid,
  prefixTokens,
} from '../../compiler/spec/types.js';
import type { VitcDevice } from '../../runtime/device.js';
import { installPeerGpu } from './gpu-env.js';
import type { Peer } from './peer.js';
import { registerTfjsGradients } from './tfjs-gradients.js';
import { createTfjsTrainer } from './tfjs-train.js';

type Tf = typeof TF;
const BACKEND = 'webgpu';
let tfModule: Promise<Tf> | undefined;
let peerSerial = 0;

/** tfjs-core with a WebGPU backend built on vitc's device (registered once per process). */
export async function loadTfjs(dev: VitcDevice): Promise<Tf> {
  installPeerGpu(dev);
  tfModule ??= (async () => {
    const tf = await import('@tensorflow/tfjs-core');
    // Importing the backend registers its kernels under the name 'webgpu' and a factory that
    // would request a second device from the adapter (which fails: vitc's adapter already made
    // its device). The kernels are keyed by backend name, so the replacement factory, which wraps
    // vitc's device, has to take over that same name.
    const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
    if (tf.findBackendFactory(BACKEND)) tf.removeBackend(BACKEND);
    tf.registerBackend(BACKEND, () => new WebGPUBackend(dev.device, dev.adapter.info));
    if (!(await tf.setBackend(BACKEND)))
      throw new Error('tfjs: the WebGPU backend failed to initialize');
    await tf.ready();
    return tf;
  })();
  const tf = await tfModule;
  const backend = tf.backend() as unknown as { device?: GPUDevice };
  if (backend.device !== dev.device)
    throw new Error('tfjs is already bound to another GPUDevice in this process');
  return tf;
}

/** The forward function on a map of tf tensors (or variables) named as timm names them. */
export function vitForward(
  tf: Tf,
  spec: Spec,
  w: ReadonlyMap<string, TF.Tensor>,
  x: TF.Tensor4D,
): TF.Tensor2D {
  const get = (name: string) => {
    const t = w.get(name);
    if (!t) throw new Error(`tfjs peer: no weight ${name}`);
    return t;
  };
  const B = x.shape[0];
  const D = spec.width;
  const H = spec.heads;
  const hd = headDim(spec);
  /** x [..., in] · weightᵀ + bias; weights were transposed to [in, out] at load. */
  const linear = (name: string, v: TF.Tensor, bias = true): TF.Tensor => {
    const wt = get(`${name}.weight`) as TF.Tensor2D;
    const lead = v.shape.slice(0, -1);
    const a = tf.reshape(v, [-1, wt.shape[0]]) as TF.Tensor2D;
    const y = tf.fused.matMul({ a, b: wt, bias: bias ? get(`${name}.bias`) : undefined });
    return tf.reshape(y, [...lead, wt.shape[1]]);
  };
  const norm = (name: string, v: TF.Tensor): TF.Tensor => {
    const eps = spec.norm.eps;
    if (spec.norm.kind === 'rmsnorm') {
      const ms = tf.mean(tf.square(v), -1, true);
      return tf.mul(tf.mul(v, tf.rsqrt(tf.add(ms, eps))), get(`${name}.weight`));
    }
    const { mean, variance } = tf.moments(v, -1, true);
    const n = tf.mul(tf.sub(v, mean), tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(n, get(`${name}.weight`)), get(`${name}.bias`));
  };
  const act = (v: TF.Tensor): TF.Tensor => {
    switch (spec.mlp.activation) {
      case 'gelu':
        return tf.mul(tf.mul(v, 0.5), tf.add(tf.erf(tf.div(v, Math.SQRT2)), 1));
      case 'gelu_tanh': {
        const inner = tf.mul(tf.add(v, tf.mul(tf.pow(v, 3), 0.044715)), Math.sqrt(2 / Math.PI));
        return tf.mul(tf.mul(v, 0.5), tf.add(tf.tanh(inner), 1));
      }
      case 'relu':
        return tf.relu(v);
      default:
        throw new Error(`tfjs peer: activation ${spec.mlp.activation} is handled in mlp()`);
    }
  };
  const layerScale = (name: string, v: TF.Tensor) =>
    spec.layerScale === null ? v : tf.mul(v, get(`${name}.gamma`));

  const attention = (p: string, v: TF.Tensor): TF.Tensor => {
    const N = v.shape[1]!;
    const qkv = tf.transpose(
      tf.reshape(linear(`${p}.qkv`, v, spec.qkvBias), [B, N, 3, H, hd]),
      [2, 0, 3, 1, 4],
    );
    let [q, k, val] = tf.unstack(qkv, 0);
    if (spec.qkNorm) {
      q = norm(`${p}.q_norm`, q);
      k = norm(`${p}.k_norm`, k);
    }
    const scores = tf.matMul(tf.mul(q, hd ** -0.5), k, false, true);
    const o = tf.reshape(tf.transpose(tf.matMul(tf.softmax(scores, -1), val), [0, 2, 1, 3]), [
      B,
      N,
      D,
    ]);
    return linear(`${p}.proj`, o);
  };
  const mlp = (p: string, v: TF.Tensor): TF.Tensor => {
    if (spec.mlp.activation === 'swiglu') {
      const g = linear(`${p}.fc1_g`, v);
      return linear(`${p}.fc2`, tf.mul(tf.mul(g, tf.sigmoid(g)), linear(`${p}.fc1_x`, v)));
    }
    return linear(`${p}.fc2`, act(linear(`${p}.fc1`, v)));
  };

  // patch_embed: Conv2d with stride = kernel, in tfjs's NHWC layout with an HWIO filter.
  const { height: ph, width: pw } = spec.patch;
  const nhwc = tf.transpose(x, [0, 2, 3, 1]);
  const conv = tf.conv2d(nhwc, get('patch_embed.proj.weight') as TF.Tensor4D, [ph, pw], 'valid');
  let patches: TF.Tensor = tf.add(
    tf.reshape(conv, [B, numPatches(spec), D]),
    get('patch_embed.proj.bias'),
  );

  const prefix: TF.Tensor[] = [];
  const token = (name: string) => tf.tile(get(name), [B, 1, 1]);
  if (spec.tokens.cls) prefix.push(token('cls_token'));
  if (spec.tokens.distill) prefix.push(token('dist_token'));
  if (spec.tokens.registers > 0) prefix.push(token('reg_token'));
  const withPrefix = (p: TF.Tensor) => (prefix.length ? tf.concat([...prefix, p], 1) : p);
  let h: TF.Tensor;
  if (spec.pos.kind === 'learned') {
    const pos = get('pos_embed');
    h = spec.pos.prefix ? tf.add(withPrefix(patches), pos) : withPrefix(tf.add(patches, pos));
  } else if (spec.pos.kind === 'sincos2d') {
    const { rows, cols } = patchGrid(spec);
    const table = constValues({ kind: 'sincos2d', rows, cols, dim: D, temperature: 10000 }, [
      rows * cols,
      D,
    ]);
    patches = tf.add(patches, tf.tensor2d(Float32Array.from(table), [rows * cols, D]));
    h = withPrefix(patches);
  } else h = withPrefix(patches);
  if (spec.preNorm) h = norm('norm_pre', h);

  const pre = spec.norm.placement === 'pre';
  for (let i = 0; i < spec.depth; i++) {
    const p = `blocks.${i}`;
    const a = attention(`${p}.attn`, pre ? norm(`${p}.norm1`, h) : h);
    h = tf.add(h, layerScale(`${p}.ls1`, a));
    if (!pre) h = norm(`${p}.norm1`, h);
    const m = mlp(`${p}.mlp`, pre ? norm(`${p}.norm2`, h) : h);
    h = tf.add(h, layerScale(`${p}.ls2`, m));
    if (!pre) h = norm(`${p}.norm2`, h);
  }
  if (spec.finalNorm && !spec.fcNorm) h = norm('norm', h);

  const N = numTokens(spec);
  const np = prefixTokens(spec);
  const tokenAt = (i: number) => tf.reshape(tf.slice(h, [0, i, 0], [B, 1, D]), [B, D]);
  const finish = (v: TF.Tensor) => (spec.finalNorm && spec.fcNorm ? norm('fc_norm', v) : v);
  let pooled = finish(
    spec.pool === 'cls' ? tokenAt(0) : tf.mean(tf.slice(h, [0, np, 0], [B, N - np, D]), 1),
  );
  const K = spec.head.classes;
  if (!spec.tokens.distill) return (K > 0 ? linear('head', pooled) : pooled) as TF.Tensor2D;
  let dist = finish(tokenAt(spec.tokens.cls ? 1 : 0));
  if (K > 0) {
    pooled = linear('head', pooled);
    dist = linear('head_dist', dist);
  }
  return tf.mul(tf.add(pooled, dist), 0.5) as TF.Tensor2D;
}

/** timm weights → tfjs layouts: linear weights [out, in] → [in, out], the conv filter → HWIO. */
export function tfjsWeights(
  tf: Tf,
  params: ReadonlyMap<string, Float32Array>,
  shapes: ReadonlyMap<string, readonly number[]>,
): Map<string, TF.Variable> {
  // tfjs variable names are global to the process; a serial number keeps two peers apart.
  const tag = `peer${++peerSerial}/`;
  const out = new Map<string, TF.Variable>();
  for (const [name, data] of params) {
    const shape = shapes.get(name);
    if (!shape) continue;
    const v = tf.tidy(() => {
      const t = tf.tensor(data, [...shape]);
      if (name === 'patch_embed.proj.weight') return tf.transpose(t, [2, 3, 1, 0]);
      if (name.endsWith('.weight') && shape.length === 2) return tf.transpose(t);
      return t;
    });
    out.set(name, tf.variable(v, true, tag + name));
    v.dispose();
  }
  return out;
}

export async function createTfjsPeer(
  dev: VitcDevice,
  spec: Spec,
  params: ReadonlyMap<string, Float32Array>,
  batch: number,
): Promise<Peer> {
  const tf = await loadTfjs(dev);
  const shapes = new Map(modelParams(spec).map((p) => [p.name, p.shape]));
  const weights = tfjsWeights(tf, params, shapes);
  const dims: [number, number, number, number] = [
    batch,
    spec.image.channels,
    spec.image.height,
    spec.image.width,
  ];
  let trainer: ReturnType<typeof createTfjsTrainer> | undefined;
  return {
    name: 'tfjs',
    version: `tfjs-core ${tf.version_core} + tfjs-backend-webgpu`,
    batch,
    async forward(images: Float32Array): Promise<Float32Array> {
      const y = tf.tidy(() => vitForward(tf, spec, weights, tf.tensor4d(images, dims)));
      const data = (await y.data()) as Float32Array; // the readback waits for the GPU work
      y.dispose();
      return data;
    },
    async trainStep(images: Float32Array, labels: Int32Array): Promise<number> {
      if (!trainer) {
        await registerTfjsGradients(); // only training needs them; loading them takes a while
        trainer = createTfjsTrainer(
          tf,
          spec,
          weights,
          (x) => vitForward(tf, spec, weights, x),
          batch,
        );
      }
      return trainer.step(tf.tensor4d(images, dims), labels);
    },
    destroy() {
      trainer?.dispose();
      for (const v of weights.values()) v.dispose();
    },
  };
}
