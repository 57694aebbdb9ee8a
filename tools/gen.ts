// `npm run gen`: compile every spec in specs/ into generated/<name>/ (committed; CI regenerates
// and fails on any diff). Folders in generated/ that no spec produces any more are removed.
import { readdirSync, rmSync, existsSync } from 'node:fs';
import { main } from '../compiler/cli.js';

const specs = readdirSync('specs').filter((f) => f.endsWith('.vit')).sort();
const wanted = new Set(specs.map((f) => f.replace(/\.vit$/, '')));
let failed = 0;
for (const f of specs) {
  const code = await main(['compile', `specs/${f}`]);
  if (code !== 0) failed++;
}
if (existsSync('generated'))
  for (const d of readdirSync('generated'))
    if (!wanted.has(d)) {
      rmSync(`generated/${d}`, { recursive: true, force: true });
      process.stdout.write(`removed stale generated/${d}/\n`);
    }
process.exitCode = failed ? 1 : 0;
