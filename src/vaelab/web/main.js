// vaelab latent explorer, for one to four models side by side: draw a digit -> 28x28 MNIST-style input (or, for
// any other images, pick a test image or choose or drop an image file -> the run's own preprocessing) -> every
// model's encoder (mu, sigma) and decoder; attribute sliders; a map of each model's test codes -> the decoding under the pointer in
// every model with a 2-D code; sliders per latent dimension; interpolation; the training time-lapse.
// This module builds the model cards and wires the panels together; see ort.js for the files the page loads.
import { attributeCode, buildAttributeSliders } from "./attributes.js";
import { refreshBackgrounds, tilesPerSide } from "./background.js";
import { $, $m, clearImage, factsText, pageFacts, shortName } from "./dom.js";
import { canvasRGBA, disableDrawing, setupDrawing } from "./draw.js";
import { setDropHandler, setupDrops } from "./drop.js";
import { generate, showStart } from "./generate.js";
import { markReady, publish, reportError } from "./hooks.js";
import { setupInterpolation, setEndpoint } from "./interpolate.js";
import { buildLegend, codeAt, drawScatter, project, screenOf, setupPlane } from "./map.js";
import { decodeMany, encode, loadModels } from "./ort.js";
import { prepareFile, setupImagePanel, useFile, usePick } from "./pick.js";
import { mnistStyle } from "./preprocess.js";
import { buildSliders } from "./sliders.js";
import { addModel, setBackground, setClassVisible, state } from "./state.js";
import { selectTab, setupTabs } from "./tabs.js";
import { setupTimelapse } from "./timelapse.js";
import { niceTicks } from "./ticks.js";

function figure(id, caption, shape) {
  const fig = document.createElement("figure"),
    c = document.createElement("canvas"),
    cap = document.createElement("figcaption");
  c.id = id;
  c.className = "px";
  c.width = shape[2];
  c.height = shape[1];
  cap.textContent = caption;
  fig.append(c, cap);
  clearImage(c);
  return fig;
}

function buildCard(m, drawable) {
  const i = m.index,
    card = $("card-template").content.firstElementChild.cloneNode(true);
  card.id = `card-${i}`;
  card.dataset.model = String(i);
  for (const el of card.querySelectorAll("[data-id]")) el.id = `${el.dataset.id}-${i}`;
  $("cards").append(card);
  $m(i, "title").textContent = shortName(m.meta);
  $m(i, "facts").textContent = factsText(m.meta);
  $m(i, "code").textContent = drawable ? "draw a digit" : "pick or drop an image";
  const gen = $m(i, "gen");
  gen.width = m.shape[2];
  gen.height = m.shape[1];
  clearImage(gen);
  $(drawable ? "recons" : "image-recons").append(figure(`recon-${i}`, shortName(m.meta), m.shape));
  $("pointer-row").append(figure(`ptr-${i}`, shortName(m.meta), m.shape));
}

function relayout() {
  for (const m of state.models) drawScatter(m.index);
  if (state.background) refreshBackgrounds();
}

function wireMap(i) {
  const overlay = $m(i, "overlay");
  const hover = (ev) => {
    const z = codeAt(i, ev);
    if (z) generate({ model: i, z, source: "map" });
  };
  overlay.addEventListener("pointermove", hover);
  overlay.addEventListener("pointerdown", hover);
  overlay.addEventListener("click", (ev) => {
    const z = codeAt(i, ev);
    if (z) setEndpoint(i, { z, from: "map" });
  });
}

async function main() {
  setupDrops(); // from the start: a file dropped while the models load does not replace the page
  let runs;
  try {
    runs = await loadModels();
  } catch (err) {
    $("facts").textContent = "the models could not be loaded:";
    throw err; // the status line names the file and what was expected
  }
  for (const r of runs) addModel(r.meta, r.codeBytes, r.labelBytes, r.epochCodes);
  publish({ state });
  $("facts").textContent = pageFacts(state.models.map((m) => m.meta));
  const shape = state.models[0].shape;
  const drawable = shape[0] === 1 && shape[1] === 28 && shape[2] === 28;
  for (const m of state.models) buildCard(m, drawable);
  document.querySelector("main").dataset.n = String(state.models.length);
  if (drawable) {
    setupDrawing();
    setDropHandler((file) => {
      $("status").textContent =
        `${file.name}: not used; these models take drawings (1×28×28), not image files: draw a digit on the canvas`;
    });
  } else {
    disableDrawing(shape);
    setupImagePanel(runs[0].pickBytes);
    setDropHandler(useFile);
  }
  setupTabs(relayout);
  selectTab(drawable ? "draw" : "maps", () => {});
  for (const m of state.models) {
    const i = m.index;
    setupPlane(i, () => state.background && refreshBackgrounds());
    buildSliders(i, (z) => {
      generate({ model: i, z, source: "sliders" });
      if (state.background && m.proj.mode === "dims" && m.D > 2) refreshBackgrounds();
    });
    buildAttributeSliders(i);
    setupTimelapse(i, (j) => {
      drawScatter(j);
      if (state.background) refreshBackgrounds();
    });
    wireMap(i);
  }
  buildLegend((k, on) => {
    setClassVisible(k, on);
    for (const m of state.models) drawScatter(m.index);
  });
  $("background").addEventListener("change", (e) => {
    setBackground(e.target.checked);
    for (const m of state.models) drawScatter(m.index);
    refreshBackgrounds();
  });
  relayout();
  setupInterpolation();

  // warm-up run of every network (first runs allocate), then show the decoding of z = 0
  for (const m of state.models) await encode(m.index, new Float32Array(m.P));
  await showStart();

  publish({
    encode: async (i, pixels) => {
      const r = await encode(i, pixels);
      return { mu: Array.from(r.mu), logvar: r.logvar && Array.from(r.logvar) };
    },
    decode: async (i, z) => Array.from((await decodeMany(i, [Float32Array.from(z)]))[0]),
    mnistStyle: (gray, h, w) => Array.from(mnistStyle(Float64Array.from(gray), h, w)),
    project: (i, z) => project(i, z),
    screenOf, // (i, z): page coordinates (CSS px) of the point z on model i's map
    code: (i, k) => Array.from(state.models[i].codes.subarray(k * state.models[i].D, (k + 1) * state.models[i].D)),
    canvasRGBA: () => Array.from(canvasRGBA()),
    // (bytes, pre?) -> the page's preprocessing of an image file: {pixels: C*H*W uint8 values, mode, decoder}
    prepareFile: async (bytes, pre) => {
      const r = await prepareFile(Uint8Array.from(bytes), "", pre);
      return { pixels: Array.from(r.pixels), mode: r.decoded.mode, decoder: r.decoded.decoder };
    },
    usePick,
    attributeCode: (i) => Array.from(attributeCode(i)),
    niceTicks,
    tilesPerSide,
  });
  markReady();
  $("status").textContent = "";
  document.body.dataset.ready = "1";
}

// every module has loaded and run: boot.js's watchdog stands down
document.documentElement.dataset.boot = "started";
window.dispatchEvent(new Event("vaelab:started"));
main().catch(reportError);
