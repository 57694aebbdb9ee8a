// What `vitc explain` says about the compiled plans: the fusion decisions with their reasons,
// dispatches per transformer block, and the device memory a forward pass and a training step
// allocate — all computed from the actual plans, not estimated.
import { bytes } from '../cli/format.js';
import { lowerVit } from '../lower/vit.js';
import type { Spec } from '../spec/types.js';
import type { FusionPlan } from './fuse.js';
import { type MemoryReport, memoryReport } from './memory.js';
import type { Plan } from './plan.js';
import { selectWithFusion } from './select.js';
import { compileTrainPlanWithFusion } from './train-plan.js';

/** Dispatches per transformer block: a step belongs to the block its first node is in. */
export function dispatchesPerBlock(plan: Plan, depth: number): number[] {
  const counts = new Array<number>(depth).fill(0);
  for (const s of plan.steps) {
    const m = /\(blocks\.(\d+)[.)]/.exec(s.label);
    if (m && Number(m[1]) < depth) counts[Number(m[1])]++;
  }
  return counts;
}

export interface PlanFacts {
  batch: number;
  forward: {
    dispatches: number;
    perBlock: number[];
    kernels: number;
    memory: MemoryReport;
    fusion: FusionPlan;
  };
  /** Absent when the model has no classifier head (nothing to train). */
  train?: { dispatches: number; kernels: number; memory: MemoryReport; optimizer: number };
}

export function planFacts(spec: Spec, batch = 1, train = true): PlanFacts {
  const meta = { spec: spec.name, specFile: `${spec.name}.vit`, batch };
  const fwd = selectWithFusion(lowerVit(spec, { batch, mode: 'eval' }), { ...meta, mode: 'eval' });
  const facts: PlanFacts = {
    batch,
    forward: {
      dispatches: fwd.plan.steps.length,
      perBlock: dispatchesPerBlock(fwd.plan, spec.depth),
      kernels: fwd.plan.kernels.length,
      memory: memoryReport(fwd.plan),
      fusion: fwd.fusion,
    },
  };
  if (train && spec.head.classes > 0) {
    const t = compileTrainPlanWithFusion(spec, batch, meta.specFile);
    facts.train = {
      dispatches: t.plan.steps.length,
      kernels: t.plan.kernels.length,
      memory: memoryReport(t.plan),
      // The clip and the update over all parameters (pack-optimizer.ts).
      optimizer: t.plan.steps.filter((s) => /^(optimizer|clip_grad_norm):/.test(s.label)).length,
    };
  }
  return facts;
}

function memoryLine(m: MemoryReport): string {
  const r = m.byRole;
  const parts = [`params ${bytes(r.param ?? 0)}`, `activations ${bytes(r.scratch ?? 0)}`];
  const io = (r.input ?? 0) + (r.output ?? 0) + (r.const ?? 0);
  if (io) parts.push(`inputs/outputs ${bytes(io)}`);
  return `${bytes(m.total)} peak (${parts.join(', ')})`;
}

/** "5 per block", "5 per block (6 in block 0)", or every count when they differ more. */
function perBlockText(blocks: readonly number[]): string {
  if (!blocks.length) return 'no blocks';
  const rest = blocks.slice(1);
  if (rest.every((b) => b === blocks[0])) return `${blocks[0]} per block`;
  if (rest.every((b) => b === rest[0])) return `${rest[0]} per block (${blocks[0]} in block 0)`;
  return `${blocks.join('/')} per block`;
}

/** The plan section of `vitc explain`. */
export function planText(f: PlanFacts): string {
  const lines = [
    `Compiled plan (batch ${f.batch}, f32; buffers shared where lifetimes do not overlap)`,
    `  forward     ${f.forward.dispatches} dispatches, ${perBlockText(f.forward.perBlock)}, ${f.forward.kernels} kernels`,
    `              ${memoryLine(f.forward.memory)}`,
  ];
  if (f.train) {
    lines.push(
      `  train step  ${f.train.dispatches} dispatches, ${f.train.kernels} kernels (forward, backward; ` +
        `clip and optimizer over all parameters in ${f.train.optimizer})`,
    );
    lines.push(`              ${memoryLine(f.train.memory)}`);
  }
  return lines.join('\n') + '\n';
}

/** `vitc explain --fusion`: every fusion decision of the forward plan, then the counts. */
export function fusionText(f: PlanFacts): string {
  const lines = ['Fusion decisions (forward, batch ' + f.batch + ')'];
  for (const r of f.forward.fusion.reasons) lines.push(`  ${r}`);
  lines.push(
    '',
    `Dispatches per block: ${f.forward.perBlock.join(' ')}; total ${f.forward.dispatches}`,
  );
  return lines.join('\n') + '\n';
}
