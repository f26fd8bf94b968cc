// The training time-lapse of a model with a 2-D code: an epoch slider over the codes of a fixed subset of test
// images stored at each epoch end (RUN/epoch_codes.npz, exported as epoch_codes.bin), replaying how the map
// organised itself. Its last position shows the exported model's codes of the whole test split.
import { $m } from "./dom.js";
import { setShownEpoch, state } from "./state.js";

const FRAME_MS = 400;

/**
 * Wire model i's epoch slider and replay button, or hide them when the model has no time-lapse.
 * @param {number} i model index
 * @param {(i: number) => void} redraw called after the shown codes changed (redraws model i's map)
 */
export function setupTimelapse(i, redraw) {
  const m = state.models[i],
    box = $m(i, "timelapse");
  if (!m.epochCodes) {
    box.classList.add("hidden");
    return;
  }
  const { epochs, n } = m.epochCodes,
    slider = $m(i, "epoch"),
    out = $m(i, "epoch-out"),
    last = epochs.length; // slider positions 0..last-1: stored epochs; last: the exported codes
  slider.min = "0";
  slider.max = String(last);
  slider.value = String(last);
  const show = (k) => {
    setShownEpoch(i, k < last ? epochs[k] : null);
    out.textContent =
      k < last
        ? `epoch ${epochs[k]} of ${epochs[last - 1]} (${n} test codes)`
        : `exported model (${m.meta.checkpoint || "final"} checkpoint, ${m.nCodes} test codes)`;
    redraw(i);
  };
  show(last);
  slider.addEventListener("input", () => show(Number(slider.value)));
  let timer = null;
  $m(i, "play").addEventListener("click", () => {
    clearInterval(timer);
    let k = 0;
    const step = () => {
      slider.value = String(k);
      show(k);
      if (++k > last) clearInterval(timer);
    };
    step();
    timer = setInterval(step, FRAME_MS);
  });
}
