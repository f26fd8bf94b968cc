// onnxruntime-web: each model's two sessions (made from the files files.js fetched and checked, with the inputs and
// outputs the page runs checked too), the page's loading of every run, and request scheduling (one run at a time:
// a session must not run twice at once, and the models share one WebAssembly instance; for live updates the latest
// request wins). The networks run with the WebAssembly backend on one thread: the site needs no cross-origin
// isolation, so it works on any static host.
import * as ort from "./vendor/ort.wasm.min.mjs";
import { fetchIndex, fetchRun, REDO } from "./files.js";
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

/**
 * A session of one of a run's networks, checked for the names the page runs it with.
 * @param {string} url the .onnx file, for the messages
 * @param {Uint8Array} bytes its content
 * @param {string[]} inputs input names it must have
 * @param {string[]} outputs output names it must have
 * @returns {Promise<ort.InferenceSession>}
 * @throws {Error} onnxruntime-web cannot load it, or its inputs or outputs are not the expected ones
 */
async function createSession(url, bytes, inputs, outputs) {
  let session;
  try {
    session = await ort.InferenceSession.create(bytes, OPTIONS);
  } catch (err) {
    const message = String((err && err.message) || err);
    // "no available backend found": the WebAssembly runtime did not start, which is not this file's fault
    if (/backend/i.test(message))
      throw new Error(`vendor/ort-wasm-simd-threaded.wasm: onnxruntime-web could not start (${message})`, {
        cause: err,
      });
    throw new Error(
      `${url}: ${bytes.byteLength} bytes that onnxruntime-web cannot load as an ONNX model (${message}); ` +
        `expected the ONNX file written by vaelab export; ${REDO}`,
      { cause: err },
    );
  }
  const missing = [
    ...inputs.filter((n) => !session.inputNames.includes(n)).map((n) => `input ${n}`),
    ...outputs.filter((n) => !session.outputNames.includes(n)).map((n) => `output ${n}`),
  ];
  if (missing.length)
    throw new Error(
      `${url}: no ${missing.join(", no ")} (it has inputs ${session.inputNames.join(", ")}, outputs ` +
        `${session.outputNames.join(", ")}); expected the ONNX file written by vaelab export; ${REDO}`,
    );
  return session;
}

/**
 * Fetch every run's files (relative to the page; files.js) and create each model's two sessions. All files are
 * requested at once; the first encoder's session is created as soon as its bytes and meta.json are here (this
 * loads and compiles onnxruntime's WebAssembly) while the rest is still arriving. The first file that fails
 * (cannot be fetched, or is not what vaelab export writes) rejects with an Error naming it.
 * @returns {Promise<{meta: object, codeBytes: Uint8Array, labelBytes: ?Uint8Array, epochCodes: ?object,
 *   pickBytes: ?Uint8Array}[]>} per
 *   run: meta.json; codes.bin (float32 LE, n_codes x latent_dim); labels.bin (uint8, n_codes) or null when
 *   unlabelled; the training time-lapse {epochs, n, codes: Float32Array (epochs x n x 2), labels} or null;
 *   pick.bin (uint8, n x C x H x W test images) or null
 */
export async function loadModels() {
  const runs = (await fetchIndex()).map((entry) => fetchRun(entry.dir));
  const out = [];
  for (const [i, r] of runs.entries()) {
    const meta = await r.meta;
    const encoder = await createSession(
      r.base + "encoder.onnx",
      await r.enc,
      ["x"],
      meta.probabilistic ? ["mu", "logvar"] : ["mu"],
    );
    if (i === 0) mark("encoderSession");
    const decoder = await createSession(r.base + "decoder.onnx", await r.dec, ["z"], ["x_mean"]);
    const [codeBytes, labelBytes, epochCodes, pickBytes] = await Promise.all([r.codes, r.labels, r.epochs, r.pick]);
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
