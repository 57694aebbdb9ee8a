/**
 * The training progress line on stderr: `epoch 2/15  step 300/7020 [####----]  loss 0.612
 * 14.2 img/s  ETA 1h02m`. On a terminal it is redrawn in place with \r; without one (CI, pipes,
 * log files) a plain line is printed at most every `interval` seconds, so logs stay readable.
 */

export interface ProgressState {
  epoch: number;
  epochs: number;
  step: number;
  total: number;
  loss: number;
  imagesPerSecond: number;
  /** Seconds of training still to go, NaN when unknown. */
  eta: number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m % 60).padStart(2, '0')}m`;
}

export function formatProgress(p: ProgressState, barWidth = 20): string {
  const frac = p.total > 0 ? Math.min(1, p.step / p.total) : 0;
  const filled = Math.round(frac * barWidth);
  const bar = '#'.repeat(filled) + '-'.repeat(barWidth - filled);
  const digits = String(p.total).length;
  const loss = Number.isFinite(p.loss) ? p.loss.toFixed(4) : '--';
  const ips = Number.isFinite(p.imagesPerSecond) ? p.imagesPerSecond.toFixed(1) : '--';
  return (
    `epoch ${p.epoch + 1}/${p.epochs}  step ${String(p.step).padStart(digits)}/${p.total} [${bar}]` +
    `  loss ${loss}  ${ips} img/s  ETA ${formatDuration(p.eta)}`
  );
}

export class Progress {
  private last = -Infinity;
  private drawn = false;

  constructor(
    private readonly write: (text: string) => void,
    readonly tty: boolean,
    /** Seconds between plain lines when not on a terminal. */
    readonly interval = 10,
    private readonly now: () => number = () => performance.now() / 1000,
  ) {}

  /** Shows the state; `force` prints a plain line even inside the interval. */
  update(p: ProgressState, force = false): void {
    const line = formatProgress(p);
    const t = this.now();
    if (this.tty) {
      // At most ~10 redraws a second: fast steps would otherwise flood the terminal.
      if (!force && t - this.last < 0.1) return;
      this.last = t;
      // \x1b[K clears what a longer previous line left to the right.
      this.write(`\r${line}\x1b[K`);
      this.drawn = true;
      return;
    }
    if (!force && t - this.last < this.interval) return;
    this.last = t;
    this.write(line + '\n');
  }

  /** A message on its own line (the bar, if drawn, is finished first). */
  log(line: string): void {
    this.end();
    this.write(line + '\n');
  }

  /** Ends the in-place line so later output starts on a fresh one. */
  end(): void {
    if (this.tty && this.drawn) this.write('\n');
    this.drawn = false;
  }
}
