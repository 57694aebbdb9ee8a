// The benchmark matrix for a real GPU (the H100 kit in /work/shared/gpu/): ViT-Ti/16, S/16 and
// B/16 at 224², batch 1 and 64, forward and training step, vitc against tfjs and ONNX Runtime
// Web on the same adapter. Packed with bench/gpu-pack.sh and run as docs/PERFORMANCE.md says:
//   source .gpu/prelude.sh && node .gpu/gpu.mjs --out $OUT
// Options: --models tiny,small,base (or --spec FILE, repeatable)  --batches 1,64  --peers tfjs,ort
//          --train|--no-train  --precisions f32,f16 (f16 where the adapter has shader-f16; forward only)
//          --tune|--no-tune (autotune tiles and flash schedules first; default on)
//          --warmup N  --runs N  --out DIR  --adapter hardware|swiftshader|auto  --quick
// Writes DIR/bench-gpu.json (one BenchResult per line), DIR/bench-gpu.md (a Markdown table) and
// DIR/bench-gpu.log; a configuration that fails is logged and the matrix goes on.
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveSpec } from '../compiler/spec/load.js';
import { type AdapterChoice, acquireDevice } from '../runtime/device.js';
import { MARKDOWN_HEADER, formatBench, markdownRows } from './report.js';
import { type BenchResult, runBench } from './run.js';

const MODELS: Record<string, string> = {
  tiny: 'specs/vit-tiny.vit',
  small: 'specs/vit-small.vit',
  base: 'specs/vit-base.vit',
};

function parse(argv: string[]) {
  const o = {
    models: ['tiny', 'small', 'base'],
    /** Extra spec files (--spec, repeatable); given any, they replace --models. */
    specs: [] as string[],
    batches: [1, 64],
    peers: ['tfjs', 'ort'] as ('tfjs' | 'ort')[],
    train: true,
    precisions: ['f32', 'f16'] as ('f32' | 'f16')[],
    tune: true,
    warmup: 3,
    runs: 10,
    out: process.env.OUT ?? '.',
    adapter: (process.env.VITC_ADAPTER ?? 'hardware') as AdapterChoice,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--models') o.models = v().split(',');
    else if (a === '--spec') o.specs.push(v());
    else if (a === '--batches') o.batches = v().split(',').map(Number);
    else if (a === '--peers') o.peers = v().split(',').filter(Boolean) as typeof o.peers;
    else if (a === '--train') o.train = true;
    else if (a === '--no-train') o.train = false;
    else if (a === '--precisions') o.precisions = v().split(',') as typeof o.precisions;
    else if (a === '--tune') o.tune = true;
    else if (a === '--no-tune') o.tune = false;
    else if (a === '--warmup') o.warmup = Number(v());
    else if (a === '--runs') o.runs = Number(v());
    else if (a === '--out') o.out = v();
    else if (a === '--adapter') o.adapter = v() as AdapterChoice;
    else if (a === '--quick')
      Object.assign(o, { models: ['tiny'], batches: [1], warmup: 1, runs: 3 });
    else throw new Error(`unknown option ${a}`);
  }
  for (const m of o.models)
    if (!MODELS[m]) throw new Error(`unknown model ${m} (${Object.keys(MODELS).join(', ')})`);
  return o;
}

async function main(): Promise<number> {
  const o = parse(process.argv.slice(2));
  // The ONNX Runtime wasm (27 MB) does not fit the bundle; bench/gpu-pack.sh ships it compressed.
  const wasm = '.gpu/ort/ort-wasm-simd-threaded.asyncify.wasm.br';
  if (!process.env.VITC_ORT_WASM && existsSync(wasm)) process.env.VITC_ORT_WASM = wasm;
  if (!existsSync(o.out)) mkdirSync(o.out, { recursive: true });
  const logFile = join(o.out, 'bench-gpu.log');
  const jsonFile = join(o.out, 'bench-gpu.json');
  writeFileSync(logFile, '');
  writeFileSync(jsonFile, '');
  const log = (l: string) => {
    process.stdout.write(l + '\n');
    appendFileSync(logFile, l + '\n');
  };
  // The kit's recommended flags: f16 on NVIDIA through Vulkan, exact timestamps.
  const device = await acquireDevice({
    adapter: o.adapter,
    toggles: [
      'enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia',
      'disable-dawn-features=timestamp_quantization',
    ],
    log,
  });
  log(
    `adapter: ${device.info.description} (${device.info.vendor} ${device.info.architecture}, ${device.info.backend})`,
  );
  log(`features: ${device.info.features.join(' ')}`);
  const results: BenchResult[] = [];
  let failures = 0;
  for (const file of o.specs.length ? o.specs : o.models.map((m) => MODELS[m])) {
    const r = resolveSpec(file);
    if (!r.spec) throw new Error(`${file}: ${r.diagnostics.map((d) => d.message).join('; ')}`);
    const m = r.spec.name;
    const precisions = o.precisions.filter(
      (p) => p === 'f32' || device.device.features.has('shader-f16'),
    );
    for (const batch of o.batches)
      for (const precision of precisions)
        for (const peer of o.peers.length ? o.peers : (['none'] as const)) {
          const t0 = performance.now();
          try {
            const res = await runBench({
              spec: r.spec,
              specFile: file,
              batch,
              peer,
              // ONNX Runtime Web has no training step: vitc's is timed once, beside tfjs's; f16
              // storage is for the forward only.
              train:
                o.train && precision === 'f32' && (peer === 'tfjs' || !o.peers.includes('tfjs')),
              precision,
              tune: o.tune,
              warmup: o.warmup,
              runs: o.runs,
              device,
              log,
            });
            results.push(res);
            appendFileSync(jsonFile, JSON.stringify(res) + '\n');
            log(formatBench(res));
          } catch (e) {
            failures++;
            log(`FAILED ${m} batch ${batch} ${precision} peer ${peer}: ${(e as Error).stack ?? e}`);
          }
          log(
            `(${m} batch ${batch} ${precision} ${peer}: ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
          );
        }
  }
  const md = [MARKDOWN_HEADER, ...results.flatMap(markdownRows)].join('\n') + '\n';
  writeFileSync(join(o.out, 'bench-gpu.md'), `adapter: ${device.info.description}\n\n${md}`);
  log(md);
  device.destroy();
  return failures ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`bench/gpu.ts: ${(e as Error).stack ?? e}\n`);
    process.exit(2);
  },
);
