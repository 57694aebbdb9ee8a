// Fusion decisions and what they produce: one attention kernel per block reading the fused qkv
// buffer, norms folded into matmul prologues, elementwise chains (the AdamW update) in one kernel,
// layout ops read in place, a reason for every decision; and the fused plans computing the same
// numbers (PyTorch fixtures without attention outputs, a whole training step vs the interpreter).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildTrainGraph } from '../../compiler/autodiff/train-graph.js';
import { planFusion } from '../../compiler/codegen/fuse.js';
import type { Plan } from '../../compiler/codegen/plan.js';
import { dispatchesPerBlock, fusionText, planFacts } from '../../compiler/codegen/report.js';
import { selectKernels, selectWithFusion } from '../../compiler/codegen/select.js';
import { interpret } from '../../compiler/ir/interp.js';
import { lowerVit } from '../../compiler/lower/vit.js';
import { compileSpec } from '../../compiler/pipeline.js';
import { resolveSpec } from '../../compiler/spec/load.js';
import type { Spec } from '../../compiler/spec/types.js';
import { sharedDevice } from '../../runtime/device.js';
import { PlanExecutor } from '../../runtime/executor.js';
import { readSafetensors, tensorData } from '../../runtime/safetensors.js';

const tiny = resolveSpec('specs/vit-tiny.vit').spec!;
const root = 'test/fixtures';
const fixtures = readdirSync(root).filter((d) => existsSync(join(root, d, 'spec.json')));
const fixtureSpec = (c: string) =>
  JSON.parse(readFileSync(join(root, c, 'spec.json'), 'utf8')) as Spec;

function relL2(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (out[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-300));
}

const kernelOf = (plan: Plan, i: number) => plan.kernels[plan.steps[i].kernel].name;

describe('fusion of ViT-Ti/16 (eval)', () => {
  const { plan } = compileSpec(tiny, { batch: 2, dump: [] });
  const [B, H, N] = [2, tiny.heads, 197];

  it('runs each block in at most 6 dispatches (5: qkv, attention, proj + norm2, fc1, fc2 + next norm1)', () => {
    const perBlock = dispatchesPerBlock(plan, tiny.depth);
    // Block 0 also normalises the embeddings (norm1, its own kernel); later blocks get theirs
    // from the previous block's fc2 epilogue.
    expect(perBlock).toEqual([6, ...new Array(tiny.depth - 1).fill(5)]);
    const block1 = plan.steps
      .map((_, i) => i)
      .filter((i) => /^[^(]*\(blocks\.1[.)]/.test(plan.steps[i].label));
    expect(block1.map((i) => kernelOf(plan, i).split('_').slice(0, 2).join('_'))).toEqual([
      'matmul_tb', 'flash_attention', 'matmul_tb', 'matmul_tb', 'matmul_tb',
    ]); // prettier-ignore
    expect(plan.steps[block1[2]].label).toMatch(
      /matmul \(blocks\.1\.attn\.proj\).*add \(blocks\.1\).*layernorm \(blocks\.1\.norm2\)$/,
    );
    expect(plan.steps[block1[4]].label).toMatch(
      /matmul \(blocks\.1\.mlp\.fc2\).*layernorm \(blocks\.2\.norm1\)$/,
    );
    expect(kernelOf(plan, block1[2])).toContain(`thenlnwb${tiny.width}`);
    // Patch embedding (1), class token and position (3), blocks, the head (1).
    expect(plan.steps.length).toBe(5 * tiny.depth + 6);
  });

  it('keeps no N×N matrix per head: no softmax kernel, no binding of B·H·N·N floats', () => {
    expect(plan.kernels.some((k) => k.name.startsWith('softmax'))).toBe(false);
    const nn = B * H * N * N * 4;
    for (const s of plan.steps) for (const b of s.bindings) expect(b.size).not.toBe(nn);
    for (const b of plan.buffers) expect(b.bytes).not.toBe(nn);
    // The attention kernel reads the qkv projection's buffer: its input is that matmul's output.
    const att = plan.steps.findIndex((s) =>
      plan.kernels[s.kernel].name.startsWith('flash_attention'),
    );
    expect(plan.steps[att].bindings[0].buffer).toBe(plan.steps[att - 1].bindings.at(-1)!.buffer);
  });

  it('writes the probabilities only when the graph outputs them', () => {
    expect(plan.kernels.some((k) => k.name.includes('probs'))).toBe(false);
    const withAttn = compileSpec(tiny, { batch: 2, attention: true, dump: [] }).plan;
    const names = withAttn.kernels.map((k) => k.name);
    expect(names.filter((n) => n.startsWith('flash_attention_qkv'))).toEqual([
      expect.stringContaining('_probs'),
    ]);
    const attn0 = withAttn.outputs.find((o) => o.name === 'attn.0')!;
    expect(attn0.shape).toEqual([B, H, N, N]);
    expect(dispatchesPerBlock(withAttn, tiny.depth)).toEqual(dispatchesPerBlock(plan, tiny.depth));
  });

  it('reads the class token and the broadcast class token in place (no copy of either)', () => {
    expect(
      plan.steps.some(
        (s) => /slice \(pool\)/.test(s.label) && plan.kernels[s.kernel].name.startsWith('copy'),
      ),
    ).toBe(false);
    expect(plan.steps.some((s) => /broadcast_to/.test(s.label))).toBe(false);
    const head = plan.steps[plan.steps.length - 1];
    expect(head.label).toMatch(/^%\d+ matmul \(head\)/);
    expect(plan.steps[plan.steps.length - 2].label).toMatch(/layernorm \(norm\)$/);
    // At batch 2 the class tokens are rows 0 and 197 of the final (normed) tokens: a strided A view.
    expect(kernelOf(plan, plan.steps.length - 1)).toContain(`view0s${N * tiny.width}`);
  });

  it('records a reason for every decision', () => {
    const g = lowerVit(tiny, { batch: 2 });
    const { reasons } = planFusion(g);
    const count = (re: RegExp) => reasons.filter((r) => re.test(r)).length;
    expect(count(/attention fused into one flash kernel .*no N×N matrix/)).toBe(tiny.depth);
    expect(count(/attention reads q, k, v in place from %\d+ add blocks\.\d+\.attn\.qkv/)).toBe(
      tiny.depth,
    );
    expect(count(/norm %\d+ layernorm (blocks\.\d+\.norm[12]|norm) computed in the epilogue/)).toBe(
      2 * tiny.depth,
    );
    expect(
      count(/norm %\d+ layernorm blocks\.0\.norm1 kept as its own kernel: 394 rows > 64/),
    ).toBe(1);
    expect(count(/norm .* comes from a matmul's row-norm epilogue/)).toBe(2 * tiny.depth);
    expect(count(/im2col .* folded into the A loads/)).toBe(1);
    expect(count(/epilogue .* folded/)).toBe(4 * tiny.depth + 2);
    expect(count(/(transpose|slice) blocks\.\d+\.attn: no copy: read in place/)).toBe(
      4 * tiny.depth,
    );
    expect(count(/broadcast_to cls_token: no copy/)).toBe(1);
    expect(count(/slice pool: no copy/)).toBe(1);
    // The explain text prints them all, then the per-block counts.
    const text = fusionText(planFacts(tiny, 2, false));
    for (const r of reasons) expect(text).toContain(r);
    expect(text).toContain(
      `Dispatches per block: 6 ${new Array(tiny.depth - 1).fill(5).join(' ')}; total ${5 * tiny.depth + 6}`,
    );
  });

  it('can keep attention unfused or use the exact kernel, and say so', () => {
    const g = lowerVit(tiny, { batch: 1 });
    const off = selectKernels(g, {
      spec: 'x',
      specFile: 'x',
      batch: 1,
      mode: 'eval',
      fusion: { attention: 'off', normPrologue: false, normEpilogue: false },
    });
    expect(dispatchesPerBlock(off, tiny.depth)[0]).toBeGreaterThan(6);
    expect(off.kernels.some((k) => k.name.startsWith('softmax'))).toBe(true);
    const exact = selectWithFusion(g, {
      spec: 'x',
      specFile: 'x',
      batch: 1,
      mode: 'eval',
      fusion: { attention: 'exact' },
    });
    expect(exact.plan.kernels.some((k) => k.name.startsWith('attention_qkv'))).toBe(true);
    expect(exact.fusion.reasons.filter((r) => /one exact kernel/.test(r))).toHaveLength(tiny.depth);
  });
});

describe('fusion of training graphs', () => {
  it('keeps attention with attention dropout unfused, and says why', () => {
    const spec = fixtureSpec('pre_gelu_cls');
    const dropped = { ...spec, dropout: { ...spec.dropout, attn: 0.1 } };
    const g = buildTrainGraph(dropped, { batch: 2 });
    const { plan, fusion } = selectWithFusion(g, {
      spec: 'x',
      specFile: 'x',
      batch: 2,
      mode: 'train',
    });
    const why = fusion.reasons.filter((r) =>
      /attention not fused: attention dropout %\d+ dropout blocks\.\d+\.attn\.attn_drop/.test(r),
    );
    expect(why).toHaveLength(spec.depth);
    expect(fusion.attention.size).toBe(0);
    expect(plan.kernels.some((k) => k.name.startsWith('softmax'))).toBe(true);
  });

  it('attention ops: flash forward without probabilities, backward in two kernels writing d(qkv) in place', () => {
    const spec = fixtureSpec('pre_gelu_cls');
    const B = 2;
    const g = buildTrainGraph(spec, { batch: B });
    const { plan, fusion } = selectWithFusion(g, {
      spec: 'x',
      specFile: 'x',
      batch: B,
      mode: 'train',
    });
    const ops = fusion.reasons.filter((r) =>
      /attention op %\d+ attention .* no N×N matrix/.test(r),
    );
    expect(ops).toHaveLength(spec.depth);
    expect(fusion.attentionGrads.size).toBe(spec.depth);
    for (const grp of fusion.attentionGrads.values()) {
      expect([grp.input, grp.doutLayout, grp.output]).toEqual(['qkv', 'merged', 'qkv']);
      expect(grp.assembly).toHaveLength(5);
    }
    const names = plan.steps.map((s) => plan.kernels[s.kernel].name);
    expect(
      names.filter((n) => n.startsWith('flash_attention_grad_q_qkv_merged_omerged_qkv')),
    ).toHaveLength(spec.depth);
    expect(
      names.filter((n) => n.startsWith('flash_attention_grad_kv_qkv_merged_qkv')),
    ).toHaveLength(spec.depth);
    expect(
      names.filter((n) => n.startsWith('flash_attention_') && n.includes('probs')),
    ).toHaveLength(0);
    // q, k, v, dO and d(qkv) are all read and written in place: no copies inside attention.
    const copies = plan.steps.filter(
      (s) => plan.kernels[s.kernel].name.startsWith('copy') && /\.attn\)/.test(s.label),
    );
    expect(copies.map((s) => s.label)).toEqual([]);
    // No N×N matrix anywhere: no buffer holds B·H·N·N floats, and the only softmax is the loss's.
    const [N, H] = [g.nodes.find((n) => n.op === 'attention')!.shape[2], spec.heads];
    expect(plan.buffers.filter((b) => b.bytes === B * H * N * N * 4)).toHaveLength(0);
    expect(names.filter((n) => n.startsWith('softmax'))).toHaveLength(1);
    // The explicit form of the same step needs more dispatches (attention backward of 13).
    const explicit = selectKernels(buildTrainGraph(spec, { batch: B, attention: 'explicit' }), {
      spec: 'x',
      specFile: 'x',
      batch: B,
      mode: 'train',
    });
    expect(plan.steps.length).toBeLessThanOrEqual(explicit.steps.length - 10 * spec.depth);
  });

  it('attention writes the probabilities the backward reads; AdamW is two kernels per parameter', () => {
    const spec = fixtureSpec('pre_gelu_cls');
    const g = buildTrainGraph(spec, { batch: 2, attention: 'explicit' });
    const { plan, fusion } = selectWithFusion(g, {
      spec: spec.name,
      specFile: 'x',
      batch: 2,
      mode: 'train',
    });
    expect(
      fusion.reasons.filter((r) =>
        /one flash kernel .*probabilities written: read by %\d+/.test(r),
      ),
    ).toHaveLength(spec.depth);
    // Norms feed the backward too: kept as kernels, with the reason.
    expect(
      fusion.reasons.some((r) => /norm .* kept as its own kernel: read by \d+ nodes/.test(r)),
    ).toBe(true);
    // A parameter's update: both moments in one kernel (m, v, g → m', v'), then decay and step
    // (p, m', v', three step scalars → p'); one kernel would need 10 storage buffers, not 8.
    const w = plan.steps.filter((s) => /\(optimizer\.blocks\.0\.mlp\.fc1\.weight\)/.test(s.label));
    expect(w.map((s) => plan.kernels[s.kernel].name.split('_').slice(0, 3).join('_'))).toEqual([
      'ew_2o_3i',
      'ew_1o_6i',
    ]);
    expect(w[0].label.match(/%\d+/g)).toHaveLength(7);
    expect(w[1].label.match(/%\d+/g)).toHaveLength(7);
    expect(
      fusion.reasons.some((r) =>
        /optimizer\.blocks\.0\.mlp\.fc1\.weight: not fused .* 9 storage buffers would exceed 8/.test(
          r,
        ),
      ),
    ).toBe(true);
    const optimizer = plan.steps.filter((s) => /\(optimizer[.)]/.test(s.label));
    expect(optimizer.length).toBeLessThanOrEqual(2 * plan.params.length + 2);
    const unfused = selectKernels(g, {
      spec: 'x',
      specFile: 'x',
      batch: 2,
      mode: 'train',
      fusion: { attention: 'off', normPrologue: false },
    });
    expect(plan.steps.length).toBeLessThan(unfused.steps.length);
  });
});

describe('fused plans on WebGPU', () => {
  for (const c of fixtures) {
    it(`${c}: logits (flash attention, no probabilities) match PyTorch to 1e-5`, async () => {
      const spec = fixtureSpec(c);
      const weights = await readSafetensors(join(root, c, 'weights.safetensors'));
      const input = await readSafetensors(join(root, c, 'input.safetensors'));
      const expected = await readSafetensors(join(root, c, 'expected.safetensors'));
      const batch = input.tensors.get('image')!.shape[0];
      const { plan } = compileSpec(spec, { batch, dump: [] });
      expect(plan.kernels.some((k) => k.name.startsWith('flash_attention'))).toBe(true);
      if (spec.qkNorm)
        expect(plan.kernels.some((k) => k.name.startsWith('flash_attention_heads'))).toBe(true);
      const ex = await PlanExecutor.create(await sharedDevice(), plan);
      const params = new Map<string, Float32Array>();
      for (const p of plan.params) params.set(p.name, tensorData(weights, p.name) as Float32Array);
      ex.setParams(params);
      const out = await ex.run({ image: tensorData(input, 'image') as Float32Array });
      ex.destroy();
      expect(relL2(out.logits, tensorData(expected, 'logits') as Float64Array)).toBeLessThan(1e-5);
    });
  }

  it('a whole AdamW training step (clipped) matches the float64 interpreter', async () => {
    const c = 'layer_scale_qk_norm';
    const spec = fixtureSpec(c);
    const weights = await readSafetensors(join(root, c, 'weights.safetensors'));
    const input = await readSafetensors(join(root, c, 'input.safetensors'));
    const batch = input.tensors.get('image')!.shape[0];
    const g = buildTrainGraph(spec, { batch, clip: 1 });
    const plan = selectKernels(g, { spec: spec.name, specFile: c, batch, mode: 'train' });
    const params = new Map<string, Float32Array>();
    for (const p of plan.params) params.set(p.name, tensorData(weights, p.name) as Float32Array);
    // Non-zero moments (as after a few steps) keep the update a smooth function of the gradient.
    const feeds = new Map<string, Float32Array | Int32Array>([
      ['image', tensorData(input, 'image') as Float32Array],
      ['labels', tensorData(input, 'labels') as Int32Array],
      ['lr', Float32Array.of(1e-3)],
      ['bc1', Float32Array.of(1 - 0.9 ** 3)],
      ['bc2', Float32Array.of(1 - 0.999 ** 3)],
    ]);
    for (const t of plan.inputs) {
      if (feeds.has(t.name)) continue;
      const n = t.shape.reduce((a, b) => a * b, 1);
      const sq = t.name.startsWith('exp_avg_sq.');
      feeds.set(
        t.name,
        Float32Array.from({ length: n }, (_, i) =>
          sq ? 1e-4 * (1 + Math.sin(i)) ** 2 + 1e-6 : 1e-3 * Math.cos(i * 0.7),
        ),
      );
    }
    const ref = interpret(g, feeds, params);
    const ex = await PlanExecutor.create(await sharedDevice(), plan);
    ex.setParams(params);
    const out = await ex.run(Object.fromEntries(feeds));
    ex.destroy();
    let checked = 0;
    for (const o of plan.outputs) {
      expect(relL2(out[o.name], ref.get(o.name)!), o.name).toBeLessThan(1e-5);
      checked++;
    }
    expect(checked).toBe(3 + 3 * plan.params.length);
  });
});
