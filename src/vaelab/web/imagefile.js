// An image file (chosen, or dropped on the page) decoded for prepare.js: PNG files by png.js (the file's own samples,
// as Pillow reads them); other formats (JPEG, GIF, WebP, BMP) by the browser, without colour conversion, with the
// EXIF orientation applied, read back from a canvas. A canvas keeps premultiplied alpha, which is exact only for
// alphas of 0 and 255 (as in GIF); PNG, where partial transparency lives, never goes through one.
import { decodePNG, isPNG } from "./png.js";

/**
 * Decode an image file's bytes.
 * @param {Uint8Array} bytes the file
 * @param {string} [type] its MIME type, if known
 * @returns {Promise<{width: number, height: number, mode: string, data: Uint8Array|Uint16Array, exif?: ?Uint8Array,
 *   orientation?: number, decoder: "png.js"|"browser"}>}
 * @throws {Error} the browser cannot decode it
 */
export async function decodeImageFile(bytes, type = "") {
  if (isPNG(bytes)) return { ...(await decodePNG(bytes)), decoder: "png.js" };
  let bitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes], { type }), {
      colorSpaceConversion: "none",
      premultiplyAlpha: "none",
      imageOrientation: "from-image",
    });
  } catch {
    throw new Error("not an image this browser can decode (PNG, JPEG, GIF, WebP or BMP expected)");
  }
  const { width, height } = bitmap,
    canvas = new OffscreenCanvas(width, height),
    ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, width, height).data;
  let opaque = true;
  for (let p = 3; p < rgba.length; p += 4) if (rgba[p] !== 255) opaque = false;
  if (!opaque) return { width, height, mode: "RGBA", data: new Uint8Array(rgba), orientation: 1, decoder: "browser" };
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) rgb.set(rgba.subarray(4 * p, 4 * p + 3), 3 * p);
  return { width, height, mode: "RGB", data: rgb, orientation: 1, decoder: "browser" };
}
