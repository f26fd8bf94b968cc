// Each model card's attribute sliders: one per attribute vector of the run's export (meta.json attributes: the
// mean test code of one group minus that of another, e.g. skin tone dark - light, smiling - not smiling). The
// decoded code is z = base + sum_k alpha_k v_k, with base the code of the analysed image (its posterior mean), or
// z = 0 before any image; White, "Sampling Generative Networks" (2016).
import { $m } from "./dom.js";
import { generate } from "./generate.js";
import { setAttributeAlpha, state } from "./state.js";

const inputs = []; // per model: [{input, out}] per attribute vector

/**
 * The code the attribute sliders of model i stand for: the analysed image's mu (or 0) plus alpha_k times vector k.
 * @param {number} i model index
 * @returns {Float32Array} length D
 */
export function attributeCode(i) {
  const m = state.models[i],
    z = new Float64Array(m.D);
  if (m.mu) z.set(m.mu);
  (m.meta.attributes || []).forEach((a, k) => {
    for (let d = 0; d < m.D; d++) z[d] += m.attrAlpha[k] * a.vector[d];
  });
  return Float32Array.from(z);
}

/**
 * Build model i's attribute sliders (alpha from -2 to 2), hidden when its export has no attribute vectors.
 * @param {number} i model index
 */
export function buildAttributeSliders(i) {
  const m = state.models[i],
    list = m.meta.attributes || [],
    box = $m(i, "attrs");
  $m(i, "attr-box").classList.toggle("hidden", !list.length);
  box.textContent = "";
  inputs[i] = [];
  $m(i, "attr-note").textContent =
    "Each slider adds alpha times an attribute vector (the mean test code of one group minus that of the other; " +
    "image counts in brackets) to the analysed image's code, or to z = 0 before an image is chosen.";
  list.forEach((a, k) => {
    const input = document.createElement("input"),
      out = document.createElement("output"),
      label = document.createElement("label");
    Object.assign(input, {
      type: "range",
      min: "-2",
      max: "2",
      step: "0.05",
      value: "0",
    });
    input.dataset.attr = String(k);
    input.setAttribute("aria-label", a.name);
    label.textContent = `${a.name} (${a.n_positive} vs ${a.n_negative})`;
    out.textContent = "0.00";
    input.addEventListener("input", () => {
      setAttributeAlpha(i, k, Number(input.value));
      out.textContent = Number(input.value).toFixed(2);
      generate({ model: i, z: attributeCode(i), source: "attributes" });
    });
    box.append(label, input, out);
    inputs[i].push({ input, out });
  });
}

/**
 * Put model i's attribute sliders back to 0 (a new image was analysed).
 * @param {number} i model index
 */
export function resetAttributeSliders(i) {
  (inputs[i] || []).forEach(({ input, out }, k) => {
    setAttributeAlpha(i, k, 0);
    input.value = "0";
    out.textContent = "0.00";
  });
}
