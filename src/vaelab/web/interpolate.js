// The Interpolate panel: end points A and B in one model's code space (from the drawing or from clicks on that
// model's map) and a strip of frames decoded along the line between them, each labelled A, t, B.
import { $, putImage, shortName, zText } from "./dom.js";
import { drawOverlay } from "./map.js";
import { decodeMany, latest } from "./ort.js";
import { clearStrip, setEnd, setInterpModel, setStrip, state } from "./state.js";

/** Fewest and most frames of the strip. */
export const MIN_STEPS = 2,
  MAX_STEPS = 24;
const DEFAULT_STEPS = 10;
let prompt = ""; // the caption without end points: how to choose them (set by setupInterpolation)

/**
 * The number of frames the steps field asks for, clamped to [MIN_STEPS, MAX_STEPS] (an empty or unreadable
 * field gives the default, 10).
 * @param {string} text the field's value
 * @returns {number}
 */
export function clampSteps(text) {
  const v = Math.round(Number(text));
  return Number.isFinite(v) && String(text).trim() !== "" ? Math.max(MIN_STEPS, Math.min(MAX_STEPS, v)) : DEFAULT_STEPS;
}

function frameScale(H, W) {
  return Math.max(1, Math.round(56 / Math.max(H, W))); // frames about 56 CSS px
}

/**
 * Decode the codes on the line from A to B into the strip and describe them in the caption; the steps field is set
 * to the count used. Until both end points are set, the strip is empty and the caption says how to choose them,
 * with the end point already chosen (latest request wins).
 * @type {() => void}
 */
export const interpolate = latest(async () => {
  const { A, B, model: i } = state.interp;
  const n = clampSteps($("steps").value);
  $("steps").value = String(n); // the field shows the value actually used
  if (!A || !B) {
    clearStrip();
    $("strip").textContent = "";
    const [name, p] = A ? ["A", A] : B ? ["B", B] : [];
    $("interp-code").textContent =
      prompt + (p ? `\n${name} (${p.from}): ${zText(p.z)} in ${shortName(state.models[i].meta)}` : "");
    return;
  }
  const m = state.models[i],
    zs = [],
    ts = [];
  for (let k = 0; k < n; k++) {
    const t = k / (n - 1);
    ts.push(t);
    zs.push(Float32Array.from(A.z, (a, d) => a + t * (B.z[d] - a)));
  }
  const imgs = await decodeMany(i, zs);
  const [, H, W] = m.shape,
    s = frameScale(H, W),
    strip = $("strip");
  strip.textContent = "";
  imgs.forEach((img, k) => {
    const fig = document.createElement("figure"),
      c = document.createElement("canvas"),
      cap = document.createElement("figcaption");
    fig.className = "frame";
    c.width = W;
    c.height = H;
    c.style.width = `${s * W}px`;
    c.style.height = `${s * H}px`;
    putImage(c, img, m.shape);
    cap.textContent = k === 0 ? "A" : k === n - 1 ? "B" : `t=${ts[k].toFixed(2)}`;
    fig.append(c, cap);
    strip.append(fig);
  });
  setStrip(
    i,
    zs.map((z) => Array.from(z)),
    imgs,
    ts,
  );
  $("interp-code").textContent =
    `${n} frames in ${shortName(m.meta)} along the line z(t) = A + t (B - A), t from 0 to 1, from A (${A.from}) ` +
    `to B (${B.from})\nA: ${zText(A.z)}\nB: ${zText(B.z)}`;
});

/**
 * Set an end point in model i (the next one in turn, A then B, unless named), mark it and interpolate. A point in
 * another model than the current one starts a new pair in that model.
 * @param {number} i model index
 * @param {{z: Float32Array, from: "map"|"drawing"}} point code (length D of model i) and where it came from
 * @param {"A"|"B"} [end] which end point
 */
export function setEndpoint(i, point, end) {
  const before = state.interp.model;
  setEnd(i, point, end);
  $("interp-model").value = String(i);
  drawOverlay(i);
  if (before !== i) drawOverlay(before);
  interpolate();
}

/**
 * Fill the model choice and wire the "A ← drawing", "B ← drawing" buttons and the steps field.
 */
export function setupInterpolation() {
  prompt = $("interp-code").textContent;
  const sel = $("interp-model");
  for (const m of state.models) sel.add(new Option(shortName(m.meta), String(m.index)));
  sel.addEventListener("change", () => {
    const before = state.interp.model;
    setInterpModel(Number(sel.value));
    drawOverlay(before);
    interpolate(); // no end points: the strip and the caption are emptied
  });
  const fromDrawing = (end) => {
    const i = state.interp.model;
    setEndpoint(i, { z: Float32Array.from(state.models[i].mu), from: "drawing" }, end);
  };
  $("a-draw").addEventListener("click", () => fromDrawing("A"));
  $("b-draw").addEventListener("click", () => fromDrawing("B"));
  $("steps").addEventListener("change", () => interpolate());
}
