// Number formatting for human-readable CLI output.

/** 86567656 → "86,567,656" (fixed to en-US so output does not depend on the machine's locale). */
export function thousands(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** 17563828224 → "17.564 G"; picks G, M or k so the number has a few significant digits. */
export function si(n: number, digits = 3): string {
  const abs = Math.abs(n);
  if (abs >= 1e12) return `${(n / 1e12).toFixed(digits)} T`;
  if (abs >= 1e9) return `${(n / 1e9).toFixed(digits)} G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(digits)} M`;
  if (abs >= 1e3) return `${(n / 1e3).toFixed(digits)} k`;
  return `${n}`;
}

/** Bytes with binary units: 139810816 → "133.3 MiB". */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** Share of a total as a percentage with one decimal. */
export function percent(part: number, total: number): string {
  return total === 0 ? '0.0%' : `${((100 * part) / total).toFixed(1)}%`;
}

/** Numbers as a .vit file would write them: 1e-6 stays 1e-6, 0.02 stays 0.02. */
export function num(n: number): string {
  if (n !== 0 && Math.abs(n) < 1e-3) {
    const [m, e] = n.toExponential().split('e');
    return `${m}e${Number(e)}`;
  }
  return String(n);
}

/** Rows of [label, value] aligned into two columns, each line indented. */
export function table(rows: readonly (readonly [string, string])[], indent = '  '): string {
  const width = Math.max(0, ...rows.map(([l]) => l.length));
  return rows.map(([l, v]) => `${indent}${l.padEnd(width)}  ${v}`.trimEnd()).join('\n');
}
