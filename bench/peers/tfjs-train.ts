// A tfjs training step equivalent to vitc's training graph (compiler/autodiff/train-graph.ts):
// cross-entropy with the spec's label smoothing, global-norm clipping as torch's
// clip_grad_norm_, then the spec's optimizer (AdamW: decoupled decay p ← p·(1 − lr·wd) before the
// Adam update, as torch.optim.AdamW; Adam; SGD with momentum). Dropout is not applied, so with a
// spec whose dropout rates are > 0 the peer does slightly less work than vitc.
import type * as TF from '@tensorflow/tfjs-core';
import { modelParams } from '../../compiler/spec/params.js';
import type { Spec } from '../../compiler/spec/types.js';

type Tf = typeof TF;

export interface TfjsTrainer {
  /** One step; resolves with the loss once it has been read back (so the GPU work is done). */
  step(images: TF.Tensor4D, labels: Int32Array): Promise<number>;
  dispose(): void;
}

export function createTfjsTrainer(
  tf: Tf,
  spec: Spec,
  weights: ReadonlyMap<string, TF.Variable>,
  forward: (x: TF.Tensor4D) => TF.Tensor2D,
  batch: number,
): TfjsTrainer {
  const opt = spec.train.optimizer;
  const K = spec.head.classes;
  if (K === 0) throw new Error('tfjs peer: training needs a classifier head');
  const vars = [...weights.values()];
  const decayed = modelParams(spec)
    .filter((p) => p.decay)
    .map((p) => weights.get(p.name)!)
    .filter(Boolean);
  const optimizer =
    opt.kind === 'sgd'
      ? tf.train.momentum(opt.lr, opt.momentum)
      : tf.train.adam(opt.lr, opt.betas[0], opt.betas[1], opt.eps);
  const smoothing = spec.train.smoothing;
  const clip = spec.train.clip;

  return {
    async step(images, labels) {
      if (labels.length !== batch)
        throw new Error(`tfjs peer: ${labels.length} labels for batch ${batch}`);
      const loss = tf.tidy(() => {
        const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), K);
        const { value, grads } = tf.variableGrads(
          () =>
            tf.losses.softmaxCrossEntropy(
              onehot,
              forward(images),
              undefined,
              smoothing,
            ) as TF.Scalar,
          vars,
        );
        let g = grads;
        if (clip !== null) {
          // Pairwise adds, not tf.addN: its WebGPU kernel binds one storage buffer per operand and
          // exceeds maxStorageBuffersPerShaderStage with a ViT's ~150 parameters.
          let sq = Object.values(grads).map((t) => tf.sum(tf.square(t)));
          while (sq.length > 1)
            sq = sq
              .map((t, i) => (i % 2 ? null : i + 1 < sq.length ? tf.add(t, sq[i + 1]) : t))
              .filter((t): t is TF.Tensor => t !== null);
          const total = tf.sqrt(sq[0]);
          const coef = tf.minimum(tf.div(clip, tf.add(total, 1e-6)), 1);
          g = Object.fromEntries(Object.entries(grads).map(([k, t]) => [k, tf.mul(t, coef)]));
        }
        if (opt.kind === 'adamw' && opt.weightDecay !== 0)
          for (const v of decayed) v.assign(tf.mul(v, 1 - opt.lr * opt.weightDecay));
        optimizer.applyGradients(
          g as TF.NamedTensorMap as Parameters<typeof optimizer.applyGradients>[0],
        );
        return value;
      });
      const out = (await loss.data())[0];
      loss.dispose();
      images.dispose();
      return out;
    },
    dispose() {
      optimizer.dispose();
    },
  };
}
