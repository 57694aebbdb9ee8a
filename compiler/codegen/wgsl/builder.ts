/**
 * The contract between WGSL kernel renderers and the runtime, plus the small text-building helpers
 * every renderer shares.
 *
 * A renderer is a pure function `(description) → KernelSource`: the same description always yields
 * byte-identical WGSL (the runtime caches pipelines by text, and generated/ is diffed in CI). Shapes
 * that change with the batch size travel in a uniform struct, so one pipeline serves every batch;
 * model constants (widths, head counts, eps) are baked into the text as named constants.
 *
 * Binding convention (group 0 only): storage inputs first, then storage outputs, then one uniform
 * struct named `u` (if the kernel has uniforms). `KernelSource.bindings` lists them in that order
 * with their binding numbers, so a runtime can build an explicit bind group layout without parsing
 * WGSL. Every declared binding is used by the shader (so 'auto' layouts would match too).
 */

export type Vec3 = [number, number, number];

/** How a binding is accessed: read-only storage, read-write storage, or the uniform struct. */
export type BindingKind = 'read' | 'read_write' | 'uniform';

export interface BindingDecl {
  binding: number;
  /** The WGSL variable name (also the key a runtime uses to attach a buffer). */
  name: string;
  kind: BindingKind;
  /** WGSL element type of the storage array (`f32` or `vec4<f32>`), or the struct name for uniforms. */
  type: string;
}

/** Every uniform field is 4 bytes; `u32` for sizes, `f32` for run-time scalars (e.g. a learning rate). */
export type UniformType = 'u32' | 'f32';

export interface UniformField {
  name: string;
  type: UniformType;
}

/** Run-time sizes and scalars, keyed by uniform field name (and any extra keys `dispatch` reads). */
export type KernelSizes = Readonly<Record<string, number>>;

export interface KernelSource {
  /** Stable, descriptive, filename-safe ([a-z0-9_]); unique per distinct text in practice. */
  name: string;
  wgsl: string;
  /** Entry point of the compute shader. */
  entry: string;
  workgroupSize: Vec3;
  /** Group-0 bindings in binding order. */
  bindings: readonly BindingDecl[];
  /** Fields of the uniform struct `u`, in memory order (empty when the kernel has no uniforms). */
  uniforms: readonly UniformField[];
  /**
   * What the adapter must offer for this text to compile and pay off: WebGPU features, and for a
   * kernel specialised to one subgroup size, that size (absent: every adapter).
   */
  requires?: { features: GPUFeatureName[]; subgroupSize?: number };
  /** Workgroup counts for the given sizes; throws if the sizes break a promise the text relies on. */
  dispatch(sizes: KernelSizes): Vec3;
}

/** WebGPU's default maxComputeWorkgroupsPerDimension; grids beyond it fold into a second dimension. */
export const MAX_WORKGROUPS_PER_DIM = 65535;

export const ENTRY_POINT = 'main';

export class KernelSpecError extends Error {
  override name = 'KernelSpecError';
}

export function ceilDiv(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}

/** Asserts a render-time condition on a kernel description. */
export function check(cond: boolean, kernel: string, message: string): asserts cond {
  if (!cond) throw new KernelSpecError(`${kernel}: ${message}`);
}

/** Reads a size that must be a non-negative integer below 2^32 (u32 uniform range). */
export function sizeOf(sizes: KernelSizes, key: string, kernel: string): number {
  const v = sizes[key];
  if (v === undefined || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new KernelSpecError(`${kernel}: size '${key}' must be a u32 integer, got ${v}`);
  }
  return v;
}

/**
 * A 1-D grid of `count` workgroups as [x, y, 1] with x ≤ 65535. Kernels recover the flat index
 * with `flatWorkgroupIndex` and must skip indices ≥ count (x·y may exceed count).
 */
export function grid1d(count: number): Vec3 {
  if (count <= 0) return [0, 1, 1];
  const y = ceilDiv(count, MAX_WORKGROUPS_PER_DIM);
  return [ceilDiv(count, y), y, 1];
}

/** WGSL expression for the flat workgroup index of a grid made by `grid1d`. */
export const flatWorkgroupIndex = '(wid.x + wid.y * nwg.x)';

/**
 * Shortest decimal literal that rounds to the same f32 as `v` (deterministic, readable). WGSL has
 * no NaN/Inf literals, so those are rejected; -0 keeps its sign.
 */
export function f32(v: number): string {
  if (!Number.isFinite(v)) throw new KernelSpecError(`cannot write ${v} as a WGSL f32 literal`);
  if (Math.fround(v) !== 0 && Math.abs(Math.fround(v)) < 1.1754943508222875e-38) {
    // WGSL may flush subnormal constants; reject rather than silently change the value.
    throw new KernelSpecError(`f32 literal ${v} is subnormal`);
  }
  if (Math.abs(Math.fround(v)) > 3.4028234663852886e38) {
    throw new KernelSpecError(`f32 literal ${v} overflows f32`);
  }
  const target = Math.fround(v);
  if (Object.is(target, -0)) return '-0.0';
  let s = '';
  for (let p = 1; p <= 9; p++) {
    s = target.toPrecision(p);
    if (Math.fround(Number(s)) === target) break;
  }
  // toPrecision may give '1e+21' or '12': normalise to a WGSL float literal.
  s = s.replace('e+', 'e');
  if (!/[.e]/.test(s)) s += '.0';
  else if (/^-?\d+e/.test(s)) s = s.replace('e', '.0e');
  return s;
}

/** A u32 literal. */
export function u32(v: number): string {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new KernelSpecError(`cannot write ${v} as a WGSL u32 literal`);
  }
  return `${v}u`;
}

/** Indented line-oriented text builder; `toString()` ends with exactly one newline. */
export class WgslWriter {
  private readonly lines: string[] = [];
  private depth = 0;

  line(text = ''): this {
    this.lines.push(text === '' ? '' : '  '.repeat(this.depth) + text);
    return this;
  }

  comment(text: string): this {
    for (const l of text.split('\n')) this.line(`// ${l}`.trimEnd());
    return this;
  }

  /** `header {` … `}` with the body indented one level. */
  block(header: string, body: () => void, close = '}'): this {
    this.line(`${header} {`);
    this.depth++;
    body();
    this.depth--;
    this.line(close);
    return this;
  }

  /** Appends pre-rendered text (e.g. a helper function) at the current depth. */
  raw(text: string): this {
    for (const l of text.replace(/\n+$/, '').split('\n')) this.line(l);
    return this;
  }

  toString(): string {
    return this.lines.join('\n').replace(/\n{3,}/g, '\n\n') + '\n';
  }
}

/** Collects bindings in declaration order and renders their WGSL declarations. */
export class BindingSet {
  readonly decls: BindingDecl[] = [];

  storage(name: string, kind: 'read' | 'read_write', type: 'f32' | 'vec4<f32>' | 'i32'): this {
    this.decls.push({ binding: this.decls.length, name, kind, type });
    return this;
  }

  uniform(name: string, struct: string): this {
    this.decls.push({ binding: this.decls.length, name, kind: 'uniform', type: struct });
    return this;
  }

  render(w: WgslWriter): void {
    for (const d of this.decls) {
      const space =
        d.kind === 'uniform'
          ? 'uniform'
          : d.kind === 'read'
            ? 'storage, read'
            : 'storage, read_write';
      const type = d.kind === 'uniform' ? d.type : `array<${d.type}>`;
      w.line(`@group(0) @binding(${d.binding}) var<${space}> ${d.name}: ${type};`);
    }
  }
}

/** Renders the uniform struct `Uniforms` (all fields 4 bytes, so memory order = field order). */
export function renderUniformStruct(w: WgslWriter, fields: readonly UniformField[]): void {
  w.block(
    'struct Uniforms',
    () => {
      for (const f of fields) w.line(`${f.name}: ${f.type},`);
    },
    '};',
  );
}

/**
 * Packs uniform values in the layout of `renderUniformStruct` (size rounded up to 16 bytes, as
 * uniform buffer bindings require).
 */
export function packUniforms(fields: readonly UniformField[], values: KernelSizes): ArrayBuffer {
  const buf = new ArrayBuffer(Math.max(16, ceilDiv(fields.length * 4, 16) * 16));
  const view = new DataView(buf);
  fields.forEach((f, i) => {
    const v = values[f.name];
    if (v === undefined || Number.isNaN(v)) {
      throw new KernelSpecError(`uniform '${f.name}' has no value`);
    }
    if (f.type === 'u32') {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
        throw new KernelSpecError(`uniform '${f.name}' must be a u32, got ${v}`);
      }
      view.setUint32(i * 4, v, true);
    } else {
      view.setFloat32(i * 4, v, true);
    }
  });
  return buf;
}

/** The standard kernel header: a name line, then free-form description lines. */
export function renderHeader(w: WgslWriter, name: string, description: readonly string[]): void {
  w.comment(`vitc kernel: ${name}`);
  for (const d of description) w.comment(d);
  w.line();
}

/** Entry-point signature with the builtins renderers use (unused ones are harmless). */
export function entrySignature(size: Vec3, extra: readonly string[] = []): string {
  return (
    `@compute @workgroup_size(${size.join(', ')})\n` +
    `fn ${ENTRY_POINT}(@builtin(workgroup_id) wid: vec3<u32>, ` +
    `@builtin(num_workgroups) nwg: vec3<u32>, ` +
    `@builtin(local_invocation_index) lid: u32${extra.map((e) => `, ${e}`).join('')})`
  );
}

/**
 * Workgroup tree reduction over `size` (a power of two) values held one per invocation. Must be
 * called in uniform control flow; the trailing barrier lets callers reuse the scratch array.
 */
export function renderWorkgroupReduce(
  w: WgslWriter,
  fnName: string,
  scratch: string,
  size: number,
  combine: (a: string, b: string) => string,
): void {
  w.block(`fn ${fnName}(v: f32, lid: u32) -> f32`, () => {
    w.line(`${scratch}[lid] = v;`);
    w.line('workgroupBarrier();');
    w.block(`for (var s = ${u32(size / 2)}; s > 0u; s = s >> 1u)`, () => {
      w.block('if (lid < s)', () => {
        w.line(`${scratch}[lid] = ${combine(`${scratch}[lid]`, `${scratch}[lid + s]`)};`);
      });
      w.line('workgroupBarrier();');
    });
    w.line(`let r = ${scratch}[0];`);
    w.line('workgroupBarrier();');
    w.line('return r;');
  });
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** An eps for kernel names: 1e-6 → '1em6', 1.5e-5 → '1p5em5' (file-name safe, exact). */
export function epsTag(eps: number): string {
  return eps.toExponential().replace(/[.+-]/g, (c) => (c === '-' ? 'm' : c === '.' ? 'p' : ''));
}

/** A kernel without uniforms whose grid is fixed at render time (everything baked into the text). */
export function fixedSource(
  name: string,
  w: WgslWriter,
  bs: BindingSet,
  workgroup: number,
  dispatch: Vec3,
): KernelSource {
  return {
    name,
    wgsl: w.toString(),
    entry: ENTRY_POINT,
    workgroupSize: [workgroup, 1, 1],
    bindings: bs.decls,
    uniforms: [],
    dispatch: () => dispatch,
  };
}

/** Lower-case, [a-z0-9_] only, so kernel names can be file names. */
export function sanitizeName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_]+/g, '_');
}
