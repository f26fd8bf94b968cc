// The page state. Other modules read `state` (also window.vaelab.state for the tests) and change it only
// through the functions below: assigning a field of `state` throws, and its plain-object fields (proj, view,
// hover, A, B, strip) are frozen, replaced whole on each change.

const S = {
  meta: null, // model/meta.json
  D: 0, // latent dimension
  shape: null, // image shape [C, H, W]
  P: 0, // pixels per image, C*H*W
  probabilistic: false, // the encoder gives a posterior (mu, logvar), not a code alone
  codes: null, // Float32Array, nCodes x D: the test set's codes
  nCodes: 0,
  labels: null, // Uint8Array, nCodes, or null
  proj: null, // the map's plane: {mode: "pca" | "dims", dx, dy}
  view: null, // the map's screen transform: {cu, cv, scale} (plane centre, screen px per unit)
  uv: null, // Float32Array, 2 x nCodes: the codes projected to the plane
  sliderZ: null, // Float32Array, D: the sliders' code
  input: null, // Float32Array, P: the drawing's MNIST-style input
  mu: null, // Float32Array, D: the drawing's code (posterior mean)
  logvar: null, // Float32Array, D, or null (deterministic encoder)
  recon: null, // Float32Array, P: decoding of mu
  hover: null, // the last generated image: {z: number[], image: Float32Array, source: "map" | "sliders"}
  genZ: null, // the code of the image in the Generate panel
  A: null, // interpolation end points: {z: Float32Array, from: "map" | "drawing"}
  B: null,
  nextEnd: "A", // the end point the next map click sets
  strip: null, // the interpolation: {zs: number[][], images: Float32Array[]}
  drawSeq: 0, // number of drawing updates so far
  clearSeq: 0, // drawSeq at the last Clear: analyses of earlier drawings are dropped
};

/** The page state, read-only (see the functions of this module). */
export const state = new Proxy(S, {
  set(_, key) {
    throw new TypeError(`state.${String(key)}: change the page state through the functions of state.js`);
  },
  deleteProperty(_, key) {
    throw new TypeError(`state.${String(key)}: change the page state through the functions of state.js`);
  },
});

/**
 * Start the state from the run's export.
 * @param {object} meta model/meta.json (latent_dim, image_shape, probabilistic, n_codes, pca, ...)
 * @param {Uint8Array} codeBytes model/codes.bin: float32 LE, n_codes x latent_dim
 * @param {?Uint8Array} labelBytes model/labels.bin: uint8, n_codes; null when unlabelled
 * @throws {Error} codes.bin does not hold n_codes x latent_dim floats
 */
export function initState(meta, codeBytes, labelBytes) {
  const D = meta.latent_dim,
    shape = meta.image_shape;
  const codes = new Float32Array(codeBytes.buffer, codeBytes.byteOffset, codeBytes.byteLength / 4);
  if (codes.length !== meta.n_codes * D)
    throw new Error(`model/codes.bin: ${codes.length} floats; expected ${meta.n_codes} x ${D}`);
  Object.assign(S, {
    meta,
    D,
    shape,
    P: shape[0] * shape[1] * shape[2],
    probabilistic: meta.probabilistic,
    codes,
    nCodes: meta.n_codes,
    labels: labelBytes,
    proj: Object.freeze({ mode: D > 2 && meta.pca ? "pca" : "dims", dx: 0, dy: Math.min(1, D - 1) }),
    sliderZ: new Float32Array(D),
  });
}

/**
 * Change the map's plane.
 * @param {{mode?: "pca"|"dims", dx?: number, dy?: number}} change the fields to change (dx, dy: dimensions
 *   shown on x and y in "dims" mode, 0-based)
 */
export function setProjection(change) {
  S.proj = Object.freeze({ ...S.proj, ...change });
}

/**
 * Set the map's layout.
 * @param {{cu: number, cv: number, scale: number}} view plane point at the map's centre; screen px per unit
 * @param {Float32Array} uv length 2*nCodes: the codes' plane coordinates (u0, v0, u1, v1, ...)
 */
export function setLayout(view, uv) {
  S.view = Object.freeze(view);
  S.uv = uv;
}

/**
 * Set the sliders' code.
 * @param {ArrayLike<number>} z length D
 */
export function setSliderZ(z) {
  for (let d = 0; d < S.D; d++) S.sliderZ[d] = z[d];
}

/**
 * Set one dimension of the sliders' code.
 * @param {number} d dimension, 0-based
 * @param {number} value
 */
export function setSliderDim(d, value) {
  S.sliderZ[d] = value;
}

/**
 * Set the code shown in the Generate panel, and the generated image.
 * @param {Float32Array} z code, length D
 * @param {?{image: Float32Array, source: "map"|"sliders"}} [made=null] its decoding (length P) and where the
 *   code came from; null leaves state.hover as it is
 */
export function setGenerated(z, made = null) {
  S.genZ = z;
  if (made) S.hover = Object.freeze({ z: Array.from(z), image: made.image, source: made.source });
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
 * Set the drawing's analysis.
 * @param {{input: Float32Array, mu: Float32Array, logvar: ?Float32Array, recon: Float32Array}} analysis
 *   input: length P (1x28x28, row-major, values in [0,1]); mu, logvar: length D (logvar null for a
 *   deterministic encoder); recon: decoding of mu, length P
 */
export function setDrawing({ input, mu, logvar, recon }) {
  Object.assign(S, { input, mu, logvar, recon });
}

/**
 * Forget the drawing: input, mu, logvar, recon become null and analyses still running are dropped.
 */
export function clearDrawing() {
  Object.assign(S, { input: null, mu: null, logvar: null, recon: null });
  S.clearSeq = ++S.drawSeq;
}

/**
 * Set an interpolation end point; the other end is set next.
 * @param {{z: Float32Array, from: "map"|"drawing"}} point code (length D) and where it came from
 * @param {"A"|"B"} [end=state.nextEnd] which end
 */
export function setEnd(point, end = S.nextEnd) {
  S[end] = Object.freeze(point);
  S.nextEnd = end === "A" ? "B" : "A";
}

/**
 * Set the interpolation strip.
 * @param {number[][]} zs n codes of length D, from A to B
 * @param {Float32Array[]} images their decodings, length P each
 */
export function setStrip(zs, images) {
  S.strip = Object.freeze({ zs, images });
}
