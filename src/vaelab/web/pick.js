// The Image panel, for models of any images but MNIST's drawn digits: pick one of the run's test images (pick.bin,
// exported with the run), or choose or drop an image file, which imagefile.js decodes and prepare.js turns into the
// models' input exactly as the run's own images were made (meta.json's preprocess: size, channels, crop).
import { analyseInput, clearAnalysis } from "./analysis.js";
import { $, putImage } from "./dom.js";
import { decodeImageFile } from "./imagefile.js";
import { latest } from "./ort.js";
import { prepareImage } from "./prepare.js";
import { nextDrawSeq, state } from "./state.js";

let picks = null; // {n, shape: [C, H, W], bytes: Uint8Array (n x C x H x W)}

const analyse = latest(async ({ input, caption, what }) => {
  const canvas = $("image-input"),
    [, H, W] = state.models[0].shape;
  canvas.width = W;
  canvas.height = H;
  if (await analyseInput(input, nextDrawSeq(), canvas, "image")) {
    $("image-caption").textContent = caption;
    showWhat(what, false);
  }
});

function showWhat(text, isError) {
  $("image-what").textContent = text;
  $("image-what").classList.toggle("error", isError);
}

/**
 * The models' input made from an image file's bytes (the page's preprocessing of a chosen or dropped file).
 * @param {Uint8Array} bytes the file
 * @param {string} [type] its MIME type
 * @param {?object} [pre] {size: [H, W], channels, crop: [h, w] or null}; default model 0's meta.json preprocess
 * @returns {Promise<{pixels: Uint8Array, decoded: object}>} pixels: C x H x W uint8, as vaelab.data.images.prepare
 */
export async function prepareFile(bytes, type = "", pre = null) {
  const [C, H, W] = state.models[0].shape,
    p = pre ||
      state.models[0].meta.preprocess || {
        size: [H, W],
        channels: C,
        crop: null,
      },
    decoded = await decodeImageFile(bytes, type);
  return { pixels: prepareImage(decoded, p.size, p.channels, p.crop), decoded };
}

/**
 * Analyse an image file: prepare it, then encode it in every model. A file that cannot be read is reported in the
 * panel (not as a page error), and the image shown before it goes with its results: they are not this file's.
 * @param {File} file a chosen or dropped file
 * @returns {Promise<void>}
 */
export async function useFile(file) {
  let prepared;
  try {
    prepared = await prepareFile(new Uint8Array(await file.arrayBuffer()), file.type);
  } catch (err) {
    markPick(null);
    clearAnalysis($("image-input"), "pick or drop an image");
    $("image-caption").textContent = "model input";
    showWhat(`${file.name}: ${err.message}`, true);
    return;
  }
  const { pixels, decoded } = prepared,
    [C, H, W] = state.models[0].shape,
    crop = (state.models[0].meta.preprocess || {}).crop;
  markPick(null);
  analyse({
    input: Float32Array.from(pixels, (v) => v / 255),
    caption: file.name,
    what:
      `${file.name}: ${decoded.width}×${decoded.height} ${decoded.mode} (decoded by ${decoded.decoder})` +
      (crop ? `, centre ${crop[1]}×${crop[0]}` : "") +
      ` → ${W}×${H}, ${C === 3 ? "RGB" : "grey"}`,
  });
}

/**
 * Analyse test image k of pick.bin (its pixels / 255, as the exported test codes were encoded).
 * @param {number} k 0-based
 */
export function usePick(k) {
  const { shape } = picks,
    P = shape[0] * shape[1] * shape[2];
  markPick(k);
  analyse({
    input: Float32Array.from(picks.bytes.subarray(k * P, (k + 1) * P), (v) => v / 255),
    caption: `test image ${k}`,
    what: `test image ${k} of ${state.models[0].meta.dataset || "the run's data"}`,
  });
}

function markPick(k) {
  for (const b of $("picks").children) b.setAttribute("aria-pressed", String(Number(b.dataset.k) === k));
}

function buildPicks() {
  const box = $("picks"),
    [C, H, W] = picks.shape,
    P = C * H * W;
  box.textContent = "";
  for (let k = 0; k < picks.n; k++) {
    const b = document.createElement("button"),
      c = document.createElement("canvas");
    b.type = "button";
    b.dataset.k = String(k);
    b.title = `test image ${k}`;
    b.setAttribute("aria-pressed", "false");
    c.width = W;
    c.height = H;
    putImage(
      c,
      Float32Array.from(picks.bytes.subarray(k * P, (k + 1) * P), (v) => v / 255),
      picks.shape,
    );
    b.append(c);
    b.addEventListener("click", () => usePick(k));
    box.append(b);
  }
}

// The drop zone is highlighted while a file is dragged over it; dropped files, there or anywhere on the page, come
// through drop.js (main.js hands them to useFile).
function wireDrop() {
  const drop = $("drop");
  for (const type of ["dragenter", "dragover"]) drop.addEventListener(type, () => drop.classList.add("over"));
  for (const type of ["dragleave", "drop"]) drop.addEventListener(type, () => drop.classList.remove("over"));
  $("file").addEventListener("change", (ev) => {
    const file = ev.target.files[0];
    if (file) useFile(file);
  });
}

/**
 * Set up the Image panel from model 0's export: the test images to pick, the file input and the drop zone's
 * highlight (a file dropped on the page is passed to useFile by main.js).
 * @param {?Uint8Array} pickBytes pick.bin (n x C x H x W uint8), or null when the export has none
 */
export function setupImagePanel(pickBytes) {
  const meta = state.models[0].meta;
  if (pickBytes && meta.pick) {
    picks = {
      n: meta.pick.shape[0],
      shape: meta.pick.shape.slice(1),
      bytes: pickBytes,
    };
    buildPicks();
  }
  wireDrop();
}
