// onnxruntime-web: loading the runs' files, each model's two sessions, and request scheduling (one run at a time:
// a session must not run twice at once, and the models share one WebAssembly instance; for live updates the latest
// request wins). The networks run with the WebAssembly backend on one thread: the site needs no cross-origin
// isolation, so it works on any static host. Files (written by `vaelab site`): models/index.json (the runs, in
// order) and per run models/i/{encoder,decoder}.onnx, codes.bin (float32 LE, n x D), labels.bin (uint8),
// meta.json, pick.bin (uint8 test images for the Image panel) and, for a 2-D run trained with the time-lapse,
// epoch_codes.bin (float32 LE, epochs x n x 2) and epoch_labels.bin (uint8, n).
import * as ort from "./vendor/ort.wasm.min.mjs";
import { busyEnd, busyStart, mark, recordTiming, reportError } from "./hooks.js";

ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;
ort.env.logLevel = "error";

const OPTIONS = { executionProviders: ["wasm"], graphOptimizationLevel: "all" };
/** Per model: {encoder, decoder, shape: [C, H, W], D, P: C*H*W}. */
const sessions = [];

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

async function fetchJSON(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}; rebuild the site with \`vaelab site RUN OUT\``);
  return r.json();
}

function fetchRun(dir) {
  const base = dir.replace(/\/?$/, "/"),
    meta = fetchJSON(base + "meta.json");
  return {
    meta,
    enc: fetchBytes(base + "encoder.onnx"),
    dec: fetchBytes(base + "decoder.onnx"),
    codes: fetchBytes(base + "codes.bin"),
    labels: meta.then((m) => (m.labels ? fetchBytes(base + m.labels.file) : null)),
    pick: meta.then((m) => (m.pick ? fetchBytes(base + m.pick.file) : null)),
    epochs: meta.then(async (m) => {
      const ec = m.epoch_codes;
      if (!ec) return null;
      const [bytes, labels] = await Promise.all([
        fetchBytes(base + ec.file),
        ec.labels ? fetchBytes(base + ec.labels) : null,
      ]);
      const [E, n, two] = ec.shape,
        codes = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      if (codes.length !== E * n * two || two !== 2)
        throw new Error(`${base}${ec.file}: ${codes.length} floats; expected ${ec.shape.join(" x ")}`);
      return { epochs: ec.epochs, n, codes, labels };
    }),
  };
}

/**
 * Fetch every run's files (relative to the page) and create each model's two sessions. All files are requested
 * at once; the first encoder's session is created as soon as its bytes are here (this loads and compiles
 * onnxruntime's WebAssembly) while the rest is still arriving.
 * @returns {Promise<{meta: object, codeBytes: Uint8Array, labelBytes: ?Uint8Array, epochCodes: ?object,
 *   pickBytes: ?Uint8Array}[]>} per
 *   run: meta.json; codes.bin (float32 LE, n_codes x latent_dim); labels.bin (uint8, n_codes) or null when
 *   unlabelled; the training time-lapse {epochs, n, codes: Float32Array (epochs x n x 2), labels} or null;
 *   pick.bin (uint8, n x C x H x W test images) or null
 */
export async function loadModels() {
  const index = await fetchJSON("models/index.json");
  if (!index.models || !index.models.length) throw new Error("models/index.json: no models");
  const runs = index.models.map((entry) => fetchRun(entry.dir));
  const out = [];
  for (const [i, r] of runs.entries()) {
    const encoder = await ort.InferenceSession.create(await r.enc, OPTIONS);
    if (i === 0) mark("encoderSession");
    const decoder = await ort.InferenceSession.create(await r.dec, OPTIONS);
    const [meta, codeBytes, labelBytes, epochCodes, pickBytes] = await Promise.all([
      r.meta,
      r.codes,
      r.labels,
      r.epochs,
      r.pick,
    ]);
    const shape = meta.image_shape;
    sessions.push({ encoder, decoder, shape, D: meta.latent_dim, P: shape[0] * shape[1] * shape[2] });
    out.push({ meta, codeBytes, labelBytes, epochCodes, pickBytes });
  }
  mark("sessions");
  return out;
}

/**
 * Run a model's encoder on one image (timed into window.vaelab.stats.encodeMs).
 * @param {number} i model index
 * @param {ArrayLike<number>} pixels Float32Array of length C*H*W (C x H x W, row-major, values in [0,1]);
 *   for MNIST 784 (1x28x28)
 * @returns {Promise<{mu: Float32Array, logvar: ?Float32Array}>} mu of length D; logvar of length D, null for
 *   a deterministic encoder
 */
export async function encode(i, pixels) {
  const s = sessions[i];
  return exclusive(async () => {
    const t = performance.now();
    const x = new ort.Tensor("float32", Float32Array.from(pixels), [1, ...s.shape]);
    const out = await s.encoder.run({ x });
    recordTiming("encodeMs", performance.now() - t, i);
    return { mu: Float32Array.from(out.mu.data), logvar: out.logvar ? Float32Array.from(out.logvar.data) : null };
  });
}

/**
 * Run a model's decoder on a batch of codes.
 * @param {number} i model index
 * @param {ArrayLike<number>[]} zs n codes, each of length D (arrays or Float32Arrays)
 * @param {boolean} [record=false] time the run into window.vaelab.stats.decodeMs (and decodeMsByModel[i])
 * @returns {Promise<Float32Array[]>} n images, each Float32Array of length C*H*W (C x H x W, row-major,
 *   pixel means in [0,1])
 */
export async function decodeMany(i, zs, record = false) {
  const s = sessions[i],
    n = zs.length,
    flat = new Float32Array(n * s.D);
  zs.forEach((z, k) => flat.set(z, k * s.D));
  return exclusive(async () => {
    const t = performance.now();
    const out = await s.decoder.run({ z: new ort.Tensor("float32", flat, [n, s.D]) });
    if (record) recordTiming("decodeMs", performance.now() - t, i);
    const data = out.x_mean.data;
    return Array.from({ length: n }, (_, k) => Float32Array.from(data.subarray(k * s.P, (k + 1) * s.P)));
  });
}
