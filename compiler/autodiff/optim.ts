// Gradient clipping and the optimizer update as graph ops, so one training step (forward,
// backward, clip, update) is one graph and, on the GPU, one command encoder with no CPU round
// trip. The math is exactly torch's (torch.nn.utils.clip_grad_norm_, torch.optim.AdamW, Adam,
// SGD; single-tensor code path, no amsgrad/nesterov/maximize). Anything that depends only on
// the step number (learning rate, bias corrections) is a scalar input computed on the CPU.
import type { GraphBuilder, Value } from '../ir/builder.js';
import { numel } from '../ir/graph.js';
import type { ParamInfo } from '../spec/params.js';
import type { TrainSpec } from '../spec/types.js';
import { scalar } from './vjp.js';

export type OptimizerConfig = TrainSpec['optimizer'];

/** torch.nn.utils.clip_grad_norm_'s epsilon in clip_coef = max_norm / (total_norm + 1e-6). */
export const CLIP_EPS = 1e-6;

/**
 * Per-parameter optimizer state, named as torch's optimizer.state[p] names it. The graph
 * reads `{state}.{param}` and writes `new_{state}.{param}`; all start at zero.
 */
export function optimizerStates(opt: OptimizerConfig): string[] {
  if (opt.kind === 'sgd') return opt.momentum !== 0 ? ['momentum_buffer'] : [];
  return ['exp_avg', 'exp_avg_sq'];
}

/** Scalar f32 inputs of the update: `lr`, and for Adam(W) the bias corrections `bc1`, `bc2`. */
export function optimizerScalarInputs(opt: OptimizerConfig): string[] {
  return opt.kind === 'sgd' ? ['lr'] : ['lr', 'bc1', 'bc2'];
}

/**
 * Values of the scalar inputs for optimizer step `step` (1-based, torch's state['step'] after
 * its increment) at learning rate `lr`: bc1 = 1 - β1^step, bc2 = 1 - β2^step.
 */
export function optimizerScalars(
  opt: OptimizerConfig,
  step: number,
  lr: number,
): Map<string, Float64Array> {
  if (!(Number.isInteger(step) && step >= 1))
    throw new Error(`optimizerScalars: step is 1-based, got ${step}`);
  const m = new Map([['lr', Float64Array.of(lr)]]);
  if (opt.kind !== 'sgd') {
    m.set('bc1', Float64Array.of(1 - opt.betas[0] ** step));
    m.set('bc2', Float64Array.of(1 - opt.betas[1] ** step));
  }
  return m;
}

/** Σ over every element of every value, as a balanced tree of scalar adds. */
function sumOfSquares(b: GraphBuilder, values: readonly Value[]): Value {
  let level = values.map((g) => {
    const n = numel(b.shape(g));
    return b.reduce('reduce_sum', b.unary('square', b.reshape(g, [n])), 0);
  });
  while (level.length > 1) {
    const next: Value[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(b.addv(level[i], level[i + 1]));
    if (level.length % 2 === 1) next.push(level[level.length - 1]);
    level = next;
  }
  return level[0];
}

/**
 * torch.nn.utils.clip_grad_norm_(params, maxNorm): total = √(Σ‖g‖²), every gradient times
 * min(1, maxNorm/(total + 1e-6)). Returns the clipped gradients and the (unclipped) total norm.
 */
export function clipGradNorm(
  b: GraphBuilder,
  grads: readonly Value[],
  maxNorm: number,
): { grads: Value[]; total: Value } {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: max norm must be > 0, got ${maxNorm}`);
  return b.scope('clip_grad_norm', () => {
    const total = b.unary('sqrt', sumOfSquares(b, grads));
    const ratio = b.binary('div', scalar(b, maxNorm), b.addv(total, scalar(b, CLIP_EPS)));
    // min(1, r) = -max(-r, -1): exact, where 1 - relu(1 - r) would round r.
    const coef = b.unary('neg', b.binary('max', b.unary('neg', ratio), scalar(b, -1)));
    return { grads: grads.map((g) => b.mul(g, coef)), total };
  });
}

export interface ParamToUpdate {
  info: ParamInfo;
  /** The parameter's node. */
  value: Value;
  /** Its (possibly clipped) gradient. */
  grad: Value;
}

export interface UpdatedParam {
  name: string;
  value: Value;
  /** state name → new value, in optimizerStates order. */
  states: Map<string, Value>;
}

/**
 * Appends one optimizer step for every parameter; creates the scalar inputs and the state
 * inputs. Weight decay applies where ParamInfo.decay is true (timm's param groups: not on
 * biases, norms, tokens and position embeddings).
 *   AdamW: p ← p·(1 - lr·wd);  m ← β1·m + (1-β1)·g;  v ← β2·v + (1-β2)·g²;
 *          p ← p - (lr/bc1)·m / (√v/√bc2 + eps)
 *   Adam:  as AdamW without the decoupled decay, with g ← g + wd·p (L2) first.
 *   SGD:   g ← g + wd·p;  buf ← μ·buf + g (buf = g on the first step, as zeros give);  p ← p - lr·buf
 */
export function appendOptimizerUpdate(
  b: GraphBuilder,
  opt: OptimizerConfig,
  params: readonly ParamToUpdate[],
): UpdatedParam[] {
  const lr = b.input('lr', [], 'f32');
  const states = optimizerStates(opt);
  const wd = opt.weightDecay;
  return b.scope('optimizer', () => {
    if (opt.kind === 'sgd') {
      const mu = opt.momentum;
      return params.map(({ info, value, grad }) => {
        const state = mu !== 0 ? b.input(`momentum_buffer.${info.name}`, info.shape) : null;
        return b.scope(info.name, () => {
          const g = info.decay && wd !== 0 ? b.addv(grad, b.scale(value, wd)) : grad;
          const buf = state !== null ? b.addv(b.scale(state, mu), g) : g;
          const next = b.binary('sub', value, b.mul(buf, lr));
          return { name: info.name, value: next, states: new Map(state ? [[states[0], buf]] : []) };
        });
      });
    }
    const [beta1, beta2] = opt.betas;
    const bc1 = b.input('bc1', [], 'f32');
    const bc2 = b.input('bc2', [], 'f32');
    // Step-wide scalars, shared by every parameter.
    const stepSize = b.binary('div', lr, bc1);
    const bc2Sqrt = b.unary('sqrt', bc2);
    const eps = scalar(b, opt.eps);
    const decoupled = opt.kind === 'adamw';
    const shrink = decoupled && wd !== 0 ? b.binary('sub', scalar(b, 1), b.scale(lr, wd)) : null;
    return params.map(({ info, value, grad }) => {
      const m = b.input(`exp_avg.${info.name}`, info.shape);
      const v = b.input(`exp_avg_sq.${info.name}`, info.shape);
      return b.scope(info.name, () => {
        const decays = info.decay && wd !== 0;
        const g = !decoupled && decays ? b.addv(grad, b.scale(value, wd)) : grad;
        const m1 = b.addv(b.scale(m, beta1), b.scale(g, 1 - beta1));
        const v1 = b.addv(b.scale(v, beta2), b.scale(b.unary('square', g), 1 - beta2));
        const denom = b.addv(b.binary('div', b.unary('sqrt', v1), bc2Sqrt), eps);
        const p0 = shrink !== null && decays ? b.mul(value, shrink) : value;
        const next = b.binary('sub', p0, b.mul(b.binary('div', m1, denom), stepSize));
        return {
          name: info.name,
          value: next,
          states: new Map([
            [states[0], m1],
            [states[1], v1],
          ]),
        };
      });
    });
  });
}
