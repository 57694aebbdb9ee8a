// Shared state of one lowering: the builder, the spec, the mode, and the helpers every timm
// module is built from (parameters named by scope, linear, norm, dropout sites).
import { GraphBuilder, type Value } from '../ir/builder.js';
import type { Spec } from '../spec/types.js';

export class LowerContext {
  readonly b = new GraphBuilder();
  private seedValue: Value | null = null;
  private streams = 0;
  private readonly normParams = new Map<string, { w: Value; bias: Value | null }>();

  constructor(
    readonly spec: Spec,
    readonly train: boolean,
  ) {}

  /** A parameter named after the open scopes: inside "blocks.0" → "norm1", `weight` is "blocks.0.norm1.weight". */
  param(leaf: string, shape: readonly number[]): Value {
    const scope = this.b.currentScope();
    return this.b.param(scope ? `${scope}.${leaf}` : leaf, shape);
  }

  /** nn.Linear(inF → outF) applied to the last axis of x, as module `name` (weight [outF, inF]). */
  linear(name: string, x: Value, outF: number, bias = true): Value {
    return this.b.scope(name, () => {
      const inF = this.b.shape(x).at(-1)!;
      const y = this.b.matmul(x, this.param('weight', [outF, inF]), { transB: true });
      return bias ? this.b.addv(y, this.param('bias', [outF])) : y;
    });
  }

  /**
   * The spec's norm (kind and eps) over the last axis of x, as module `name`. Applying the same
   * module twice (fc_norm on both distilled tokens) reuses its parameters.
   */
  norm(name: string, x: Value): Value {
    const { kind, eps } = this.spec.norm;
    return this.b.scope(name, () => {
      const C = this.b.shape(x).at(-1)!;
      const key = this.b.currentScope();
      let p = this.normParams.get(key);
      if (!p) {
        p = {
          w: this.param('weight', [C]),
          bias: kind === 'layernorm' ? this.param('bias', [C]) : null,
        };
        this.normParams.set(key, p);
      }
      return kind === 'layernorm'
        ? this.b.layernorm(x, p.w, p.bias, eps)
        : this.b.rmsnorm(x, p.w, eps);
    });
  }

  /**
   * nn.Dropout as module `name`: identity unless training with rate > 0 (then timm has a
   * module there too, and the graph gets a dropout node with its own RNG stream).
   */
  dropout(name: string, x: Value, rate: number): Value {
    if (!this.train || rate <= 0) return x;
    return this.b.scope(name, () => this.b.dropout(x, this.seed(), rate, this.streams++));
  }

  /** timm DropPath (per sample) as module `name`, same conditions as dropout. */
  dropPath(name: string, x: Value, rate: number): Value {
    if (!this.train || rate <= 0) return x;
    return this.b.scope(name, () => this.b.dropPath(x, this.seed(), rate, this.streams++));
  }

  /** The `rng_seed` input (i32 scalar, read as u32), created on first use. */
  private seed(): Value {
    this.seedValue ??= this.b.input('rng_seed', [], 'i32');
    return this.seedValue;
  }
}
