// The maps' optional background: a grid of images decoded by each model at the centres of the cells of its plot
// area (the manifold plot of Kingma & Welling, rendered in the browser with the model's decoder).
import { $m, putImage } from "./dom.js";
import { unproject } from "./map.js";
import { decodeMany, latest } from "./ort.js";
import { setManifold, state } from "./state.js";

/**
 * Number of tiles per side for a plot area: about one tile per 32 CSS px, 6 to 16.
 * @param {number} side the plot area's side, CSS px
 * @returns {number}
 */
export function tilesPerSide(side) {
  return Math.max(6, Math.min(16, Math.round(side / 32)));
}

async function computeManifold(i) {
  const m = state.models[i],
    { view, shape } = m,
    [, H, W] = shape;
  const n = tilesPerSide(view.side),
    cell = (view.u1 - view.u0) / n,
    zs = [];
  for (let r = 0; r < n; r++)
    for (let c = 0; c < n; c++) zs.push(unproject(i, view.u0 + (c + 0.5) * cell, view.v1 - (r + 0.5) * cell));
  const images = await decodeMany(i, zs);
  const bg = $m(i, "bg");
  bg.width = n * W;
  bg.height = n * H;
  images.forEach((img, k) => putImage(bg, img, shape, (k % n) * W, Math.floor(k / n) * H));
  bg.classList.toggle("grey", shape[0] === 1);
  setManifold(i, {
    n,
    zs: zs.map((z) => Array.from(z)),
    images,
    view: { u0: view.u0, u1: view.u1, v0: view.v0, v1: view.v1 },
  });
  bg.classList.toggle("hidden", !state.background);
}

/**
 * Recompute (background on) or hide (off) every model's background, e.g. after a map's layout changed (latest
 * request wins). The tiles: n x n codes at the cell centres of the plot area, row-major from the top left,
 * decoded in one batch; the background canvas holds them at one canvas pixel per image pixel.
 * @type {() => void}
 */
export const refreshBackgrounds = latest(async () => {
  for (const m of state.models) {
    if (state.background) await computeManifold(m.index);
    else {
      setManifold(m.index, null);
      $m(m.index, "bg").classList.add("hidden");
    }
  }
});
