/**
 * Acquires a WebGPU device anywhere vitc runs: a real GPU through Dawn (dawn.node) in Node, the
 * browser's navigator.gpu, or SwiftShader (a CPU Vulkan driver) on machines without a GPU.
 *
 * Lifetime: dawn.node can keep the Node event loop alive while a device exists, so a CLI or
 * script must call `destroy()` on what it acquired and then exit explicitly (`process.exit(code)`).
 * See docs/WEBGPU.md for adapter selection, environment variables and troubleshooting.
 */

/**
 * 'lavapipe' is Mesa's CPU Vulkan driver (scripts/setup.sh unpacks it into .vendor/lavapipe): about
 * twice SwiftShader's speed, and it offers shader-f16 and subgroups, which SwiftShader does not.
 */
export type AdapterChoice = 'auto' | 'hardware' | 'swiftshader' | 'lavapipe';

export interface DeviceInfo {
  vendor: string;
  architecture: string;
  description: string;
  isFallback: boolean;
  backend: 'hardware' | 'swiftshader' | 'lavapipe' | 'browser';
  /** Features granted to the device (sorted). */
  features: string[];
  /** The device's limits (after raising them to the adapter's). */
  limits: Record<string, number>;
}

export interface VitcDevice {
  device: GPUDevice;
  adapter: GPUAdapter;
  info: DeviceInfo;
  /** Destroys the device; a later device loss is then not reported. */
  destroy(): void;
}

export interface AcquireOptions {
  /** Defaults to env VITC_ADAPTER, else 'auto'. */
  adapter?: AdapterChoice;
  /** Features the caller cannot work without; acquisition fails if the adapter lacks one. */
  requiredFeatures?: GPUFeatureName[];
  /** Suppresses informational notices (errors and device loss are still logged). */
  quiet?: boolean;
  /** Where notices and uncaptured device errors go; defaults to stderr. */
  log?: (line: string) => void;
  /** dawn.node flags ('enable-dawn-features=a,b'); default: env VITC_DAWN_TOGGLES (spaced). */
  toggles?: string[];
}

export class DeviceError extends Error {
  override name = 'DeviceError';
}

/** Thrown by withErrorScope when a validation, out-of-memory or internal error scope fires. */
export class GpuScopeError extends DeviceError {
  override name = 'GpuScopeError';
  constructor(
    readonly kind: GPUErrorFilter,
    readonly gpuMessage: string,
  ) {
    super(`WebGPU ${kind} error: ${gpuMessage.trim()}`);
  }
}

const ADAPTER_CHOICES: readonly AdapterChoice[] = ['auto', 'hardware', 'swiftshader', 'lavapipe'];
const OPTIONAL_FEATURES: readonly GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];
// Raised to the adapter's maximum: the defaults (e.g. 8 storage buffers, 128 MiB bindings) are far
// below what fused kernels and ViT-sized activations need.
const RAISED_LIMITS = (
  'maxStorageBuffersPerShaderStage maxStorageBufferBindingSize maxBufferSize ' +
  'maxComputeWorkgroupStorageSize maxComputeInvocationsPerWorkgroup maxComputeWorkgroupSizeX ' +
  'maxComputeWorkgroupSizeY maxComputeWorkgroupSizeZ maxComputeWorkgroupsPerDimension ' +
  'maxBindGroups maxUniformBufferBindingSize'
).split(' ') as (keyof GPUSupportedLimits)[];
// The keys dawn.node's create() understands; anything else would be silently ignored.
const DAWN_FLAG_KEYS =
  'enable-dawn-features disable-dawn-features backend adapter validate verbose dlldir'.split(' ');
const SETUP_HINT =
  "run scripts/setup.sh (installs libvulkan1 and SwiftShader from Debian's chromium-common)";
const FALLBACK_NOTICE =
  'vitc: no GPU adapter found; using SwiftShader (CPU Vulkan) — correct but slow';

// Every GPU object returned by dawn.node's create() stays referenced for the life of the process:
// if one is garbage-collected, a later submit can segfault or abort with a futex error.
const dawnInstances: GPU[] = [];
let dawnModule: { create(flags: string[]): GPU } | undefined;
let shared: Promise<VitcDevice> | undefined;
let sharedLost = false;
const originalIcdEnv = isNode()
  ? { icd: process.env.VK_ICD_FILENAMES, driver: process.env.VK_DRIVER_FILES }
  : undefined;

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

function defaultLog(line: string): void {
  if (isNode()) process.stderr.write(line + '\n');
  else console.warn(line);
}

function parseChoice(value: string | undefined, source: string): AdapterChoice {
  const v = (value ?? 'auto').trim() || 'auto';
  if ((ADAPTER_CHOICES as readonly string[]).includes(v)) return v as AdapterChoice;
  throw new DeviceError(
    `${source}='${v}' is not a valid adapter choice; use one of: ${ADAPTER_CHOICES.join(', ')}`,
  );
}

function parseToggles(toggles: string[]): string[] {
  for (const t of toggles) {
    const key = t.split('=', 1)[0];
    if (!t.includes('=') || !DAWN_FLAG_KEYS.includes(key)) {
      throw new DeviceError(
        `invalid Dawn toggle '${t}': expected KEY=VALUE, KEY one of ${DAWN_FLAG_KEYS.join(', ')} ` +
          `(e.g. 'disable-dawn-features=disable_robustness,skip_validation')`,
      );
    }
  }
  return toggles;
}

async function loadDawn(): Promise<{ create(flags: string[]): GPU }> {
  if (dawnModule) return dawnModule;
  let mod: typeof import('webgpu');
  try {
    mod = await import('webgpu');
  } catch (e) {
    throw new DeviceError(
      `cannot load the 'webgpu' package (Dawn for Node): ${(e as Error).message}. ` +
        'Run scripts/setup.sh (it runs npm ci).',
    );
  }
  Object.assign(globalThis, mod.globals);
  dawnModule = mod;
  return mod;
}

/** The vitc package root, from this file's URL (runtime/device.ts or dist/runtime/device.js). */
async function packageRoot(): Promise<string | undefined> {
  const { fileURLToPath } = await import('node:url');
  const { dirname, join } = await import('node:path');
  const { existsSync, readFileSync } = await import('node:fs');
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if (JSON.parse(readFileSync(pkg, 'utf8')).name === 'vitc') return dir;
      } catch {
        // An unreadable package.json is not ours; keep walking up.
      }
    }
    dir = dirname(dir);
  }
  return undefined;
}

/** A CPU Vulkan driver vitc can point the loader at, and where its manifest may be. */
interface CpuDriver {
  label: string;
  /** Environment variable naming a manifest that overrides the search. */
  env: string;
  /** Manifest paths relative to the package root, then absolute ones. */
  vendored: string;
  system: string[];
  hint: string;
}

const SWIFTSHADER: CpuDriver = {
  label: 'SwiftShader',
  env: 'VITC_SWIFTSHADER_ICD',
  vendored: '.vendor/swiftshader/vk_swiftshader_icd.json',
  system: ['/usr/lib/chromium/vk_swiftshader_icd.json'],
  hint: SETUP_HINT,
};

const LAVAPIPE: CpuDriver = {
  label: 'lavapipe',
  env: 'VITC_LAVAPIPE_ICD',
  vendored: '.vendor/lavapipe/lvp_icd.json',
  // Debian 12's own lavapipe (Mesa 22.3) is too old for Dawn; a distribution with Mesa >= 24 works.
  system: [],
  hint: 'run scripts/setup.sh (unpacks Mesa 25 lavapipe into .vendor/lavapipe), or set VITC_LAVAPIPE_ICD',
};

/** The driver's ICD json to use, or a DeviceError describing what is missing. */
async function findCpuDriverIcd(driver: CpuDriver, context: string): Promise<string> {
  const { existsSync, readFileSync } = await import('node:fs');
  const { dirname, join, resolve } = await import('node:path');
  const root = await packageRoot();
  const env = process.env[driver.env];
  const candidates = [env, root && join(root, driver.vendored), ...driver.system].filter(
    (p): p is string => !!p,
  );
  if (env && !existsSync(env)) {
    throw new DeviceError(`${driver.env}=${env} does not exist; unset it or ${driver.hint}`);
  }
  const icd = candidates.find((p) => existsSync(p));
  if (!icd) {
    throw new DeviceError(
      `${context}${driver.label} not found (looked in ${candidates.join(', ')}); ${driver.hint}`,
    );
  }
  // The loader silently skips a manifest whose library is missing; say so instead.
  let lib: string | undefined;
  try {
    lib = JSON.parse(readFileSync(icd, 'utf8'))?.ICD?.library_path;
  } catch {
    // Reported below together with a missing library_path.
  }
  const libPath = lib && (lib.includes('/') ? resolve(dirname(icd), lib) : lib);
  if (!libPath || (libPath.includes('/') && !existsSync(libPath))) {
    const why = lib ? `points at a missing library (${lib})` : 'is not a valid ICD manifest';
    throw new DeviceError(`${driver.label} manifest ${icd} ${why}; ${driver.hint}`);
  }
  return resolve(icd);
}

/** Whether the Vulkan loader libvulkan.so.1 can be found where the dynamic linker looks. */
async function vulkanLoaderPresent(): Promise<boolean> {
  if (process.platform !== 'linux') return true;
  const { existsSync } = await import('node:fs');
  const triplet = `${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
  const system = ['/usr/lib64', '/lib64', '/usr/lib', '/lib', '/usr/local/lib'];
  const ld = (process.env.LD_LIBRARY_PATH ?? '').split(':');
  const dirs = [...ld, `/usr/lib/${triplet}`, `/lib/${triplet}`, ...system];
  if (dirs.some((d) => existsSync(`${d}/libvulkan.so.1`))) return true;
  const { spawnSync } = await import('node:child_process');
  const cache = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
  // The cache can outlive the file (package removed without ldconfig), so check what it names.
  const listed = [...(cache.stdout ?? '').matchAll(/libvulkan\.so\.1 .*=> (\S+)/g)];
  return listed.some((m) => existsSync(m[1]));
}

/**
 * Whether any Vulkan driver manifest exists where the loader looks. Without one, a hardware attempt
 * can only fail, and Dawn would print loader warnings ("Found no drivers!") for nothing.
 */
async function vulkanDriverManifestsExist(): Promise<boolean> {
  if (process.platform !== 'linux') return true;
  if (originalIcdEnv?.icd || originalIcdEnv?.driver || process.env.VK_ADD_DRIVER_FILES) return true;
  const { readdirSync } = await import('node:fs');
  const home = process.env.HOME ?? '';
  const configDirs = (process.env.XDG_CONFIG_DIRS || '/etc/xdg').split(':');
  const dataDirs = (process.env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':');
  const dataHome = process.env.XDG_DATA_HOME || `${home}/.local/share`;
  const roots = [...configDirs, '/etc', dataHome, ...dataDirs, '/usr/share', '/usr/local/share'];
  const dirs = roots.map((d) => `${d}/vulkan/icd.d`);
  return dirs.some((d) => {
    try {
      return readdirSync(d).some((f) => f.endsWith('.json'));
    } catch {
      return false;
    }
  });
}

function isSwiftShader(adapter: GPUAdapter): boolean {
  const i = adapter.info;
  return /swiftshader/i.test(`${i.architecture} ${i.description} ${i.device}`);
}

function isLavapipe(adapter: GPUAdapter): boolean {
  const i = adapter.info;
  return /llvmpipe|lavapipe/i.test(`${i.architecture} ${i.description} ${i.device}`);
}

function isHardware(adapter: GPUAdapter): boolean {
  return !isSwiftShader(adapter) && !isLavapipe(adapter) && !adapter.info.isFallbackAdapter;
}

function cpuBackend(adapter: GPUAdapter): DeviceInfo['backend'] {
  return isSwiftShader(adapter) ? 'swiftshader' : isLavapipe(adapter) ? 'lavapipe' : 'hardware';
}

/** One Dawn instance, the loader pointed at `icd` (or at the user's own setting if undefined). */
async function requestDawnAdapter(
  toggles: string[],
  icd: string | undefined,
): Promise<GPUAdapter | null> {
  const dawn = await loadDawn();
  // The Vulkan loader reads these when Dawn enumerates adapters, so set them before requestAdapter.
  setEnv('VK_ICD_FILENAMES', icd ?? originalIcdEnv?.icd);
  setEnv('VK_DRIVER_FILES', icd ?? originalIcdEnv?.driver);
  const gpu = dawn.create(toggles);
  dawnInstances.push(gpu);
  try {
    return await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    throw new DeviceError(`Dawn rejected the adapter request: ${(e as Error).message}`);
  }
}

function setEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

async function noAdapterError(what: string, hint = SETUP_HINT): Promise<DeviceError> {
  if (!(await vulkanLoaderPresent())) {
    return new DeviceError(`${what}: the Vulkan loader libvulkan.so.1 is missing; ${SETUP_HINT}`);
  }
  return new DeviceError(`${what}; ${hint}, or see docs/WEBGPU.md (troubleshooting)`);
}

async function pickNodeAdapter(
  choice: AdapterChoice,
  toggles: string[],
  notice: (line: string) => void,
): Promise<{ adapter: GPUAdapter; backend: DeviceInfo['backend'] }> {
  if (choice === 'lavapipe') {
    const icd = await findCpuDriverIcd(LAVAPIPE, '');
    const a = await requestDawnAdapter(toggles, icd);
    if (!a) throw await noAdapterError(`lavapipe (${icd}) gave no adapter`, LAVAPIPE.hint);
    return { adapter: a, backend: cpuBackend(a) };
  }
  let cpuAdapter: GPUAdapter | null = null;
  if (choice !== 'swiftshader' && (choice === 'hardware' || (await vulkanDriverManifestsExist()))) {
    const a = await requestDawnAdapter(toggles, undefined);
    if (a && isHardware(a)) return { adapter: a, backend: 'hardware' };
    if (a && isSwiftShader(a) && choice === 'auto') {
      notice(FALLBACK_NOTICE); // the user's own loader settings already lead to SwiftShader
      return { adapter: a, backend: 'swiftshader' };
    }
    if (a && isLavapipe(a) && originalIcdEnv?.icd && choice === 'auto') {
      return { adapter: a, backend: 'lavapipe' }; // the user pointed the loader at lavapipe
    }
    if (choice === 'hardware') {
      const seen = a ? `only '${a.info.description}' (a CPU adapter)` : 'no adapter';
      throw await noAdapterError(
        `adapter 'hardware' was requested but Dawn found ${seen}`,
        "install your GPU's Vulkan driver, or use VITC_ADAPTER=auto to fall back to SwiftShader",
      );
    }
    cpuAdapter = a;
  }
  let icd: string;
  try {
    icd = await findCpuDriverIcd(SWIFTSHADER, choice === 'auto' ? 'no GPU adapter found and ' : '');
  } catch (e) {
    // A CPU adapter that is not SwiftShader (e.g. a recent lavapipe) still beats failing.
    if (cpuAdapter) return { adapter: cpuAdapter, backend: cpuBackend(cpuAdapter) };
    if (!(await vulkanLoaderPresent())) throw await noAdapterError('no GPU adapter found');
    throw e;
  }
  const a = await requestDawnAdapter(toggles, icd);
  if (!a) throw await noAdapterError(`SwiftShader (${icd}) gave no adapter`);
  if (choice === 'auto') notice(FALLBACK_NOTICE);
  return { adapter: a, backend: cpuBackend(a) };
}

/** Acquires an adapter and a device with raised limits and the useful optional features. */
export async function acquireDevice(opts: AcquireOptions = {}): Promise<VitcDevice> {
  const log = opts.log ?? defaultLog;
  const notice = opts.quiet ? () => {} : log;
  let adapter: GPUAdapter | null;
  let backend: DeviceInfo['backend'];
  if (isNode()) {
    const choice = opts.adapter
      ? parseChoice(opts.adapter, 'adapter option')
      : parseChoice(process.env.VITC_ADAPTER, 'VITC_ADAPTER');
    const toggles = parseToggles(
      opts.toggles ?? (process.env.VITC_DAWN_TOGGLES ?? '').split(/\s+/).filter(Boolean),
    );
    ({ adapter, backend } = await pickNodeAdapter(choice, toggles, notice));
  } else {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!gpu) {
      throw new DeviceError('this browser does not expose WebGPU (navigator.gpu is missing)');
    }
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new DeviceError('navigator.gpu.requestAdapter() returned no adapter');
    backend = 'browser';
  }

  const missing = (opts.requiredFeatures ?? []).filter((f) => !adapter.features.has(f));
  if (missing.length > 0) {
    throw new DeviceError(
      `adapter '${adapter.info.description}' lacks required feature(s): ${missing.join(', ')}`,
    );
  }
  const features = new Set<GPUFeatureName>(opts.requiredFeatures ?? []);
  for (const f of OPTIONAL_FEATURES) if (adapter.features.has(f)) features.add(f);
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) {
    const v = adapter.limits[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures: [...features], requiredLimits });
  } catch (e) {
    throw new DeviceError(
      `requestDevice failed on '${adapter.info.description}': ${(e as Error).message}`,
    );
  }

  let destroyed = false;
  device.addEventListener('uncapturederror', (ev) => {
    log(`vitc: uncaptured WebGPU error: ${(ev as GPUUncapturedErrorEvent).error.message}`);
  });
  void device.lost.then((lost) => {
    if (!destroyed) log(`vitc: WebGPU device lost (${lost.reason}): ${lost.message}`);
  });

  const limits: Record<string, number> = {};
  for (const key in device.limits) {
    const v = (device.limits as unknown as Record<string, unknown>)[key];
    if (typeof v === 'number') limits[key] = v;
  }
  const i = adapter.info;
  const info: DeviceInfo = {
    vendor: i.vendor,
    architecture: i.architecture,
    description: i.description || i.device || `${i.vendor} ${i.architecture}`.trim(),
    isFallback: i.isFallbackAdapter ?? false,
    backend,
    features: [...device.features].sort(),
    limits,
  };
  return {
    device,
    adapter,
    info,
    destroy() {
      destroyed = true;
      device.destroy();
    },
  };
}

/**
 * One device per process, shared by tests and the CLI (selection from VITC_ADAPTER). A shared
 * device that was destroyed or lost is replaced on the next call.
 */
export async function sharedDevice(): Promise<VitcDevice> {
  if (shared && !sharedLost) return shared;
  sharedLost = false;
  const p = acquireDevice();
  shared = p;
  p.then(
    (d) =>
      void d.device.lost.then(() => {
        if (shared === p) sharedLost = true;
      }),
    () => {
      // Let a later call retry (e.g. after setup.sh was run) instead of caching the failure.
      if (shared === p) shared = undefined;
    },
  );
  return p;
}

/**
 * Runs `fn` inside validation, out-of-memory and internal error scopes and throws GpuScopeError
 * if any of them caught an error, so mistakes surface at the call that made them.
 */
export async function withErrorScope<T>(device: GPUDevice, fn: () => T | Promise<T>): Promise<T> {
  const filters: GPUErrorFilter[] = ['validation', 'out-of-memory', 'internal'];
  for (const f of filters) device.pushErrorScope(f);
  let result: T;
  try {
    result = await fn();
  } finally {
    // Pop in reverse push order even when fn threw, so the scope stack stays balanced.
    const errors: (GPUError | null)[] = [];
    for (let k = filters.length - 1; k >= 0; k--) errors[k] = await device.popErrorScope();
    const idx = errors.findIndex((e) => e !== null);
    // fn's own exception (if any) is rethrown by finally unless a GPU error explains it better.
    if (idx >= 0) throw new GpuScopeError(filters[idx], errors[idx]!.message);
  }
  return result;
}
