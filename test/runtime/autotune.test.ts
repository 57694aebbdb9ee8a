// Autotune: a plan compiled with `tune` offers every matmul in other tile shapes and flash
// attention in other K/V schedules; the executor
// times them, runs the fastest, and remembers the choice per adapter and shape. Every alternative
// must compute the same function: each is forced in turn and checked against PyTorch's logits.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertValidPlan } from '../../compiler/codegen/plan-schema.js';
import { TUNE_FLASH, TUNE_TILINGS } from '../../compiler/codegen/tune-variants.js';
import { MemoryTuneStore, type TuneRecord, type TuneStore } from '../../runtime/autotune.js';
import { FileTuneStore } from '../../runtime/autotune-file.js';
import { sharedDevice } from '../../runtime/device.js';
import { compile, loadModel } from '../../runtime/model.js';
import { readSafetensors, tensorData } from '../../runtime/safetensors.js';

const fx = 'test/fixtures/pre_gelu_cls';

function relL2(out: Float32Array, ref: Float64Array): number {
  let num = 0;
  let den = 0;
  ref.forEach((v, k) => {
    num += (out[k] - v) ** 2;
    den += v * v;
  });
  return Math.sqrt(num / den);
}

/** A store that always answers with the candidate whose name carries `tag` (a tile shape). */
class ForcingStore implements TuneStore {
  asked = 0;
  forced = 0;
  constructor(readonly tag: string) {}
  get(_adapter: string, key: string): TuneRecord | undefined {
    this.asked++;
    const names = key.split(' @ ')[0].split(' | ');
    const kernel = names.find((n) => n.includes(this.tag));
    if (kernel) this.forced++;
    return kernel ? { kernel, ms: {}, date: '' } : undefined;
  }
  set(): void {}
  async save(): Promise<void> {}
}

describe('autotune', () => {
  it('a tune plan offers each matmul in the other tile shapes; plain plans have none', () => {
    const tuned = compile(`${fx}/model.vit`, { batch: 3, tune: true }).plan;
    const plain = compile(`${fx}/model.vit`, { batch: 3 }).plan;
    assertValidPlan(JSON.parse(JSON.stringify(tuned)));
    expect(plain.steps.some((s) => s.alternatives)).toBe(false);
    const matmuls = tuned.steps.filter((s) => tuned.kernels[s.kernel].name.startsWith('matmul'));
    const withAlts = matmuls.filter((s) => s.alternatives?.length);
    expect(withAlts.length).toBeGreaterThan(0);
    // Only matmuls whose tiling is free (no row-norm epilogue) have alternatives.
    for (const s of withAlts) {
      expect(s.alternatives!.length).toBeGreaterThanOrEqual(TUNE_TILINGS.length - 1);
      for (const a of s.alternatives!)
        expect(tuned.kernels[a.kernel].name.startsWith('matmul')).toBe(true);
    }
    // Flash attention offers its other K/V schedules (direct 1/2/4 keys, workgroup memory 8/16).
    const flash = tuned.steps.filter((s) => tuned.kernels[s.kernel].name.startsWith('flash'));
    expect(flash.length).toBeGreaterThan(0);
    for (const s of flash) {
      expect(s.alternatives!.length).toBe(TUNE_FLASH.length - 1);
      for (const a of s.alternatives!)
        expect(tuned.kernels[a.kernel].name).toMatch(/^flash_attention_.*_k\d+_(direct|wgmem)/);
    }
    // vec4-A matmuls also offer subgroup variants (tilings kept: a row-norm matmul may have them
    // too, where TM divides its workgroup rows; this fixture's 3-wide one cannot).
    const sgNames = (x: (typeof matmuls)[number]) =>
      (x.alternatives ?? [])
        .map((a) => tuned.kernels[a.kernel])
        .filter((k) => /_sg\d+_/.test(k.name));
    const withSg = matmuls.filter((x) => sgNames(x).length >= 3);
    expect(withSg.length).toBeGreaterThanOrEqual(3);
    for (const x of matmuls)
      for (const k of sgNames(x)) expect(k.requires?.features).toEqual(['subgroups']);
    // Same steps, same order: tuning adds choices, not work.
    expect(tuned.steps.map((s) => s.label)).toEqual(plain.steps.map((s) => s.label));
  });

  it('times the candidates, keeps PyTorch logits, and reuses stored choices', async () => {
    const input = await readSafetensors(`${fx}/input.safetensors`);
    const expected = await readSafetensors(`${fx}/expected.safetensors`);
    const image = tensorData(input, 'image') as Float32Array;
    const ref = tensorData(expected, 'logits') as Float64Array;
    const store = new MemoryTuneStore();
    const m = await loadModel(`${fx}/model.vit`, {
      weights: `${fx}/weights.safetensors`,
      batch: 3,
      tune: store,
    });
    try {
      expect(relL2(await m.forward(image), ref)).toBeLessThan(1e-5);
    } finally {
      m.destroy();
    }
    expect(store.records.size).toBeGreaterThan(0);
    for (const r of store.records.values()) {
      // Tile shapes and flash schedules (≥ 4), or, for row-norm matmuls, the subgroup variant.
      expect(Object.keys(r.ms).length).toBeGreaterThanOrEqual(2);
      expect(Object.values(r.ms).every((ms) => ms > 0)).toBe(true);
      // The choice is the fastest measured candidate.
      expect(r.ms[r.kernel]).toBe(Math.min(...Object.values(r.ms)));
    }
  });

  /** The fixture's logits with every step that offers a `tag` candidate forced to it. */
  async function forced(tag: string): Promise<ForcingStore> {
    const input = await readSafetensors(`${fx}/input.safetensors`);
    const expected = await readSafetensors(`${fx}/expected.safetensors`);
    const store = new ForcingStore(tag);
    const m = await loadModel(`${fx}/model.vit`, {
      weights: `${fx}/weights.safetensors`,
      batch: 3,
      tune: store,
      device: await sharedDevice(),
    });
    try {
      const logits = await m.forward(tensorData(input, 'image') as Float32Array);
      expect(relL2(logits, tensorData(expected, 'logits') as Float64Array)).toBeLessThan(1e-5);
      expect(store.asked).toBeGreaterThan(0);
    } finally {
      m.destroy();
    }
    return store;
  }

  it("forced to the adapter's subgroup size: the shuffling matmuls run and the logits stay PyTorch's", async () => {
    const dev = await sharedDevice();
    expect(dev.device.features.has('subgroups')).toBe(true);
    const info = dev.adapter.info as GPUAdapterInfo & { subgroupMinSize?: number };
    expect((await forced(`_sg${info.subgroupMinSize}_`)).forced).toBeGreaterThan(0);
  });

  const tags = [
    ...TUNE_TILINGS.map((t) => `_t${t.rows}x${t.cols}_w${t.workgroup[0]}x${t.workgroup[1]}_`),
    ...TUNE_FLASH.map((f) => `_k${f.tileK}_${f.kv === 'workgroup' ? 'wgmem' : 'direct'}_`),
  ];
  for (const tag of tags) {
    it(`forced ${tag.slice(1, -1)}: every step that can runs in it and the logits stay PyTorch's`, async () => {
      expect((await forced(tag)).forced).toBeGreaterThan(0);
    });
  }

  it('the file store round-trips, and a corrupt cache is replaced with a warning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vitc-tune-'));
    const path = join(dir, 'sub', 'autotune.json');
    const a = await FileTuneStore.open(path);
    a.set('adapter A', 'shape 1', { kernel: 'k2', ms: { k1: 2, k2: 1 }, date: 'd' });
    await a.save();
    const b = await FileTuneStore.open(path);
    expect(b.get('adapter A', 'shape 1')?.kernel).toBe('k2');
    expect(b.get('adapter B', 'shape 1')).toBeUndefined();
    writeFileSync(path, '{ not json');
    const warnings: string[] = [];
    const c = await FileTuneStore.open(path, (l) => warnings.push(l));
    expect(warnings.join('\n')).toMatch(/autotune cache .*starting a new one/);
    expect(c.get('adapter A', 'shape 1')).toBeUndefined();
    c.set('adapter A', 'shape 2', { kernel: 'k1', ms: { k1: 1 }, date: 'd' });
    await c.save();
    expect(JSON.parse(readFileSync(path, 'utf8')).format).toBe('vitc-autotune-1');
  });
});
