// vaelab latent explorer: draw a digit -> 28x28 MNIST-style input -> encoder (mu, sigma) -> decoder; map of
// the test set's codes -> decoder image under the pointer; sliders per latent dimension; interpolation.
// This module wires the panels together; see ort.js for the files the page loads.
import { $, clearImage, factsText } from "./dom.js";
import { canvasRGBA, disableDrawing, setupDrawing } from "./draw.js";
import { generate, showStart } from "./generate.js";
import { markReady, publish, reportError } from "./hooks.js";
import { setEndpoint, setupInterpolation } from "./interpolate.js";
import { buildLegend, codeAt, drawScatter, project, screenOf, setupAxes } from "./map.js";
import { decodeMany, encode, loadModel } from "./ort.js";
import { mnistStyle } from "./preprocess.js";
import { buildSliders } from "./sliders.js";
import { initState, state } from "./state.js";

async function main() {
  const { meta, codeBytes, labelBytes } = await loadModel();
  initState(meta, codeBytes, labelBytes);
  publish({ state });
  const { shape, D } = state;
  $("facts").textContent = factsText(meta);
  setupAxes();
  buildLegend();
  if (shape[0] === 1 && shape[1] === 28 && shape[2] === 28) setupDrawing();
  else disableDrawing(shape);
  for (const c of [$("input"), $("recon"), $("gen")]) {
    c.width = shape[2];
    c.height = shape[1];
    clearImage(c);
  }
  buildSliders((z) => generate({ z, source: "sliders" }));
  drawScatter();
  $("overlay").addEventListener("pointermove", (ev) => generate({ z: codeAt(ev), source: "map" }));
  $("overlay").addEventListener("click", (ev) => setEndpoint({ z: codeAt(ev), from: "map" }));
  setupInterpolation();

  // warm-up run of both networks (first runs allocate), then show the decoding of z = 0
  await encode(new Float32Array(state.P));
  await showStart();

  publish({
    encode: async (pixels) => {
      const r = await encode(pixels);
      return { mu: Array.from(r.mu), logvar: r.logvar && Array.from(r.logvar) };
    },
    decode: async (z) => Array.from((await decodeMany([Float32Array.from(z)]))[0]),
    mnistStyle: (gray, h, w) => Array.from(mnistStyle(Float64Array.from(gray), h, w)),
    project: (z) => project(z),
    screenOf, // page coordinates (CSS px) of the point z on the map
    code: (i) => Array.from(state.codes.subarray(i * D, (i + 1) * D)),
    canvasRGBA: () => Array.from(canvasRGBA()),
  });
  markReady();
  $("status").textContent = "";
  document.body.dataset.ready = "1";
}

main().catch(reportError);
