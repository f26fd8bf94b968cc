// MNIST-style preprocessing of a drawing: the same steps and arithmetic as vaelab/export/preprocess.py
// (mnist_style), compared with it to 1e-6 by tests/test_explorer_browser.py.

/** Side of the output image, pixels. */
export const FIELD = 28;
/** Side of the box the digit is scaled to fit, pixels. */
export const BOX = 20;

/**
 * Area-averaging resampling weights from nIn cells to nOut cells (each output cell averages the input cells it
 * covers, weighted by overlap).
 * @param {number} nIn input length
 * @param {number} nOut output length
 * @returns {{j0: number, w: number[]}[]} per output cell: first input index and normalised weights
 */
function areaWeights(nIn, nOut) {
  const scale = nIn / nOut,
    rows = [];
  for (let i = 0; i < nOut; i++) {
    const a = i * scale,
      b = (i + 1) * scale,
      j0 = Math.floor(a),
      j1 = Math.min(nIn, Math.ceil(b));
    const w = [];
    let sum = 0;
    for (let j = j0; j < j1; j++) {
      const v = Math.min(b, j + 1) - Math.max(a, j);
      w.push(v);
      sum += v;
    }
    rows.push({ j0, w: w.map((v) => v / sum) });
  }
  return rows;
}

/**
 * MNIST-style input of a drawing: crop to the ink's bounding box, scale (area averaging) to fit 20x20 keeping
 * the aspect ratio, then place in 28x28 with the centre of mass at the centre.
 * @param {Float64Array} gray ink of the drawing, length h*w (h x w, row-major, values in [0,1])
 * @param {number} h rows
 * @param {number} w columns
 * @param {number} [threshold=0] pixels above this count as ink for the bounding box
 * @returns {Float32Array} length 784 (1x28x28, row-major, values in [0,1]); all zeros for an empty drawing
 */
export function mnistStyle(gray, h, w, threshold = 0) {
  const out = new Float32Array(FIELD * FIELD);
  let r0 = h,
    r1 = -1,
    c0 = w,
    c1 = -1;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      if (gray[y * w + x] > threshold) {
        if (y < r0) r0 = y;
        if (y > r1) r1 = y;
        if (x < c0) c0 = x;
        if (x > c1) c1 = x;
      }
    }
  if (r1 < 0) return out;
  const ch = r1 - r0 + 1,
    cw = c1 - c0 + 1,
    s = BOX / Math.max(ch, cw);
  const nh = Math.max(1, Math.min(BOX, Math.floor(ch * s + 0.5))),
    nw = Math.max(1, Math.min(BOX, Math.floor(cw * s + 0.5)));
  const wy = areaWeights(ch, nh),
    wx = areaWeights(cw, nw);
  const tmp = new Float64Array(nh * cw); // rows resampled first: tmp = Wy @ crop
  for (let i = 0; i < nh; i++) {
    const { j0, w: wr } = wy[i];
    for (let x = 0; x < cw; x++) {
      let acc = 0;
      for (let k = 0; k < wr.length; k++) acc += wr[k] * gray[(r0 + j0 + k) * w + c0 + x];
      tmp[i * cw + x] = acc;
    }
  }
  const small = new Float64Array(nh * nw); // then columns: small = tmp @ Wx^T
  let mass = 0,
    my = 0,
    mx = 0;
  for (let i = 0; i < nh; i++)
    for (let j = 0; j < nw; j++) {
      const { j0, w: wc } = wx[j];
      let acc = 0;
      for (let k = 0; k < wc.length; k++) acc += wc[k] * tmp[i * cw + j0 + k];
      small[i * nw + j] = acc;
      mass += acc;
      my += i * acc;
      mx += j * acc;
    }
  if (mass <= 0) return out;
  const centre = (FIELD - 1) / 2;
  const oy = Math.floor(centre - my / mass + 0.5),
    ox = Math.floor(centre - mx / mass + 0.5);
  for (let i = 0; i < nh; i++) {
    const y = i + oy;
    if (y < 0 || y >= FIELD) continue;
    for (let j = 0; j < nw; j++) {
      const x = j + ox;
      if (x >= 0 && x < FIELD) out[y * FIELD + x] = Math.min(1, Math.max(0, small[i * nw + j]));
    }
  }
  return out;
}
