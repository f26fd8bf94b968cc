// vaelab latent explorer: draw a digit -> 28x28 MNIST-style input -> encoder (mu, sigma) -> decoder;
// map of the test set's codes -> decoder image under the pointer; sliders per latent dimension; interpolation.
// The networks run in the page with onnxruntime-web (WebAssembly backend, one thread: the site needs no
// cross-origin isolation, so it works on any static host). Files: model/{encoder,decoder}.onnx,
// model/codes.bin (float32 LE, n x D), model/labels.bin (uint8), model/meta.json (written by `vaelab export`).
import * as ort from "./vendor/ort.wasm.min.mjs";

ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;
ort.env.logLevel = "error";

const $ = (id) => document.getElementById(id);
// seaborn's colour-blind-safe "colorblind" palette, the same as the figures (vaelab.plots.style.COLORBLIND10)
const PALETTE = ["#0173B2", "#DE8F05", "#029E73", "#D55E00", "#CC78BC", "#CA9161", "#FBAFE4", "#949494", "#ECE133", "#56B4E9"];
const FIELD = 28, BOX = 20, STROKE = 20;

// ---------------------------------------------------------------------------------------------------------
// test hooks (read by the Playwright tests and the benchmark)
const hooks = (window.vaelab = { ready: false, readyMs: null, busy: 0, errors: [], stats: { decodeMs: [], encodeMs: [] },
  marks: { moduleStart: performance.now() } });

function fail(err) {
  hooks.errors.push(String(err && err.stack || err));
  $("status").textContent = "error: " + (err && err.message || err);
  console.error(err);
}

// ---------------------------------------------------------------------------------------------------------
// MNIST-style preprocessing (same steps and arithmetic as vaelab/export/preprocess.py: mnist_style)
function areaWeights(nIn, nOut) {
  const scale = nIn / nOut, rows = [];
  for (let i = 0; i < nOut; i++) {
    const a = i * scale, b = (i + 1) * scale, j0 = Math.floor(a), j1 = Math.min(nIn, Math.ceil(b));
    const w = [];
    let sum = 0;
    for (let j = j0; j < j1; j++) { const v = Math.min(b, j + 1) - Math.max(a, j); w.push(v); sum += v; }
    rows.push({ j0, w: w.map((v) => v / sum) });
  }
  return rows;
}

/** gray: Float64Array (h*w) ink in [0, 1] -> Float32Array(28*28), all zeros for an empty drawing. */
export function mnistStyle(gray, h, w, threshold = 0) {
  const out = new Float32Array(FIELD * FIELD);
  let r0 = h, r1 = -1, c0 = w, c1 = -1;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    if (gray[y * w + x] > threshold) { if (y < r0) r0 = y; if (y > r1) r1 = y; if (x < c0) c0 = x; if (x > c1) c1 = x; }
  }
  if (r1 < 0) return out;
  const ch = r1 - r0 + 1, cw = c1 - c0 + 1, s = BOX / Math.max(ch, cw);
  const nh = Math.max(1, Math.min(BOX, Math.floor(ch * s + 0.5))), nw = Math.max(1, Math.min(BOX, Math.floor(cw * s + 0.5)));
  const wy = areaWeights(ch, nh), wx = areaWeights(cw, nw);
  const tmp = new Float64Array(nh * cw);  // rows resampled first: tmp = Wy @ crop
  for (let i = 0; i < nh; i++) {
    const { j0, w: wr } = wy[i];
    for (let x = 0; x < cw; x++) {
      let acc = 0;
      for (let k = 0; k < wr.length; k++) acc += wr[k] * gray[(r0 + j0 + k) * w + c0 + x];
      tmp[i * cw + x] = acc;
    }
  }
  const small = new Float64Array(nh * nw);  // then columns: small = tmp @ Wx^T
  let mass = 0, my = 0, mx = 0;
  for (let i = 0; i < nh; i++) for (let j = 0; j < nw; j++) {
    const { j0, w: wc } = wx[j];
    let acc = 0;
    for (let k = 0; k < wc.length; k++) acc += wc[k] * tmp[i * cw + j0 + k];
    small[i * nw + j] = acc; mass += acc; my += i * acc; mx += j * acc;
  }
  if (mass <= 0) return out;
  const centre = (FIELD - 1) / 2;
  const oy = Math.floor(centre - my / mass + 0.5), ox = Math.floor(centre - mx / mass + 0.5);
  for (let i = 0; i < nh; i++) {
    const y = i + oy;
    if (y < 0 || y >= FIELD) continue;
    for (let j = 0; j < nw; j++) {
      const x = j + ox;
      if (x >= 0 && x < FIELD) out[y * FIELD + x] = Math.min(1, Math.max(0, small[i * nw + j]));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// onnxruntime: one run at a time (a session must not run twice at once), latest request wins for live updates
let chain = Promise.resolve();
function exclusive(fn) {
  const p = chain.then(fn);
  chain = p.then(() => {}, () => {});
  return p;
}

function latest(fn) {
  let pending = null, running = false;
  async function pump() {
    running = true;
    while (pending) {
      const { arg } = pending;
      pending = null;
      try { await fn(arg); } catch (err) { fail(err); }
    }
    running = false;
    hooks.busy--;
  }
  return (arg) => {
    pending = { arg };
    if (!running) { hooks.busy++; pump(); }
  };
}

let S = null;  // the page state (window.vaelab.state)
let encoder = null, decoder = null;

async function encode(pixels) {
  return exclusive(async () => {
    const t = performance.now();
    const out = await encoder.run({ x: new ort.Tensor("float32", Float32Array.from(pixels), [1, ...S.shape]) });
    hooks.stats.encodeMs.push(performance.now() - t);
    if (hooks.stats.encodeMs.length > 10000) hooks.stats.encodeMs.shift();
    return { mu: Float32Array.from(out.mu.data), logvar: out.logvar ? Float32Array.from(out.logvar.data) : null };
  });
}

/** zs: n codes of length D (array of arrays / Float32Arrays) -> n images (Float32Array C*H*W each). */
async function decodeMany(zs, record = false) {
  const n = zs.length, D = S.D, flat = new Float32Array(n * D);
  zs.forEach((z, i) => flat.set(z, i * D));
  return exclusive(async () => {
    const t = performance.now();
    const out = await decoder.run({ z: new ort.Tensor("float32", flat, [n, D]) });
    if (record) { hooks.stats.decodeMs.push(performance.now() - t); if (hooks.stats.decodeMs.length > 10000) hooks.stats.decodeMs.shift(); }
    const data = out.x_mean.data, P = S.P;
    return Array.from({ length: n }, (_, i) => Float32Array.from(data.subarray(i * P, (i + 1) * P)));
  });
}

// ---------------------------------------------------------------------------------------------------------
// drawing images and text
function putImage(canvas, img, x0 = 0) {
  const [C, H, W] = S.shape, ctx = canvas.getContext("2d"), data = ctx.createImageData(W, H);
  for (let p = 0; p < H * W; p++) {
    for (let c = 0; c < 3; c++) data.data[4 * p + c] = Math.round(255 * Math.min(1, Math.max(0, img[(C === 3 ? c : 0) * H * W + p])));
    data.data[4 * p + 3] = 255;
  }
  ctx.putImageData(data, x0, 0);
}

function clearImage(canvas) {
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
}

const fmt = (v) => (v >= 0 ? " " : "") + v.toFixed(3);

function codeText(mu, logvar) {
  const lines = [logvar ? "dim        mu    sigma" : "dim         z"];
  for (let d = 0; d < mu.length; d++) {
    let line = ("z" + (d + 1)).padEnd(5) + fmt(mu[d]).padStart(9);
    if (logvar) line += fmt(Math.exp(0.5 * logvar[d])).padStart(9);
    lines.push(line);
  }
  return lines.join("\n");
}

function zText(z) {
  return "z = [" + Array.from(z, (v) => v.toFixed(3)).join(", ") + "]";
}

// ---------------------------------------------------------------------------------------------------------
// the map: projection of codes to the plane, screen transform, scatter and overlay
function project(z) {
  if (S.proj.mode === "pca") {
    const { mean, components } = S.meta.pca;
    let u = 0, v = 0;
    for (let d = 0; d < S.D; d++) { const c = z[d] - mean[d]; u += c * components[0][d]; v += c * components[1][d]; }
    return [u, v];
  }
  return [z[S.proj.dx], z[S.proj.dy]];
}

function unproject(u, v) {
  if (S.proj.mode === "pca") {
    const { mean, components } = S.meta.pca;
    return Float32Array.from(mean, (m, d) => m + u * components[0][d] + v * components[1][d]);
  }
  const z = Float32Array.from(S.sliderZ);
  z[S.proj.dx] = u;
  z[S.proj.dy] = v;
  return z;
}

const MAP = 420, PAD = 12;

function layoutMap() {
  const n = S.nCodes, uv = new Float32Array(2 * n);
  let u0 = Infinity, u1 = -Infinity, v0 = Infinity, v1 = -Infinity;
  for (let i = 0; i < n; i++) {
    const [u, v] = project(S.codes.subarray(i * S.D, (i + 1) * S.D));
    uv[2 * i] = u; uv[2 * i + 1] = v;
    u0 = Math.min(u0, u); u1 = Math.max(u1, u); v0 = Math.min(v0, v); v1 = Math.max(v1, v);
  }
  const span = Math.max(u1 - u0, v1 - v0, 1e-6) * 1.04;
  S.view = { cu: (u0 + u1) / 2, cv: (v0 + v1) / 2, scale: (MAP - 2 * PAD) / span };
  S.uv = uv;
}

function toScreen(u, v) {
  return [MAP / 2 + (u - S.view.cu) * S.view.scale, MAP / 2 - (v - S.view.cv) * S.view.scale];
}

function fromScreen(x, y) {
  return [S.view.cu + (x - MAP / 2) / S.view.scale, S.view.cv - (y - MAP / 2) / S.view.scale];
}

function setupCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = MAP * dpr; canvas.height = MAP * dpr;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

function drawScatter() {
  layoutMap();
  const ctx = setupCanvas($("map"));
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, MAP, MAP);
  // axes through the origin of the plane
  ctx.strokeStyle = "#e3e6ea"; ctx.lineWidth = 1;
  const [ox, oy] = toScreen(...project(S.proj.mode === "pca" ? S.meta.pca.mean : new Float32Array(S.D)));
  ctx.beginPath(); ctx.moveTo(ox, 0); ctx.lineTo(ox, MAP); ctx.moveTo(0, oy); ctx.lineTo(MAP, oy); ctx.stroke();
  ctx.globalAlpha = 0.55;
  for (let i = 0; i < S.nCodes; i++) {
    const [x, y] = toScreen(S.uv[2 * i], S.uv[2 * i + 1]);
    ctx.fillStyle = S.labels ? PALETTE[S.labels[i] % 10] : "#4063a8";
    ctx.fillRect(x - 1, y - 1, 2, 2);
  }
  ctx.globalAlpha = 1;
  const what = S.proj.mode === "pca"
    ? `PCA plane of the ${S.nCodes} test codes (${S.meta.pca.explained_variance_ratio.map((r) => (100 * r).toFixed(0) + "%").join(" + ")} of the variance)`
    : `z${S.proj.dx + 1} (x) vs z${S.proj.dy + 1} (y), ${S.nCodes} test codes` + (S.D > 2 ? "; other dimensions from the sliders" : "");
  $("map-what").textContent = what;
  drawOverlay();
}

function marker(ctx, z, style, label, below = false) {
  const [x, y] = toScreen(...project(z));
  ctx.strokeStyle = style; ctx.fillStyle = style; ctx.lineWidth = 2;
  ctx.beginPath(); ctx.arc(x, y, 6, 0, 2 * Math.PI); ctx.stroke();
  if (label) { ctx.font = "bold 12px sans-serif"; ctx.fillText(label, x + 8, below ? y + 16 : y - 6); }
  return [x, y];
}

function drawOverlay() {
  const ctx = setupCanvas($("overlay"));
  ctx.clearRect(0, 0, MAP, MAP);
  if (S.A && S.B) {
    const a = toScreen(...project(S.A.z)), b = toScreen(...project(S.B.z));
    ctx.strokeStyle = "#333"; ctx.setLineDash([4, 3]); ctx.lineWidth = 1.5;
    ctx.beginPath(); ctx.moveTo(...a); ctx.lineTo(...b); ctx.stroke(); ctx.setLineDash([]);
  }
  if (S.A) marker(ctx, S.A.z, "#111", "A");
  if (S.B) marker(ctx, S.B.z, "#111", "B");
  if (S.mu) {
    const [x, y] = marker(ctx, S.mu, "#000", "drawn", true);
    ctx.beginPath(); ctx.arc(x, y, 3, 0, 2 * Math.PI); ctx.fill();
  }
  if (S.genZ) {
    const [x, y] = toScreen(...project(S.genZ));
    ctx.strokeStyle = "rgba(0,0,0,0.7)"; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(x - 8, y); ctx.lineTo(x + 8, y); ctx.moveTo(x, y - 8); ctx.lineTo(x, y + 8); ctx.stroke();
  }
}

// ---------------------------------------------------------------------------------------------------------
// generate: decode a code (pointer on the map or sliders)
const generate = latest(async ({ z, source }) => {
  const [img] = await decodeMany([z], source === "map");
  S.genZ = z;
  S.hover = { z: Array.from(z), image: img, source };
  putImage($("gen"), img);
  $("gen-code").textContent = (source === "map" ? "under the pointer\n" : "from the sliders\n") + codeText(z, null);
  if (source !== "sliders") setSliders(z);
  drawOverlay();
});

function buildSliders() {
  const box = $("sliders"), lo = S.meta.code_range.min, hi = S.meta.code_range.max;
  box.innerHTML = "";
  S.sliders = [];
  for (let d = 0; d < S.D; d++) {
    // the codes' range plus 10%; for a VAE at least [-3, 3], where the prior N(0, I) puts 99.7% of its mass
    const span = Math.max(hi[d] - lo[d], 1e-3), input = document.createElement("input"), out = document.createElement("output");
    let a = lo[d] - 0.1 * span, b = hi[d] + 0.1 * span;
    if (S.probabilistic) { a = Math.min(a, -3); b = Math.max(b, 3); }
    input.type = "range";
    input.min = a.toFixed(3); input.max = b.toFixed(3);
    input.step = ((b - a) / 1000).toPrecision(3); input.value = "0";
    input.dataset.dim = String(d); input.setAttribute("aria-label", "z" + (d + 1));
    const label = document.createElement("label");
    label.textContent = "z" + (d + 1);
    input.addEventListener("input", () => {
      S.sliderZ[d] = Number(input.value);
      out.textContent = S.sliderZ[d].toFixed(2);
      generate({ z: Float32Array.from(S.sliderZ), source: "sliders" });
    });
    box.append(label, input, out);
    S.sliders.push({ input, out });
  }
  setSliders(S.sliderZ);
}

function setSliders(z) {
  for (let d = 0; d < S.D; d++) {
    S.sliderZ[d] = z[d];
    S.sliders[d].input.value = String(z[d]);
    S.sliders[d].out.textContent = Number(z[d]).toFixed(2);
  }
}

function onMapMove(ev) {
  const r = $("overlay").getBoundingClientRect();
  const [u, v] = fromScreen(ev.clientX - r.left, ev.clientY - r.top);
  generate({ z: unproject(u, v), source: "map" });
}

function onMapClick(ev) {
  const r = $("overlay").getBoundingClientRect();
  const [u, v] = fromScreen(ev.clientX - r.left, ev.clientY - r.top);
  setEndpoint({ z: unproject(u, v), from: "map" });
}

// ---------------------------------------------------------------------------------------------------------
// interpolation
function setEndpoint(point) {
  if (S.nextEnd === "A") S.A = point; else S.B = point;
  S.nextEnd = S.nextEnd === "A" ? "B" : "A";
  drawOverlay();
  interpolate();
}

const interpolate = latest(async () => {
  if (!S.A || !S.B) return;
  const n = Math.max(2, Math.min(24, Math.round(Number($("steps").value) || 10)));
  const zs = [];
  for (let i = 0; i < n; i++) {
    const t = i / (n - 1);
    zs.push(Float32Array.from(S.A.z, (a, d) => a + t * (S.B.z[d] - a)));
  }
  const imgs = await decodeMany(zs);
  const strip = $("strip"), [, H, W] = S.shape;
  strip.width = n * W; strip.height = H;
  strip.style.width = `${2 * n * W}px`; strip.style.height = `${2 * H}px`;
  imgs.forEach((img, i) => putImage(strip, img, i * W));
  S.strip = { zs: zs.map((z) => Array.from(z)), images: imgs };
  $("interp-code").textContent = `${n} images along the line from A (${S.A.from}) to B (${S.B.from})\nA: ${zText(S.A.z)}\nB: ${zText(S.B.z)}`;
});

// ---------------------------------------------------------------------------------------------------------
// drawing
function setupDrawing() {
  const canvas = $("draw"), ctx = canvas.getContext("2d", { willReadFrequently: true });
  const reset = () => { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, canvas.width, canvas.height); };
  reset();
  ctx.strokeStyle = "#fff"; ctx.fillStyle = "#fff"; ctx.lineWidth = STROKE; ctx.lineCap = "round"; ctx.lineJoin = "round";
  let last = null;
  const pos = (ev) => {
    const r = canvas.getBoundingClientRect();
    return [(ev.clientX - r.left) * canvas.width / r.width, (ev.clientY - r.top) * canvas.height / r.height];
  };
  canvas.addEventListener("pointerdown", (ev) => {
    ev.preventDefault();
    canvas.setPointerCapture(ev.pointerId);
    last = pos(ev);
    ctx.beginPath(); ctx.arc(last[0], last[1], STROKE / 2, 0, 2 * Math.PI); ctx.fillStyle = "#fff"; ctx.fill();
    analyse();
  });
  canvas.addEventListener("pointermove", (ev) => {
    if (!last) return;
    const events = ev.getCoalescedEvents ? ev.getCoalescedEvents() : [ev];
    ctx.beginPath(); ctx.moveTo(...last);
    for (const e of events.length ? events : [ev]) { last = pos(e); ctx.lineTo(...last); }
    ctx.stroke();
    analyse();
  });
  const end = () => { if (last) { last = null; analyse(); } };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  $("clear").addEventListener("click", () => {
    reset();
    S.input = null; S.mu = null; S.logvar = null; S.recon = null;
    S.clearSeq = ++S.drawSeq;
    clearImage($("input")); clearImage($("recon"));
    $("code").textContent = "draw a digit";
    $("a-draw").disabled = $("b-draw").disabled = true;
    drawOverlay();
  });
  const analyse = () => { S.drawSeq++; analyseLatest(S.drawSeq); };
  S.drawCtx = ctx;
}

/** The canvas's ink (red channel / 255) as Float64Array(h*w). */
function canvasGray() {
  const c = $("draw"), img = S.drawCtx.getImageData(0, 0, c.width, c.height).data, g = new Float64Array(c.width * c.height);
  for (let p = 0; p < g.length; p++) g[p] = img[4 * p] / 255;
  return g;
}

const analyseLatest = latest(async (seq) => {
  const c = $("draw"), input = mnistStyle(canvasGray(), c.height, c.width);
  if (!input.some((v) => v > 0)) return;
  const { mu, logvar } = await encode(input);
  const [recon] = await decodeMany([mu]);
  if (seq <= S.clearSeq) return;  // Clear was pressed while this drawing was being analysed
  S.input = input; S.mu = mu; S.logvar = logvar; S.recon = recon;
  putImage($("input"), input); putImage($("recon"), recon);
  $("code").textContent = (S.probabilistic ? "posterior q(z|x) of the drawing\n" : "code of the drawing (deterministic encoder)\n") + codeText(mu, logvar);
  $("a-draw").disabled = $("b-draw").disabled = false;
  drawOverlay();
});

// ---------------------------------------------------------------------------------------------------------
async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}; rebuild the site with \`vaelab site RUN OUT\``);
  return new Uint8Array(await r.arrayBuffer());
}

async function main() {
  const opts = { executionProviders: ["wasm"], graphOptimizationLevel: "all" };
  // the encoder session is created as soon as its bytes are here (this loads and compiles onnxruntime's
  // WebAssembly) while the decoder, the codes and the labels are still being fetched
  const metaP = fetch("model/meta.json").then((r) => { if (!r.ok) throw new Error(`model/meta.json: HTTP ${r.status}`); return r.json(); });
  const encP = fetchBytes("model/encoder.onnx").then((b) => ort.InferenceSession.create(b, opts));
  const decBytesP = fetchBytes("model/decoder.onnx"), codesP = fetchBytes("model/codes.bin");
  const labelsP = metaP.then((m) => (m.labels ? fetchBytes("model/labels.bin") : null));
  encoder = await encP;
  hooks.marks.encoderSession = performance.now();
  decoder = await ort.InferenceSession.create(await decBytesP, opts);
  hooks.marks.decoderSession = performance.now();
  const [meta, codeBytes, labelBytes] = await Promise.all([metaP, codesP, labelsP]);

  const D = meta.latent_dim, shape = meta.image_shape;
  S = {
    meta, D, shape, P: shape[0] * shape[1] * shape[2], probabilistic: meta.probabilistic,
    codes: new Float32Array(codeBytes.buffer, codeBytes.byteOffset, codeBytes.byteLength / 4), nCodes: meta.n_codes,
    labels: labelBytes, proj: { mode: D > 2 && meta.pca ? "pca" : "dims", dx: 0, dy: Math.min(1, D - 1) },
    sliderZ: new Float32Array(D), input: null, mu: null, logvar: null, recon: null, hover: null, genZ: null,
    A: null, B: null, nextEnd: "A", strip: null, drawSeq: 0, clearSeq: 0,
  };
  hooks.state = S;
  if (S.codes.length !== S.nCodes * D) throw new Error(`model/codes.bin: ${S.codes.length} floats; expected ${S.nCodes} x ${D}`);

  // facts
  const nll = meta.nll != null ? ` · test NLL ${meta.nll.toFixed(2)} ± ${(meta.nll_stderr || 0).toFixed(2)} nats (K=${meta.nll_k})` : "";
  $("facts").textContent = `run ${meta.run} · model ${meta.model}${meta.probabilistic ? "" : " (deterministic)"} · ${meta.dataset} · latent dim ${D}${nll} · ${meta.n_codes} test codes`;

  // axes controls
  for (const id of ["dim-x", "dim-y"]) {
    const sel = $(id);
    for (let d = 0; d < D; d++) sel.add(new Option("z" + (d + 1), String(d)));
  }
  $("dim-x").value = String(S.proj.dx); $("dim-y").value = String(S.proj.dy);
  const showAxes = () => {
    $("proj-label").classList.toggle("hidden", !(D > 2 && meta.pca));
    const dims = S.proj.mode === "dims" && D > 2;
    $("dimx-label").classList.toggle("hidden", !dims); $("dimy-label").classList.toggle("hidden", !dims);
    $("axes").classList.toggle("hidden", D <= 2);
  };
  $("projection").value = S.proj.mode;
  $("projection").addEventListener("change", (e) => { S.proj.mode = e.target.value; showAxes(); drawScatter(); });
  $("dim-x").addEventListener("change", (e) => { S.proj.dx = Number(e.target.value); drawScatter(); });
  $("dim-y").addEventListener("change", (e) => { S.proj.dy = Number(e.target.value); drawScatter(); });
  showAxes();

  // legend
  if (S.labels) {
    const present = new Set(S.labels);
    for (let k = 0; k < 10; k++) if (present.has(k)) {
      const li = document.createElement("li");
      li.innerHTML = `<span style="background:${PALETTE[k]}"></span>${k}`;
      $("legend").append(li);
    }
  } else {
    $("legend").innerHTML = "<li>unlabelled test set</li>";
  }

  const drawable = shape[0] === 1 && shape[1] === 28 && shape[2] === 28;
  if (drawable) setupDrawing(); else {
    $("draw-panel").querySelector(".hint").textContent = `Drawing needs a model of 1x28x28 images; this one takes ${shape.join("x")}.`;
    $("draw").classList.add("hidden"); $("clear").disabled = true;
  }
  for (const c of [$("input"), $("recon"), $("gen")]) { c.width = shape[2]; c.height = shape[1]; clearImage(c); }

  buildSliders();
  drawScatter();
  $("overlay").addEventListener("pointermove", onMapMove);
  $("overlay").addEventListener("click", onMapClick);
  $("a-draw").addEventListener("click", () => { S.nextEnd = "A"; setEndpoint({ z: Float32Array.from(S.mu), from: "drawing" }); });
  $("b-draw").addEventListener("click", () => { S.nextEnd = "B"; setEndpoint({ z: Float32Array.from(S.mu), from: "drawing" }); });
  $("steps").addEventListener("change", () => interpolate());

  // warm-up run of both networks (first runs allocate), then show the decoding of z = 0
  await encode(new Float32Array(S.P));
  const [img0] = await decodeMany([S.sliderZ]);
  putImage($("gen"), img0);
  S.genZ = Float32Array.from(S.sliderZ);
  $("gen-code").textContent = "move over the map or the sliders\n" + codeText(S.sliderZ, null);
  drawOverlay();

  Object.assign(hooks, {
    encode: async (pixels) => { const r = await encode(pixels); return { mu: Array.from(r.mu), logvar: r.logvar && Array.from(r.logvar) }; },
    decode: async (z) => Array.from((await decodeMany([Float32Array.from(z)]))[0]),
    mnistStyle: (gray, h, w) => Array.from(mnistStyle(Float64Array.from(gray), h, w)),
    project: (z) => project(z),
    /** page coordinates (CSS px) of the point z on the map */
    screenOf: (z) => { const r = $("overlay").getBoundingClientRect(), [x, y] = toScreen(...project(z)); return [r.left + x, r.top + y]; },
    code: (i) => Array.from(S.codes.subarray(i * D, (i + 1) * D)),
    canvasRGBA: () => Array.from(S.drawCtx.getImageData(0, 0, 280, 280).data),
  });
  hooks.readyMs = performance.now();
  hooks.ready = true;
  $("status").textContent = "";
  document.body.dataset.ready = "1";
}

main().catch(fail);
