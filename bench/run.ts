// One benchmark: vitc against a peer (tfjs or ONNX Runtime Web) on the same GPUDevice, same
// spec, same weights, same images, in the same process. The peer's output is checked against
// vitc's (relative L2) before anything is timed; a peer that disagrees is an error, never a
// number. Used by `vitc bench` (compiler/cli/bench.ts) and the GPU entry (bench/gpu.ts).
import type { Spec } from '../compiler/spec/types.js';
import { type VitcDevice } from '../runtime/device.js';
import { initParams } from '../runtime/init.js';
import { loadWeights } from '../runtime/weights.js';
import {
  benchImages,
  benchLabels,
  interleaved,
  machineLoad,
  round,
  series,
  type Series,
} from './measure.js';
import { type Peer, type PeerName, relL2 } from './peers/peer.js';
import { type PlanFacts, vitcForward, vitcTrain } from './vitc.js';

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Logits of the peer must agree with vitc's to this relative L2 before timing. */
export const PEER_TOLERANCE = 1e-4;
/** vitc's f16 storage rounds weights and activations (~1e-3 relative), the f32 peer does not. */
export const PEER_TOLERANCE_F16 = 1e-2;

export interface BenchOptions {
  spec: Spec;
  /** The spec file, for the report. */
  specFile: string;
  batch: number;
  peer: PeerName | 'none';
  train?: boolean;
  /** Autotune vitc's matmul tiles and flash schedules on this device first (runtime/autotune.ts; cached on disk). */
  tune?: boolean;
  /** vitc's forward storage precision (the peers run f32); default f32. */
  precision?: 'f32' | 'f16';
  warmup: number;
  runs: number;
  /** safetensors file; default: the spec's seeded init (timing does not depend on values). */
  weights?: string;
  device: VitcDevice;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

export interface PhaseResult {
  /** vitc's plan facts for this phase. */
  plan: PlanFacts;
  vitc: Series;
  /** rel_l2: the correctness check before timing (forward: logits; train: first-step loss). */
  peer: (Series & { rel_l2?: number }) | null;
  /** vitc images/s ÷ peer images/s; null without a peer. */
  ratio: number | null;
}

export interface BenchResult {
  spec: string;
  spec_file: string;
  adapter: string;
  backend: string;
  batch: number;
  /** vitc's forward storage precision. */
  precision: 'f32' | 'f16';
  date: string;
  machine: ReturnType<typeof machineLoad>;
  warmup: number;
  runs: number;
  weights: string;
  peer: PeerName | 'none';
  peer_version: string | null;
  /** Peer output vs vitc's, relative L2 (forward logits). */
  peer_rel_l2: number | null;
  vitc_images_per_s: number;
  peer_images_per_s: number | null;
  ratio: number | null;
  forward: PhaseResult;
  /** Present with --train: the training step, or why it is not available. */
  train?: PhaseResult | { unavailable: string };
}

export class PeerMismatchError extends Error {
  override name = 'PeerMismatchError';
}

async function createPeer(
  name: PeerName,
  o: BenchOptions,
  params: ReadonlyMap<string, Float32Array>,
): Promise<Peer> {
  if (name === 'tfjs') {
    const { createTfjsPeer } = await import('./peers/tfjs.js');
    return createTfjsPeer(o.device, o.spec, params, o.batch);
  }
  const { createOrtPeer } = await import('./peers/ort.js');
  return createOrtPeer(o.device, o.spec, params, o.batch);
}

/** Checks the peer against vitc on one batch; throws PeerMismatchError if it disagrees. */
export function checkAgreement(
  peer: string,
  got: Float32Array,
  want: Float32Array,
  what = 'logits',
  tolerance = PEER_TOLERANCE,
): number {
  const err = relL2(got, want);
  if (!(err < tolerance))
    throw new PeerMismatchError(
      `${peer} ${what} disagree with vitc's: relative L2 ${err.toExponential(3)} ≥ ${tolerance} ` +
        '(a bug in the peer or in vitc; no timing reported)',
    );
  return err;
}

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const log = o.log ?? (() => {});
  const { spec, batch } = o;
  const params = o.weights
    ? await loadWeights(spec, o.weights, { onNotice: log })
    : initParams(spec);
  const per = spec.image.channels * spec.image.height * spec.image.width;
  const images = benchImages(batch * per);
  const info = o.device.info;
  log(
    `bench: ${spec.name} batch ${batch} on ${info.description} (${info.backend}); peer ${o.peer}`,
  );

  let peer: Peer | null = null;
  let forward: PhaseResult;
  let trainPhase: BenchResult['train'];
  try {
    const precision = o.precision ?? 'f32';
    const tolerance = precision === 'f16' ? PEER_TOLERANCE_F16 : PEER_TOLERANCE;
    const vitc = await vitcForward(o.device, spec, params, batch, o.tune, precision);
    try {
      const f = vitc.facts;
      log(`bench: vitc plan: ${f.dispatches} dispatches, ${mib(f.buffer_bytes)} of buffers`);
      if (f.autotune)
        log(
          `bench: autotune: ${f.autotune.shapes} shapes (${f.autotune.measured} timed now, ` +
            `the rest from the cache); kernels ${f.autotune.kernels.join(', ')}`,
        );
      const want = await vitc.run(images);
      let err: number | null = null;
      if (o.peer !== 'none') {
        peer = await createPeer(o.peer, o, params);
        err = checkAgreement(o.peer, await peer.forward(images), want, 'logits', tolerance);
        log(
          `bench: ${o.peer} logits vs vitc: relative L2 ${err.toExponential(2)} (< ${tolerance})`,
        );
      }
      const p = peer;
      const fns = p ? [() => vitc.run(images), () => p.forward(images)] : [() => vitc.run(images)];
      const t = await interleaved(fns, o.warmup, o.runs, (r, ms) =>
        log(
          `bench: forward run ${r + 1}/${o.runs}: vitc ${ms[0].toFixed(0)} ms${p ? `, ${p.name} ${ms[1].toFixed(0)} ms` : ''}`,
        ),
      );
      forward = phase(vitc.facts, t, batch, err);
    } finally {
      vitc.destroy(); // before the training plan allocates its own buffers
    }
    if (o.train) trainPhase = await runTrain(o, params, images, peer, log);
  } finally {
    await peer?.destroy();
  }

  return {
    spec: spec.name,
    spec_file: o.specFile,
    adapter: info.description,
    backend: info.backend,
    batch,
    precision: o.precision ?? 'f32',
    date: new Date().toISOString(),
    machine: machineLoad(),
    warmup: o.warmup,
    runs: o.runs,
    weights: o.weights ?? `init(seed ${spec.init.seed})`,
    peer: o.peer,
    peer_version: peer?.version ?? null,
    peer_rel_l2: forward.peer?.rel_l2 ?? null,
    vitc_images_per_s: forward.vitc.images_per_s,
    peer_images_per_s: forward.peer?.images_per_s ?? null,
    ratio: forward.ratio,
    forward,
    ...(trainPhase ? { train: trainPhase } : {}),
  };
}

function phase(facts: PlanFacts, t: number[][], batch: number, err: number | null): PhaseResult {
  const vitc = series(t[0], batch);
  const peer = t[1] ? { ...series(t[1], batch), ...(err !== null ? { rel_l2: err } : {}) } : null;
  return {
    plan: facts,
    vitc,
    peer,
    ratio: peer ? round(vitc.images_per_s / peer.images_per_s, 3) : null,
  };
}

async function runTrain(
  o: BenchOptions,
  params: ReadonlyMap<string, Float32Array>,
  images: Float32Array,
  peer: Peer | null,
  log: (l: string) => void,
): Promise<PhaseResult | { unavailable: string }> {
  if (o.spec.head.classes === 0)
    return { unavailable: 'the spec has no classifier head (head 0): nothing to train' };
  let trainer;
  try {
    trainer = await vitcTrain(o.device, o.spec, params, o.batch);
  } catch (e) {
    // A training plan that does not compile yet is reported, not fatal: forward numbers stand.
    const why = `the training plan does not compile: ${(e as Error).message}`;
    log(`bench: ${why}`);
    return { unavailable: why };
  }
  try {
    const labels = benchLabels(o.batch, o.spec.head.classes);
    const f = trainer.facts;
    log(`bench: vitc training plan: ${f.dispatches} dispatches, ${mib(f.buffer_bytes)} of buffers`);
    const step = peer?.trainStep?.bind(peer);
    if (peer && !step) log(`bench: ${peer.name} has no training step; timing vitc alone`);
    let err: number | null = null;
    const d = o.spec.dropout;
    if (step && Math.max(d.embed, d.attn, d.proj, d.head, d.path) === 0) {
      // Same params, batch and loss: the first step's losses must agree (from then on each side
      // trains on from its own updated parameters).
      const want = Float32Array.of(await trainer.step(images, labels));
      err = checkAgreement(
        peer!.name,
        Float32Array.of(await step(images, labels)),
        want,
        'training loss',
      );
      log(`bench: ${peer!.name} first-step loss vs vitc: relative error ${err.toExponential(2)}`);
    }
    const fns = [() => trainer.step(images, labels), ...(step ? [() => step(images, labels)] : [])];
    const t = await interleaved(fns, o.warmup, o.runs, (r, ms) =>
      log(
        `bench: train step ${r + 1}/${o.runs}: vitc ${ms[0].toFixed(0)} ms${step ? `, ${peer!.name} ${ms[1].toFixed(0)} ms` : ''}`,
      ),
    );
    return phase(trainer.facts, t, o.batch, err);
  } finally {
    trainer.destroy();
  }
}
