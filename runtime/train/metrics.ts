/**
 * DIR/metrics.jsonl: one JSON object per line, `"kind": "step"` every N steps (the mean over
 * those steps) and `"kind": "epoch"` after each epoch's evaluation. The whole file is rewritten
 * atomically on every append (it is small: a few records per epoch), so a kill never leaves a
 * half line; on resume the records after the checkpoint's step are dropped, so the file reads as
 * if the run had never been interrupted.
 */
import { readFile } from 'node:fs/promises';
import { type WindowSums, writeAtomic } from './checkpoint.js';

export interface MetricsRecord {
  kind: 'step' | 'epoch';
  /** 0-based epoch the record belongs to. */
  epoch: number;
  /** Optimizer steps done when the record was written. */
  step: number;
  lr: number;
  /** Mean training loss (smoothed cross-entropy) over the steps the record covers. */
  loss: number;
  /** Training-batch accuracy over the same steps (dropout and augmentation active). */
  train_acc: number;
  /** Epoch records: test-split accuracy and mean cross-entropy. */
  test_acc?: number;
  test_loss?: number;
  /** Epoch records of a run with a held-out validation part (`--val`): its accuracy and loss. */
  val_acc?: number;
  val_loss?: number;
  images_per_s: number;
  /** Seconds of training since the run started (across resumes). */
  elapsed: number;
}

export class MetricsLog {
  private constructor(
    readonly path: string,
    readonly records: MetricsRecord[],
  ) {}

  /** A new log (an existing file is replaced at the first append). */
  static fresh(path: string): MetricsLog {
    return new MetricsLog(path, []);
  }

  /**
   * The records of an earlier run (read from `from`) up to `step`, continued at `path`; a missing
   * or unreadable file starts empty.
   */
  static async resume(path: string, from: string, step: number): Promise<MetricsLog> {
    let text = '';
    try {
      text = await readFile(from, 'utf8');
    } catch {
      return new MetricsLog(path, []);
    }
    const records: MetricsRecord[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const r = JSON.parse(line) as MetricsRecord;
        if (typeof r.step === 'number' && r.step <= step) records.push(r);
      } catch {
        // A line that is not JSON was not written by vitc; it is dropped, not fatal.
      }
    }
    return new MetricsLog(path, records);
  }

  async append(r: MetricsRecord): Promise<void> {
    this.records.push(r);
    const text = this.records.map((x) => JSON.stringify(x)).join('\n') + '\n';
    await writeAtomic(this.path, new TextEncoder().encode(text));
  }
}

/** Running sums between two records. */
export class Window {
  loss = 0;
  correct = 0;
  samples = 0;
  steps = 0;

  add(loss: number, correct: number, size: number): void {
    this.loss += loss;
    this.correct += correct;
    this.samples += size;
    this.steps += 1;
  }

  get meanLoss(): number {
    return this.steps ? this.loss / this.steps : NaN;
  }

  get accuracy(): number {
    return this.samples ? this.correct / this.samples : NaN;
  }

  reset(): void {
    this.loss = this.correct = this.samples = this.steps = 0;
  }

  sums(): WindowSums {
    return { loss: this.loss, correct: this.correct, samples: this.samples, steps: this.steps };
  }

  restore(s: WindowSums | undefined): void {
    if (!s) return;
    ({ loss: this.loss, correct: this.correct, samples: this.samples, steps: this.steps } = s);
  }
}
