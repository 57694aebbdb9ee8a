// Printing diagnostics the same way for every command: file:line:col, the source line, a caret.
import { type Diagnostic, formatDiagnostics, hasErrors, VitcError } from '../diagnostics.js';
import type { CliIO } from './io.js';

/** Print the diagnostics to stderr with their source lines; returns whether any is an error. */
export function printDiagnostics(
  io: CliIO,
  diagnostics: readonly Diagnostic[],
  sources: ReadonlyMap<string, string>,
): boolean {
  if (diagnostics.length > 0) {
    io.err(formatDiagnostics(diagnostics, sources, { summary: true }) + '\n');
  }
  return hasErrors(diagnostics);
}

/**
 * Run a front-end call that normally reports problems as diagnostics but may also throw a
 * VitcError (a user error, printed like any diagnostic). Anything else is a vitc bug and propagates.
 */
export function catchVitc<T>(io: CliIO, f: () => T): { value?: T; failed: boolean } {
  try {
    return { value: f(), failed: false };
  } catch (e) {
    if (e instanceof VitcError) {
      printDiagnostics(io, e.diagnostics, new Map());
      return { failed: true };
    }
    throw e;
  }
}
