// Where the CLI writes. Commands never touch process.stdout/stderr directly so tests can run
// `main` in-process and read exactly what a user would see.

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is a terminal (for colour); false in tests and pipes. */
  color: boolean;
}

export function processIO(): CliIO {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    color: Boolean(process.stderr.isTTY) && !process.env.NO_COLOR,
  };
}

/** An IO that records everything, for tests and for commands that post-process output. */
export function bufferIO(): CliIO & { stdout: () => string; stderr: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    color: false,
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}
