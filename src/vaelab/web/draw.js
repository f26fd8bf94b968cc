// The Draw panel: the drawing canvas (mouse, finger or pen: pointer events; only the primary button draws), its live
// analysis while drawing (MNIST-style input -> every model's encoder -> code -> decoder -> reconstruction) and Clear.
import { analyseInput, clearAnalysis } from "./analysis.js";
import { $ } from "./dom.js";
import { latest } from "./ort.js";
import { mnistStyle } from "./preprocess.js";
import { nextDrawSeq } from "./state.js";

const STROKE = 20; // pen width, canvas px (the canvas is 280 x 280: ten times MNIST's 28 x 28)
let drawCtx = null;

/**
 * The canvas's ink: the red channel / 255 (white ink on black).
 * @returns {Float64Array} length height*width (row-major, values in [0,1])
 */
function canvasGray() {
  const c = $("draw"),
    img = drawCtx.getImageData(0, 0, c.width, c.height).data,
    g = new Float64Array(c.width * c.height);
  for (let p = 0; p < g.length; p++) g[p] = img[4 * p] / 255;
  return g;
}

/**
 * The drawing canvas's pixels (for the tests' Python reference).
 * @returns {Uint8ClampedArray} RGBA, length 280*280*4 (row-major)
 */
export function canvasRGBA() {
  return drawCtx.getImageData(0, 0, 280, 280).data;
}

const analyse = latest(async (seq) => {
  const c = $("draw"),
    input = mnistStyle(canvasGray(), c.height, c.width);
  if (!input.some((v) => v > 0)) return;
  await analyseInput(input, seq, $("input"), "drawing");
});

const changed = () => analyse(nextDrawSeq());

/**
 * Make the canvas drawable: each pointer event re-analyses the drawing; Clear empties it.
 */
export function setupDrawing() {
  const canvas = $("draw"),
    ctx = canvas.getContext("2d", { willReadFrequently: true });
  const reset = () => {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  reset();
  ctx.strokeStyle = "#fff";
  ctx.fillStyle = "#fff";
  ctx.lineWidth = STROKE;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  let last = null;
  const pos = (ev) => {
    const r = canvas.getBoundingClientRect();
    return [((ev.clientX - r.left) * canvas.width) / r.width, ((ev.clientY - r.top) * canvas.height) / r.height];
  };
  canvas.addEventListener("pointerdown", (ev) => {
    // only the primary button draws (a mouse's left button, a finger, a pen's tip); not the right or middle
    // button, a pen's eraser or a second finger
    if (ev.button !== 0 || !ev.isPrimary) return;
    ev.preventDefault();
    canvas.setPointerCapture(ev.pointerId);
    last = pos(ev);
    ctx.beginPath();
    ctx.arc(last[0], last[1], STROKE / 2, 0, 2 * Math.PI);
    ctx.fillStyle = "#fff";
    ctx.fill();
    changed();
  });
  canvas.addEventListener("pointermove", (ev) => {
    if (!last) return;
    const events = ev.getCoalescedEvents ? ev.getCoalescedEvents() : [ev];
    ctx.beginPath();
    ctx.moveTo(...last);
    for (const e of events.length ? events : [ev]) {
      last = pos(e);
      ctx.lineTo(...last);
    }
    ctx.stroke();
    changed();
  });
  const end = () => {
    if (last) {
      last = null;
      changed();
    }
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  $("clear").addEventListener("click", () => {
    reset();
    clearAnalysis($("input"), "draw a digit");
  });
  drawCtx = ctx;
}

/**
 * Turn drawing off (the models do not take grey 28x28 images): the Draw panel gives way to the Image panel
 * (pick.js), whose tab the Draw tab becomes.
 * @param {number[]} shape the models' image shape [C, H, W]
 */
export function disableDrawing(shape) {
  $("draw-panel").classList.add("hidden");
  $("draw-panel").dataset.off = `drawing needs models of 1x28x28 images; these take ${shape.join("x")}`;
  $("image-panel").classList.remove("hidden");
  document.querySelector('#tabs [data-tab="draw"]').textContent = "Image";
  $("a-draw").textContent = "A ← image";
  $("b-draw").textContent = "B ← image";
  $("interp-code").textContent =
    "choose A and B: two images (pick or drop one, A ← image, then another, B ← image) or two clicks on a map";
}
