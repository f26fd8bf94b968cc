// Narrow screens (phones, small tablets): the panels become tabs (Draw, Maps, Interpolate) and the Maps tab shows
// one model card at a time, chosen with chips, above a row with every model's decoding at the pointer.
import { $, shortName } from "./dom.js";
import { setView, state } from "./state.js";

/** The media query of the tabbed layout (the same width as in style.css). */
export const NARROW = "(max-width: 760px)";

/**
 * Whether the page shows the tabbed layout now.
 * @returns {boolean}
 */
export function isNarrow() {
  return window.matchMedia(NARROW).matches;
}

/**
 * Show a panel (narrow screens; on wide screens every panel shows and this only records the choice).
 * @param {"draw"|"maps"|"interp"} tab
 * @param {() => void} onShown called after the panel is shown (the maps lay out again)
 */
export function selectTab(tab, onShown) {
  setView({ tab });
  document.body.dataset.tab = tab;
  for (const b of document.querySelectorAll("#tabs button"))
    b.setAttribute("aria-pressed", String(b.dataset.tab === tab));
  onShown();
}

/**
 * Show one model card in the Maps tab (narrow screens).
 * @param {number} i model index
 * @param {() => void} onShown called after the card is shown
 */
export function selectCard(i, onShown) {
  setView({ card: i });
  for (const m of state.models) {
    $(`card-${m.index}`).classList.toggle("active", m.index === i);
    $(`chip-${m.index}`).setAttribute("aria-selected", String(m.index === i));
  }
  onShown();
}

/**
 * Wire the tab buttons, build the model chips, and relayout when the layout switches between wide and narrow.
 * @param {() => void} relayout redraws every map at its current size
 */
export function setupTabs(relayout) {
  for (const b of document.querySelectorAll("#tabs button"))
    b.addEventListener("click", () => selectTab(b.dataset.tab, relayout));
  const chips = $("chips");
  for (const m of state.models) {
    const b = document.createElement("button");
    b.type = "button";
    b.id = `chip-${m.index}`;
    b.setAttribute("role", "tab");
    b.textContent = shortName(m.meta);
    b.addEventListener("click", () => selectCard(m.index, relayout));
    chips.append(b);
  }
  selectCard(0, () => {});
  if (state.models.length < 2) chips.classList.add("hidden");
  window.matchMedia(NARROW).addEventListener("change", relayout);
  let pending = 0;
  window.addEventListener("resize", () => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(relayout);
  });
}
