// The Interpolate panel: end points A and B (from the drawing or clicks on the map) and the strip of decodings
// along the line between them.
import { $, putImage, zText } from "./dom.js";
import { drawOverlay } from "./map.js";
import { decodeMany, latest } from "./ort.js";
import { setEnd, setStrip, state } from "./state.js";

const MIN_STEPS = 2,
  MAX_STEPS = 24;

/**
 * Decode the codes on the line from A to B ("steps" of them, 2 to 24) into the strip; nothing until both end
 * points are set (latest request wins).
 * @type {() => void}
 */
export const interpolate = latest(async () => {
  const { A, B } = state;
  if (!A || !B) return;
  const n = Math.max(MIN_STEPS, Math.min(MAX_STEPS, Math.round(Number($("steps").value) || 10)));
  const zs = [];
  for (let i = 0; i < n; i++) {
    const t = i / (n - 1);
    zs.push(Float32Array.from(A.z, (a, d) => a + t * (B.z[d] - a)));
  }
  const imgs = await decodeMany(zs);
  const strip = $("strip"),
    [, H, W] = state.shape;
  strip.width = n * W;
  strip.height = H;
  strip.style.width = `${2 * n * W}px`;
  strip.style.height = `${2 * H}px`;
  imgs.forEach((img, i) => putImage(strip, img, state.shape, i * W));
  setStrip(
    zs.map((z) => Array.from(z)),
    imgs,
  );
  $("interp-code").textContent =
    `${n} images along the line from A (${A.from}) to B (${B.from})\nA: ${zText(A.z)}\nB: ${zText(B.z)}`;
});

/**
 * Set an end point (the next one in turn, A then B, unless named), mark it and interpolate.
 * @param {{z: Float32Array, from: "map"|"drawing"}} point code (length D) and where it came from
 * @param {"A"|"B"} [end] which end point
 */
export function setEndpoint(point, end) {
  setEnd(point, end);
  drawOverlay();
  interpolate();
}

/**
 * Wire the "A ← drawing", "B ← drawing" buttons and the steps field.
 */
export function setupInterpolation() {
  $("a-draw").addEventListener("click", () => setEndpoint({ z: Float32Array.from(state.mu), from: "drawing" }, "A"));
  $("b-draw").addEventListener("click", () => setEndpoint({ z: Float32Array.from(state.mu), from: "drawing" }, "B"));
  $("steps").addEventListener("change", () => interpolate());
}
