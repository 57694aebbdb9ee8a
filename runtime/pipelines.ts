/**
 * Compute pipelines cached by WGSL text. Identical kernel text (renderers are deterministic) maps
 * to one GPUComputePipeline, so a plan that uses the same kernel at many steps compiles it once;
 * concurrent requests for the same text share one compilation.
 *
 * WGSL errors become a WgslCompileError whose message reads like a compiler's:
 *
 *   matmul_tb.wgsl:12:7: error: unresolved value 'acc9'
 *     let x = acc9 + 1.0;
 *             ^~~~
 *
 * When a kernel lists its bindings (KernelSource.bindings), the pipeline gets an explicit bind
 * group layout built from them, so a binding the shader happens not to use is still accepted.
 */

/** The subset of a KernelSource the cache needs (kept structural so runtime/ does not import the compiler). */
export interface PipelineKernel {
  name: string;
  wgsl: string;
  entry: string;
  bindings?: readonly { binding: number; kind: 'read' | 'read_write' | 'uniform' }[];
}

export interface CompileMessage {
  type: GPUCompilationMessageType;
  line: number;
  col: number;
  length: number;
  message: string;
}

export class WgslCompileError extends Error {
  override name = 'WgslCompileError';
  constructor(
    readonly kernel: string,
    readonly messages: readonly CompileMessage[],
    formatted: string,
  ) {
    super(formatted);
  }
}

/** Pipeline creation failed after the WGSL itself compiled (e.g. a layout/limit mismatch). */
export class PipelineCreationError extends Error {
  override name = 'PipelineCreationError';
  constructor(
    readonly kernel: string,
    reason: string,
  ) {
    super(`${kernel}.wgsl: pipeline creation failed: ${reason}`);
  }
}

export interface PipelineCacheOptions {
  /** Receives formatted compiler warnings/info (default: ignored). */
  onWarning?: (formatted: string) => void;
}

/** `file:line:col: type: message`, the source line, and a caret under the offending span. */
export function formatCompileMessage(kernel: string, source: string, m: CompileMessage): string {
  const head = `${kernel}.wgsl:${m.line}:${m.col}: ${m.type}: ${m.message}`;
  const lines = source.split('\n');
  const text = m.line >= 1 && m.line <= lines.length ? lines[m.line - 1] : undefined;
  if (text === undefined) return head;
  const col = Math.max(1, Math.min(m.col, text.length + 1));
  const span = Math.max(1, Math.min(m.length, text.length - col + 1));
  return `${head}\n  ${text}\n  ${' '.repeat(col - 1)}^${'~'.repeat(span - 1)}`;
}

function toMessage(m: GPUCompilationMessage): CompileMessage {
  return { type: m.type, line: m.lineNum, col: m.linePos, length: m.length, message: m.message };
}

function bufferType(kind: 'read' | 'read_write' | 'uniform'): GPUBufferBindingType {
  if (kind === 'uniform') return 'uniform';
  return kind === 'read' ? 'read-only-storage' : 'storage';
}

export class PipelineCache {
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();
  private compiled = 0;

  constructor(
    readonly device: GPUDevice,
    private readonly options: PipelineCacheOptions = {},
  ) {}

  /** Number of distinct pipelines held (or being compiled). */
  get size(): number {
    return this.pipelines.size;
  }

  /** Number of shader compilations started (cache misses) since creation. */
  get compilations(): number {
    return this.compiled;
  }

  /** The pipeline for `kernel`, compiling it on first use. */
  get(kernel: PipelineKernel): Promise<GPUComputePipeline> {
    const key = cacheKey(kernel);
    let p = this.pipelines.get(key);
    if (!p) {
      this.compiled++;
      p = this.compile(kernel);
      this.pipelines.set(key, p);
      // A failed compile is not cached: the error is the caller's to see, and a retry recompiles.
      p.catch(() => {
        if (this.pipelines.get(key) === p) this.pipelines.delete(key);
      });
    }
    return p;
  }

  clear(): void {
    this.pipelines.clear();
  }

  private async compile(kernel: PipelineKernel): Promise<GPUComputePipeline> {
    const { device } = this;
    // An invalid module also raises a device validation error; the scope keeps it from being
    // reported twice (once uncaptured, once by us with line:col).
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ code: kernel.wgsl, label: `${kernel.name}.wgsl` });
    const info = await module.getCompilationInfo();
    const scopeError = await device.popErrorScope();
    const messages = info.messages.map(toMessage);
    const errors = messages.filter((m) => m.type === 'error');
    if (errors.length > 0) {
      const text = errors.map((m) => formatCompileMessage(kernel.name, kernel.wgsl, m)).join('\n');
      throw new WgslCompileError(kernel.name, messages, text);
    }
    if (scopeError) throw new PipelineCreationError(kernel.name, scopeError.message);
    if (this.options.onWarning) {
      for (const m of messages) {
        this.options.onWarning(formatCompileMessage(kernel.name, kernel.wgsl, m));
      }
    }
    // Layout and pipeline errors (e.g. more storage buffers than the device allows) surface as
    // validation errors; capture the first, which names the cause, instead of its echoes.
    device.pushErrorScope('validation');
    let layout: GPUPipelineLayout | 'auto' = 'auto';
    if (kernel.bindings) {
      const bindGroupLayout = device.createBindGroupLayout({
        label: `${kernel.name}.layout`,
        entries: kernel.bindings.map((b) => ({
          binding: b.binding,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: bufferType(b.kind) },
        })),
      });
      layout = device.createPipelineLayout({ bindGroupLayouts: [bindGroupLayout] });
    }
    const layoutError = await device.popErrorScope();
    if (layoutError) throw new PipelineCreationError(kernel.name, layoutError.message);
    try {
      return await device.createComputePipelineAsync({
        label: kernel.name,
        layout,
        compute: { module, entryPoint: kernel.entry },
      });
    } catch (e) {
      throw new PipelineCreationError(kernel.name, (e as Error).message);
    }
  }
}

function cacheKey(k: PipelineKernel): string {
  const layout = k.bindings ? k.bindings.map((b) => `${b.binding}:${b.kind}`).join(',') : 'auto';
  return `${k.entry}\u0000${layout}\u0000${k.wgsl}`;
}
