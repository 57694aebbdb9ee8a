import { initParams } from '../runtime/init.js';
import { sharedDevice } from '../runtime/device.js';
import { resolveSpec } from '../compiler/spec/load.js';
import { createTfjsPeer, loadTfjs } from './peers/tfjs.js';
const dev = await sharedDevice();
const spec = resolveSpec(process.argv[2] ?? 'specs/vit-tiny.vit').spec!;
const tf = await loadTfjs(dev);
console.log('flags', tf.env().getFlags());
for (const [k, v] of (process.env.X_FLAGS ?? '')
  .split(',')
  .filter(Boolean)
  .map((s) => s.split('=')))
  tf.env().set(k, v === 'true' ? true : v === 'false' ? false : Number(v));
const per = spec.image.channels * spec.image.height * spec.image.width;
const B = Number(process.env.X_B ?? 1); const img = new Float32Array(per * B).map((_, i) => Math.sin(i));
const peer = await createTfjsPeer(dev, spec, initParams(spec), B);
for (let r = 0; r < 3; r++) {
  const t = performance.now();
  await peer.forward(img);
  console.log('tfjs', performance.now() - t);
}
if (process.env.X_PROF) {
  const { vitForward } = await import('./peers/tfjs.js');
  const prof = await tf.profile(async () => {
    const y = await peer.forward(img);
    return y;
  });
  const agg = new Map<string, [number, number]>();
  for (const k of prof.kernels) {
    const a = agg.get(k.name) ?? [0, 0];
    a[0]++;
    a[1] += (k.kernelTimeMs as number) || 0;
    agg.set(k.name, a);
  }
  console.log([...agg].sort((a, b) => b[1][1] - a[1][1]).slice(0, 20));
}
process.exit(0);
