// The preprocessing of an image file, step for step and in the same integer arithmetic as the Python that made the
// run's images (vaelab.data.images.prepare with Pillow's C code): EXIF orientation, 16-bit grey to 8 bits, alpha
// composited over white (Pillow's alpha_composite), grey or RGB (Pillow's L = (19595 R + 38470 G + 7471 B + 2^15)
// >> 16), the centre crop, and Pillow's antialiased bilinear resize (coefficients normalised to 22-bit fixed point,
// rows first, then columns, each pass rounded to 8 bits). tests/test_explorer_browser.py compares it with Python.

const PRECISION_BITS = 22; // Pillow's Resample.c: 32 - 8 - 2

/** Python's round() of a number that is a multiple of 1/2: halves go to the even neighbour. */
function roundHalfEven(v) {
  const f = Math.floor(v);
  if (v - f !== 0.5) return Math.round(v);
  return f % 2 === 0 ? f : f + 1;
}

/** The EXIF orientation (1..8) of an eXIf chunk's TIFF bytes, 1 when absent or unreadable. */
export function exifOrientation(exif) {
  if (!exif || exif.length < 8) return 1;
  const v = new DataView(exif.buffer, exif.byteOffset, exif.byteLength),
    le = exif[0] === 0x49;
  try {
    const ifd = v.getUint32(4, le),
      n = v.getUint16(ifd, le);
    for (let k = 0; k < n; k++) {
      const e = ifd + 2 + 12 * k;
      if (v.getUint16(e, le) === 0x0112) return v.getUint16(e + 8, le);
    }
  } catch {
    return 1; // a truncated EXIF block: no orientation, as Pillow
  }
  return 1;
}

// Source (x, y) of output pixel (x', y') for each orientation, and whether width and height swap (Pillow's
// ImageOps.exif_transpose: 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE, 6 ROTATE_270,
// 7 TRANSVERSE, 8 ROTATE_90).
const ORIENT = {
  2: [false, (x, y, W) => [W - 1 - x, y]],
  3: [false, (x, y, W, H) => [W - 1 - x, H - 1 - y]],
  4: [false, (x, y, W, H) => [x, H - 1 - y]],
  5: [true, (x, y) => [y, x]],
  6: [true, (x, y, W, H) => [y, H - 1 - x]],
  7: [true, (x, y, W, H) => [W - 1 - y, H - 1 - x]],
  8: [true, (x, y, W) => [W - 1 - y, x]],
};

function transpose(img, orientation) {
  if (!ORIENT[orientation]) return img;
  const [swap, src] = ORIENT[orientation],
    { width: W, height: H, data } = img,
    nc = data.length / (W * H);
  const w = swap ? H : W,
    h = swap ? W : H,
    out = new data.constructor(data.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [sx, sy] = src(x, y, W, H);
      for (let c = 0; c < nc; c++) out[(y * w + x) * nc + c] = data[(sy * W + sx) * nc + c];
    }
  return { ...img, width: w, height: h, data: out };
}

/** One colour sample composited over opaque white with alpha a: Pillow's ImagingAlphaComposite (7-bit precision). */
function overWhite(c, a) {
  if (a === 0) return 255;
  const outa255 = a * 255 + 255 * (255 - a),
    coef1 = Math.floor((a * 255 * 255 * 128) / outa255),
    coef2 = 255 * 128 - coef1,
    t = c * coef1 + 255 * coef2 + (0x80 << 7);
  return (((t >> 8) + t) >> 8) >> 7;
}

/** The image as 8-bit "L" or "RGB" samples (channels 1 or 3): 16-bit grey scaled, alpha composited, converted. */
function toChannels(img, channels) {
  const { width: W, height: H, mode, data } = img,
    n = W * H,
    out = new Uint8Array(n * channels);
  const nc = { "I;16": 1, L: 1, LA: 2, RGB: 3, RGBA: 4 }[mode];
  if (!nc) throw new Error(`image mode ${mode}: not supported`);
  for (let p = 0; p < n; p++) {
    let r, g, b;
    if (mode === "I;16") r = g = b = Math.min(255, Math.round(data[p] / 257));
    else if (nc <= 2) r = g = b = data[p * nc];
    else [r, g, b] = [data[p * nc], data[p * nc + 1], data[p * nc + 2]];
    if (nc === 2 || nc === 4) {
      const a = data[p * nc + nc - 1];
      [r, g, b] = [overWhite(r, a), overWhite(g, a), overWhite(b, a)];
    }
    if (channels === 3) out.set([r, g, b], 3 * p);
    else out[p] = nc <= 2 ? r : (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
  }
  return { width: W, height: H, channels, data: out };
}

function centreCrop(img, crop) {
  const [ch, cw] = crop,
    { width: W, height: H, channels: C, data } = img;
  if (ch > H || cw > W) throw new Error(`${W}x${H} image smaller than the ${cw}x${ch} centre crop`);
  const top = roundHalfEven((H - ch) / 2),
    left = roundHalfEven((W - cw) / 2),
    out = new Uint8Array(ch * cw * C);
  for (let y = 0; y < ch; y++)
    out.set(data.subarray(((top + y) * W + left) * C, ((top + y) * W + left + cw) * C), y * cw * C);
  return { width: cw, height: ch, channels: C, data: out };
}

/**
 * Pillow's bilinear resampling coefficients from inSize samples to outSize (Resample.c, precompute_coeffs and
 * normalize_coeffs_8bpc): the filter widens by the scale when shrinking (antialiasing).
 * @param {number} inSize
 * @param {number} outSize
 * @returns {{xmin: number, k: number[]}[]} per output sample: first input sample and integer weights (2^22 = 1)
 */
export function resampleCoefficients(inSize, outSize) {
  const scale = inSize / outSize,
    filterscale = Math.max(scale, 1),
    support = filterscale,
    out = [];
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale,
      ss = 1 / filterscale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5)),
      xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    const w = [];
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss),
        v = t < 1 ? 1 - t : 0;
      w.push(v);
      ww += v;
    }
    out.push({ xmin, k: w.map((v) => Math.trunc(0.5 + (ww !== 0 ? v / ww : v) * (1 << PRECISION_BITS))) });
  }
  return out;
}

// One pass along an axis: n lines of `len` samples (stride between samples `step`, between lines `lineStep`).
function resamplePass(img, w, h, horizontal) {
  const { width: W, height: H, channels: C, data } = img,
    coeffs = resampleCoefficients(horizontal ? W : H, horizontal ? w : h),
    out = new Uint8Array(w * h * C);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < C; c++) {
        const { xmin, k } = coeffs[horizontal ? x : y];
        let ss = 1 << (PRECISION_BITS - 1);
        for (let j = 0; j < k.length; j++) {
          const sx = horizontal ? xmin + j : x,
            sy = horizontal ? y : xmin + j;
          ss += data[(sy * W + sx) * C + c] * k[j];
        }
        out[(y * w + x) * C + c] = Math.min(255, Math.max(0, Math.floor(ss / (1 << PRECISION_BITS))));
      }
  return { width: w, height: h, channels: C, data: out };
}

/**
 * vaelab.data.images.prepare of a decoded image: the model's input pixels.
 * @param {{width: number, height: number, mode: string, data: Uint8Array|Uint16Array, exif?: ?Uint8Array,
 *   orientation?: number}} img a decoded image (png.js, or a canvas's pixels as "RGB" / "RGBA")
 * @param {number[]} size [H, W] of the model's images
 * @param {number} channels 1 (grey) or 3 (RGB)
 * @param {?number[]} crop [h, w] of a centre crop taken first, or null
 * @returns {Uint8Array} channels x H x W samples (planar, row-major), as Python's uint8 (C, H, W)
 * @throws {Error} the image is smaller than the crop, or its mode is not supported
 */
export function prepareImage(img, size, channels, crop = null) {
  const orientation = img.orientation || exifOrientation(img.exif);
  let im = toChannels(transpose(img, orientation), channels);
  if (crop) im = centreCrop(im, crop);
  const [h, w] = size;
  if (im.width !== w) im = resamplePass(im, w, im.height, true);
  if (im.height !== h) im = resamplePass(im, w, h, false);
  const planar = new Uint8Array(channels * h * w);
  for (let p = 0; p < h * w; p++) for (let c = 0; c < channels; c++) planar[c * h * w + p] = im.data[p * channels + c];
  return planar;
}
