// One catalogue: every code the runtime's error classes can carry is listed in
// compiler/diagnostics.ts (and so in docs/DIAGNOSTICS.md's index), with a title.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DIAGNOSTIC_CATALOGUE } from '../../compiler/diagnostics.js';
import { IMAGE_ERRORS } from '../../runtime/image/errors.js';

const codesIn = (file: string, re: RegExp) =>
  [...readFileSync(file, 'utf8').matchAll(re)].map((m) => m[1]);

describe('diagnostics catalogue', () => {
  const known = new Set(Object.keys(DIAGNOSTIC_CATALOGUE));
  it('lists every weights code documented in docs/WEIGHTS.md', () => {
    const codes = codesIn('docs/WEIGHTS.md', /\| (VITC04\d\d) \|/g);
    expect(codes.length).toBeGreaterThanOrEqual(15);
    for (const c of codes) expect(known.has(c), c).toBe(true);
  });
  it('lists every image error code', () => {
    for (const n of Object.values(IMAGE_ERRORS))
      expect(known.has(`VITC0${n}`), `VITC0${n}`).toBe(true);
  });
  it('lists every data error code', () => {
    const codes = codesIn('runtime/data/errors.ts', /^\s+\w+: (5\d\d),/gm).map((n) => `VITC0${n}`);
    expect(codes.length).toBeGreaterThanOrEqual(19);
    for (const c of codes) expect(known.has(c), c).toBe(true);
  });
  it('gives every code a title and a valid number', () => {
    for (const [code, e] of Object.entries(DIAGNOSTIC_CATALOGUE)) {
      expect(code).toMatch(/^VITC\d{4}$/);
      expect(e.title.length).toBeGreaterThan(3);
    }
  });
});
