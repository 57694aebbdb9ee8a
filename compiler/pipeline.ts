// The compiler's ordered list of named passes, Spec → Graph → Plan. Each pass is pure; the
// dump hook prints a stage's stable text when VITC_DUMP names it (comma-separated):
//   VITC_DUMP=graph,fused,plan,wgsl vitc compile specs/vit-tiny.vit
import { halfStorage } from './codegen/half-storage.js';
import type { Graph } from './ir/graph.js';
import { printGraph } from './ir/print.js';
import { assertValidGraph } from './ir/verify.js';
import { lowerVit } from './lower/vit.js';
import { planFusion } from './codegen/fuse.js';
import type { Plan } from './codegen/plan.js';
import { memoryReport } from './codegen/memory.js';
import { selectKernels } from './codegen/select.js';
import type { Spec } from './spec/types.js';

export const DUMP_STAGES = ['graph', 'fused', 'plan', 'wgsl'] as const;
export type DumpStage = (typeof DUMP_STAGES)[number];

export interface CompileOptions {
  batch?: number;
  mode?: 'eval' | 'train';
  /** Also output attention probabilities (a separately compiled variant). */
  attention?: boolean;
  specFile?: string;
  /** Stages to print; default from VITC_DUMP. */
  dump?: readonly string[];
  /** Where dumps go (default stderr). */
  log?: (text: string) => void;
  /** Emit matmul tile-shape alternatives for the runtime's autotune (runtime/autotune.ts). */
  tune?: boolean;
  /**
   * Storage precision of an eval plan: 'f16' keeps weights and activations in f16 buffers, with
   * f32 arithmetic (halfStorage, compiler/codegen/half-storage.ts); needs 'shader-f16'.
   */
  precision?: 'f32' | 'f16';
}

export interface Compiled {
  spec: Spec;
  graph: Graph;
  plan: Plan;
}

export function dumpStages(env = process.env.VITC_DUMP): string[] {
  return (env ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A printable summary of a plan: one line per dispatch. */
export function printPlan(plan: Plan): string {
  const lines = [
    `plan ${plan.spec} batch ${plan.batch} ${plan.mode}: ${plan.steps.length} dispatches, ${plan.kernels.length} kernels, ${plan.buffers.length} buffers, ${memoryReport(plan).total} bytes`,
  ];
  plan.steps.forEach((s, i) => {
    lines.push(
      `  ${String(i).padStart(4)} ${plan.kernels[s.kernel].name} [${s.dispatch.join(',')}]  ${s.label}`,
    );
  });
  return lines.join('\n') + '\n';
}

/** The passes in order. Each takes the previous stage's value; names are what VITC_DUMP uses. */
export function compileSpec(spec: Spec, opts: CompileOptions = {}): Compiled {
  const dump = new Set(opts.dump ?? dumpStages());
  const log = opts.log ?? ((t: string) => process.stderr.write(t));
  for (const d of dump)
    if (!(DUMP_STAGES as readonly string[]).includes(d))
      throw new Error(`VITC_DUMP: unknown stage '${d}' (stages: ${DUMP_STAGES.join(', ')})`);
  const batch = opts.batch ?? 1;
  const mode = opts.mode ?? 'eval';

  const graph = lowerVit(spec, { batch, mode, attention: opts.attention });
  assertValidGraph(graph, `graph of ${spec.name}`);
  if (dump.has('graph'))
    log(`# graph ${spec.name} (batch ${batch}, ${mode})\n${printGraph(graph)}`);

  if (dump.has('fused')) log(`# fusion ${spec.name}\n${planFusion(graph).reasons.join('\n')}\n`);

  const selected = selectKernels(graph, {
    spec: spec.name,
    specFile: opts.specFile ?? `${spec.name}.vit`,
    batch,
    mode,
    ...(opts.tune ? { emit: { tune: true } } : {}),
  });
  const plan = opts.precision === 'f16' ? halfStorage(selected) : selected;
  if (dump.has('plan')) log(printPlan(plan));
  if (dump.has('wgsl')) for (const k of plan.kernels) log(`# kernel ${k.name}\n${k.wgsl}\n`);
  return { spec, graph, plan };
}
