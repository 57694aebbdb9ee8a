// The JSON Schema: strict shape, documented fields, in step with docs/spec.schema.json and with
// the semantic checks.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadSpecText } from '../../compiler/spec/load.js';
import { checkSchema, specSchema, specValidator } from '../../compiler/spec/schema.js';
import { schemaText } from '../../tools/write-schema.js';
import { base } from './support.js';

type Node = Record<string, unknown>;

/** Every object schema (with a path) under a schema node. */
function objects(node: Node, at = '$'): [string, Node][] {
  const out: [string, Node][] = [];
  if (node.type === 'object') out.push([at, node]);
  for (const [k, v] of Object.entries((node.properties as Record<string, Node>) ?? {}))
    out.push(...objects(v, `${at}.${k}`));
  if (node.items) out.push(...objects(node.items as Node, `${at}[]`));
  for (const alt of (node.anyOf as Node[]) ?? []) out.push(...objects(alt, at));
  return out;
}

/** Every leaf and inner field schema, for the description check. */
function fields(node: Node, at = '$'): [string, Node][] {
  const out: [string, Node][] = [[at, node]];
  for (const [k, v] of Object.entries((node.properties as Record<string, Node>) ?? {}))
    out.push(...fields(v, `${at}.${k}`));
  if (node.items) out.push(...fields(node.items as Node, `${at}[]`));
  for (const alt of (node.anyOf as Node[]) ?? []) out.push(...fields(alt, `${at}|`));
  return out;
}

const spec = () => loadSpecText(base(), 's.vit').specs[0]!;

describe('spec schema', () => {
  it('forbids unknown properties and requires every property, at every level', () => {
    const objs = objects(specSchema);
    expect(objs.length).toBeGreaterThan(10);
    for (const [at, o] of objs) {
      expect(o.additionalProperties, at).toBe(false);
      expect([...(o.required as string[])].sort(), at).toEqual(
        Object.keys(o.properties as Node).sort(),
      );
    }
  });

  it('describes every field', () => {
    for (const [at, f] of fields(specSchema)) {
      expect(typeof f.description, at).toBe('string');
      expect((f.description as string).length, at).toBeGreaterThan(3);
    }
  });

  it('accepts a resolved spec and rejects a stray field, a wrong enum and a fractional size', () => {
    const v = specValidator();
    expect(v(spec())).toBe(true);
    expect(v({ ...spec(), extra: 1 })).toBe(false);
    expect(v({ ...spec(), pool: 'max' })).toBe(false);
    expect(v({ ...spec(), depth: 1.5 })).toBe(false);
    expect(v({ ...spec(), layerScale: null, train: { ...spec().train, clip: 0 } })).toBe(false);
  });

  it('compiles once', () => expect(specValidator()).toBe(specValidator()));

  it('locates schema errors at the statement that set the field, else its parent, else the model', () => {
    const text = base('  dropout attn 0.1');
    const r = loadSpecText(text, 's.vit');
    expect(r.diagnostics).toEqual([]);
    // A hand-made source map, and fields broken behind the semantic checks' back.
    const s = r.specs[0]!;
    const pos = (line: number, col: number) => ({
      pos: { file: 's.vit', line, col },
      offset: 0,
      length: 1,
    });
    const sources = new Map([
      ['/dropout/attn', { span: pos(7, 16), depth: 0, model: 'm' }],
      ['/image', { span: pos(2, 3), depth: 0, model: 'm' }],
    ]);
    const fallback = { pos: { file: 's.vit', line: 1, col: 7 }, length: 1 };
    const at = (bad: object) =>
      checkSchema({ ...s, ...bad }, sources, fallback).map(
        (d) => `${d.code}@${d.pos!.line}:${d.pos!.col} ${d.message}`,
      );
    expect(at({ dropout: { ...s.dropout, attn: 2 } })).toEqual([
      'VITC0300@7:16 dropout.attn must be < 1',
    ]);
    expect(at({ image: { ...s.image, channels: 0 } })).toEqual([
      'VITC0300@2:3 image.channels must be >= 1',
    ]);
    expect(at({ heads: 'four' })).toEqual(['VITC0300@1:7 heads must be integer']);
    expect(at({ bogus: true })).toEqual([
      'VITC0300@1:7 spec must NOT have additional properties (bogus)',
    ]);
  });
});

describe('docs/spec.schema.json', () => {
  it('is what tools/write-schema.ts writes (run it after changing schema.ts)', async () => {
    const file = fileURLToPath(new URL('../../docs/spec.schema.json', import.meta.url));
    expect(readFileSync(file, 'utf8')).toBe(await schemaText());
  });
});
