// Prints modelParams(spec) (compiler/spec/params.ts) for each spec.json given on the command
// line, as JSON {path: [[name, shape], ...]}. make_fixtures.py runs it through `npx tsx` to
// check that its Python mirror of the parameter list agrees with the TypeScript original.
import { readFileSync } from 'node:fs';
import { modelParams } from '../../compiler/spec/params.js';
import type { Spec } from '../../compiler/spec/types.js';

const out: Record<string, [string, number[]][]> = {};
for (const path of process.argv.slice(2)) {
  const spec = JSON.parse(readFileSync(path, 'utf8')) as Spec;
  out[path] = modelParams(spec).map((p) => [p.name, p.shape]);
}
process.stdout.write(JSON.stringify(out) + '\n');
