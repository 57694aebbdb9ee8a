// Errors a user can cause at run time (weights, images, data, devices, compiled plans) are printed
// as one `vitc: error VITCnnnn: …` block and exit 1; anything else is a vitc bug and propagates.
import { VitcError } from '../diagnostics.js';
import type { CliIO } from './io.js';
import { printDiagnostics } from './report.js';

const USER_ERRORS = new Set([
  'WeightsError',
  'ImageError',
  'DataError',
  'DeviceError',
  'PlanSchemaError',
  'WgslCompileError',
  'CodegenError',
  'GpuScopeError',
]);

export function isUserError(e: unknown): e is Error & { code?: string } {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  return (
    USER_ERRORS.has(e.name) ||
    (typeof code === 'string' && /^VITC\d{4}$/.test(code)) ||
    (typeof code === 'string' && code.startsWith('ENOENT'))
  );
}

export function reportUserError(io: CliIO, e: unknown): number {
  if (e instanceof VitcError) {
    printDiagnostics(io, e.diagnostics, new Map());
    return 1;
  }
  if (isUserError(e)) {
    const code = typeof e.code === 'string' && e.code.startsWith('VITC') ? e.code : '';
    // Some errors already carry "error VITCnnnn" in their message (with the file name first).
    if (code && e.message.includes(`error ${code}`)) io.err(`vitc: ${e.message}\n`);
    else io.err(`vitc: error${code ? ' ' + code : ''}: ${e.message}\n`);
    return 1;
  }
  throw e;
}
