// The boot watchdog, a classic script that runs before the page's ES modules (and where they cannot): opened as a
// file (file://, where browsers load neither the modules nor the models' files) it says at once that the page must
// be served; when a module fails to load or to run, or the modules have not started 8 s after the page began, it
// says so in the status line instead of leaving "loading the models…" for ever. main.js reports the start
// (<html data-boot="started"> and a "vaelab:started" event); a late start takes the timeout's message back.
(() => {
  const TIMEOUT_MS = 8000,
    SERVE =
      "serve it: run `vaelab explore RUN` and open the address it prints (or put the folder of `vaelab site " +
      "RUN OUT` on a web server)",
    root = document.documentElement,
    failedFiles = [];
  let shown = null; // the texts replaced by a message: {status, facts}, or null

  const started = () => root.dataset.boot === "started";
  const say = (text) => {
    if (started() || shown) return;
    shown = {};
    root.dataset.boot = "failed";
    const show = () => {
      const status = document.getElementById("status"),
        facts = document.getElementById("facts");
      shown = { status: status.textContent, facts: facts.textContent };
      status.textContent = "error: " + text;
      facts.textContent = "the page did not start:";
    };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", show);
    else show();
  };
  const base = location.href.replace(/[?#].*$/, "").replace(/[^/]*$/, ""),
    name = (url) => (String(url).startsWith(base) ? String(url).slice(base.length) : String(url)); // as in index.html

  if (location.protocol === "file:") {
    say(`this page was opened as a file (${location.pathname}), which browsers do not let it work from; ${SERVE}`);
    return;
  }
  window.addEventListener(
    "error",
    (ev) => {
      const el = ev.target;
      if (el instanceof HTMLLinkElement && el.rel === "modulepreload") failedFiles.push(name(el.href));
      else if (el instanceof HTMLScriptElement)
        // the module graph failed to load: the failed preloads name the files (their events may come later)
        setTimeout(() => {
          const files = failedFiles.length ? failedFiles.join(", ") : name(el.src);
          say(`${files}: could not be loaded, so the page cannot start; ${SERVE}`);
        }, 100);
      else if (ev instanceof ErrorEvent && !started()) {
        const where = ev.filename ? `${name(ev.filename)}:${ev.lineno}: ` : "";
        say(`${where}${ev.message}: a module of the page failed, so the page cannot start; ${SERVE}`);
      }
    },
    true,
  );
  setTimeout(() => {
    if (!started())
      say(
        `the page's scripts have not started after ${TIMEOUT_MS / 1000} s (a slow connection, or a script ` +
          `blocked: see the browser's console); if they do not, ${SERVE}`,
      );
  }, TIMEOUT_MS);
  window.addEventListener("vaelab:started", () => {
    root.dataset.boot = "started";
    if (shown && shown.status != null) {
      document.getElementById("status").textContent = shown.status;
      document.getElementById("facts").textContent = shown.facts;
    }
    shown = null;
  });
})();
