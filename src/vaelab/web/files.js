// The export's files, fetched relative to the page and checked against what `vaelab export` and `vaelab site` write:
// models/index.json (the runs, in order) and per run meta.json, codes.bin (float32 LE, n_codes x latent_dim),
// labels.bin (uint8, n_codes), pick.bin (uint8 test images, n x C x H x W) and the training time-lapse,
// epoch_codes.bin (float32 LE, epochs x n x 2) with epoch_labels.bin (uint8, n). A file that cannot be fetched or
// does not hold what is expected is an Error naming the file, what it holds and what was expected.

/** What to do about a damaged or stale export: the end of every message of this module. */
export const REDO = "export the run again and rebuild the page (`vaelab explore RUN --export`)";

const isCount = (v, lo = 1) => Number.isInteger(v) && v >= lo;
const isNumbers = (v, n) => Array.isArray(v) && v.length === n && v.every((x) => Number.isFinite(x));
const isShape = (v, n) => Array.isArray(v) && v.length === n && v.every((x) => isCount(x));
const shown = (v) => {
  const text = JSON.stringify(v);
  return text.length > 60 ? text.slice(0, 57) + "..." : text;
};

async function get(url) {
  let r;
  try {
    r = await fetch(url);
  } catch (err) {
    throw new Error(`${url}: could not be fetched (${err.message}); is the page's server still running?`, {
      cause: err,
    });
  }
  if (!r.ok) {
    const why = r.status === 404 ? " (no such file)" : "";
    throw new Error(`${url}: HTTP ${r.status}${why}; expected a file of the site written by vaelab; ${REDO}`);
  }
  return r;
}

/**
 * Fetch a file's bytes.
 * @param {string} url relative to the page
 * @returns {Promise<Uint8Array>}
 * @throws {Error} it cannot be fetched (naming the file and the HTTP status)
 */
export async function fetchBytes(url) {
  return new Uint8Array(await (await get(url)).arrayBuffer());
}

async function fetchJSON(url, expected) {
  const text = await (await get(url)).text();
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${url}: not JSON (${err.message}); expected ${expected}; ${REDO}`, { cause: err });
  }
}

/**
 * Fetch and check models/index.json.
 * @returns {Promise<{dir: string}[]>} the runs' entries, in the page's order (dir: the run's folder, relative)
 * @throws {Error} it cannot be fetched, is not JSON or has no models
 */
export async function fetchIndex() {
  const url = "models/index.json",
    expected = '{"models": [{"dir": "models/0", ...}, ...]}',
    index = await fetchJSON(url, expected),
    models = index && index.models;
  if (!Array.isArray(models) || !models.length || !models.every((m) => m && typeof m.dir === "string" && m.dir))
    throw new Error(`${url}: models is ${shown(models)}; expected ${expected}, one entry per run; ${REDO}`);
  return models;
}

/**
 * Check a parsed meta.json: the fields the page reads, with their types and sizes.
 * @param {string} url the file, for the messages
 * @param {*} meta its parsed content
 * @returns {object} meta
 * @throws {Error} a field is missing or not what `vaelab export` writes (naming the field and what was expected)
 */
export function checkMeta(url, meta) {
  if (!meta || typeof meta !== "object" || Array.isArray(meta))
    throw new Error(`${url}: ${shown(meta)}; expected a JSON object (the meta.json written by vaelab export); ${REDO}`);
  const field = (name, ok, expected) => {
    if (!ok(meta[name]))
      throw new Error(
        `${url}: ${name} ${name in meta ? "is " + shown(meta[name]) : "missing"}; expected ${expected}; ${REDO}`,
      );
  };
  field("latent_dim", (v) => isCount(v), "a whole number >= 1");
  field("image_shape", (v) => isShape(v, 3) && (v[0] === 1 || v[0] === 3), "[C, H, W] with C 1 or 3");
  field("n_codes", (v) => isCount(v), "a whole number >= 1 (the test codes in codes.bin)");
  field("probabilistic", (v) => typeof v === "boolean", "true or false");
  const D = meta.latent_dim,
    [C, H, W] = meta.image_shape;
  field("code_range", (v) => v && isNumbers(v.min, D) && isNumbers(v.max, D), `{min, max} of ${D} numbers each`);
  field(
    "pca",
    (v) =>
      v == null ||
      (isNumbers(v.mean, D) &&
        Array.isArray(v.components) &&
        v.components.length === 2 &&
        v.components.every((c) => isNumbers(c, D)) &&
        isNumbers(v.explained_variance_ratio, 2)),
    `null or {mean: ${D} numbers, components: 2 x ${D} numbers, explained_variance_ratio: 2 numbers}`,
  );
  field("labels", (v) => v == null || typeof v.file === "string", 'null or {"file": "labels.bin"}');
  field(
    "pick",
    (v) => v == null || (typeof v.file === "string" && isShape(v.shape, 4) && `${v.shape.slice(1)}` === `${[C, H, W]}`),
    `null or {"file": "pick.bin", "shape": [n, ${C}, ${H}, ${W}]}`,
  );
  field(
    "epoch_codes",
    (v) =>
      v == null ||
      (typeof v.file === "string" &&
        isShape(v.shape, 3) &&
        v.shape[2] === 2 &&
        isNumbers(v.epochs, v.shape[0]) &&
        (v.labels == null || typeof v.labels === "string")),
    'null or {"file": "epoch_codes.bin", "shape": [epochs, n, 2], "epochs": [one number per epoch], "labels"}',
  );
  field(
    "attributes",
    (v) => v == null || (Array.isArray(v) && v.every((a) => a && typeof a.name === "string" && isNumbers(a.vector, D))),
    `null or a list of {name, vector: ${D} numbers, ...}`,
  );
  return meta;
}

function checkLength(url, bytes, expected, what) {
  if (bytes.byteLength !== expected)
    throw new Error(`${url}: ${bytes.byteLength} bytes; expected ${expected} bytes (${what}); ${REDO}`);
  return bytes;
}

/**
 * Start fetching every file of one run at once (meta.json first checked, then each file against it).
 * @param {string} dir the run's folder relative to the page (models/index.json's dir)
 * @returns {{base: string, meta: Promise<object>, enc: Promise<Uint8Array>, dec: Promise<Uint8Array>,
 *   codes: Promise<Uint8Array>, labels: Promise<?Uint8Array>, pick: Promise<?Uint8Array>,
 *   epochs: Promise<?{epochs: number[], n: number, codes: Float32Array, labels: ?Uint8Array}>}} base: the
 *   folder with a trailing "/"; the others reject with an Error naming their file. A promise left unawaited
 *   (because another file failed first) is not reported as an unhandled rejection.
 */
export function fetchRun(dir) {
  const base = dir.replace(/\/?$/, "/"),
    url = (name) => base + name,
    meta = fetchJSON(url("meta.json"), "the meta.json written by vaelab export").then((m) =>
      checkMeta(url("meta.json"), m),
    );
  const codes = Promise.all([meta, fetchBytes(url("codes.bin"))]).then(([m, bytes]) =>
    checkLength(
      url("codes.bin"),
      bytes,
      m.n_codes * m.latent_dim * 4,
      `n_codes x latent_dim x 4 = ${m.n_codes} x ${m.latent_dim} x 4, float32`,
    ),
  );
  const labels = meta.then(async (m) => {
    if (!m.labels) return null;
    const bytes = await fetchBytes(url(m.labels.file));
    return checkLength(
      url(m.labels.file),
      bytes,
      m.n_codes,
      "one uint8 label per code of codes.bin: meta.json's n_codes",
    );
  });
  const pick = meta.then(async (m) => {
    if (!m.pick) return null;
    const s = m.pick.shape;
    return checkLength(
      url(m.pick.file),
      await fetchBytes(url(m.pick.file)),
      s[0] * s[1] * s[2] * s[3],
      `uint8, ${s.join(" x ")}`,
    );
  });
  const epochs = meta.then(async (m) => {
    const ec = m.epoch_codes;
    if (!ec) return null;
    const [E, n] = ec.shape;
    const [bytes, labelBytes] = await Promise.all([
      fetchBytes(url(ec.file)).then((b) => checkLength(url(ec.file), b, E * n * 2 * 4, `${E} x ${n} x 2 x 4, float32`)),
      ec.labels
        ? fetchBytes(url(ec.labels)).then((b) => checkLength(url(ec.labels), b, n, `one uint8 label per code: ${n}`))
        : null,
    ]);
    return {
      epochs: ec.epochs,
      n,
      codes: new Float32Array(bytes.buffer, bytes.byteOffset, E * n * 2),
      labels: labelBytes,
    };
  });
  const run = {
    base,
    meta,
    enc: fetchBytes(url("encoder.onnx")),
    dec: fetchBytes(url("decoder.onnx")),
    codes,
    labels,
    pick,
    epochs,
  };
  for (const p of Object.values(run)) if (p instanceof Promise) p.catch(() => {}); // handled where awaited
  return run;
}
