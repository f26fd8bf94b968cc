// The page state. Other modules read `state` (also window.vaelab.state for the tests) and change it only through
// the functions below: assigning a field of `state` or of a model's state throws, and their plain-object fields
// (proj, view, ticks, hover, shown, manifold, interp, strip) are frozen, replaced whole on each change.

const guard = (target, what) =>
  new Proxy(target, {
    set(_, key) {
      throw new TypeError(`${what}.${String(key)}: change the page state through the functions of state.js`);
    },
    deleteProperty(_, key) {
      throw new TypeError(`${what}.${String(key)}: change the page state through the functions of state.js`);
    },
  });

const S = {
  models: [], // one model state per run, in the page's order (see addModel)
  input: null, // Float32Array, P: the analysed input (the drawing's MNIST-style input or the image), shared
  hidden: Object.freeze([]), // class labels hidden on the maps (legend toggles)
  background: false, // decoded images behind the maps
  interp: Object.freeze({ model: 0, A: null, B: null, nextEnd: "A" }), // A, B: {z: Float32Array, from}
  strip: null, // the interpolation: {model, zs: number[][], images: Float32Array[], ts: number[]}
  tab: "draw", // the panel shown on narrow screens: "draw" | "maps" | "interp"
  activeCard: 0, // the model card shown on narrow screens
  drawSeq: 0, // number of drawing updates so far
  clearSeq: 0, // drawSeq at the last Clear: analyses of earlier drawings are dropped
};
const M = []; // the raw model states behind S.models

/** The page state, read-only (see the functions of this module). */
export const state = guard(S, "state");

/**
 * Add a model from its export.
 * @param {object} meta models/i/meta.json (latent_dim, image_shape, probabilistic, n_codes, pca, ...)
 * @param {Uint8Array} codeBytes codes.bin: float32 LE, n_codes x latent_dim
 * @param {?Uint8Array} labelBytes labels.bin: uint8, n_codes; null when unlabelled
 * @param {?{epochs: number[], n: number, codes: Float32Array, labels: ?Uint8Array}} epochCodes the training
 *   time-lapse (codes: epochs x n x 2), or null
 * @returns {number} the model's index
 * @throws {Error} codes.bin does not hold n_codes x latent_dim floats
 */
export function addModel(meta, codeBytes, labelBytes, epochCodes) {
  const D = meta.latent_dim,
    shape = meta.image_shape,
    index = M.length;
  const codes = new Float32Array(codeBytes.buffer, codeBytes.byteOffset, codeBytes.byteLength / 4);
  if (codes.length !== meta.n_codes * D)
    throw new Error(`models/${index}/codes.bin: ${codes.length} floats; expected ${meta.n_codes} x ${D}`);
  const m = {
    index,
    meta,
    D,
    shape, // image shape [C, H, W]
    P: shape[0] * shape[1] * shape[2], // pixels per image
    probabilistic: meta.probabilistic, // the encoder gives a posterior (mu, logvar), not a code alone
    codes, // Float32Array, nCodes x D: the test set's codes
    nCodes: meta.n_codes,
    labels: labelBytes, // Uint8Array, nCodes, or null
    epochCodes, // the training time-lapse or null
    shown: Object.freeze({ epoch: null, codes, labels: labelBytes, n: meta.n_codes, D }), // the codes on the map
    proj: Object.freeze({ mode: D > 2 && meta.pca ? "pca" : "dims", dx: 0, dy: Math.min(1, D - 1) }),
    view: null, // screen transform: {u0, u1, v0, v1, scale, left, top, side, width, height} (CSS px)
    ticks: null, // {x: number[], y: number[], xDecimals, yDecimals}: tick values on the axes
    uv: null, // Float32Array, 2 x n shown: the shown codes projected to the plane
    sliderZ: new Float32Array(D), // the sliders' code
    attrAlpha: new Float32Array((meta.attributes || []).length), // the attribute sliders' alphas
    mu: null, // Float32Array, D: the drawing's code (posterior mean)
    logvar: null, // Float32Array, D, or null (deterministic encoder)
    recon: null, // Float32Array, P: decoding of mu
    hover: null, // last decoding at the pointer: {z: number[], image: Float32Array, source, from}
    genZ: null, // the code of the image under "at the pointer"
    manifold: null, // background: {n, zs: number[][], images: Float32Array[]} (row-major tiles, top row first)
  };
  M.push(m);
  S.models = Object.freeze(M.map((x, i) => guard(x, `state.models[${i}]`)));
  return index;
}

/**
 * Change a model's map plane.
 * @param {number} i model index
 * @param {{mode?: "pca"|"dims", dx?: number, dy?: number}} change the fields to change (dx, dy: dimensions
 *   shown on x and y in "dims" mode, 0-based)
 */
export function setProjection(i, change) {
  M[i].proj = Object.freeze({ ...M[i].proj, ...change });
}

/**
 * Set a model's map layout.
 * @param {number} i model index
 * @param {object} view {u0, u1, v0, v1: plane range of the plot area; scale: CSS px per unit; left, top, side:
 *   plot area in CSS px within the map; width, height: the map's CSS size}
 * @param {Float32Array} uv length 2*n: the shown codes' plane coordinates (u0, v0, u1, v1, ...)
 * @param {{x: number[], y: number[], xDecimals: number, yDecimals: number}} ticks tick values on the x and y
 *   axes and the decimals of their labels
 */
export function setLayout(i, view, uv, ticks) {
  M[i].view = Object.freeze(view);
  M[i].uv = uv;
  M[i].ticks = Object.freeze({ ...ticks, x: Object.freeze(ticks.x), y: Object.freeze(ticks.y) });
}

/**
 * Choose the codes a model's map shows: the export's (epoch null) or a stored epoch's (the time-lapse).
 * @param {number} i model index
 * @param {?number} epoch epoch number (1-based, as stored) or null for the exported codes
 */
export function setShownEpoch(i, epoch) {
  const m = M[i];
  if (epoch == null || !m.epochCodes) {
    m.shown = Object.freeze({ epoch: null, codes: m.codes, labels: m.labels, n: m.nCodes, D: m.D });
    return;
  }
  const { epochs, n, codes, labels } = m.epochCodes,
    k = epochs.indexOf(epoch);
  if (k < 0) throw new Error(`epoch ${epoch}: not stored (stored: ${epochs.join(", ")})`);
  m.shown = Object.freeze({ epoch, codes: codes.subarray(k * n * 2, (k + 1) * n * 2), labels, n, D: 2 });
}

/**
 * Set a model's sliders' code.
 * @param {number} i model index
 * @param {ArrayLike<number>} z length D
 */
export function setSliderZ(i, z) {
  for (let d = 0; d < M[i].D; d++) M[i].sliderZ[d] = z[d];
}

/**
 * Set one dimension of a model's sliders' code.
 * @param {number} i model index
 * @param {number} d dimension, 0-based
 * @param {number} value
 */
export function setSliderDim(i, d, value) {
  M[i].sliderZ[d] = value;
}

/**
 * Set one attribute slider's alpha of a model.
 * @param {number} i model index
 * @param {number} k attribute vector (meta.json attributes[k])
 * @param {number} alpha its multiple
 */
export function setAttributeAlpha(i, k, alpha) {
  M[i].attrAlpha[k] = alpha;
}

/**
 * Set the code decoded "at the pointer" of a model, and its decoding.
 * @param {number} i model index
 * @param {Float32Array} z code, length D
 * @param {?{image: Float32Array, source: "map"|"sliders"|"attributes", from: number}} [made=null] its decoding
 *   (length P), where the code came from and from which model's map or sliders; null leaves hover as it is
 */
export function setGenerated(i, z, made = null) {
  M[i].genZ = z;
  if (made) M[i].hover = Object.freeze({ z: Array.from(z), image: made.image, source: made.source, from: made.from });
}

/**
 * Count a change of the drawing.
 * @returns {number} its sequence number (pass it to drawingCleared after the analysis)
 */
export function nextDrawSeq() {
  return ++S.drawSeq;
}

/**
 * Whether the drawing was cleared after a change.
 * @param {number} seq a number from nextDrawSeq
 * @returns {boolean} true: Clear was pressed since, drop the change's analysis
 */
export function drawingCleared(seq) {
  return seq <= S.clearSeq;
}

/**
 * Set the analysed input (the drawing's MNIST-style input, or an image).
 * @param {Float32Array} input length P (C x H x W, row-major, values in [0,1])
 */
export function setInput(input) {
  S.input = input;
}

/**
 * Set a model's analysis of the drawing.
 * @param {number} i model index
 * @param {{mu: Float32Array, logvar: ?Float32Array, recon: Float32Array}} analysis mu, logvar: length D (logvar
 *   null for a deterministic encoder); recon: decoding of mu, length P
 */
export function setDrawing(i, { mu, logvar, recon }) {
  Object.assign(M[i], { mu, logvar, recon });
}

/**
 * Forget the drawing: the input and every model's mu, logvar, recon become null; analyses still running are
 * dropped.
 */
export function clearDrawing() {
  S.input = null;
  for (const m of M) Object.assign(m, { mu: null, logvar: null, recon: null });
  S.clearSeq = ++S.drawSeq;
}

/**
 * Show or hide a class on the maps.
 * @param {number} label class label
 * @param {boolean} visible
 */
export function setClassVisible(label, visible) {
  const hidden = new Set(S.hidden);
  if (visible) hidden.delete(label);
  else hidden.add(label);
  S.hidden = Object.freeze([...hidden].sort((a, b) => a - b));
}

/**
 * Turn the decoded-images background of the maps on or off.
 * @param {boolean} on
 */
export function setBackground(on) {
  S.background = Boolean(on);
}

/**
 * Set a model's background tiles.
 * @param {number} i model index
 * @param {?{n: number, zs: number[][], images: Float32Array[]}} manifold n x n tiles, row-major from the top
 *   left; null removes them
 */
export function setManifold(i, manifold) {
  M[i].manifold = manifold && Object.freeze(manifold);
}

/**
 * Set an interpolation end point of a model; the other end is set next. Points of another model are dropped.
 * @param {number} i model index
 * @param {{z: Float32Array, from: "map"|"drawing"}} point code (length D of model i) and where it came from
 * @param {"A"|"B"} [end] which end (default: the next in turn)
 */
export function setEnd(i, point, end) {
  const cur = S.interp.model === i ? S.interp : { model: i, A: null, B: null, nextEnd: "A" };
  const which = end || cur.nextEnd;
  S.interp = Object.freeze({ ...cur, [which]: Object.freeze(point), nextEnd: which === "A" ? "B" : "A" });
}

/**
 * Choose the model the interpolation runs in (its end points are dropped when it changes).
 * @param {number} i model index
 */
export function setInterpModel(i) {
  if (S.interp.model !== i) S.interp = Object.freeze({ model: i, A: null, B: null, nextEnd: "A" });
}

/**
 * Set the interpolation strip.
 * @param {number} i model index
 * @param {number[][]} zs n codes of length D, from A to B
 * @param {Float32Array[]} images their decodings, length P each
 * @param {number[]} ts the interpolation weight of each frame (0 at A, 1 at B)
 */
export function setStrip(i, zs, images, ts) {
  S.strip = Object.freeze({ model: i, zs, images, ts });
}

/**
 * Remove the interpolation strip (its end points were dropped or one is missing).
 */
export function clearStrip() {
  S.strip = null;
}

/**
 * Set the panel shown on narrow screens, and the model card shown there.
 * @param {{tab?: "draw"|"maps"|"interp", card?: number}} change
 */
export function setView({ tab, card }) {
  if (tab) S.tab = tab;
  if (card != null) S.activeCard = card;
}
