// Page elements: lookup by id, images on canvases, the text shown for codes.

/**
 * The element with this id.
 * @param {string} id element id (without "#")
 * @returns {HTMLElement} the element (null when the page has none)
 */
export const $ = (id) => document.getElementById(id);

/**
 * An element of model i's card (ids are "NAME-i", made from the card template's data-id).
 * @param {number} i model index, 0-based
 * @param {string} name the element's data-id in the template (e.g. "map", "gen")
 * @returns {HTMLElement} the element (null when the card has none)
 */
export const $m = (i, name) => document.getElementById(`${name}-${i}`);

/**
 * Paint an image into a canvas, one canvas pixel per image pixel (grey images go to all three channels).
 * @param {HTMLCanvasElement} canvas target canvas, at least W x H pixels from x0
 * @param {ArrayLike<number>} img Float32Array of length C*H*W (C x H x W, row-major, values in [0,1]; clipped)
 * @param {number[]} shape image shape [C, H, W], C = 1 or 3
 * @param {number} [x0=0] left edge of the image in the canvas, pixels
 * @param {number} [y0=0] top edge of the image in the canvas, pixels
 */
export function putImage(canvas, img, shape, x0 = 0, y0 = 0) {
  const [C, H, W] = shape,
    ctx = canvas.getContext("2d"),
    data = ctx.createImageData(W, H);
  for (let p = 0; p < H * W; p++) {
    for (let c = 0; c < 3; c++)
      data.data[4 * p + c] = Math.round(255 * Math.min(1, Math.max(0, img[(C === 3 ? c : 0) * H * W + p])));
    data.data[4 * p + 3] = 255;
  }
  ctx.putImageData(data, x0, y0);
}

/**
 * Fill a canvas with black.
 * @param {HTMLCanvasElement} canvas
 */
export function clearImage(canvas) {
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
}

const fmt = (v) => (v >= 0 ? " " : "") + v.toFixed(3);

/**
 * A table of a code, one line per latent dimension: mu and sigma = exp(logvar / 2), or z alone.
 * @param {ArrayLike<number>} mu code or posterior mean, length D
 * @param {?ArrayLike<number>} logvar posterior log-variance, length D; null for a code without spread
 * @returns {string} lines joined with "\n"
 */
export function codeText(mu, logvar) {
  const lines = [logvar ? "dim        mu    sigma" : "dim         z"];
  for (let d = 0; d < mu.length; d++) {
    let line = ("z" + (d + 1)).padEnd(5) + fmt(mu[d]).padStart(9);
    if (logvar) line += fmt(Math.exp(0.5 * logvar[d])).padStart(9);
    lines.push(line);
  }
  return lines.join("\n");
}

/**
 * A code on one line.
 * @param {ArrayLike<number>} z code, length D
 * @returns {string} "z = [a, b, ...]" with three decimals
 */
export function zText(z) {
  return "z = [" + Array.from(z, (v) => v.toFixed(3)).join(", ") + "]";
}

/**
 * The line describing one model (under its name on its card).
 * @param {object} meta models/i/meta.json (model, probabilistic, latent_dim, n_codes, nll, ...)
 * @returns {string}
 */
export function factsText(meta) {
  const nll =
    meta.nll != null
      ? ` · test NLL ${meta.nll.toFixed(2)} ± ${(meta.nll_stderr || 0).toFixed(2)} nats (K=${meta.nll_k})`
      : "";
  return (
    `${meta.model}${meta.probabilistic ? "" : " (deterministic)"} · latent dim ${meta.latent_dim}` +
    `${nll} · ${meta.n_codes} test codes`
  );
}

/**
 * The header line describing the page's models.
 * @param {object[]} metas every model's meta.json, in the page's order
 * @returns {string}
 */
export function pageFacts(metas) {
  const m = metas[0],
    shape = m.image_shape.join("×");
  const names = metas.map((x) => `${x.run} (${x.model}, ${x.latent_dim}-D)`).join(" · ");
  return `${metas.length} model${metas.length > 1 ? "s" : ""} of ${m.dataset || "images"} ${shape}: ${names}`;
}

/**
 * A short name of a model for captions.
 * @param {object} meta the model's meta.json
 * @returns {string} run name
 */
export function shortName(meta) {
  return String(meta.run || meta.model || "model");
}
