// Where a plan's time goes, kernel by kernel: `npx tsx bench/profile.ts SPEC [--batch N] [--train]
// [--reps N] [--top N]`. Each dispatch runs in its own submit and is awaited, so the sum is larger than a
// real run (no overlap); the shares are what matter. Prints the kernels by total time, median of
// --reps runs per dispatch.
import { loadSpecFile } from '../compiler/spec/load.js';
import { compileSpec } from '../compiler/pipeline.js';
import { sharedDevice } from '../runtime/device.js';
import { PlanExecutor } from '../runtime/executor.js';
import { compileTrainPlan } from '../runtime/train/trainer.js';
import { median } from './measure.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const file = args.find((a, i) => !a.startsWith('--') && (i === 0 || !args[i - 1].startsWith('--')));
if (!file) {
  console.error('usage: tsx bench/profile.ts SPEC [--batch N] [--train] [--reps N]');
  process.exit(2);
}
const batch = Number(flag('--batch', '1'));
const reps = Number(flag('--reps', '3'));
const train = args.includes('--train');
const loaded = loadSpecFile(file);
const spec = loaded.specs[loaded.specs.length - 1];
if (!spec) {
  console.error(`${file}: no model`);
  process.exit(1);
}
const plan = train
  ? compileTrainPlan(spec, batch, file)
  : compileSpec(spec, { batch, dump: [] }).plan;
const dev = await sharedDevice();
const ex = await PlanExecutor.create(dev, plan);
const runs: number[][] = [];
await ex.profileSteps(); // warm-up
for (let r = 0; r < reps; r++) runs.push(await ex.profileSteps());
const perStep = plan.steps.map((_, i) => median(runs.map((r) => r[i])));
const byKernel = new Map<string, { ms: number; n: number }>();
plan.steps.forEach((s, i) => {
  const k = plan.kernels[s.kernel].name;
  const e = byKernel.get(k) ?? { ms: 0, n: 0 };
  e.ms += perStep[i];
  e.n++;
  byKernel.set(k, e);
});
const total = perStep.reduce((a, b) => a + b, 0);
console.log(
  `${plan.spec} ${plan.mode} batch ${batch}: ${plan.steps.length} dispatches, ${total.toFixed(1)} ms summed (${dev.info.description})`,
);
for (const [k, e] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms))
  console.log(
    `${((100 * e.ms) / total).toFixed(1).padStart(5)}%  ${e.ms.toFixed(1).padStart(9)} ms  ×${String(e.n).padEnd(3)} ${k}`,
  );
const top = Number(flag('--top', '0'));
if (top > 0) {
  console.log(`\nslowest ${top} dispatches:`);
  const order = perStep.map((ms, i) => ({ ms, i })).sort((a, b) => b.ms - a.ms);
  for (const { ms, i } of order.slice(0, top)) {
    const s = plan.steps[i];
    console.log(`${ms.toFixed(1).padStart(8)} ms  [${s.dispatch.join('×')}]  ${s.label}`);
  }
}
ex.destroy();
process.exit(0);
