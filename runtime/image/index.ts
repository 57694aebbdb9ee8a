// Image input and output for the runtime: decode PNG/JPEG, preprocess as timm's eval transform,
// write PNGs and draw simple figures. See docs/IMAGES.md.
export { ImageError, IMAGE_ERRORS, checkRaster } from './errors.js';
export type { ImageErrorKind, RasterImage } from './errors.js';
export { decodeImage, readImage, sniffFormat } from './decode.js';
export type { DecodeOptions, DecodedImage, ImageFormat } from './decode.js';
export { resizeImage, resampleCoefficients, nearestIndices } from './resize.js';
export type { Interpolation } from './resize.js';
export {
  centerCrop,
  centerCropOffsets,
  convertChannels,
  preprocessBatch,
  preprocessImage,
  resizeTarget,
  roundHalfEven,
} from './preprocess.js';
export type { PreprocessSpec } from './preprocess.js';
export { encodePng, toImage8, writePng } from './png.js';
export type { Image8 } from './png.js';
export { colormapIndex, colormapTable, mapColor } from './colormap.js';
export type { ColormapName, RGB } from './colormap.js';
export { GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, glyph, textHeight, textWidth } from './font.js';
export {
  BLACK,
  WHITE,
  blend,
  blit,
  colorize,
  createCanvas,
  drawGrid,
  drawLine,
  drawRect,
  drawText,
  fillRect,
  getPixel,
  panelGrid,
  plotSeries,
  setPixel,
  toCanvas,
  upscaleMap,
} from './draw.js';
export type { Canvas, PanelGridOptions } from './draw.js';
