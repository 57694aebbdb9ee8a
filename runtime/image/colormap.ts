/**
 * Colormaps for heatmaps (attention maps, position-embedding similarity): matplotlib's viridis
 * and inferno as the 256 8-bit entries matplotlib itself uses, so a vitc figure and a matplotlib
 * figure of the same array have the same colours. Tables live in colormap-data.ts (generated).
 */
import { INFERNO_HEX, VIRIDIS_HEX } from './colormap-data.js';

export type ColormapName = 'viridis' | 'inferno' | 'gray';
export type RGB = readonly [number, number, number];

const tables = new Map<ColormapName, Uint8Array>();

/** The 256 × RGB table of a colormap (768 bytes). */
export function colormapTable(name: ColormapName): Uint8Array {
  let t = tables.get(name);
  if (!t) {
    t = new Uint8Array(768);
    if (name === 'gray') for (let i = 0; i < 768; i++) t[i] = Math.floor(i / 3);
    else {
      const hex = name === 'viridis' ? VIRIDIS_HEX : INFERNO_HEX;
      for (let i = 0; i < 768; i++) t[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    }
    tables.set(name, t);
  }
  return t;
}

/**
 * Table index of t in [0, 1] as matplotlib computes it: floor(t · 256), 1.0 → 255, values outside
 * clamp to the ends (matplotlib's default under/over colours), NaN → -1 (no colour).
 */
export function colormapIndex(t: number): number {
  if (Number.isNaN(t)) return -1;
  return Math.min(255, Math.max(0, Math.floor(t * 256)));
}

/** The colour of t in [0, 1]; NaN gives black (matplotlib's 'bad' colour is transparent). */
export function mapColor(t: number, name: ColormapName = 'viridis'): RGB {
  const i = colormapIndex(t);
  if (i < 0) return [0, 0, 0];
  const tab = colormapTable(name);
  return [tab[i * 3]!, tab[i * 3 + 1]!, tab[i * 3 + 2]!];
}
