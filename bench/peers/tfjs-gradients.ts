// tfjs-core's Node entry (dist/tf-core.node.js, CommonJS) carries no gradient functions: they
// live in its ES-module files (dist/register_all_gradients.js), which Node cannot load as they
// are — their relative imports name neither a file extension nor index.js. A resolve hook that
// retries such imports with '.js' (then '/index.js') lets Node load them (Node ≥ 20.19 detects
// ES-module syntax in .js files of a package without "type": "module"). They register into tfjs's global registries
// (globalThis._tfGlobals), so the CommonJS engine that runs the WebGPU backend sees them.
// Bundlers (the GPU kit's esbuild) resolve the extensionless imports themselves.
import { register } from 'node:module';

const HOOK = `
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    const ours = context.parentURL && context.parentURL.includes('/@tensorflow/');
    const codes = ['ERR_MODULE_NOT_FOUND', 'ERR_UNSUPPORTED_DIR_IMPORT'];
    if (e && codes.includes(e.code) && ours && specifier.startsWith('.') && !specifier.endsWith('.js')) {
      // './gradients' may name gradients.js (next to a gradients/ folder) or a folder's index.js.
      try {
        return await next(specifier + '.js', context);
      } catch {
        return next(specifier + '/index.js', context);
      }
    }
    throw e;
  }
}`;

let done: Promise<void> | undefined;

export function registerTfjsGradients(): Promise<void> {
  done ??= (async () => {
    register(`data:text/javascript,${encodeURIComponent(HOOK)}`);
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  })();
  return done;
}
