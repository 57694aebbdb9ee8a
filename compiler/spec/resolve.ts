// Resolution: reading a file and its imports, finding each model's parent, and layering settings
// from weakest to strongest: defaults < parent (recursively) < the model file's top-level
// train/preprocess blocks < the model's own body (docs/LANGUAGE.md, "Resolution").
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { parseSpecText } from '../../grammar/index.js';
import type { FileNode, ModelNode, Span, StatementNode } from '../../grammar/ast.js';
import { didYouMean } from '../../grammar/keywords.js';
import { type Diagnostic, diagnostic } from '../diagnostics.js';
import { type FieldSources, type Settings, applyStatement, defaultSettings } from './settings.js';

export interface LoadedFile {
  /** The path as diagnostics spell it (relative paths stay relative). */
  file: string;
  /** Absolute path, the file's identity for cycles and sharing. */
  abs: string;
  ast: FileNode;
  /** Directly imported files, in import order (missing or cyclic ones left out). */
  imports: LoadedFile[];
}

/** A model and the file that defines it. */
export interface ModelRef {
  model: ModelNode;
  file: LoadedFile;
}

export interface ResolvedSettings {
  settings: Settings;
  sources: FieldSources;
  /** The model itself first, then its ancestors. */
  chain: string[];
}

/** Result of resolving one model: settings, or failure; diagnostics found on the way. */
export interface ResolveOutcome {
  resolved?: ResolvedSettings;
  diagnostics: Diagnostic[];
}

const at = (s: Span, hint?: string) => ({ pos: s.pos, length: s.length, hint });

function readText(abs: string): string {
  const st = statSync(abs);
  if (st.isDirectory()) throw new Error('is a directory');
  // Devices and pipes (/dev/zero, a FIFO) could block or never end.
  if (!st.isFile()) throw new Error('not a regular file');
  return readFileSync(abs, 'utf8');
}

/** Every file read for one root, its diagnostics, and memoized model resolution. */
export class Workspace {
  readonly files = new Map<string, LoadedFile>();
  readonly sources = new Map<string, string>();
  /** Lexing, parsing and import problems of every file read. */
  readonly diagnostics: Diagnostic[] = [];
  private readonly memo = new Map<string, ResolveOutcome>();

  constructor(private readonly read: (abs: string) => string = readText) {}

  /** Read and parse a file and, recursively, its imports. `text` skips reading the root. */
  load(file: string, text?: string, importing: string[] = []): LoadedFile | undefined {
    const abs = path.resolve(file);
    const known = this.files.get(abs);
    if (known) return known;
    const source = text ?? this.read(abs);
    this.sources.set(file, source);
    const { ast, diagnostics } = parseSpecText(source, file);
    this.diagnostics.push(...diagnostics);
    const loaded: LoadedFile = { file, abs, ast, imports: [] };
    this.files.set(abs, loaded);
    this.checkDuplicateModels(ast);
    const stack = [...importing, abs];
    for (const imp of ast.imports) {
      const target = path.resolve(path.dirname(abs), imp.path);
      const display = path.isAbsolute(imp.path)
        ? imp.path
        : path.normalize(path.join(path.dirname(file), imp.path));
      if (stack.includes(target)) {
        const cycle = [...stack.slice(stack.indexOf(target)), target].map((a) => path.basename(a));
        this.diagnostics.push(
          diagnostic('VITC0203', `import cycle: ${cycle.join(' → ')}`, at(imp.pathSpan)),
        );
        continue;
      }
      let child: LoadedFile | undefined;
      try {
        child = this.load(display, undefined, stack);
      } catch (e) {
        const why =
          (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
        this.diagnostics.push(
          diagnostic(
            'VITC0202',
            `cannot import '${imp.path}': ${why}`,
            at(imp.pathSpan, `looked for ${target}`),
          ),
        );
      }
      if (child) loaded.imports.push(child);
    }
    return loaded;
  }

  private checkDuplicateModels(ast: FileNode): void {
    const first = new Map<string, ModelNode>();
    for (const m of ast.models) {
      const prev = first.get(m.name.value);
      if (prev)
        this.diagnostics.push(
          diagnostic(
            'VITC0206',
            `model '${m.name.value}' is defined twice in this file`,
            at(m.name, `first defined at ${prev.name.pos.line}:${prev.name.pos.col}`),
          ),
        );
      else first.set(m.name.value, m);
    }
  }

  /** Models `extends` can name from a file: its own first, then its imports' in import order. */
  visibleModels(f: LoadedFile, seen = new Set<string>()): Map<string, ModelRef> {
    seen.add(f.abs);
    const out = new Map<string, ModelRef>();
    for (const m of f.ast.models)
      if (!out.has(m.name.value)) out.set(m.name.value, { model: m, file: f });
    for (const imp of f.imports) {
      if (seen.has(imp.abs)) continue;
      for (const [name, ref] of this.visibleModels(imp, seen))
        if (!out.has(name)) out.set(name, ref);
    }
    return out;
  }

  /** Resolve a model's settings through its ancestors (memoized; cycles reported). */
  resolve(ref: ModelRef, stack: ModelRef[] = []): ResolveOutcome {
    const key = `${ref.file.abs}#${ref.model.offset}`;
    const cached = this.memo.get(key);
    if (cached) return cached;
    const name = ref.model.name.value;
    const diagnostics: Diagnostic[] = [];
    const fail = (): ResolveOutcome => ({ diagnostics });

    let base: ResolvedSettings | undefined;
    const parentWord = ref.model.parent;
    if (parentWord) {
      const candidates = this.visibleModels(ref.file);
      const parent = candidates.get(parentWord.value);
      if (!parent) {
        const guess = didYouMean(parentWord.value, candidates.keys());
        const hint = guess
          ? `did you mean '${guess}'?`
          : candidates.size
            ? `models here: ${[...candidates.keys()].join(', ')}`
            : 'define it in this file or import the file that defines it';
        diagnostics.push(
          diagnostic(
            'VITC0204',
            `unknown parent model '${parentWord.value}'`,
            at(parentWord, hint),
          ),
        );
        return this.remember(key, fail());
      }
      const loopAt = [...stack, ref].findIndex((r) => r.model === parent.model);
      if (loopAt >= 0) {
        const names = [...stack, ref].slice(loopAt).map((r) => r.model.name.value);
        diagnostics.push(
          diagnostic(
            'VITC0205',
            `inheritance cycle: ${[...names, parent.model.name.value].join(' extends ')}`,
            at(parentWord),
          ),
        );
        return fail(); // not memoized: each model of the loop reports from its own place
      }
      const up = this.resolve(parent, [...stack, ref]);
      diagnostics.push(...up.diagnostics);
      if (!up.resolved) return this.remember(key, fail());
      base = up.resolved;
    }

    const settings = base ? structuredClone(base.settings) : defaultSettings();
    const sources: FieldSources = new Map();
    for (const [p, src] of base?.sources ?? []) sources.set(p, { ...src, depth: src.depth + 1 });
    const apply = (sts: StatementNode[], depth: number, owner: string) => {
      for (const st of sts)
        applyStatement(settings, st, (p, span) => sources.set(p, { span, depth, model: owner }));
    };
    for (const b of ref.file.ast.blocks) apply(b.statements, 0.5, '');
    apply(ref.model.statements, 0, name);
    for (const b of ref.model.blocks) apply(b.statements, 0, name);
    const chain = [name, ...(base?.chain ?? [])];
    const failed = ref.model.hasErrors || ref.file.ast.topLevelHasErrors;
    return this.remember(
      key,
      failed ? fail() : { resolved: { settings, sources, chain }, diagnostics },
    );
  }

  private remember(key: string, outcome: ResolveOutcome): ResolveOutcome {
    this.memo.set(key, outcome);
    return outcome;
  }
}
