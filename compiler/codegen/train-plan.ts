// The training step's plan: forward, loss and backward as selected kernels (select.ts), then the
// clip and the optimizer over packed parameters (pack-optimizer.ts). The runtime's Trainer and
// `vitc explain` both compile it here, so the dispatch counts explain reports are the ones run.
import { buildBackwardGraph } from '../autodiff/train-graph.js';
import { modelParams } from '../spec/params.js';
import type { Spec } from '../spec/types.js';
import type { FusionPlan } from './fuse.js';
import { packOptimizer } from './pack-optimizer.js';
import type { Plan } from './plan.js';
import { type SelectOptions, selectWithFusion } from './select.js';

export function compileTrainPlanWithFusion(
  spec: Spec,
  batch: number,
  specFile = `${spec.name}.vit`,
  select: Partial<SelectOptions> = {},
): { plan: Plan; fusion: FusionPlan } {
  const graph = buildBackwardGraph(spec, { batch });
  const { plan, fusion } = selectWithFusion(graph, {
    spec: spec.name,
    specFile,
    batch,
    mode: 'train',
    ...select,
  });
  const packed = packOptimizer(plan, {
    optimizer: spec.train.optimizer,
    clip: spec.train.clip,
    params: modelParams(spec),
  });
  return { plan: packed, fusion };
}

export function compileTrainPlan(spec: Spec, batch: number, specFile = `${spec.name}.vit`): Plan {
  return compileTrainPlanWithFusion(spec, batch, specFile).plan;
}
