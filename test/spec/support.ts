// Shared helpers for the front-end tests.
import { expect } from 'vitest';
import type { Diagnostic, DiagnosticCode } from '../../compiler/diagnostics.js';
import { type LoadResult, loadSpecText } from '../../compiler/spec/load.js';
import type { Spec } from '../../compiler/spec/types.js';

/** The required statements of a small valid model, one per line (lines 2-6 of BASE). */
export const REQUIRED = `  image 32 x 32 x 3
  patch 8
  width 64
  depth 2
  heads 4`;

/** A file with one small model `m`; `extra` goes on the lines after the required ones (line 7+). */
export function base(extra = '', name = 'm'): string {
  return `model ${name} {\n${REQUIRED}\n${extra}\n}\n`;
}

/** Load text and expect exactly one spec and no diagnostic at all. */
export function loadOne(text: string, file = 'test.vit'): Spec {
  const r = loadSpecText(text, file);
  expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  expect(r.specs).toHaveLength(1);
  return r.specs[0]!;
}

/** The spec of `model m` with `extra` statements added. */
export function knob(extra: string): Spec {
  return loadOne(base(extra));
}

/** Code, line and column of each diagnostic, for compact assertions. */
export function where(r: LoadResult | { diagnostics: Diagnostic[] }): string[] {
  return r.diagnostics.map((d) => `${d.code}@${d.pos ? `${d.pos.line}:${d.pos.col}` : '-'}`);
}

/** The only diagnostic with this code (fails when there are none or several). */
export function only(r: { diagnostics: Diagnostic[] }, code: DiagnosticCode): Diagnostic {
  const ds = r.diagnostics.filter((d) => d.code === code);
  expect(ds, `diagnostics: ${JSON.stringify(r.diagnostics)}`).toHaveLength(1);
  return ds[0]!;
}
