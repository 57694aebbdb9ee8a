import { describe, expect, it } from 'vitest';
import { ew, renderElementwise } from '../../compiler/codegen/wgsl/elementwise.js';
import { renderMatmul } from '../../compiler/codegen/wgsl/matmul.js';
import {
  formatCompileMessage,
  PipelineCache,
  PipelineCreationError,
  WgslCompileError,
} from '../../runtime/pipelines.js';
import { testGpu } from './gpu-helpers.js';

/** A fresh cache on the shared device, so counts start at zero. */
async function freshCache(): Promise<PipelineCache> {
  return new PipelineCache((await testGpu()).device);
}

describe('pipeline cache (runtime/pipelines.ts) on WebGPU', () => {
  it('reports a WGSL error as kernel.wgsl:line:col with the source line and a caret', async () => {
    const good = renderMatmul({ transB: true });
    const lines = good.wgsl.split('\n');
    const target = lines.findIndex((l) => l.trim() === 'let K = u.K;');
    expect(target).toBeGreaterThan(0);
    const indent = lines[target].indexOf('let');
    lines[target] = `${' '.repeat(indent)}let K = u.K + missing_value;`;
    const bad = { ...good, name: 'broken_matmul', wgsl: lines.join('\n') };
    const cache = await freshCache();
    const err = await cache.get(bad).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WgslCompileError);
    const e = err as WgslCompileError;
    const col = lines[target].indexOf('missing_value') + 1;
    const msg = e.messages.find((m) => m.type === 'error')!;
    expect(msg.line).toBe(target + 1);
    expect(msg.col).toBe(col);
    const [head, src, caret] = e.message.split('\n');
    expect(head).toMatch(
      new RegExp(`^broken_matmul\\.wgsl:${target + 1}:${col}: error: .*missing_value`),
    );
    expect(src).toBe(`  ${lines[target]}`);
    expect(caret.indexOf('^')).toBe(2 + col - 1);
    expect(caret.trim()).toMatch(/^\^~*$/);
  });

  it('reports a syntax error (missing semicolon) at the token after it', async () => {
    const wgsl = [
      '@group(0) @binding(0) var<storage, read_write> y: array<f32>;',
      '@compute @workgroup_size(1)',
      'fn main() {',
      '  let a = 1.0',
      '  y[0] = a;',
      '}',
    ].join('\n');
    const cache = await freshCache();
    await expect(cache.get({ name: 'syntax', wgsl, entry: 'main' })).rejects.toThrow(
      /^syntax\.wgsl:[45]:\d+: error: .*\n {2}.*\n {2} *\^/,
    );
    // A failed compile is not cached: asking again compiles (and fails) again.
    await expect(cache.get({ name: 'syntax', wgsl, entry: 'main' })).rejects.toThrow(
      WgslCompileError,
    );
    expect(cache.compilations).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('compiles identical text once and shares concurrent requests', async () => {
    const cache = await freshCache();
    const k1 = renderMatmul({ transB: true, bias: true });
    const k2 = renderMatmul({ transB: true, bias: true }); // equal text, distinct object
    const [p1, p2] = await Promise.all([cache.get(k1), cache.get(k2)]);
    expect(p1).toBe(p2);
    expect(await cache.get(k1)).toBe(p1);
    expect(cache.compilations).toBe(1);
    const p3 = await cache.get(renderMatmul({ transB: true }));
    expect(p3).not.toBe(p1);
    expect(cache.size).toBe(2);
  });

  it('names the device limit when a kernel binds too many storage buffers', async () => {
    const { device } = await testGpu();
    const limit = device.limits.maxStorageBuffersPerShaderStage;
    const n = limit + 1; // one input plus `limit` outputs
    const kernel = renderElementwise({
      shape: [4],
      inputs: [{ shape: [4] }],
      outputs: Array.from({ length: n - 1 }, (_, j) => ew.mul(ew.input(0), ew.c(j + 1))),
    });
    await expect((await freshCache()).get(kernel)).rejects.toThrow(PipelineCreationError);
    await expect((await freshCache()).get(kernel)).rejects.toThrow(/storage buffers/);
  });
});

describe('formatCompileMessage', () => {
  it('clamps the caret span to the line and handles out-of-range lines', () => {
    const src = 'a\n  let x = yy;\n';
    const m = { type: 'error' as const, line: 2, col: 11, length: 40, message: 'bad' };
    expect(formatCompileMessage('k', src, m)).toBe(
      'k.wgsl:2:11: error: bad\n    let x = yy;\n            ^~~',
    );
    expect(formatCompileMessage('k', src, { ...m, line: 99 })).toBe('k.wgsl:99:11: error: bad');
  });
});
