// Writes the Spec JSON Schema (compiler/spec/schema.ts) to docs/spec.schema.json, formatted by
// prettier so `prettier --check .` agrees with it.
// Run: npx tsx tools/write-schema.ts   (--check: exit 1 when the file is out of date)
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { specSchema } from '../compiler/spec/schema.js';

const target = fileURLToPath(new URL('../docs/spec.schema.json', import.meta.url));

/** The file's expected content. */
export async function schemaText(): Promise<string> {
  const options = (await prettier.resolveConfig(target)) ?? {};
  return prettier.format(JSON.stringify(specSchema, null, 2), { ...options, parser: 'json' });
}

async function main(): Promise<void> {
  const text = await schemaText();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      // a missing file is out of date too
    }
    if (current !== text) {
      console.error(`${target} is out of date; run: npx tsx tools/write-schema.ts`);
      process.exit(1);
    }
    console.log(`${target} is up to date`);
  } else {
    writeFileSync(target, text);
    console.log(`wrote ${target}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
