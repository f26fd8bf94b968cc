// The latent map: projection of codes to a plane (two chosen dimensions, or the PCA plane of the codes for
// D > 2), the screen transform, the scatter of the test set's codes, the overlay (drawn code, interpolation end
// points, generated code), the axes controls and the legend.
import { $ } from "./dom.js";
import { setLayout, setProjection, state } from "./state.js";

/** seaborn's colour-blind-safe "colorblind" palette, the same as the figures (vaelab.viz.style.COLORBLIND10). */
const PALETTE = [
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
const MAP = 420, // CSS px, square
  PAD = 12;

/**
 * The plane coordinates of a code.
 * @param {ArrayLike<number>} z code, length D
 * @returns {number[]} [u, v]
 */
export function project(z) {
  if (state.proj.mode === "pca") {
    const { mean, components } = state.meta.pca;
    let u = 0,
      v = 0;
    for (let d = 0; d < state.D; d++) {
      const c = z[d] - mean[d];
      u += c * components[0][d];
      v += c * components[1][d];
    }
    return [u, v];
  }
  return [z[state.proj.dx], z[state.proj.dy]];
}

/**
 * The code at a point of the plane: in the PCA plane, or the sliders' code with the two shown dimensions set.
 * @param {number} u
 * @param {number} v
 * @returns {Float32Array} code, length D
 */
export function unproject(u, v) {
  if (state.proj.mode === "pca") {
    const { mean, components } = state.meta.pca;
    return Float32Array.from(mean, (m, d) => m + u * components[0][d] + v * components[1][d]);
  }
  const z = Float32Array.from(state.sliderZ);
  z[state.proj.dx] = u;
  z[state.proj.dy] = v;
  return z;
}

function layoutMap() {
  const { nCodes: n, D, codes } = state,
    uv = new Float32Array(2 * n);
  let u0 = Infinity,
    u1 = -Infinity,
    v0 = Infinity,
    v1 = -Infinity;
  for (let i = 0; i < n; i++) {
    const [u, v] = project(codes.subarray(i * D, (i + 1) * D));
    uv[2 * i] = u;
    uv[2 * i + 1] = v;
    u0 = Math.min(u0, u);
    u1 = Math.max(u1, u);
    v0 = Math.min(v0, v);
    v1 = Math.max(v1, v);
  }
  const span = Math.max(u1 - u0, v1 - v0, 1e-6) * 1.04;
  setLayout({ cu: (u0 + u1) / 2, cv: (v0 + v1) / 2, scale: (MAP - 2 * PAD) / span }, uv);
}

/**
 * Map coordinates (CSS px from the map's top left) of a plane point.
 * @param {number} u
 * @param {number} v
 * @returns {number[]} [x, y]
 */
export function toScreen(u, v) {
  const { cu, cv, scale } = state.view;
  return [MAP / 2 + (u - cu) * scale, MAP / 2 - (v - cv) * scale];
}

function fromScreen(x, y) {
  const { cu, cv, scale } = state.view;
  return [cu + (x - MAP / 2) / scale, cv - (y - MAP / 2) / scale];
}

/**
 * The code under the pointer.
 * @param {MouseEvent} ev a pointer event over the map
 * @returns {Float32Array} code, length D
 */
export function codeAt(ev) {
  const r = $("overlay").getBoundingClientRect();
  return unproject(...fromScreen(ev.clientX - r.left, ev.clientY - r.top));
}

/**
 * Page coordinates of a code on the map.
 * @param {ArrayLike<number>} z code, length D
 * @returns {number[]} [x, y], CSS px from the viewport's top left
 */
export function screenOf(z) {
  const r = $("overlay").getBoundingClientRect(),
    [x, y] = toScreen(...project(z));
  return [r.left + x, r.top + y];
}

function setupCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = MAP * dpr;
  canvas.height = MAP * dpr;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

/**
 * Lay out the map for the current plane and draw the codes, the caption and the overlay.
 */
export function drawScatter() {
  layoutMap();
  const { nCodes, uv, labels, proj, meta, D } = state;
  const ctx = setupCanvas($("map"));
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, MAP, MAP);
  // axes through the origin of the plane
  ctx.strokeStyle = "#e3e6ea";
  ctx.lineWidth = 1;
  const [ox, oy] = toScreen(...project(proj.mode === "pca" ? meta.pca.mean : new Float32Array(D)));
  ctx.beginPath();
  ctx.moveTo(ox, 0);
  ctx.lineTo(ox, MAP);
  ctx.moveTo(0, oy);
  ctx.lineTo(MAP, oy);
  ctx.stroke();
  ctx.globalAlpha = 0.55;
  for (let i = 0; i < nCodes; i++) {
    const [x, y] = toScreen(uv[2 * i], uv[2 * i + 1]);
    ctx.fillStyle = labels ? PALETTE[labels[i] % 10] : "#4063a8";
    ctx.fillRect(x - 1, y - 1, 2, 2);
  }
  ctx.globalAlpha = 1;
  const variance = () => meta.pca.explained_variance_ratio.map((r) => (100 * r).toFixed(0) + "%").join(" + ");
  $("map-what").textContent =
    proj.mode === "pca"
      ? `PCA plane of the ${nCodes} test codes (${variance()} of the variance)`
      : `z${proj.dx + 1} (x) vs z${proj.dy + 1} (y), ${nCodes} test codes` +
        (D > 2 ? "; other dimensions from the sliders" : "");
  drawOverlay();
}

function marker(ctx, z, style, label, below = false) {
  const [x, y] = toScreen(...project(z));
  ctx.strokeStyle = style;
  ctx.fillStyle = style;
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.arc(x, y, 6, 0, 2 * Math.PI);
  ctx.stroke();
  if (label) {
    ctx.font = "bold 12px sans-serif";
    ctx.fillText(label, x + 8, below ? y + 16 : y - 6);
  }
  return [x, y];
}

/**
 * Redraw the overlay: the line A-B, the end points, the drawing's code (ring and dot) and the generated code
 * (cross).
 */
export function drawOverlay() {
  const { A, B, mu, genZ } = state;
  const ctx = setupCanvas($("overlay"));
  ctx.clearRect(0, 0, MAP, MAP);
  if (A && B) {
    const a = toScreen(...project(A.z)),
      b = toScreen(...project(B.z));
    ctx.strokeStyle = "#333";
    ctx.setLineDash([4, 3]);
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(...a);
    ctx.lineTo(...b);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  if (A) marker(ctx, A.z, "#111", "A");
  if (B) marker(ctx, B.z, "#111", "B");
  if (mu) {
    const [x, y] = marker(ctx, mu, "#000", "drawn", true);
    ctx.beginPath();
    ctx.arc(x, y, 3, 0, 2 * Math.PI);
    ctx.fill();
  }
  if (genZ) {
    const [x, y] = toScreen(...project(genZ));
    ctx.strokeStyle = "rgba(0,0,0,0.7)";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(x - 8, y);
    ctx.lineTo(x + 8, y);
    ctx.moveTo(x, y - 8);
    ctx.lineTo(x, y + 8);
    ctx.stroke();
  }
}

/**
 * Fill the axes controls (PCA plane or two dimensions; shown for D > 2) and redraw the map when they change.
 */
export function setupAxes() {
  const { D, meta } = state;
  for (const id of ["dim-x", "dim-y"]) {
    const sel = $(id);
    for (let d = 0; d < D; d++) sel.add(new Option("z" + (d + 1), String(d)));
  }
  $("dim-x").value = String(state.proj.dx);
  $("dim-y").value = String(state.proj.dy);
  const showAxes = () => {
    $("proj-label").classList.toggle("hidden", !(D > 2 && meta.pca));
    const dims = state.proj.mode === "dims" && D > 2;
    $("dimx-label").classList.toggle("hidden", !dims);
    $("dimy-label").classList.toggle("hidden", !dims);
    $("axes").classList.toggle("hidden", D <= 2);
  };
  $("projection").value = state.proj.mode;
  $("projection").addEventListener("change", (e) => {
    setProjection({ mode: e.target.value });
    showAxes();
    drawScatter();
  });
  $("dim-x").addEventListener("change", (e) => {
    setProjection({ dx: Number(e.target.value) });
    drawScatter();
  });
  $("dim-y").addEventListener("change", (e) => {
    setProjection({ dy: Number(e.target.value) });
    drawScatter();
  });
  showAxes();
}

/**
 * Fill the legend: the digit classes present in the labels, in the map's colours.
 */
export function buildLegend() {
  if (state.labels) {
    const present = new Set(state.labels);
    for (let k = 0; k < 10; k++)
      if (present.has(k)) {
        const li = document.createElement("li");
        li.innerHTML = `<span style="background:${PALETTE[k]}"></span>${k}`;
        $("legend").append(li);
      }
  } else {
    $("legend").innerHTML = "<li>unlabelled test set</li>";
  }
}
