// The JSON Schema of a resolved Spec (compiler/spec/types.ts), checked with ajv. It is the last
// gate before the rest of the compiler: validate.ts explains problems in the user's terms first,
// so a schema failure after it means a Spec built some other way, or a gap between the two.
// tools/write-schema.ts writes this object to docs/spec.schema.json.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { type Diagnostic, diagnostic } from '../diagnostics.js';
import type { FieldSources } from './settings.js';
import type { SourcePos } from './types.js';

/** Sizes index GPU buffers with 32-bit integers. */
export const MAX_SIZE = 2 ** 31 - 1;
/** Seeds feed 32-bit generators. */
export const MAX_SEED = 2 ** 32 - 1;

type Schema = Record<string, unknown>;

const obj = (description: string, properties: Record<string, Schema>): Schema => ({
  type: 'object',
  description,
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
});
const size = (description: string): Schema => ({
  type: 'integer',
  minimum: 1,
  maximum: MAX_SIZE,
  description,
});
const count = (description: string): Schema => ({
  type: 'integer',
  minimum: 0,
  maximum: MAX_SIZE,
  description,
});
const seed = (description: string): Schema => ({
  type: 'integer',
  minimum: 0,
  maximum: MAX_SEED,
  description,
});
const rate = (description: string): Schema => ({
  type: 'number',
  minimum: 0,
  exclusiveMaximum: 1,
  description,
});
const positive = (description: string): Schema => ({
  type: 'number',
  exclusiveMinimum: 0,
  description,
});
const nonNegative = (description: string): Schema => ({ type: 'number', minimum: 0, description });
const oneOf = (description: string, values: string[]): Schema => ({
  type: 'string',
  enum: values,
  description,
});
const bool = (description: string): Schema => ({ type: 'boolean', description });

const trainSchema = obj('Training defaults for `vitc train`; command-line flags override them.', {
  batch: size('Images per training step.'),
  epochs: size('Passes over the training set.'),
  optimizer: obj('Optimizer and its hyper-parameters.', {
    kind: oneOf(
      'adamw (decoupled weight decay), adam (L2 in the gradient) or sgd (with momentum).',
      ['adamw', 'adam', 'sgd'],
    ),
    lr: positive('Peak learning rate, reached after warmup.'),
    weightDecay: nonNegative(
      'Weight decay; applied to matrices only (not biases, norms, tokens, position embeddings).',
    ),
    betas: {
      type: 'array',
      description: 'Adam beta1 and beta2, each in [0, 1).',
      items: rate('An Adam beta.'),
      minItems: 2,
      maxItems: 2,
    },
    eps: positive('Adam epsilon.'),
    momentum: rate('SGD momentum (ignored by adam/adamw).'),
  }),
  schedule: obj('Learning-rate schedule: linear warmup, then decay to minLr.', {
    warmup: nonNegative('Warmup length in epochs.'),
    kind: oneOf('Decay after warmup.', ['cosine', 'linear', 'constant']),
    minLr: nonNegative('Learning rate at the end of the decay.'),
  }),
  smoothing: rate('Cross-entropy label smoothing in [0, 1).'),
  clip: {
    description: 'Clip gradients to this global L2 norm; null = no clipping.',
    anyOf: [
      positive('Maximum global gradient norm.'),
      { type: 'null', description: 'No clipping.' },
    ],
  },
  precision: oneOf('Arithmetic: f32, f16, or mixed (f16 compute with f32 master weights).', [
    'f32',
    'f16',
    'mixed',
  ]),
  seed: seed('Seed for data order, augmentation and dropout.'),
  augment: obj('Data augmentation.', {
    flip: bool('Random horizontal flip.'),
    cropPadding: count('Random crop after zero-padding each side by this many pixels; 0 = off.'),
  }),
});

export const specSchema: Schema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://vitc.dev/spec.schema.json',
  title: 'vitc resolved model spec',
  ...obj(
    'A Vision Transformer after resolution: every field explicit, no inheritance, no ratios.',
    {
      name: {
        type: 'string',
        pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
        description: 'Model name as written after `model`.',
      },
      description: {
        type: 'string',
        description: 'The comment before the model (or the file), without `#`.',
      },
      chain: {
        type: 'array',
        description: 'Inheritance chain, the model itself first.',
        items: { type: 'string', description: 'A model name.' },
        minItems: 1,
      },
      image: obj('Input image.', {
        height: size('Image height in pixels.'),
        width: size('Image width in pixels.'),
        channels: size('Channels: 1 grayscale, 3 RGB, or any positive count.'),
      }),
      patch: obj('Patch size; divides the image size.', {
        height: size('Patch height in pixels.'),
        width: size('Patch width in pixels.'),
      }),
      width: size('Embedding dimension (timm embed_dim); divisible by heads.'),
      depth: size('Number of transformer blocks.'),
      heads: size('Attention heads.'),
      mlp: obj('The MLP of each block.', {
        hidden: size('Hidden size (ratio already applied: floor(width * ratio)).'),
        activation: oneOf('gelu (exact erf), gelu_tanh, relu, or swiglu (gated).', [
          'gelu',
          'gelu_tanh',
          'relu',
          'swiglu',
        ]),
      }),
      norm: obj('Normalization inside blocks.', {
        placement: oneOf('pre: x + f(norm(x)); post: norm(x + f(x)).', ['pre', 'post']),
        kind: oneOf('LayerNorm (weight and bias) or RMSNorm (weight only).', [
          'layernorm',
          'rmsnorm',
        ]),
        eps: positive('Epsilon added to the variance.'),
      }),
      qkvBias: bool('Bias on the fused qkv projection.'),
      qkNorm: bool('Per-head norm of q and k after the projection.'),
      layerScale: {
        description: 'LayerScale init value of the per-channel gammas; null = off.',
        anyOf: [positive('Initial gamma.'), { type: 'null', description: 'No LayerScale.' }],
      },
      tokens: obj('Prefix tokens, in order [cls, distill, registers...].', {
        cls: bool('A class token.'),
        distill: bool('A distillation token (DeiT); needs cls.'),
        registers: count('Number of register tokens.'),
      }),
      pos: obj('Position embedding.', {
        kind: oneOf('learned (a parameter), sincos2d (fixed table over patches) or none.', [
          'learned',
          'sincos2d',
          'none',
        ]),
        prefix: bool(
          'Learned embedding also covers the prefix tokens (timm default); false for sincos2d and none.',
        ),
      }),
      preNorm: bool('A norm right after the embedding (timm norm_pre).'),
      finalNorm: bool('A final norm (before pooling, or after it when fcNorm).'),
      pool: oneOf('Pooling: the cls token, or the mean over patch tokens.', ['cls', 'mean']),
      fcNorm: bool('Final norm after pooling instead of before (timm fc_norm).'),
      head: obj('Classifier head.', { classes: count('Number of classes; 0 = features only.') }),
      dropout: obj('Dropout rates, each in [0, 1).', {
        embed: rate('After adding the position embedding.'),
        attn: rate('On attention probabilities.'),
        proj: rate('After the attention output projection and in the MLP.'),
        head: rate('Before the classifier.'),
        path: rate('Stochastic depth (drop path), the rate of the last block.'),
      }),
      init: obj('Parameter initialization.', {
        scheme: oneOf('trunc_normal (timm), normal, or jax (big_vision).', [
          'trunc_normal',
          'normal',
          'jax',
        ]),
        std: positive('Standard deviation of weight init.'),
        seed: seed('Seed of the init generator.'),
      }),
      preprocess: obj('Image preprocessing: resize, center crop, (x/255 - mean)/std.', {
        mean: {
          type: 'array',
          description: 'Per-channel mean, one per image channel.',
          items: { type: 'number', description: 'Channel mean in [0, 1] units.' },
          minItems: 1,
        },
        std: {
          type: 'array',
          description: 'Per-channel standard deviation, one per image channel.',
          items: positive('Channel std in [0, 1] units.'),
          minItems: 1,
        },
        interpolation: oneOf('Resize filter.', ['nearest', 'bilinear', 'bicubic']),
        crop: {
          type: 'number',
          exclusiveMinimum: 0,
          maximum: 1,
          description: 'timm crop_pct in (0, 1]; 1 = no crop.',
        },
      }),
      train: trainSchema,
    },
  ),
};

let compiled: ValidateFunction | undefined;

/** The compiled validator (ajv compiles once per process). */
export function specValidator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, strict: true }).compile(specSchema);
  return compiled;
}

/** ajv errors as located diagnostics: each at the statement that set the field (or its parent). */
export function checkSchema(
  spec: unknown,
  sources: FieldSources,
  fallback: { pos: SourcePos; length: number },
): Diagnostic[] {
  const validate = specValidator();
  if (validate(spec)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => {
    let p = e.instancePath;
    while (p && !sources.has(p)) p = p.slice(0, p.lastIndexOf('/'));
    const where = sources.get(p)?.span ?? fallback;
    const field = e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : 'spec';
    const extra =
      e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : '';
    return diagnostic('VITC0300', `${field} ${e.message ?? 'is invalid'}${extra}`, {
      pos: where.pos,
      length: where.length,
    });
  });
}
