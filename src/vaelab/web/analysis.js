// The analysis of an input image (a drawing, a picked test image or an image file): every model's encoder gives the
// code (mu, sigma) and its decoder the reconstruction of mu; the page shows them and marks the code on the maps, or
// clears them all when the input goes (Clear, an image file that cannot be read).
import { resetAttributeSliders } from "./attributes.js";
import { $, $m, clearImage, codeText, putImage } from "./dom.js";
import { drawOverlay } from "./map.js";
import { decodeMany, encode } from "./ort.js";
import { clearDrawing, drawingCleared, setDrawing, setInput, state } from "./state.js";

/**
 * Encode an input in every model, decode its code, and show the results (unless Clear was pressed meanwhile).
 * @param {Float32Array} input the models' input, length C*H*W (C x H x W, row-major, values in [0,1])
 * @param {number} seq the input's sequence number (nextDrawSeq); a Clear after it drops the results
 * @param {HTMLCanvasElement} canvas where the input is shown
 * @param {string} what the input's name in the code tables ("drawing", "image")
 * @returns {Promise<boolean>} whether the results were shown
 */
export async function analyseInput(input, seq, canvas, what) {
  const results = [];
  for (const m of state.models) {
    const { mu, logvar } = await encode(m.index, input);
    const [recon] = await decodeMany(m.index, [mu]);
    results.push({ mu, logvar, recon });
  }
  if (drawingCleared(seq)) return false; // Clear was pressed while this input was being analysed
  setInput(input);
  putImage(canvas, input, state.models[0].shape);
  results.forEach((r, i) => {
    const m = state.models[i];
    setDrawing(i, r);
    resetAttributeSliders(i);
    putImage($m(i, "recon"), r.recon, m.shape);
    $m(i, "code").textContent =
      (m.probabilistic ? `posterior q(z|x) of the ${what}\n` : `code of the ${what} (deterministic encoder)\n`) +
      codeText(r.mu, r.logvar);
    drawOverlay(i);
  });
  $("a-draw").disabled = $("b-draw").disabled = false;
  return true;
}

/**
 * Forget the analysed input and clear what shows it: the input canvas, every model's reconstruction and code (the
 * code tables show a hint instead) and its mark on the maps; "A ← drawing" and "B ← drawing" are disabled. Analyses
 * still running are dropped.
 * @param {HTMLCanvasElement} canvas where the input was shown
 * @param {string} hint the code tables' text, e.g. "draw a digit"
 */
export function clearAnalysis(canvas, hint) {
  clearDrawing();
  clearImage(canvas);
  for (const m of state.models) {
    clearImage($m(m.index, "recon"));
    $m(m.index, "code").textContent = hint;
    drawOverlay(m.index);
  }
  $("a-draw").disabled = $("b-draw").disabled = true;
}
