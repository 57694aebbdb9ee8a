// `vitc attention`, `vitc posembed` and `vitc patches` end to end, in-process: the PNGs they write
// are exactly the figures the library draws from the same data; bad input gives a named error
// and a nonzero exit, never a stack trace.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferIO, main } from '../../compiler/cli.js';
import { sincos2dTable } from '../../compiler/ir/consts.js';
import type { Spec } from '../../compiler/spec/types.js';
import {
  type Canvas,
  createCanvas,
  preprocessImage,
  readImage,
  writePng,
} from '../../runtime/image/index.js';
import { loadModel } from '../../runtime/model.js';
import { readSafetensors, tensorData } from '../../runtime/safetensors.js';
import { attnGeometry, attentionRollout, clsAttention } from '../../runtime/viz/attention.js';
import { cosineSimilarity, similarityFigure } from '../../runtime/viz/posembed.js';
import { GRID_RED } from '../../runtime/viz/patches.js';
import { denormalize, overlayFigure } from '../../runtime/viz/render.js';

const tmp = mkdtempSync(join(tmpdir(), 'vitc-viz-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const fx = 'test/fixtures/pre_gelu_cls';
const img16 = join(tmp, 'in16.png');

async function vitc(...argv: string[]) {
  const io = bufferIO();
  const code = await main(argv, io);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}

/** A written PNG as an RGB canvas (pngjs decodes to RGBA). */
function readCanvas(path: string): Canvas {
  const png = PNG.sync.read(readFileSync(path));
  const data = new Uint8Array(png.width * png.height * 3);
  for (let p = 0; p < png.width * png.height; p++)
    data.set(png.data.subarray(p * 4, p * 4 + 3), p * 3);
  return { width: png.width, height: png.height, channels: 3, data };
}

const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at /);

beforeAll(async () => {
  // A 16 × 16 RGB pattern: a bright square on a gradient.
  const c = createCanvas(16, 16);
  for (let y = 0; y < 16; y++)
    for (let x = 0; x < 16; x++) {
      const inSquare = x >= 4 && x < 10 && y >= 6 && y < 12;
      c.data.set(inSquare ? [250, 240, 30] : [x * 15, y * 15, 120], (y * 16 + x) * 3);
    }
  await writePng(img16, c);
});

describe('vitc attention', () => {
  it('draws the image and one CLS map per block, as the library renders the runtime’s probabilities', async () => {
    const out = join(tmp, 'attn.png');
    const r = await vitc(
      'attention',
      `${fx}/model.vit`,
      '--weights',
      `${fx}/weights.safetensors`,
      '--image',
      img16,
      '--out',
      out,
      '--colormap',
      'viridis',
    );
    expect(r.stderr).not.toMatch(/WARNING|error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /wrote .*attn\.png \(360×137\): 2 attention map\(s\), cls token over a 4×4 patch grid/,
    );
    const m = await loadModel(`${fx}/model.vit`, {
      weights: `${fx}/weights.safetensors`,
      attention: true,
    });
    try {
      const spec = m.spec;
      const chw = preprocessImage(await readImage(img16), spec);
      const { attention } = await m.forwardWithAttention(chw);
      const g = attnGeometry(spec);
      const want = overlayFigure(
        denormalize(chw, spec),
        [
          { label: 'image' },
          ...attention!.map((a, i) => ({ map: clsAttention(a, g), label: `layer ${i}` })),
        ],
        g,
        { colormap: 'viridis' },
      );
      expect(Buffer.from(readCanvas(out).data).equals(Buffer.from(want.data))).toBe(true);
      // --rollout: one map, the rollout of the same probabilities.
      const out2 = join(tmp, 'rollout.png');
      expect(
        (
          await vitc(
            'attention',
            `${fx}/model.vit`,
            '-w',
            `${fx}/weights.safetensors`,
            '-i',
            img16,
            '-o',
            out2,
            '--rollout',
          )
        ).code,
      ).toBe(0);
      const want2 = overlayFigure(
        denormalize(chw, spec),
        [{ label: 'image' }, { map: attentionRollout(attention!, g), label: 'rollout' }],
        g,
      );
      expect(Buffer.from(readCanvas(out2).data).equals(Buffer.from(want2.data))).toBe(true);
    } finally {
      m.destroy();
    }
  });

  it('--layer L --head all: one panel per head; blocks × heads without the image', async () => {
    const one = await vitc(
      'attention',
      `${fx}/model.vit`,
      '-w',
      `${fx}/weights.safetensors`,
      '-i',
      img16,
      '-o',
      join(tmp, 'heads.png'),
      '--layer',
      'last',
      '--head',
      'all',
      '--scale',
      '2',
    );
    expect(one.code).toBe(0);
    // image + 2 heads of 32-pixel panels: 6 + 3 · (32 + 6) wide.
    expect(one.stdout).toMatch(/\(120×/);
    const all = await vitc(
      'attention',
      `${fx}/model.vit`,
      '-w',
      `${fx}/weights.safetensors`,
      '-i',
      img16,
      '-o',
      join(tmp, 'grid.png'),
      '--layer',
      'all',
      '--head',
      'all',
      '--scale',
      '2',
    );
    expect(all.code).toBe(0);
    // 2 blocks × 2 heads: 2 columns, 2 rows of (label 13 + 32 + 6).
    expect(all.stdout).toMatch(/\(82×108\): 4 attention map/);
  });

  it('says so when the model has no cls token', async () => {
    const f = 'test/fixtures/post_rmsnorm_gap';
    const r = await vitc(
      'attention',
      `${f}/model.vit`,
      '-w',
      `${f}/weights.safetensors`,
      '-i',
      img16,
      '-o',
      join(tmp, 'gap.png'),
      '--layer',
      '1',
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /has no cls token: each map is the attention of all 16 query tokens, averaged/,
    );
    expect(r.stdout).toMatch(/mean query over a 4×4 patch grid/);
  });

  it('rejects bad options and files with clear errors', async () => {
    const base = ['attention', `${fx}/model.vit`, '-w', `${fx}/weights.safetensors`, '-i', img16];
    let r = await vitc(...base, '-o', join(tmp, 'x.png'), '--rollout', '--layer', '0');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--rollout combines all blocks/);
    r = await vitc(...base, '-o', join(tmp, 'x.png'), '--layer', '2');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /--layer must be all, last or a number 0\.\.1 \(the model has 2 blocks\), got '2'/,
    );
    r = await vitc(...base);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/'attention' needs --out/);
    r = await vitc(
      'attention',
      `${fx}/model.vit`,
      '-w',
      `${fx}/weights.safetensors`,
      '-i',
      join(tmp, 'missing.png'),
      '-o',
      join(tmp, 'x.png'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/missing\.png: error VITC0501/);
    noStack(r.stderr);
    r = await vitc(
      'attention',
      `${fx}/model.vit`,
      '-w',
      'test/fixtures/deit_distilled/weights.safetensors',
      '-i',
      img16,
      '-o',
      join(tmp, 'x.png'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/VITC04\d\d/);
    noStack(r.stderr);
    r = await vitc(
      'attention',
      `${fx}/model.vit`,
      '-w',
      `${fx}/weights.safetensors`,
      '-i',
      img16,
      '-o',
      join(tmp, 'no-such-dir', 'x.png'),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no-such-dir\/x\.png: error VITC0510/);
  });
});

describe('vitc posembed', () => {
  it('draws a learned embedding, skipping the cls row', async () => {
    const out = join(tmp, 'pos.png');
    const r = await vitc(
      'posembed',
      `${fx}/model.vit`,
      '--weights',
      `${fx}/weights.safetensors`,
      '--out',
      out,
      '--cell',
      '3',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/16 patch positions \(4×4 grid, learned pos_embed/);
    const w = await readSafetensors(`${fx}/weights.safetensors`);
    const pe = (tensorData(w, 'pos_embed') as Float32Array).subarray(24);
    const want = similarityFigure(cosineSimilarity(pe, 16, 24), 4, 4, { cell: 3 });
    expect(Buffer.from(readCanvas(out).data).equals(Buffer.from(want.data))).toBe(true);
  });

  it('draws the sincos2d table without weights', async () => {
    const out = join(tmp, 'sincos.png');
    const r = await vitc(
      'posembed',
      'test/fixtures/sincos_pre_norm/model.vit',
      '-o',
      out,
      '--colormap',
      'inferno',
    );
    expect(r.code).toBe(0);
    const spec = JSON.parse(
      readFileSync('test/fixtures/sincos_pre_norm/spec.json', 'utf8'),
    ) as Spec;
    const t = sincos2dTable(4, 3, spec.width, 10000);
    const want = similarityFigure(cosineSimilarity(t, 12, spec.width), 4, 3, {
      colormap: 'inferno',
    });
    expect(Buffer.from(readCanvas(out).data).equals(Buffer.from(want.data))).toBe(true);
  });

  it('refuses pos none and a learned embedding without weights', async () => {
    let r = await vitc(
      'posembed',
      'test/fixtures/rmsnorm_swiglu/model.vit',
      '-o',
      join(tmp, 'x.png'),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /rmsnorm_swiglu\/model\.vit: model "\w+" has no position embedding \(pos none\)/,
    );
    r = await vitc('posembed', `${fx}/model.vit`, '-o', join(tmp, 'x.png'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/learned position embedding: give --weights/);
    r = await vitc('posembed', 'no/such.vit', '-o', join(tmp, 'x.png'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no\/such\.vit/);
    noStack(r.stderr);
  });
});

describe('vitc patches', () => {
  it('cuts an image into patches with grid lines', async () => {
    const out = join(tmp, 'grid.png');
    const r = await vitc('patches', '--image', img16, '--patch', '8', '--scale', '1', '--out', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\(16×16\): 2×2 = 4 patches of 8×8 pixels/);
    const c = readCanvas(out);
    const px = (x: number, y: number) =>
      Array.from(c.data.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3));
    expect(px(8, 0)).toEqual([...GRID_RED]);
    expect(px(0, 8)).toEqual([...GRID_RED]);
    expect(px(7, 0)).toEqual([105, 0, 120]); // the gradient, x · 15 = 105, y = 0
    expect(px(5, 7)).toEqual([250, 240, 30]); // inside the square
  });

  it('--size resizes, --spec preprocesses as the model does, --numbers fit', async () => {
    let r = await vitc(
      'patches',
      '-i',
      img16,
      '-p',
      '4',
      '-s',
      '8x12',
      '-o',
      join(tmp, 'g2.png'),
      '--scale',
      '1',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\(12×8\): 2×3 = 6 patches of 4×4/);
    r = await vitc(
      'patches',
      '-i',
      img16,
      '--spec',
      'test/fixtures/sincos_pre_norm/model.vit',
      '--numbers',
      '-o',
      join(tmp, 'g3.png'),
    );
    expect(r.code).toBe(0);
    // 16 × 12 image, 4 × 4 patches, numbers up to 11 → scale max(8, ceil(15 / 4), ceil(11 / 4)) = 8.
    expect(r.stdout).toMatch(/\(96×128\): 4×3 = 12 patches of 4×4/);
    expect(r.stderr).toBe('');
  });

  it('rejects sizes that do not divide and missing inputs', async () => {
    let r = await vitc('patches', '-i', img16, '-p', '5', '-o', join(tmp, 'x.png'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /in16\.png: a 16×16 image does not divide into 5×5 patches; give --size/,
    );
    r = await vitc('patches', '-i', img16, '-o', join(tmp, 'x.png'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs --patch P or --spec SPEC/);
    r = await vitc('patches', '-i', img16, '-p', '4x', '-o', join(tmp, 'x.png'));
    expect(r.code).toBe(2);
    r = await vitc('patches', '-i', join(tmp, 'nope.png'), '-p', '4', '-o', join(tmp, 'x.png'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nope\.png: error VITC0501/);
    noStack(r.stderr);
  });
});
