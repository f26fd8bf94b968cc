// onnxruntime-web: loading the run's files, the two sessions, and request scheduling (one run at a time: a
// session must not run twice at once; for live updates the latest request wins).
// The networks run with the WebAssembly backend on one thread: the site needs no cross-origin isolation, so
// it works on any static host. Files (written by `vaelab export`): model/{encoder,decoder}.onnx, model/codes.bin
// (float32 LE, n x D), model/labels.bin (uint8), model/meta.json.
import * as ort from "./vendor/ort.wasm.min.mjs";
import { busyEnd, busyStart, mark, recordTiming, reportError } from "./hooks.js";

ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;
ort.env.logLevel = "error";

const OPTIONS = { executionProviders: ["wasm"], graphOptimizationLevel: "all" };
let encoder = null,
  decoder = null;
let imageShape = null, // [C, H, W]
  latentDim = 0,
  imageSize = 0; // C*H*W

let chain = Promise.resolve();

/**
 * Run fn after every earlier exclusive run has finished (sessions run one at a time).
 * @template T
 * @param {() => Promise<T>} fn
 * @returns {Promise<T>} fn's result
 */
function exclusive(fn) {
  const p = chain.then(fn);
  chain = p.then(
    () => {},
    () => {},
  );
  return p;
}

/**
 * Wrap an async handler so that calls made while it runs collapse into one later call with the latest
 * argument (pointer moves, strokes). Counts window.vaelab.busy while running; errors are reported.
 * @param {(arg: *) => Promise<void>} fn the handler
 * @returns {(arg: *) => void} call it freely; returns at once
 */
export function latest(fn) {
  let pending = null,
    running = false;
  async function pump() {
    running = true;
    while (pending) {
      const { arg } = pending;
      pending = null;
      try {
        await fn(arg);
      } catch (err) {
        reportError(err);
      }
    }
    running = false;
    busyEnd();
  }
  return (arg) => {
    pending = { arg };
    if (!running) {
      busyStart();
      pump();
    }
  };
}

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}; rebuild the site with \`vaelab site RUN OUT\``);
  return new Uint8Array(await r.arrayBuffer());
}

/**
 * Fetch the run's files (relative to the page) and create both sessions. The encoder session is created as
 * soon as its bytes are here (this loads and compiles onnxruntime's WebAssembly) while the decoder, the codes
 * and the labels are still being fetched.
 * @returns {Promise<{meta: object, codeBytes: Uint8Array, labelBytes: ?Uint8Array}>} meta.json; codes.bin
 *   (float32 LE, n_codes x latent_dim); labels.bin (uint8, n_codes) or null when the test set is unlabelled
 */
export async function loadModel() {
  const metaP = fetch("model/meta.json").then((r) => {
    if (!r.ok) throw new Error(`model/meta.json: HTTP ${r.status}`);
    return r.json();
  });
  const encP = fetchBytes("model/encoder.onnx").then((b) => ort.InferenceSession.create(b, OPTIONS));
  const decBytesP = fetchBytes("model/decoder.onnx"),
    codesP = fetchBytes("model/codes.bin");
  const labelsP = metaP.then((m) => (m.labels ? fetchBytes("model/labels.bin") : null));
  encoder = await encP;
  mark("encoderSession");
  decoder = await ort.InferenceSession.create(await decBytesP, OPTIONS);
  mark("decoderSession");
  const [meta, codeBytes, labelBytes] = await Promise.all([metaP, codesP, labelsP]);
  imageShape = meta.image_shape;
  latentDim = meta.latent_dim;
  imageSize = imageShape[0] * imageShape[1] * imageShape[2];
  return { meta, codeBytes, labelBytes };
}

/**
 * Run the encoder on one image (timed into window.vaelab.stats.encodeMs).
 * @param {ArrayLike<number>} pixels Float32Array of length C*H*W (C x H x W, row-major, values in [0,1]);
 *   for MNIST 784 (1x28x28)
 * @returns {Promise<{mu: Float32Array, logvar: ?Float32Array}>} mu of length D; logvar of length D, null for
 *   a deterministic encoder
 */
export async function encode(pixels) {
  return exclusive(async () => {
    const t = performance.now();
    const x = new ort.Tensor("float32", Float32Array.from(pixels), [1, ...imageShape]);
    const out = await encoder.run({ x });
    recordTiming("encodeMs", performance.now() - t);
    return { mu: Float32Array.from(out.mu.data), logvar: out.logvar ? Float32Array.from(out.logvar.data) : null };
  });
}

/**
 * Run the decoder on a batch of codes.
 * @param {ArrayLike<number>[]} zs n codes, each of length D (arrays or Float32Arrays)
 * @param {boolean} [record=false] time the run into window.vaelab.stats.decodeMs
 * @returns {Promise<Float32Array[]>} n images, each Float32Array of length C*H*W (C x H x W, row-major,
 *   pixel means in [0,1])
 */
export async function decodeMany(zs, record = false) {
  const n = zs.length,
    D = latentDim,
    flat = new Float32Array(n * D);
  zs.forEach((z, i) => flat.set(z, i * D));
  return exclusive(async () => {
    const t = performance.now();
    const out = await decoder.run({ z: new ort.Tensor("float32", flat, [n, D]) });
    if (record) recordTiming("decodeMs", performance.now() - t);
    const data = out.x_mean.data,
      P = imageSize;
    return Array.from({ length: n }, (_, i) => Float32Array.from(data.subarray(i * P, (i + 1) * P)));
  });
}
