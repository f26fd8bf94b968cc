// PNG decoding as Pillow does it (the explorer's image files): the file's own samples, untouched by the browser's
// colour management (gAMA, iCCP and sRGB chunks are ignored, as Pillow ignores them) and never premultiplied by a
// canvas, so that prepare.js can reproduce vaelab.data.images.prepare exactly. The image comes back in the mode
// Pillow opens it in: grey of 1, 2 or 4 bits scaled to 0..255 ("L"), 16-bit grey kept ("I;16"), 16-bit colour
// samples cut to their high byte (Pillow's "RGB;16B" and "RGBA;16B" raw modes), grey with alpha ("LA"), palette
// images expanded ("RGBA" where tRNS gives alphas, else "RGB"). Interlaced (Adam7) files are de-interlaced.
// The zlib stream is inflated by the browser (DecompressionStream). Source: the PNG specification (W3C, 2003).

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
]; // x0, y0, dx, dy of the seven passes
const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }; // samples per pixel of each colour type
const MAX_PIXELS = 6000 * 6000; // as vaelab.data.images.MAX_DECODE_PIXELS: refused from the header

/**
 * Whether the bytes start with the PNG signature.
 * @param {Uint8Array} bytes a file's bytes
 * @returns {boolean}
 */
export function isPNG(bytes) {
  return bytes.length > 8 && SIGNATURE.every((v, i) => bytes[i] === v);
}

function chunks(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    out = [];
  for (let p = 8; p + 12 <= bytes.length;) {
    const len = view.getUint32(p),
      type = String.fromCharCode(...bytes.subarray(p + 4, p + 8));
    if (p + 12 + len > bytes.length) throw new Error(`PNG chunk ${type}: truncated file`);
    out.push({ type, data: bytes.subarray(p + 8, p + 8 + len) });
    if (type === "IEND") break;
    p += 12 + len;
  }
  return out;
}

async function inflate(parts) {
  const stream = new Blob(parts).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function paeth(a, b, c) {
  const p = a + b - c,
    pa = Math.abs(p - a),
    pb = Math.abs(p - b),
    pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

// Undo the filters of one pass (w x h pixels) starting at raw[pos]; returns [scanlines, next pos].
function unfilter(raw, pos, w, h, bitsPerPixel) {
  const stride = Math.ceil((w * bitsPerPixel) / 8),
    bpp = Math.max(1, bitsPerPixel >> 3),
    out = new Uint8Array(stride * h);
  for (let y = 0; y < h; y++) {
    const f = raw[pos++],
      row = y * stride;
    for (let i = 0; i < stride; i++) {
      const x = raw[pos++],
        a = i >= bpp ? out[row + i - bpp] : 0,
        b = y ? out[row - stride + i] : 0,
        c = y && i >= bpp ? out[row - stride + i - bpp] : 0;
      const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : paeth(a, b, c);
      if (f > 4) throw new Error(`PNG: unknown filter type ${f}`);
      out[row + i] = (x + pred) & 255;
    }
  }
  return [out, pos, stride];
}

// Sample k of a scanline at a bit depth.
function sample(line, k, bits) {
  if (bits === 8) return line[k];
  if (bits === 16) return (line[2 * k] << 8) | line[2 * k + 1];
  const per = 8 / bits,
    byte = line[Math.floor(k / per)];
  return (byte >> (8 - bits * ((k % per) + 1))) & ((1 << bits) - 1);
}

function parseHeader(data) {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const hdr = { width: v.getUint32(0), height: v.getUint32(4), bits: data[8], type: data[9], interlace: data[12] };
  if (!(hdr.type in CHANNELS)) throw new Error(`PNG: unknown colour type ${hdr.type}`);
  if (hdr.width * hdr.height > MAX_PIXELS)
    throw new Error(`${hdr.width}x${hdr.height} pixels: more than the ${MAX_PIXELS} decoded at most; not decoded`);
  return hdr;
}

// Pillow's mode of a colour type and bit depth, and the samples per pixel of that mode.
function modeOf(hdr, trns) {
  if (hdr.type === 0) return hdr.bits === 16 ? ["I;16", 1] : ["L", 1];
  if (hdr.type === 2) return ["RGB", 3];
  if (hdr.type === 3) return trns ? ["RGBA", 4] : ["RGB", 3];
  return hdr.type === 4 ? ["LA", 2] : ["RGBA", 4];
}

/**
 * Decode a PNG file into Pillow's mode and samples.
 * @param {Uint8Array} bytes the file
 * @returns {Promise<{width: number, height: number, mode: string, data: Uint8Array|Uint16Array, exif: ?Uint8Array}>}
 *   data: height x width x (1, 2, 3 or 4) samples, row-major ("I;16": Uint16Array); exif: the eXIf chunk or null
 * @throws {Error} not a PNG, a truncated or corrupt file, or more than 36 megapixels
 */
export async function decodePNG(bytes) {
  if (!isPNG(bytes)) throw new Error("not a PNG file");
  const all = chunks(bytes),
    find = (t) => all.find((c) => c.type === t);
  if (!find("IHDR")) throw new Error("PNG: no IHDR chunk");
  const hdr = parseHeader(find("IHDR").data),
    plte = find("PLTE"),
    trns = find("tRNS"),
    exif = find("eXIf");
  const raw = await inflate(all.filter((c) => c.type === "IDAT").map((c) => c.data));
  const [mode, nc] = modeOf(hdr, hdr.type === 3 && trns),
    { width: W, height: H, bits } = hdr,
    spp = CHANNELS[hdr.type];
  const data = mode === "I;16" ? new Uint16Array(W * H) : new Uint8Array(W * H * nc);
  const passes = hdr.interlace ? ADAM7 : [[0, 0, 1, 1]];
  let pos = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const w = Math.ceil((W - x0) / dx),
      h = Math.ceil((H - y0) / dy);
    if (w <= 0 || h <= 0) continue;
    const [lines, next, stride] = unfilter(raw, pos, w, h, spp * bits);
    pos = next;
    for (let y = 0; y < h; y++) {
      const line = lines.subarray(y * stride, (y + 1) * stride);
      for (let x = 0; x < w; x++) putPixel(data, ((y0 + y * dy) * W + x0 + x * dx) * nc, line, x, hdr, spp, plte, trns);
    }
  }
  return { width: W, height: H, mode, data, exif: exif ? exif.data : null };
}

function putPixel(data, o, line, x, hdr, spp, plte, trns) {
  const { bits, type } = hdr;
  if (type === 3) {
    const k = sample(line, x, bits),
      rgb = plte.data;
    data[o] = rgb[3 * k];
    data[o + 1] = rgb[3 * k + 1];
    data[o + 2] = rgb[3 * k + 2];
    if (trns) data[o + 3] = k < trns.data.length ? trns.data[k] : 255;
    return;
  }
  for (let c = 0; c < spp; c++) {
    const v = sample(line, x * spp + c, bits);
    if (type === 0 && bits === 16) data[o] = v;
    else if (bits === 16) data[o + c] = v >> 8;
    else data[o + c] = bits === 8 ? v : Math.round((v * 255) / ((1 << bits) - 1));
  }
}
