// Pictures of a model's insides: attention maps and rollout, position-embedding similarity, the
// patch grid (docs/PICTURES.md). Pure computations and drawing on canvases; no GPU, no files.
export {
  attnGeometry,
  attentionRollout,
  clsAttention,
  layerMatrix,
  queryRowOverPatches,
  rolloutMatrix,
} from './attention.js';
export type { AttnGeometry } from './attention.js';
export {
  FIGURE_MARGIN,
  autoScale,
  denormalize,
  heatmapOverlay,
  overlayFigure,
  scaleCanvas,
} from './render.js';
export type { MapPanel, OverlayOptions } from './render.js';
export { cosineSimilarity, patchPosEmbed, similarityFigure, similarityLayout } from './posembed.js';
export type { PosTable, SimilarityFigureOptions, SimilarityLayout } from './posembed.js';
export { GRID_RED, autoPatchScale, numbersFit, patchGridFigure } from './patches.js';
export type { PatchGridOptions } from './patches.js';
