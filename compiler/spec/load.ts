// Entry points of the front end: read a .vit file (and its imports), resolve every model through
// its parents, turn it into a Spec and check it (semantic checks, then the JSON Schema). Bad input
// never throws: it comes back as located diagnostics.
import * as path from 'node:path';
import { didYouMean } from '../../grammar/keywords.js';
import type { ModelNode } from '../../grammar/ast.js';
import { type Diagnostic, diagnostic, hasErrors } from '../diagnostics.js';
import { type LoadedFile, type ModelRef, Workspace } from './resolve.js';
import { checkSchema } from './schema.js';
import { finalize } from './settings.js';
import type { Spec } from './types.js';
import { validateSpec } from './validate.js';

export interface LoadResult {
  /** Every model defined in the file, in order, resolved; models with errors are left out. */
  specs: Spec[];
  diagnostics: Diagnostic[];
  /** file -> text of every file read, keyed as Diagnostic.pos.file spells it, for formatting. */
  sources: Map<string, string>;
}

export interface ResolveResult {
  spec?: Spec;
  diagnostics: Diagnostic[];
  sources: Map<string, string>;
}

/** Resolve one model to a checked Spec; diagnostics of its resolution and checks. */
function specOf(ws: Workspace, ref: ModelRef): { spec?: Spec; diagnostics: Diagnostic[] } {
  const outcome = ws.resolve(ref);
  const diagnostics = [...outcome.diagnostics];
  if (!outcome.resolved) return { diagnostics };
  const { settings, sources, chain } = outcome.resolved;
  const m = ref.model;
  const done = finalize(settings, { name: m.name.value, description: m.description, chain });
  if ('missing' in done) {
    const list = done.missing.join(', ');
    diagnostics.push(
      diagnostic('VITC0208', `model '${m.name.value}' does not set ${list}`, {
        pos: m.name.pos,
        length: m.name.length,
        hint: `${done.missing.length > 1 ? 'these are' : 'it is'} required; set ${done.missing.length > 1 ? 'them' : 'it'} in the model or a parent`,
      }),
    );
    return { diagnostics };
  }
  const checks = validateSpec({
    spec: done.spec,
    sources,
    nameSpan: m.name,
    ...(done.mlpRatio !== undefined ? { mlpRatio: done.mlpRatio } : {}),
    ...(settings.pos.explicitPrefix ? { explicitPrefix: settings.pos.explicitPrefix } : {}),
  });
  diagnostics.push(...checks);
  if (hasErrors(checks)) return { diagnostics };
  const schema = checkSchema(done.spec, sources, m.name);
  diagnostics.push(...schema);
  return schema.length ? { diagnostics } : { spec: done.spec, diagnostics };
}

/**
 * The same problem reached through several models is reported once; the rest are ordered by
 * file (in the order files were read), line and column, placeless ones first.
 */
function tidy(ds: Diagnostic[], files: string[]): Diagnostic[] {
  const seen = new Set<string>();
  const unique = ds.filter((d) => {
    const key = `${d.code}|${d.pos?.file}:${d.pos?.line}:${d.pos?.col}|${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const rank = (d: Diagnostic) => (d.pos ? files.indexOf(d.pos.file) + 1 : 0);
  return unique.sort(
    (a, b) =>
      rank(a) - rank(b) ||
      (a.pos?.line ?? 0) - (b.pos?.line ?? 0) ||
      (a.pos?.col ?? 0) - (b.pos?.col ?? 0),
  );
}

interface Loaded {
  ws: Workspace;
  root?: LoadedFile;
}

function open(file: string, text?: string): Loaded {
  const ws = new Workspace();
  try {
    return { ws, root: ws.load(file, text) };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT'
        ? 'no such file'
        : err.code === 'EACCES'
          ? 'permission denied'
          : err.message;
    ws.diagnostics.push(diagnostic('VITC0201', `cannot read ${file}: ${why}`));
    return { ws };
  }
}

function noModel(root: LoadedFile): Diagnostic {
  return diagnostic('VITC0210', `${path.basename(root.file)} defines no model`, {
    pos: { file: root.file, line: 1, col: 1 },
    hint: 'a spec file needs at least one `model NAME { ... }`',
  });
}

function loadAll({ ws, root }: Loaded): LoadResult {
  const specs: Spec[] = [];
  const diagnostics = [...ws.diagnostics];
  if (root) {
    if (!root.ast.models.length && !hasErrors(diagnostics)) diagnostics.push(noModel(root));
    for (const model of root.ast.models) {
      const r = specOf(ws, { model, file: root });
      diagnostics.push(...r.diagnostics);
      if (r.spec) specs.push(r.spec);
    }
  }
  return { specs, diagnostics: tidy(diagnostics, [...ws.sources.keys()]), sources: ws.sources };
}

/** Every model of a .vit file, resolved and checked. Never throws for bad input. */
export function loadSpecFile(file: string): LoadResult {
  return loadAll(open(file));
}

/** As loadSpecFile, for text in memory; imports resolve relative to `file`'s directory. */
export function loadSpecText(text: string, file = '<input>.vit'): LoadResult {
  return loadAll(open(file, text));
}

/**
 * One model of a file, by name, or the last one defined in the file. Diagnostics are those of
 * reading the files (all of them) plus those of that model's resolution and checks.
 */
export function resolveSpec(file: string, model?: string): ResolveResult {
  const { ws, root } = open(file);
  const diagnostics = [...ws.diagnostics];
  const done = (spec?: Spec): ResolveResult => ({
    ...(spec ? { spec } : {}),
    diagnostics: tidy(diagnostics, [...ws.sources.keys()]),
    sources: ws.sources,
  });
  if (!root) return done();
  const own = root.ast.models;
  let ref: ModelRef | undefined;
  if (model === undefined) {
    const last: ModelNode | undefined = own.at(-1);
    if (!last) {
      if (!hasErrors(diagnostics)) diagnostics.push(noModel(root));
      return done();
    }
    ref = { model: last, file: root };
  } else {
    // The file's own models first; a model it imports may be named too.
    const mine = own.find((m) => m.name.value === model);
    ref = mine ? { model: mine, file: root } : ws.visibleModels(root).get(model);
    if (!ref) {
      const names = [...ws.visibleModels(root).keys()];
      const guess = didYouMean(model, names);
      diagnostics.push(
        diagnostic('VITC0209', `no model named '${model}' in ${file}`, {
          hint: guess
            ? `did you mean '${guess}'?`
            : names.length
              ? `models: ${names.join(', ')}`
              : 'the file defines no model',
        }),
      );
      return done();
    }
  }
  const r = specOf(ws, ref);
  diagnostics.push(...r.diagnostics);
  return done(r.spec);
}
