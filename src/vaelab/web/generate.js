// Decoding at the pointer: a code chosen on one model's map (or with its sliders) is decoded by that model and,
// when the code is 2-D, by every other model with a 2-D code from the same z, so that the models can be compared
// point by point (where an autoencoder decodes garbage, a VAE still decodes a digit).
import { $m, codeText, putImage, shortName } from "./dom.js";
import { drawOverlay } from "./map.js";
import { decodeMany, latest } from "./ort.js";
import { setSliders } from "./sliders.js";
import { setGenerated, state } from "./state.js";

const SOURCE_TEXT = {
  map: "at the pointer\n",
  sliders: "from the sliders\n",
  attributes: "from the attribute sliders\n",
};

/**
 * The models that decode a code chosen on model i's map: i itself and, if its code is 2-D, every other model
 * with a 2-D code.
 * @param {number} i model index
 * @returns {number[]} model indices, i first
 */
export function targetsOf(i) {
  if (state.models[i].D !== 2) return [i];
  return [i, ...state.models.filter((m) => m.D === 2 && m.index !== i).map((m) => m.index)];
}

function show(j, z, img, text) {
  const m = state.models[j];
  putImage($m(j, "gen"), img, m.shape);
  putImage($m(j, "ptr"), img, m.shape);
  $m(j, "gen-code").textContent = text + codeText(z, null);
}

/**
 * Decode a code in model i (and, for a 2-D code, in every 2-D model) and show it under "at the pointer" (latest
 * request wins). The sliders follow the code; map decodings are timed into window.vaelab.stats.decodeMs.
 * @type {(request: {model: number, z: Float32Array, source: "map"|"sliders"|"attributes"}) => void} z: code of
 *   model i
 */
export const generate = latest(async ({ model: i, z, source }) => {
  for (const j of targetsOf(i)) {
    const [img] = await decodeMany(j, [z], source === "map");
    const zj = Float32Array.from(z);
    setGenerated(j, zj, { image: img, source, from: i });
    const text =
      j === i
        ? SOURCE_TEXT[source]
        : `same z as on ${shortName(state.models[i].meta)}'s ${source === "map" ? "map" : "sliders"}\n`;
    show(j, zj, img, text);
    if (j !== i || source !== "sliders") setSliders(j, zj);
    drawOverlay(j);
  }
});

/**
 * Show every model's decoding of its sliders' code (z = 0 at the start).
 * @returns {Promise<void>}
 */
export async function showStart() {
  for (const m of state.models) {
    const [img0] = await decodeMany(m.index, [m.sliderZ]);
    show(m.index, m.sliderZ, img0, "move over the map or the sliders\n");
    setGenerated(m.index, Float32Array.from(m.sliderZ));
    drawOverlay(m.index);
  }
}
