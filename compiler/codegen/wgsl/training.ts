/**
 * Kernels that only training graphs need: the cross-entropy loss, one-hot labels (the loss's
 * gradient), and dropout / drop path with the counter-based RNG of compiler/ir/rng.ts.
 *
 * cross_entropy: logits [B, K], labels i32 [B] → loss [1] = mean_b[(1−s)·(−logp[b,y_b]) + s·mean_k(−logp[b,k])],
 *   logp = logsoftmax(logits): exactly torch's cross_entropy(label_smoothing = s). One workgroup; each
 *   invocation owns rows b ≡ lid (mod WG), partial sums are combined in workgroup memory. B and K
 *   are small (a batch of class scores), so one workgroup is plenty.
 * one_hot: labels i32 [n] → f32 [n, K].
 * dropout / drop_path: x f32, seed i32 [1] → x·keep/(1−rate); dropout decides per element, drop
 *   path per sample (every element of sample b shares the bits of index b).
 */
import { RNG_WGSL, dropThreshold } from '../../ir/rng.js';
import {
  BindingSet,
  fixedSource,
  WgslWriter,
  entrySignature,
  f32,
  flatWorkgroupIndex,
  grid1d,
  renderHeader,
  renderWorkgroupReduce,
  u32,
  type KernelSource,
} from './builder.js';

const WG = 64;

export function renderCrossEntropy(desc: {
  batch: number;
  classes: number;
  smoothing: number;
}): KernelSource {
  const { batch: B, classes: K, smoothing: s } = desc;
  const name = `cross_entropy_b${B}_k${K}`;
  const w = new WgslWriter();
  renderHeader(w, name, [`mean cross-entropy of logits [${B}, ${K}] with label smoothing ${s}`]);
  const bs = new BindingSet()
    .storage('logits', 'read', 'f32')
    .storage('labels', 'read', 'i32')
    .storage('loss', 'read_write', 'f32');
  bs.render(w);
  w.line(`var<workgroup> partial: array<f32, ${WG}>;`);
  w.line();
  renderWorkgroupReduce(w, 'wg_sum', 'partial', WG, (a, b) => `${a} + ${b}`);
  w.line();
  w.block(entrySignature([WG, 1, 1]), () => {
    w.line('var acc = 0.0;');
    w.block(`for (var b = lid; b < ${u32(B)}; b = b + ${u32(WG)})`, () => {
      w.line(`let row = b * ${u32(K)};`);
      w.line('var m = logits[row];');
      w.line(`for (var k = 1u; k < ${u32(K)}; k = k + 1u) { m = max(m, logits[row + k]); }`);
      w.line('var se = 0.0;');
      w.line('var sx = 0.0;');
      w.line(
        `for (var k = 0u; k < ${u32(K)}; k = k + 1u) { let x = logits[row + k]; se = se + exp(x - m); sx = sx + x; }`,
      );
      w.line('let lse = m + log(se);');
      w.line('let y = u32(labels[b]);');
      w.comment('−logp[y] = lse − x[y]; mean_k(−logp[k]) = lse − mean(x)');
      w.line(
        `acc = acc + ${f32(1 - s)} * (lse - logits[row + y]) + ${f32(s)} * (lse - sx / ${f32(K)});`,
      );
    });
    w.line('let total = wg_sum(acc, lid);');
    w.line(`if (lid == 0u) { loss[0] = total / ${f32(B)}; }`);
  });
  return fixedSource(name, w, bs, WG, [1, 1, 1]);
}

export function renderOneHot(desc: { count: number; classes: number }): KernelSource {
  const { count, classes: K } = desc;
  const name = `one_hot_k${K}`;
  const w = new WgslWriter();
  renderHeader(w, name, [`one-hot rows of ${K} classes`]);
  const bs = new BindingSet().storage('labels', 'read', 'i32').storage('out', 'read_write', 'f32');
  bs.render(w);
  w.line();
  const total = count * K;
  w.block(entrySignature([WG, 1, 1]), () => {
    w.line(`let i = ${flatWorkgroupIndex} * ${u32(WG)} + lid;`);
    w.line(`if (i >= ${u32(total)}) { return; }`);
    w.line(`out[i] = select(0.0, 1.0, u32(labels[i / ${u32(K)}]) == i % ${u32(K)});`);
  });
  return fixedSource(name, w, bs, WG, grid1d(Math.ceil(total / WG)));
}

export function renderDropout(desc: {
  kind: 'dropout' | 'drop_path';
  numel: number;
  perSample: number;
  rate: number;
  stream: number;
}): KernelSource {
  const { kind, numel, perSample, rate, stream } = desc;
  const name = `${kind}_s${stream}`;
  const w = new WgslWriter();
  renderHeader(w, name, [`${kind} rate ${rate}, stream ${stream}: bits from compiler/ir/rng.ts`]);
  const bs = new BindingSet()
    .storage('x', 'read', 'f32')
    .storage('seed', 'read', 'i32')
    .storage('out', 'read_write', 'f32');
  bs.render(w);
  w.line();
  w.raw(RNG_WGSL);
  w.line();
  w.block(entrySignature([WG, 1, 1]), () => {
    w.line(`let i = ${flatWorkgroupIndex} * ${u32(WG)} + lid;`);
    w.line(`if (i >= ${u32(numel)}) { return; }`);
    const index = kind === 'dropout' ? 'i' : `i / ${u32(perSample)}`;
    w.line(
      `let dropped = vitc_drop(bitcast<u32>(seed[0]), ${u32(stream)}, ${index}, ${u32(dropThreshold(rate))});`,
    );
    w.line(`out[i] = select(x[i] * ${f32(1 / (1 - rate))}, 0.0, dropped);`);
  });
  return fixedSource(name, w, bs, WG, grid1d(Math.ceil(numel / WG)));
}
