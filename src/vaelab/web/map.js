// The latent maps, one per model: projection of codes to a plane (the two dimensions of a 2-D code; for D > 2 the
// PCA plane of the test codes or two chosen dimensions), the screen transform, axes with ticks and labels, the
// scatter of the shown codes (classes toggled from the legend), the overlay (pointer, drawn code, interpolation
// end points) and the plane controls.
import { $, $m } from "./dom.js";
import { setLayout, setProjection, state } from "./state.js";
import { niceTicks, tickLabel } from "./ticks.js";

/** seaborn's colour-blind-safe "colorblind" palette, the same as the figures (vaelab.viz.style.COLORBLIND10). */
export const PALETTE = [
  "#0173B2",
  "#DE8F05",
  "#029E73",
  "#D55E00",
  "#CC78BC",
  "#CA9161",
  "#FBAFE4",
  "#949494",
  "#ECE133",
  "#56B4E9",
];
const LEFT = 46, // CSS px around the plot area: tick labels and axis titles
  BOTTOM = 36,
  TOP = 8,
  RIGHT = 10,
  MAX_SIDE = 440, // the map's largest width, CSS px
  MIN_SIDE = 220;

/**
 * The plane coordinates of a code of model i.
 * @param {number} i model index
 * @param {ArrayLike<number>} z code, length D
 * @returns {number[]} [u, v]
 */
export function project(i, z) {
  const m = state.models[i];
  if (m.proj.mode === "pca") {
    const { mean, components } = m.meta.pca;
    let u = 0,
      v = 0;
    for (let d = 0; d < m.D; d++) {
      const c = z[d] - mean[d];
      u += c * components[0][d];
      v += c * components[1][d];
    }
    return [u, v];
  }
  return [z[m.proj.dx], z[m.proj.dy]];
}

/**
 * The code of model i at a point of its plane: in the PCA plane (other directions at the codes' mean), or the
 * sliders' code with the two shown dimensions set.
 * @param {number} i model index
 * @param {number} u
 * @param {number} v
 * @returns {Float32Array} code, length D
 */
export function unproject(i, u, v) {
  const m = state.models[i];
  if (m.proj.mode === "pca") {
    const { mean, components } = m.meta.pca;
    return Float32Array.from(mean, (c, d) => c + u * components[0][d] + v * components[1][d]);
  }
  const z = Float32Array.from(m.sliderZ);
  z[m.proj.dx] = u;
  z[m.proj.dy] = v;
  return z;
}

function layoutMap(i) {
  const m = state.models[i],
    wrap = $m(i, "map-wrap");
  const width = Math.round(Math.max(MIN_SIDE, Math.min(MAX_SIDE, wrap.parentElement.clientWidth || MAX_SIDE)));
  const side = width - LEFT - RIGHT,
    height = side + TOP + BOTTOM;
  wrap.style.width = `${width}px`;
  wrap.style.height = `${height}px`;
  const { codes, n, D } = m.shown,
    uv = new Float32Array(2 * n);
  let u0 = Infinity,
    u1 = -Infinity,
    v0 = Infinity,
    v1 = -Infinity;
  for (let k = 0; k < n; k++) {
    const [u, v] = project(i, codes.subarray(k * D, (k + 1) * D));
    uv[2 * k] = u;
    uv[2 * k + 1] = v;
    u0 = Math.min(u0, u);
    u1 = Math.max(u1, u);
    v0 = Math.min(v0, v);
    v1 = Math.max(v1, v);
  }
  if (!(u1 >= u0)) [u0, u1, v0, v1] = [-1, 1, -1, 1];
  const span = Math.max(u1 - u0, v1 - v0, 1e-6) * 1.06, // equal units on both axes, 3% margin each side
    cu = (u0 + u1) / 2,
    cv = (v0 + v1) / 2;
  const view = {
    u0: cu - span / 2,
    u1: cu + span / 2,
    v0: cv - span / 2,
    v1: cv + span / 2,
    scale: side / span,
    left: LEFT,
    top: TOP,
    side,
    width,
    height,
  };
  const target = side < 300 ? 4 : 6,
    tx = niceTicks(view.u0, view.u1, target),
    ty = niceTicks(view.v0, view.v1, target);
  setLayout(i, view, uv, { x: tx.values, y: ty.values, xDecimals: tx.decimals, yDecimals: ty.decimals });
}

/**
 * Map coordinates (CSS px from the map's top left) of a plane point of model i.
 * @param {number} i model index
 * @param {number} u
 * @param {number} v
 * @returns {number[]} [x, y]
 */
export function toScreen(i, u, v) {
  const { u0, v1, scale, left, top } = state.models[i].view;
  return [left + (u - u0) * scale, top + (v1 - v) * scale];
}

function fromScreen(i, x, y) {
  const { u0, v1, scale, left, top } = state.models[i].view;
  return [u0 + (x - left) / scale, v1 - (y - top) / scale];
}

/**
 * The code under the pointer on model i's map, or null outside its plot area.
 * @param {number} i model index
 * @param {MouseEvent} ev a pointer event over the map
 * @returns {?Float32Array} code, length D
 */
export function codeAt(i, ev) {
  const r = $m(i, "overlay").getBoundingClientRect(),
    { left, top, side } = state.models[i].view;
  const x = ev.clientX - r.left,
    y = ev.clientY - r.top;
  if (x < left - 1 || x > left + side + 1 || y < top - 1 || y > top + side + 1) return null;
  return unproject(i, ...fromScreen(i, x, y));
}

/**
 * Page coordinates of a code on model i's map.
 * @param {number} i model index
 * @param {ArrayLike<number>} z code, length D
 * @returns {number[]} [x, y], CSS px from the viewport's top left
 */
export function screenOf(i, z) {
  const r = $m(i, "overlay").getBoundingClientRect(),
    [x, y] = toScreen(i, ...project(i, z));
  return [r.left + x, r.top + y];
}

function setupCanvas(canvas, w, h) {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

function axisNames(i) {
  const m = state.models[i];
  if (m.proj.mode === "pca") {
    const r = m.meta.pca.explained_variance_ratio;
    return [`PC1 (${(100 * r[0]).toFixed(0)}% of the variance)`, `PC2 (${(100 * r[1]).toFixed(0)}%)`];
  }
  return [`z${m.proj.dx + 1}`, `z${m.proj.dy + 1}`];
}

/**
 * Lay out model i's map for its plane and shown codes; draw the axes, ticks, labels and codes, place the
 * background and redraw the overlay.
 * @param {number} i model index
 */
export function drawScatter(i) {
  layoutMap(i);
  const m = state.models[i],
    { view, uv, ticks, shown, proj, meta, D } = m;
  const { left, top, side, width, height } = view;
  const ctx = setupCanvas($m(i, "map"), width, height);
  ctx.clearRect(0, 0, width, height);
  if (!state.background) {
    ctx.fillStyle = "#fff";
    ctx.fillRect(left, top, side, side);
  }
  // grid lines and ticks
  const fmtX = ticks.xDecimals,
    fmtY = ticks.yDecimals;
  ctx.lineWidth = 1;
  ctx.strokeStyle = state.background ? "rgba(120,120,120,0.35)" : "#e6e9ee";
  ctx.beginPath();
  for (const t of ticks.x) {
    const [x] = toScreen(i, t, 0);
    ctx.moveTo(Math.round(x) + 0.5, top);
    ctx.lineTo(Math.round(x) + 0.5, top + side);
  }
  for (const t of ticks.y) {
    const [, y] = toScreen(i, 0, t);
    ctx.moveTo(left, Math.round(y) + 0.5);
    ctx.lineTo(left + side, Math.round(y) + 0.5);
  }
  ctx.stroke();
  ctx.strokeStyle = "#1d2430";
  ctx.fillStyle = "#1d2430";
  ctx.font = "11px system-ui, sans-serif";
  ctx.beginPath();
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const t of ticks.x) {
    const x = Math.round(toScreen(i, t, 0)[0]) + 0.5;
    ctx.moveTo(x, top + side);
    ctx.lineTo(x, top + side + 4);
    ctx.fillText(tickLabel(t, fmtX), x, top + side + 6);
  }
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const t of ticks.y) {
    const y = Math.round(toScreen(i, 0, t)[1]) + 0.5;
    ctx.moveTo(left - 4, y);
    ctx.lineTo(left, y);
    ctx.fillText(tickLabel(t, fmtY), left - 6, y);
  }
  ctx.stroke();
  ctx.strokeRect(left + 0.5, top + 0.5, side - 1, side - 1);
  const [xName, yName] = axisNames(i);
  ctx.font = "12px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "bottom";
  ctx.fillText(xName, left + side / 2, height - 1);
  ctx.save();
  ctx.translate(11, top + side / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = "middle";
  ctx.fillText(yName, 0, 0);
  ctx.restore();
  // the codes
  const hidden = new Set(state.hidden),
    labels = shown.labels;
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, side, side);
  ctx.clip();
  ctx.globalAlpha = state.background ? 0.45 : 0.6;
  const r = side < 300 ? 1.5 : 1.2;
  for (let k = 0; k < shown.n; k++) {
    if (labels && hidden.has(labels[k])) continue;
    const [x, y] = toScreen(i, uv[2 * k], uv[2 * k + 1]);
    ctx.fillStyle = labels ? PALETTE[labels[k] % 10] : "#4063a8";
    ctx.fillRect(x - r, y - r, 2 * r, 2 * r);
  }
  ctx.restore();
  // the background's place: the plot area
  const bg = $m(i, "bg");
  Object.assign(bg.style, { left: `${left}px`, top: `${top}px`, width: `${side}px`, height: `${side}px` });
  bg.classList.toggle("hidden", !state.background || !m.manifold);
  setupCanvas($m(i, "overlay"), width, height);
  const what =
    shown.epoch != null
      ? `epoch ${shown.epoch}: ${shown.n} test codes at the end of that epoch`
      : proj.mode === "pca"
        ? `PCA plane of the ${m.nCodes} test codes (${meta.pca.explained_variance_ratio
            .map((x) => (100 * x).toFixed(0) + "%")
            .join(" + ")} of their variance); other directions at the codes' mean`
        : `z${proj.dx + 1} (x) vs z${proj.dy + 1} (y), ${m.nCodes} test codes` +
          (D > 2 ? "; other dimensions from the sliders" : "");
  $m(i, "map-what").textContent = what;
  drawOverlay(i);
}

function ring(ctx, x, y, radius, color) {
  ctx.lineWidth = 4;
  ctx.strokeStyle = "#fff";
  ctx.beginPath();
  ctx.arc(x, y, radius, 0, 2 * Math.PI);
  ctx.stroke();
  ctx.lineWidth = 2;
  ctx.strokeStyle = color;
  ctx.stroke();
}

function label(ctx, text, x, y) {
  ctx.font = "bold 12px system-ui, sans-serif";
  ctx.textAlign = "left";
  ctx.textBaseline = "alphabetic";
  ctx.lineWidth = 3;
  ctx.strokeStyle = "#fff";
  ctx.strokeText(text, x, y);
  ctx.fillStyle = "#111";
  ctx.fillText(text, x, y);
}

/**
 * Redraw model i's overlay: the interpolation line and end points (when this model interpolates), the drawing's
 * code (a black dot in a ring; for D > 2 its projection) and the pointer (crosshair lines and a ring).
 * @param {number} i model index
 */
export function drawOverlay(i) {
  const m = state.models[i],
    { view } = m;
  if (!view) return;
  const canvas = $m(i, "overlay"),
    ctx = canvas.getContext("2d");
  const dpr = canvas.width / view.width;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, view.width, view.height);
  ctx.save();
  ctx.beginPath();
  ctx.rect(view.left, view.top, view.side, view.side);
  ctx.clip();
  const { A, B, model } = state.interp;
  if (model === i && A && B) {
    const a = toScreen(i, ...project(i, A.z)),
      b = toScreen(i, ...project(i, B.z));
    ctx.strokeStyle = "#111";
    ctx.setLineDash([5, 4]);
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(...a);
    ctx.lineTo(...b);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  if (model === i)
    for (const [end, p] of [
      ["A", A],
      ["B", B],
    ])
      if (p) {
        const [x, y] = toScreen(i, ...project(i, p.z));
        ctx.fillStyle = "#111";
        ctx.fillRect(x - 4, y - 4, 8, 8);
        label(ctx, end, x + 7, y - 6);
      }
  if (m.mu) {
    const [x, y] = toScreen(i, ...project(i, m.mu));
    ring(ctx, x, y, 7, "#000");
    ctx.fillStyle = "#000";
    ctx.beginPath();
    ctx.arc(x, y, 3, 0, 2 * Math.PI);
    ctx.fill();
    const what = $("draw-panel").classList.contains("hidden") ? "image" : "drawn";
    label(ctx, m.D > 2 ? `${what} (projection)` : what, x + 9, y + 16);
  }
  if (m.genZ) {
    const [x, y] = toScreen(i, ...project(i, m.genZ));
    const inset = 8,
      cx = Math.min(view.left + view.side - inset, Math.max(view.left + inset, x)),
      cy = Math.min(view.top + view.side - inset, Math.max(view.top + inset, y));
    if (cx !== x || cy !== y) {
      // the pointer's code lies outside this map: mark the edge in its direction
      ctx.fillStyle = "#c2185b";
      ctx.beginPath();
      ctx.arc(cx, cy, 5, 0, 2 * Math.PI);
      ctx.fill();
      label(
        ctx,
        "pointer off the map",
        Math.min(cx, view.left + view.side - 130) + 8,
        cy < view.top + 20 ? cy + 16 : cy - 6,
      );
    }
    ctx.strokeStyle = "rgba(0,0,0,0.45)";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(view.left, y);
    ctx.lineTo(view.left + view.side, y);
    ctx.moveTo(x, view.top);
    ctx.lineTo(x, view.top + view.side);
    ctx.stroke();
    ring(ctx, x, y, 9, "#c2185b");
    ctx.fillStyle = "#c2185b";
    ctx.beginPath();
    ctx.arc(x, y, 2, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.restore();
}

/**
 * Fill model i's plane controls (PCA plane or two dimensions; shown for D > 2) and redraw its map when they
 * change.
 * @param {number} i model index
 * @param {() => void} onChange called after the plane changed and the map was redrawn
 */
export function setupPlane(i, onChange) {
  const m = state.models[i],
    { D, meta } = m;
  for (const id of ["dim-x", "dim-y"]) {
    const sel = $m(i, id);
    for (let d = 0; d < D; d++) sel.add(new Option("z" + (d + 1), String(d)));
  }
  $m(i, "dim-x").value = String(m.proj.dx);
  $m(i, "dim-y").value = String(m.proj.dy);
  const show = () => {
    const dims = state.models[i].proj.mode === "dims" && D > 2;
    $m(i, "projection").parentElement.classList.toggle("hidden", !(D > 2 && meta.pca));
    $m(i, "dimx-label").classList.toggle("hidden", !dims);
    $m(i, "dimy-label").classList.toggle("hidden", !dims);
    $m(i, "plane").classList.toggle("hidden", D <= 2);
    $m(i, "note").textContent =
      D > 2
        ? "The map shows a plane through the " +
          D +
          "-D code space: the input's code (a drawing or an image) is marked by its projection onto it, and the " +
          "pointer decodes points of the plane (not the input's own code)."
        : "";
    $m(i, "note").classList.toggle("hidden", D <= 2);
  };
  $m(i, "projection").value = m.proj.mode;
  const changed = (change) => {
    setProjection(i, change);
    show();
    drawScatter(i);
    onChange();
  };
  $m(i, "projection").addEventListener("change", (e) => changed({ mode: e.target.value }));
  $m(i, "dim-x").addEventListener("change", (e) => changed({ dx: Number(e.target.value) }));
  $m(i, "dim-y").addEventListener("change", (e) => changed({ dy: Number(e.target.value) }));
  show();
}

/**
 * Fill the legend: one toggle button per digit class present in any model's labels, in the maps' colours.
 * @param {(label: number, visible: boolean) => void} onToggle called when a class is switched on or off
 */
export function buildLegend(onToggle) {
  const present = new Set();
  for (const m of state.models) if (m.labels) for (const l of new Set(m.labels)) present.add(l);
  const box = $("legend");
  box.textContent = "";
  if (!present.size) {
    box.textContent = "unlabelled test set";
    return;
  }
  for (const k of [...present].sort((a, b) => a - b)) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "cls";
    b.dataset.class = String(k);
    b.setAttribute("aria-pressed", "true");
    b.title = `show or hide class ${k}`;
    const dot = document.createElement("span");
    dot.style.background = PALETTE[k % 10];
    b.append(dot, String(k));
    b.addEventListener("click", () => {
      const on = b.getAttribute("aria-pressed") !== "true";
      b.setAttribute("aria-pressed", String(on));
      onToggle(k, on);
    });
    box.append(b);
  }
}
