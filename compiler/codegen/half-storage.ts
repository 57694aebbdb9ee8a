// f16 storage, a Plan → Plan pass (`compileSpec(spec, { precision: 'f16' })`, `--precision f16`).
//
// Parameters and activations live in f16 buffers, half the bytes and half the memory traffic.
// Every kernel converts an f16 element to f32 when it loads it, computes and accumulates in f32
// as before, and rounds once when it stores. That is what "f16 storage, f32 accumulation" means on
// the GPU (tfjs and ORT's f16 paths do the same for their matmul accumulators): the model's
// arithmetic is unchanged and only storage rounds, so a ViT's logits move by about 1e-3 relative
// (f16 has 11 significant bits), not more.
//
// The plan's interface stays f32: inputs, outputs and constants keep f32 buffers, so callers
// pass and receive Float32Array as before; the runtime converts parameters to f16 on upload.
// The kernel text is rewritten, not re-rendered: one rewrite serves every renderer, because every
// renderer declares storage as `array<f32>` or `array<vec4<f32>>` and touches it only by indexing
// (`name[i]` to load, `name[i] = v;` to store; checked, see halfKernel). A kernel bound to f16
// and f32 buffers in different steps gets one variant per combination.
import { type Plan, type PlanBuffer, type PlanKernel, type PlanStep, alignUp } from './plan.js';

export class HalfStorageError extends Error {
  override name = 'HalfStorageError';
}

type Elem = 'f32' | 'vec4<f32>';

const DECL =
  /^(@group\(0\) @binding\((\d+)\) var<storage, (?:read|read_write)> (\w+): array<)(f32|vec4<f32>)(>;)$/gm;

/** The f32 storage bindings a kernel declares, by name, with their element type. */
export function storageElems(wgsl: string): Map<string, Elem> {
  const out = new Map<string, Elem>();
  for (const m of wgsl.matchAll(DECL)) out.set(m[3], m[4] as Elem);
  return out;
}

/** Index just past the `]` that closes the `[` at `open`. */
function closeBracket(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '[') depth++;
    else if (text[i] === ']' && --depth === 0) return i + 1;
  }
  throw new HalfStorageError(`unbalanced '[' at offset ${open}`);
}

/** Index of the `;` that ends the statement starting at `from` (outside parentheses). */
function statementEnd(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === ';' && depth === 0) return i;
  }
  throw new HalfStorageError(`statement at offset ${from} has no ';'`);
}

/**
 * Rewrites WGSL so the named storage bindings hold f16: `enable f16;`, `array<f16>` /
 * `array<vec4<f16>>` declarations, loads widened to f32 and stored values narrowed to f16. Any
 * other use of such a binding (a pointer, arrayLength, a compound assignment) is refused rather
 * than guessed at.
 */
export function halfKernel(wgsl: string, names: ReadonlySet<string>): string {
  const elems = storageElems(wgsl);
  for (const n of names)
    if (!elems.has(n)) throw new HalfStorageError(`no f32 storage binding '${n}' to make f16`);
  const body = wgsl.replace(DECL, (all, head: string, _b, name: string, elem: Elem, tail) =>
    names.has(name) ? `${head}${elem === 'f32' ? 'f16' : 'vec4<f16>'}${tail}` : all,
  );
  const rewritten = rewriteUses(body, elems, names);
  // `enable` must precede every declaration; comments may stay above it.
  const lines = rewritten.split('\n');
  const first = lines.findIndex((l) => l.trim() !== '' && !l.trimStart().startsWith('//'));
  lines.splice(first, 0, 'enable f16;', '');
  return lines.join('\n');
}

/**
 * Scopes of names that shadow a binding (`let a = …` inside an erf helper, a parameter `x`): a
 * block's `let`/`var`/`const` names and a function's parameters hide the binding until its `}`.
 */
type Scopes = Set<string>[];

const shadowed = (scopes: Scopes, name: string) => scopes.some((s) => s.has(name));

function rewriteUses(text: string, elems: Map<string, Elem>, names: ReadonlySet<string>): string {
  return rewriteRange(text, elems, names, [new Set()]);
}

function rewriteRange(
  text: string,
  elems: Map<string, Elem>,
  names: ReadonlySet<string>,
  scopes: Scopes,
): string {
  let out = '';
  let i = 0;
  let params: string[] = [];
  const ident = /[A-Za-z_][A-Za-z0-9_]*/y;
  while (i < text.length) {
    const c = text[i];
    if (c === '/' && text[i + 1] === '/') {
      const eol = text.indexOf('\n', i);
      const end = eol < 0 ? text.length : eol;
      out += text.slice(i, end);
      i = end;
      continue;
    }
    if (c === '{') {
      scopes.push(new Set(params));
      params = [];
    } else if (c === '}') scopes.pop();
    ident.lastIndex = i;
    const m =
      /[A-Za-z_]/.test(c) && (i === 0 || !/[\w.]/.test(text[i - 1])) ? ident.exec(text) : null;
    if (!m) {
      out += c;
      i++;
      continue;
    }
    const word = m[0];
    const after = i + word.length;
    if (word === 'fn') {
      // fn name(p: T, q: T) -> R {  — the parameters shadow bindings inside the body.
      const open = text.indexOf('(', after);
      const close = text.indexOf(')', open);
      params = [...text.slice(open + 1, close).matchAll(/(\w+)\s*:/g)].map((x) => x[1]);
    } else if (word === 'let' || word === 'var' || word === 'const') {
      const decl = /^(?:<[^>]*>)?\s+(\w+)/.exec(text.slice(after));
      if (decl && scopes.length > 1) scopes[scopes.length - 1].add(decl[1]);
    }
    if (!names.has(word) || shadowed(scopes, word) || /^\s*:/.test(text.slice(after))) {
      out += word;
      i = after;
      continue;
    }
    if (text[after] !== '[')
      throw new HalfStorageError(
        `'${word}' is used other than by indexing: …${text.slice(i, i + 40)}…`,
      );
    const end = closeBracket(text, after);
    const index = rewriteRange(text.slice(after + 1, end - 1), elems, names, scopes);
    const f32 = elems.get(word) === 'f32';
    if (/^\s*[-+*/%&|^]=/.test(text.slice(end)))
      throw new HalfStorageError(
        `compound assignment to '${word}' is not supported in f16 storage`,
      );
    const assign = /^\s*=(?!=)/.exec(text.slice(end));
    if (assign) {
      const rhsStart = end + assign[0].length;
      const semi = statementEnd(text, rhsStart);
      const rhs = rewriteRange(text.slice(rhsStart, semi), elems, names, scopes).trim();
      out += `${word}[${index}] = ${f32 ? 'f16' : 'vec4<f16>'}(${rhs})`;
      i = semi;
    } else {
      out += `${f32 ? 'f32' : 'vec4<f32>'}(${word}[${index}])`;
      i = end;
    }
  }
  return out;
}

/** Roles whose buffers hold f16: weights and activations. Inputs, outputs and constants stay f32. */
const HALF_ROLES: ReadonlySet<PlanBuffer['role']> = new Set(['param', 'scratch']);

/** Which buffers can be f16: the right role, and every binding offset still aligned when halved. */
function halfBuffers(plan: Plan): Set<number> {
  const ids = new Set(plan.buffers.filter((b) => HALF_ROLES.has(b.role)).map((b) => b.id));
  for (const s of plan.steps)
    for (const b of s.bindings) if (b.offset % 512 !== 0) ids.delete(b.buffer);
  for (const t of plan.params) if (t.offset % 512 !== 0) ids.delete(t.buffer);
  return ids;
}

/** The plan with f16 parameter and activation buffers (eval plans; training keeps f32 master weights). */
export function halfStorage(plan: Plan): Plan {
  if (plan.mode !== 'eval')
    throw new HalfStorageError('f16 storage is for forward (eval) plans; training stays f32');
  const half = halfBuffers(plan);
  const kernels: PlanKernel[] = [...plan.kernels];
  const variants = new Map<string, number>();
  const variant = (k: number, step: PlanStep): number => {
    const kernel = plan.kernels[k];
    const byBinding = new Map(kernel.bindings.map((b) => [b.binding, b.name]));
    const elems = storageElems(kernel.wgsl ?? '');
    const names = new Set(
      step.bindings
        .filter((b) => half.has(b.buffer) && elems.has(byBinding.get(b.binding)!))
        .map((b) => byBinding.get(b.binding)!),
    );
    if (names.size === 0) return k;
    const sorted = [...names].sort();
    const key = `${k}:${sorted.join(',')}`;
    const known = variants.get(key);
    if (known !== undefined) return known;
    kernels.push({
      ...kernel,
      name: `${kernel.name}_h_${sorted.join('_')}`.replace(/[^a-z0-9_]/g, ''),
      doc: `${kernel.doc} (f16 storage: ${sorted.join(', ')})`,
      wgsl: halfKernel(kernel.wgsl!, names),
    });
    variants.set(key, kernels.length - 1);
    return kernels.length - 1;
  };
  const halved = (n: number) => alignUp(n / 2, 4);
  const steps = plan.steps.map((s) => ({
    ...s,
    kernel: variant(s.kernel, s),
    bindings: s.bindings.map((b) =>
      half.has(b.buffer) ? { ...b, offset: b.offset / 2, size: halved(b.size) } : b,
    ),
    ...(s.alternatives
      ? { alternatives: s.alternatives.map((a) => ({ ...a, kernel: variant(a.kernel, s) })) }
      : {}),
  }));
  const buffers = plan.buffers.map((b) => {
    if (!half.has(b.id)) return b;
    let bytes = halved(b.bytes);
    for (const s of steps)
      for (const x of s.bindings) if (x.buffer === b.id) bytes = Math.max(bytes, x.offset + x.size);
    return { ...b, bytes, dtype: 'f16' as const };
  });
  const params = plan.params.map((t) => (half.has(t.buffer) ? { ...t, offset: t.offset / 2 } : t));
  // Kernels only the f16 variants replaced are dropped, then indices are renumbered.
  const used = [
    ...new Set(steps.flatMap((s) => [s.kernel, ...(s.alternatives ?? []).map((a) => a.kernel)])),
  ].sort((a, b) => a - b);
  const index = new Map(used.map((k, i) => [k, i]));
  return {
    ...plan,
    kernels: used.map((k) => kernels[k]),
    buffers,
    params,
    steps: steps.map((s) => ({
      ...s,
      kernel: index.get(s.kernel)!,
      ...(s.alternatives
        ? { alternatives: s.alternatives.map((a) => ({ ...a, kernel: index.get(a.kernel)! })) }
        : {}),
    })),
  };
}
