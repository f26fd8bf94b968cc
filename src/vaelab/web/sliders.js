// Each model card's sliders: one per latent dimension, showing and setting the model's sliders' code.
import { $m } from "./dom.js";
import { setSliderDim, setSliderZ, state } from "./state.js";

const sliders = []; // per model: [{input, out}] per dimension

/**
 * Build one slider per latent dimension of model i. Each spans the codes' range plus 10% (for a VAE at least
 * [-3, 3], where the prior N(0, I) puts 99.7% of its mass) and starts at the sliders' code.
 * @param {number} i model index
 * @param {(z: Float32Array) => void} onChange called with the sliders' code (length D) when a slider moves
 */
export function buildSliders(i, onChange) {
  const m = state.models[i],
    box = $m(i, "sliders"),
    lo = m.meta.code_range.min,
    hi = m.meta.code_range.max;
  box.textContent = "";
  sliders[i] = [];
  for (let d = 0; d < m.D; d++) {
    const span = Math.max(hi[d] - lo[d], 1e-3),
      input = document.createElement("input"),
      out = document.createElement("output");
    let a = lo[d] - 0.1 * span,
      b = hi[d] + 0.1 * span;
    if (m.probabilistic) {
      a = Math.min(a, -3);
      b = Math.max(b, 3);
    }
    input.type = "range";
    input.min = a.toFixed(3);
    input.max = b.toFixed(3);
    input.step = ((b - a) / 1000).toPrecision(3);
    input.value = "0";
    input.dataset.dim = String(d);
    input.setAttribute("aria-label", "z" + (d + 1));
    const label = document.createElement("label");
    label.textContent = "z" + (d + 1);
    input.addEventListener("input", () => {
      setSliderDim(i, d, Number(input.value));
      out.textContent = m.sliderZ[d].toFixed(2);
      onChange(Float32Array.from(m.sliderZ));
    });
    box.append(label, input, out);
    sliders[i].push({ input, out });
  }
  setSliders(i, m.sliderZ);
}

/**
 * Move model i's sliders to a code (and make it the sliders' code).
 * @param {number} i model index
 * @param {ArrayLike<number>} z code, length D
 */
export function setSliders(i, z) {
  setSliderZ(i, z);
  for (let d = 0; d < state.models[i].D; d++) {
    sliders[i][d].input.value = String(z[d]);
    sliders[i][d].out.textContent = Number(z[d]).toFixed(2);
  }
}
