// Test hooks: window.vaelab, read by the Playwright tests (tests/test_explorer_browser.py) and the benchmark
// (benchmarks/bench_explorer.py). Fields: ready, readyMs, busy (live requests in flight), errors, stats
// (encodeMs, decodeMs: session.run times of every model; encodeMsByModel, decodeMsByModel: per model index),
// marks (performance.now() of start-up steps), state (the page state), and once ready the functions of publish().
import { $ } from "./dom.js";

const hooks = (window.vaelab = {
  ready: false,
  readyMs: null,
  busy: 0,
  errors: [],
  stats: { decodeMs: [], encodeMs: [], decodeMsByModel: [], encodeMsByModel: [] },
  marks: { moduleStart: performance.now() },
  state: null,
});

const MAX_TIMINGS = 10000;

/**
 * Record an error: window.vaelab.errors, the status line and the console.
 * @param {*} err an Error or any value
 */
export function reportError(err) {
  hooks.errors.push(String((err && err.stack) || err));
  $("status").textContent = "error: " + ((err && err.message) || err);
  console.error(err);
}

function push(list, ms) {
  list.push(ms);
  if (list.length > MAX_TIMINGS) list.shift();
}

/**
 * Append a timing to window.vaelab.stats[kind] and stats[kind + "ByModel"][model] (the last 10,000 are kept).
 * @param {"encodeMs"|"decodeMs"} kind which list
 * @param {number} ms milliseconds
 * @param {number} [model=0] the model's index
 */
export function recordTiming(kind, ms, model = 0) {
  const stats = hooks.stats; // looked up each time: the benchmark replaces the lists
  push(stats[kind], ms);
  const byModel = (stats[kind + "ByModel"] = stats[kind + "ByModel"] || []);
  push((byModel[model] = byModel[model] || []), ms);
}

/**
 * Count a live request as started (window.vaelab.busy + 1); the tests wait for busy === 0.
 */
export function busyStart() {
  hooks.busy++;
}

/**
 * Count a live request as finished (window.vaelab.busy - 1).
 */
export function busyEnd() {
  hooks.busy--;
}

/**
 * Note the time of a start-up step in window.vaelab.marks.
 * @param {string} name
 */
export function mark(name) {
  hooks.marks[name] = performance.now();
}

/**
 * Add fields or functions to window.vaelab.
 * @param {object} api properties to copy onto window.vaelab
 */
export function publish(api) {
  Object.assign(hooks, api);
}

/**
 * Set window.vaelab.ready (and readyMs, ms since navigation start): the page is interactive.
 */
export function markReady() {
  hooks.readyMs = performance.now();
  hooks.ready = true;
}
