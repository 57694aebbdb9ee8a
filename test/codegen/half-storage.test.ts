// f16 storage (compiler/codegen/half-storage.ts): the WGSL rewrite, the plan it makes, and every
// committed spec's kernels going through it. The numbers on a GPU are checked in
// half-storage-gpu.test.ts.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { halfKernel, halfStorage } from '../../compiler/codegen/half-storage.js';
import { compileSpec } from '../../compiler/pipeline.js';
import { loadSpecFile } from '../../compiler/spec/load.js';
import { compileTrainPlan } from '../../runtime/train/trainer.js';

const KERNEL = `// vitc kernel: demo
// reads a[i] in a comment, which stays as it is
struct Uniforms {
  n: u32,
};
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> u: Uniforms;

fn helper(a: f32) -> f32 {
  let c = a * 2.0;
  return c;
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i < u.n) {
    let x = a[i] + bias[min(i, a[0].x > 0.0)];
    c[i] = x * helper(bias[i]);
  }
}
`;

describe('halfKernel', () => {
  it('declares f16 arrays, widens loads, narrows stores, and leaves shadowing names alone', () => {
    const out = halfKernel(KERNEL, new Set(['a', 'bias', 'c']));
    expect(out.split('\n').slice(0, 4)).toEqual([
      '// vitc kernel: demo',
      '// reads a[i] in a comment, which stays as it is',
      'enable f16;',
      '',
    ]);
    expect(out).toContain('var<storage, read> a: array<vec4<f16>>;');
    expect(out).toContain('var<storage, read> bias: array<f16>;');
    expect(out).toContain('var<storage, read_write> c: array<vec4<f16>>;');
    expect(out).toContain('let x = vec4<f32>(a[i]) + f32(bias[min(i, vec4<f32>(a[0]).x > 0.0)]);');
    expect(out).toContain('c[i] = vec4<f16>(x * helper(f32(bias[i])));');
    // The helper's parameter `a` and local `c` shadow the bindings: untouched.
    expect(out).toContain('fn helper(a: f32) -> f32 {\n  let c = a * 2.0;\n  return c;\n}');
  });

  it('converts only the bindings it is given', () => {
    const out = halfKernel(KERNEL, new Set(['c']));
    expect(out).toContain('var<storage, read> a: array<vec4<f32>>;');
    expect(out).toContain('let x = a[i] + bias[min(i, a[0].x > 0.0)];');
    expect(out).toContain('c[i] = vec4<f16>(x * helper(bias[i]));');
  });

  it('refuses what it cannot rewrite', () => {
    expect(() => halfKernel(KERNEL, new Set(['u']))).toThrow(/no f32 storage binding 'u'/);
    const compound = KERNEL.replace('c[i] = x', 'c[i] += x');
    expect(() => halfKernel(compound, new Set(['c']))).toThrow(/compound assignment to 'c'/);
    const pointer = KERNEL.replace('let i = gid.x;', 'let i = arrayLength(&bias);');
    expect(() => halfKernel(pointer, new Set(['bias']))).toThrow(/'bias' is used other than/);
  });
});

describe('halfStorage on a plan', () => {
  const spec = loadSpecFile('specs/vit-tiny.vit').specs.at(-1)!;
  const f32 = compileSpec(spec, { batch: 2, dump: [] }).plan;
  const f16 = halfStorage(f32);

  it('halves parameter and activation buffers and keeps the f32 interface', () => {
    for (const b of f16.buffers) {
      const was = f32.buffers[b.id];
      if (was.role === 'param' || was.role === 'scratch') {
        expect(b.dtype, b.name).toBe('f16');
        expect(b.bytes, b.name).toBe(Math.ceil(was.bytes / 8) * 4);
      } else {
        expect(b, b.name).toEqual(was);
      }
    }
    const bytes = (p: typeof f32) => p.buffers.reduce((a, b) => a + b.bytes, 0);
    // The f32 input images are what keeps this above one half.
    expect(bytes(f16) / bytes(f32)).toBeLessThan(0.53);
    expect(f16.inputs).toEqual(f32.inputs);
    expect(f16.outputs).toEqual(f32.outputs);
  });

  it('gives every step a kernel whose f16 bindings are exactly its f16 buffers', () => {
    expect(f16.steps.length).toBe(f32.steps.length);
    f16.steps.forEach((s, i) => {
      const k = f16.kernels[s.kernel];
      for (const b of s.bindings) {
        const name = k.bindings.find((x) => x.binding === b.binding)!.name;
        const isHalf = f16.buffers[b.buffer].dtype === 'f16';
        const decl = new RegExp(`var<storage, [a-z_]+> ${name}: array<(vec4<)?f16>?>;`);
        expect(decl.test(k.wgsl!), `step ${i} ${k.name} ${name}`).toBe(isHalf);
      }
      const anyHalf = s.bindings.some((x) => f16.buffers[x.buffer].dtype === 'f16');
      expect(k.wgsl!.includes('\nenable f16;\n'), k.name).toBe(anyHalf);
      expect(s.uniforms).toEqual(f32.steps[i].uniforms);
    });
  });

  it('refuses a training plan', () => {
    const train = compileTrainPlan(loadSpecFile('specs/fmnist-tiny.vit').specs.at(-1)!, 4, 'x');
    expect(() => halfStorage(train)).toThrow(/forward \(eval\) plans; training stays f32/);
  });

  it('rewrites the kernels of every committed spec', () => {
    const files = readdirSync('specs').filter((f) => f.endsWith('.vit'));
    expect(files.length).toBeGreaterThan(10);
    let kernels = 0;
    for (const f of files) {
      for (const s of loadSpecFile(`specs/${f}`).specs) {
        const plan = compileSpec(s, { batch: 1, dump: [], precision: 'f16' }).plan;
        kernels += plan.kernels.filter(
          (k) => k.wgsl!.startsWith('enable f16') || k.wgsl!.includes('\nenable f16;'),
        ).length;
      }
    }
    expect(kernels).toBeGreaterThan(100);
  });
});
