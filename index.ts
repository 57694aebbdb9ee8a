// The public API of vitc: compile specs, load compiled models, run them on WebGPU.
export { compileSpec, type CompileOptions, type Compiled, printPlan } from './compiler/pipeline.js';
export { resolveSpec, loadSpecFile, loadSpecText } from './compiler/spec/load.js';
export { specFacts } from './compiler/spec/facts.js';
export { modelParams, paramCount, type ParamInfo } from './compiler/spec/params.js';
export type { Spec, TrainSpec } from './compiler/spec/types.js';
export type { Plan, PlanKernel, PlanBuffer, PlanStep, PlanTensor } from './compiler/codegen/plan.js';
export { emitGenerated } from './compiler/codegen/emit.js';
export { lowerVit } from './compiler/lower/vit.js';
export { printGraph } from './compiler/ir/print.js';
export type { Graph, Node } from './compiler/ir/graph.js';
export { acquireDevice, sharedDevice, type VitcDevice, type DeviceInfo } from './runtime/device.js';
export { PlanExecutor } from './runtime/executor.js';
export { loadWeights, saveWeights } from './runtime/weights.js';
export { initParams } from './runtime/init.js';
export { loadModel, compile, type Model, type LoadModelOptions } from './runtime/model.js';
