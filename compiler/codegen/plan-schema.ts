// JSON Schema of plan.json (the Plan without WGSL text), checked with ajv before anything is
// written and whenever a plan is loaded from disk. docs/plan.schema.json is written from it.
import { Ajv } from 'ajv';
import type { Plan } from './plan.js';

const u = { type: 'integer', minimum: 0 } as const;
const shape = { type: 'array', items: u } as const;
const tensor = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'buffer', 'offset', 'shape', 'dtype'],
  properties: {
    name: { type: 'string', minLength: 1 },
    buffer: u,
    offset: u,
    shape,
    dtype: { enum: ['f32', 'i32'] },
  },
} as const;
const vec3 = { type: 'array', items: u, minItems: 3, maxItems: 3 } as const;

export const planSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'vitc plan',
  description: 'A compiled model: kernels, physical buffers and the ordered list of dispatches.',
  type: 'object',
  additionalProperties: false,
  required: [
    'format',
    'version',
    'spec',
    'specFile',
    'batch',
    'mode',
    'kernels',
    'buffers',
    'steps',
    'inputs',
    'outputs',
    'params',
  ],
  properties: {
    format: { const: 'vitc-plan' },
    version: { const: 1 },
    spec: { type: 'string', description: 'model name' },
    specFile: { type: 'string', description: 'the spec file it was compiled from' },
    batch: { type: 'integer', minimum: 1, description: 'batch size the plan was compiled for' },
    mode: { enum: ['eval', 'train'] },
    kernels: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'entry', 'workgroupSize', 'doc', 'bindings'],
        properties: {
          name: { type: 'string', pattern: '^[a-z0-9_]+$', description: 'kernels/<name>.wgsl' },
          entry: { type: 'string' },
          workgroupSize: vec3,
          doc: { type: 'string' },
          requires: {
            type: 'object',
            description: 'what the adapter must offer (only alternatives may require anything)',
            additionalProperties: false,
            required: ['features'],
            properties: {
              features: { type: 'array', items: { type: 'string' } },
              subgroupSize: { type: 'integer', minimum: 1 },
            },
          },
          bindings: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['binding', 'name', 'kind'],
              properties: {
                binding: u,
                name: { type: 'string' },
                kind: { enum: ['read', 'read_write', 'uniform'] },
              },
            },
          },
          wgsl: { type: 'string' },
        },
      },
    },
    buffers: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'name', 'role', 'bytes'],
        properties: {
          id: u,
          name: { type: 'string' },
          role: { enum: ['param', 'input', 'output', 'scratch', 'const'] },
          bytes: { type: 'integer', minimum: 4, multipleOf: 4 },
          dtype: { enum: ['f16'], description: 'elements are f16 (absent: f32)' },
          init: { type: 'object', description: 'const fill rule (compiler/ir/ops.ts ConstInit)' },
          shape,
        },
      },
    },
    steps: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['kernel', 'label', 'bindings', 'uniforms', 'uniformBinding', 'dispatch'],
        properties: {
          kernel: u,
          label: { type: 'string' },
          bindings: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['binding', 'buffer', 'offset', 'size'],
              properties: {
                binding: u,
                buffer: u,
                offset: u,
                size: { type: 'integer', minimum: 4 },
              },
            },
          },
          uniforms: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 4294967295 } },
          uniformBinding: { anyOf: [u, { type: 'null' }] },
          dispatch: vec3,
          alternatives: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['kernel', 'dispatch'],
              properties: { kernel: u, dispatch: vec3 },
            },
          },
        },
      },
    },
    inputs: { type: 'array', items: tensor },
    outputs: { type: 'array', items: tensor },
    params: { type: 'array', items: tensor },
  },
} as const;

const validate = new Ajv({ allErrors: true }).compile(planSchema);

export class PlanSchemaError extends Error {
  override name = 'PlanSchemaError';
}

/** Throws a PlanSchemaError listing every schema violation, plus cross-reference checks. */
export function assertValidPlan(plan: unknown, source = 'plan'): asserts plan is Plan {
  if (!validate(plan)) {
    const errs = (validate.errors ?? [])
      .slice(0, 10)
      .map((e) => `  ${e.instancePath || '/'} ${e.message}`);
    throw new PlanSchemaError(`${source} does not match the plan schema:\n${errs.join('\n')}`);
  }
  const p = plan as Plan;
  const problems: string[] = [];
  p.steps.forEach((s, i) => {
    if (s.kernel >= p.kernels.length)
      problems.push(`steps[${i}] uses kernel ${s.kernel} of ${p.kernels.length}`);
    for (const a of s.alternatives ?? [])
      if (a.kernel >= p.kernels.length)
        problems.push(`steps[${i}] has alternative kernel ${a.kernel} of ${p.kernels.length}`);
    for (const b of s.bindings)
      if (b.buffer >= p.buffers.length || b.offset + b.size > p.buffers[b.buffer].bytes)
        problems.push(
          `steps[${i}] binds buffer ${b.buffer} [${b.offset}, +${b.size}) outside its size`,
        );
  });
  for (const t of [...p.inputs, ...p.outputs, ...p.params])
    if (t.buffer >= p.buffers.length)
      problems.push(`tensor ${t.name} refers to buffer ${t.buffer}`);
  if (problems.length)
    throw new PlanSchemaError(`${source} is inconsistent:\n  ${problems.join('\n  ')}`);
}
