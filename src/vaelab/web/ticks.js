// Axis ticks: "nice" round values (1, 2, 2.5 or 5 times a power of ten) covering a range.

/**
 * Round tick values inside [lo, hi], about `target` of them, spaced by 1, 2, 2.5 or 5 times a power of ten.
 * @param {number} lo lower end of the axis
 * @param {number} hi upper end of the axis (> lo)
 * @param {number} [target=5] about how many ticks
 * @returns {{values: number[], step: number, decimals: number}} ticks in increasing order (every value is in
 *   [lo, hi]), their spacing and the decimals that print them exactly
 */
export function niceTicks(lo, hi, target = 5) {
  const span = Math.max(hi - lo, 1e-12),
    raw = span / Math.max(1, target),
    p = Math.pow(10, Math.floor(Math.log10(raw)));
  let step = 10 * p;
  for (const f of [1, 2, 2.5, 5, 10]) {
    if (f * p >= raw) {
      step = f * p;
      break;
    }
  }
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9) + (step / p === 2.5 ? 1 : 0));
  const values = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + 1e-9 * span; k++) {
    const v = Number((k * step).toFixed(decimals));
    if (v >= lo - 1e-9 * span && v <= hi + 1e-9 * span) values.push(v === 0 ? 0 : v);
  }
  return { values, step, decimals };
}

/**
 * Print a tick value with the decimals of its axis (a true minus sign for negatives).
 * @param {number} v the value
 * @param {number} decimals digits after the point
 * @returns {string}
 */
export function tickLabel(v, decimals) {
  const s = Math.abs(v).toFixed(decimals);
  return v < 0 && Number(s) !== 0 ? "\u2212" + s : s;
}
