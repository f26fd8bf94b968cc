// The Generate panel: the decoding of a code chosen with the pointer on the map or with the sliders.
import { $, codeText, putImage } from "./dom.js";
import { drawOverlay } from "./map.js";
import { decodeMany, latest } from "./ort.js";
import { setSliders } from "./sliders.js";
import { setGenerated, state } from "./state.js";

/**
 * Decode a code and show it (latest request wins). Codes from the map move the sliders too; map decodings are
 * timed into window.vaelab.stats.decodeMs.
 * @type {(request: {z: Float32Array, source: "map"|"sliders"}) => void} z: code, length D
 */
export const generate = latest(async ({ z, source }) => {
  const [img] = await decodeMany([z], source === "map");
  setGenerated(z, { image: img, source });
  putImage($("gen"), img, state.shape);
  $("gen-code").textContent = (source === "map" ? "under the pointer\n" : "from the sliders\n") + codeText(z, null);
  if (source !== "sliders") setSliders(z);
  drawOverlay();
});

/**
 * Show the decoding of the sliders' code (z = 0 at the start).
 * @returns {Promise<void>}
 */
export async function showStart() {
  const [img0] = await decodeMany([state.sliderZ]);
  putImage($("gen"), img0, state.shape);
  setGenerated(Float32Array.from(state.sliderZ));
  $("gen-code").textContent = "move over the map or the sliders\n" + codeText(state.sliderZ, null);
  drawOverlay();
}
