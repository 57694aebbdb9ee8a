/**
 * The autotune store on disk (Node): one JSON file, by default ~/.cache/vitc/autotune.json
 * ($VITC_TUNE_CACHE overrides), mapping adapter → kernel shape → the choice and its timings.
 * It is a cache: an unreadable or foreign file is reported once and replaced, never fatal.
 * Written atomically (temp file, then rename), so concurrent runs cannot leave half a file.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import type { TuneRecord, TuneStore } from './autotune.js';
import { writeFileAtomic } from './safetensors.js';

const FORMAT = 'vitc-autotune-1';

interface FileShape {
  format: typeof FORMAT;
  adapters: Record<string, Record<string, TuneRecord>>;
}

export function defaultTuneCache(): string {
  return process.env.VITC_TUNE_CACHE || join(homedir(), '.cache', 'vitc', 'autotune.json');
}

export class FileTuneStore implements TuneStore {
  private dirty = false;

  private constructor(
    readonly path: string,
    private readonly data: FileShape,
  ) {}

  static async open(
    path = defaultTuneCache(),
    warn: (line: string) => void = (l) => void process.stderr.write(l + '\n'),
  ): Promise<FileTuneStore> {
    let data: FileShape = { format: FORMAT, adapters: {} };
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<FileShape>;
      if (parsed.format === FORMAT && parsed.adapters && typeof parsed.adapters === 'object')
        data = parsed as FileShape;
      else warn(`vitc: ${path} is not a vitc autotune cache; starting a new one`);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT')
        warn(
          `vitc: cannot read the autotune cache ${path} (${(e as Error).message}); starting a new one`,
        );
    }
    return new FileTuneStore(path, data);
  }

  get(adapter: string, key: string): TuneRecord | undefined {
    return this.data.adapters[adapter]?.[key];
  }

  set(adapter: string, key: string, record: TuneRecord): void {
    (this.data.adapters[adapter] ??= {})[key] = record;
    this.dirty = true;
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    await mkdir(dirname(this.path), { recursive: true });
    await writeFileAtomic(
      this.path,
      new TextEncoder().encode(JSON.stringify(this.data, null, 1) + '\n'),
    );
    this.dirty = false;
  }
}
