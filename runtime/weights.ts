/**
 * Model weights in and out of safetensors files, checked against the model's parameter list
 * (modelParams in compiler/spec/params.ts, timm state_dict names = vitc's native naming).
 *
 * Loading accepts timm names, HF transformers ViT names and HF DeiT names (see hf-names.ts), each
 * optionally behind wrapper prefixes (`module.`, `model.`, `_orig_mod.`); converts F16/BF16/F64 to
 * float32; resizes a learned pos_embed trained on another square grid the way timm does; and
 * collects every missing, extra, wrongly shaped, integer or non-finite tensor into one
 * WeightsError, so a user sees the whole mismatch at once. docs/WEIGHTS.md describes the rules.
 *
 * The core (readWeights, encodeWeights) works on bytes and runs in a browser; loadWeights and
 * saveWeights add file access through the lazy node:fs wrappers in safetensors.ts.
 */
import { modelParams } from '../compiler/spec/params.js';
import { type Spec, patchGrid } from '../compiler/spec/types.js';
import { decodeBf16, decodeF16 } from './half.js';
import { type HfPart, type Naming, detectNaming, hfSources, wrapperPrefix } from './hf-names.js';
import { type Grid, posEmbedPrefix, resamplePosEmbed, squareGrid } from './posembed-resize.js';
import {
  type SafetensorsFile,
  type TensorInfo,
  type WeightsProblem,
  WeightsError,
  encodeSafetensors,
  parseSafetensors,
  readFileBytes,
  tensorData,
  writeFileAtomic,
} from './safetensors.js';

export { WeightsError, type WeightsProblem } from './safetensors.js';
export { toHfNames, type Naming } from './hf-names.js';

export interface LoadOptions {
  /** Names the bytes in messages when no path is given (default '<bytes>'). */
  source?: string;
  /** Receives notices (pos_embed resized, wrapper prefix removed); loadWeights defaults to stderr. */
  onNotice?: (message: string) => void;
  /** The checkpoint's patch grid for pos_embed when it is not square (timm's old_size). */
  posEmbedGrid?: Grid;
  /** File tensors to drop before checking, matched against names without wrapper prefix. */
  ignore?: RegExp;
  /** Accept NaN/±Inf values; by default they are reported as problems. */
  allowNonFinite?: boolean;
}

export interface LoadedWeights {
  /** timm name → float32 values, in modelParams order. */
  params: Map<string, Float32Array>;
  naming: Naming;
  /** Wrapper prefix removed from every name ('' if none). */
  wrapper: string;
  notices: string[];
  metadata: Record<string, string>;
}

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

function toFloat32(file: SafetensorsFile, info: TensorInfo): Float32Array {
  const raw = tensorData(file, info.name);
  if (info.dtype === 'F16') return decodeF16(raw as Uint16Array);
  if (info.dtype === 'BF16') return decodeBf16(raw as Uint16Array);
  if (info.dtype === 'F64') return Float32Array.from(raw as Float64Array);
  return raw as Float32Array;
}

/** Parses, maps, checks and converts a weights file held in memory. */
export function readWeights(
  spec: Spec,
  bytes: Uint8Array | ArrayBuffer,
  opts: LoadOptions = {},
): LoadedWeights {
  const source = opts.source ?? '<bytes>';
  const file = parseSafetensors(
    bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes),
    source,
  );
  const notices: string[] = [];
  const notice = (m: string) => {
    notices.push(m);
    opts.onNotice?.(m);
  };

  const wrapper = wrapperPrefix([...file.tensors.keys()]);
  if (wrapper) notice(`${source}: removed wrapper prefix "${wrapper}" from every tensor name`);
  const byName = new Map<string, TensorInfo>();
  for (const [name, info] of file.tensors) {
    const bare = name.slice(wrapper.length);
    if (!opts.ignore?.test(bare)) byName.set(bare, info);
  }
  const { naming, base } = detectNaming([...byName.keys()]);
  const sources: Map<string, HfPart[] | null> =
    naming === 'timm'
      ? new Map(modelParams(spec).map((p) => [p.name, [{ name: p.name, shape: p.shape, row: 0 }]]))
      : hfSources(spec, naming === 'hf-deit' ? 'deit' : 'vit', base);

  const problems: WeightsProblem[] = [];
  const used = new Set<string>();
  const params = new Map<string, Float32Array>();
  for (const p of modelParams(spec)) {
    const parts = sources.get(p.name) ?? null;
    if (parts === null) {
      problems.push({
        kind: 'missing',
        name: p.name,
        expected: p.shape,
        note: `no ${naming} equivalent`,
      });
      continue;
    }
    const values = new Float32Array(p.shape.reduce((a, b) => a * b, 1));
    const rowSize = p.shape.slice(1).reduce((a, b) => a * b, 1);
    let complete = true;
    for (const part of parts) {
      const info = byName.get(part.name);
      const fileName = part.name === p.name ? undefined : part.name;
      if (!info) {
        problems.push({ kind: 'missing', name: p.name, fileName, expected: part.shape });
        complete = false;
        continue;
      }
      used.add(part.name);
      if (info.dtype === 'I32' || info.dtype === 'I64') {
        problems.push({
          kind: 'dtype',
          name: p.name,
          fileName,
          found: info.shape,
          note: `integer dtype ${info.dtype}`,
        });
        complete = false;
        continue;
      }
      let data = toFloat32(file, info);
      if (!sameShape(info.shape, part.shape)) {
        const resized =
          p.name === 'pos_embed' ? resizePosEmbed(spec, info, data, opts, notice) : null;
        if (!resized) {
          problems.push({
            kind: 'shape',
            name: p.name,
            fileName,
            expected: part.shape,
            found: info.shape,
          });
          complete = false;
          continue;
        }
        data = resized;
      }
      values.set(data, part.row * rowSize);
    }
    if (!complete) continue;
    if (!opts.allowNonFinite) {
      const bad = values.reduce((n, v) => (Number.isFinite(v) ? n : n + 1), 0);
      if (bad > 0)
        problems.push({
          kind: 'nonfinite',
          name: p.name,
          found: p.shape,
          note: `${bad} NaN/Inf values`,
        });
    }
    params.set(p.name, values);
  }
  for (const [name, info] of byName) {
    if (!used.has(name)) problems.push({ kind: 'extra', name: wrapper + name, found: info.shape });
  }
  if (problems.length > 0) {
    throw new WeightsError(
      414,
      source,
      describeProblems(spec, naming, problems),
      problems[0].name,
      problems,
    );
  }
  return { params, naming, wrapper, notices, metadata: file.metadata };
}

/** pos_embed on another grid → the spec's grid, or null when it cannot be one (a shape problem). */
function resizePosEmbed(
  spec: Spec,
  info: TensorInfo,
  data: Float32Array,
  opts: LoadOptions,
  notice: (m: string) => void,
): Float32Array | null {
  const D = spec.width;
  const prefix = posEmbedPrefix(spec);
  const [one, tokens, dim] = info.shape;
  if (info.shape.length !== 3 || one !== 1 || dim !== D) return null;
  const from = opts.posEmbedGrid ?? squareGrid(tokens, prefix);
  if (!from || prefix + from.rows * from.cols !== tokens) return null;
  const to = patchGrid(spec);
  notice(
    `${opts.source ?? '<bytes>'}: pos_embed resized from a ${from.rows}x${from.cols} to a ` +
      `${to.rows}x${to.cols} patch grid (bicubic, antialiased, as timm's resample_abs_pos_embed)`,
  );
  return resamplePosEmbed(data, from, to, D, prefix);
}

const MAX_LINES = 40;

function describeProblems(spec: Spec, naming: Naming, problems: WeightsProblem[]): string {
  const lines = problems.map((p) => {
    const from = p.fileName ? ` (file: ${p.fileName})` : '';
    const note = p.note ? ` (${p.note})` : '';
    switch (p.kind) {
      case 'missing':
        return `  missing    ${p.name}${from}: expected ${fmt(p.expected!)}${note}`;
      case 'extra':
        return `  unexpected ${p.name} ${fmt(p.found!)}: not a parameter of the model`;
      case 'shape':
        return `  shape      ${p.name}${from}: expected ${fmt(p.expected!)}, found ${fmt(p.found!)}`;
      case 'dtype':
        return `  dtype      ${p.name}${from} ${fmt(p.found!)}${note}: parameters must be floating point`;
      case 'nonfinite':
        return `  non-finite ${p.name} ${fmt(p.found!)}${note}`;
    }
  });
  const n = problems.length;
  // A checkpoint of another model lists every tensor; the message stays readable, the full
  // list remains in WeightsError.problems.
  if (lines.length > MAX_LINES)
    lines.splice(MAX_LINES, lines.length, `  … and ${n - MAX_LINES} more`);
  return (
    `weights do not match model "${spec.name}" (${naming} names): ${n} problem${n === 1 ? '' : 's'}\n` +
    lines.join('\n')
  );
}

/**
 * Loads weights for `spec` from a safetensors path or bytes → timm name → float32 values.
 * Throws WeightsError (VITC0401..VITC0415) on any problem; notices go to opts.onNotice, else stderr.
 */
export async function loadWeights(
  spec: Spec,
  pathOrBytes: string | Uint8Array | ArrayBuffer,
  opts: LoadOptions = {},
): Promise<Map<string, Float32Array>> {
  const onNotice = opts.onNotice ?? ((m: string) => console.warn(`notice: ${m}`));
  if (typeof pathOrBytes === 'string') {
    const bytes = await readFileBytes(pathOrBytes);
    return readWeights(spec, bytes, { ...opts, source: pathOrBytes, onNotice }).params;
  }
  return readWeights(spec, pathOrBytes, { ...opts, onNotice }).params;
}

export interface SaveOptions {
  /** Stored precision (default f32). */
  dtype?: 'f32' | 'f16' | 'bf16';
  /** Extra `__metadata__` entries; "format": "pt" is always written (HF loaders expect it). */
  metadata?: Record<string, string>;
}

/** Serializes a complete, timm-named parameter map for `spec` to safetensors bytes. */
export function encodeWeights(
  params: ReadonlyMap<string, Float32Array>,
  spec: Spec,
  opts: SaveOptions = {},
  target = '<bytes>',
): Uint8Array {
  const infos = modelParams(spec);
  const problems: WeightsProblem[] = [];
  for (const p of infos) {
    const data = params.get(p.name);
    const count = p.shape.reduce((a, b) => a * b, 1);
    if (!data) problems.push({ kind: 'missing', name: p.name, expected: p.shape });
    else if (data.length !== count) {
      problems.push({ kind: 'shape', name: p.name, expected: p.shape, found: [data.length] });
    }
  }
  const known = new Set(infos.map((p) => p.name));
  for (const [name, data] of params) {
    if (!known.has(name)) problems.push({ kind: 'extra', name, found: [data.length] });
  }
  if (problems.length > 0) {
    const detail = describeProblems(spec, 'timm', problems).replace(
      /^weights do not match/,
      'parameters to save do not match',
    );
    throw new WeightsError(415, target, detail, problems[0].name, problems);
  }
  const dtype = ({ f32: 'F32', f16: 'F16', bf16: 'BF16' } as const)[opts.dtype ?? 'f32'];
  const tensors = infos.map((p) => ({
    name: p.name,
    dtype,
    shape: p.shape,
    data: params.get(p.name)!,
  }));
  return encodeSafetensors(tensors, { format: 'pt', ...opts.metadata }, target);
}

/** Writes timm-named weights atomically (a temp file renamed over `path`). */
export async function saveWeights(
  path: string,
  params: ReadonlyMap<string, Float32Array>,
  spec: Spec,
  opts: SaveOptions = {},
): Promise<void> {
  await writeFileAtomic(path, encodeWeights(params, spec, opts, path));
}
