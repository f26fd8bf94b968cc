// The sliders of the Generate panel: one per latent dimension, showing and setting the sliders' code.
import { $ } from "./dom.js";
import { setSliderDim, setSliderZ, state } from "./state.js";

let sliders = []; // [{input, out}] per dimension

/**
 * Build one slider per latent dimension. Each spans the codes' range plus 10% (for a VAE at least [-3, 3],
 * where the prior N(0, I) puts 99.7% of its mass) and starts at the sliders' code.
 * @param {(z: Float32Array) => void} onChange called with the sliders' code (length D) when a slider moves
 */
export function buildSliders(onChange) {
  const box = $("sliders"),
    lo = state.meta.code_range.min,
    hi = state.meta.code_range.max;
  box.innerHTML = "";
  sliders = [];
  for (let d = 0; d < state.D; d++) {
    const span = Math.max(hi[d] - lo[d], 1e-3),
      input = document.createElement("input"),
      out = document.createElement("output");
    let a = lo[d] - 0.1 * span,
      b = hi[d] + 0.1 * span;
    if (state.probabilistic) {
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
      setSliderDim(d, Number(input.value));
      out.textContent = state.sliderZ[d].toFixed(2);
      onChange(Float32Array.from(state.sliderZ));
    });
    box.append(label, input, out);
    sliders.push({ input, out });
  }
  setSliders(state.sliderZ);
}

/**
 * Move the sliders to a code (and make it the sliders' code).
 * @param {ArrayLike<number>} z code, length D
 */
export function setSliders(z) {
  setSliderZ(z);
  for (let d = 0; d < state.D; d++) {
    sliders[d].input.value = String(z[d]);
    sliders[d].out.textContent = Number(z[d]).toFixed(2);
  }
}
