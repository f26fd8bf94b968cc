// Files dragged onto the page: wherever one is dropped, the browser's own action (opening the file in place of the
// page) is stopped and the file goes to the page's handler (the Image panel's, or a notice on pages that take
// drawings); text dragged into a text field is left to the browser.

/** Whether a drag carries files (from the desktop or a file manager). */
function carriesFiles(ev) {
  return Boolean(ev.dataTransfer) && Array.from(ev.dataTransfer.types || []).includes("Files");
}

/** Whether the element under a drag takes dropped text (the steps field and other text inputs). */
function takesText(el) {
  return (
    el instanceof Element && Boolean(el.closest("textarea, input[type=text], input[type=number], [contenteditable]"))
  );
}

let onFile = null;

/**
 * Handle drags and drops on the whole document from now on: the page never navigates to a dropped file or link,
 * and a dropped file (the first image file of the drop, else its first file) goes to the handler of
 * setDropHandler (none yet: the drop is only stopped).
 */
export function setupDrops() {
  const over = (ev) => {
    if (!carriesFiles(ev) && takesText(ev.target)) return;
    ev.preventDefault();
    if (ev.dataTransfer) ev.dataTransfer.dropEffect = carriesFiles(ev) ? "copy" : "none";
  };
  document.addEventListener("dragenter", over);
  document.addEventListener("dragover", over);
  document.addEventListener("drop", (ev) => {
    if (!carriesFiles(ev) && takesText(ev.target)) return;
    ev.preventDefault();
    const files = Array.from((ev.dataTransfer && ev.dataTransfer.files) || []);
    const file = files.find((f) => f.type.startsWith("image/")) || files[0];
    if (file && onFile) onFile(file);
  });
}

/**
 * Set what a dropped file is used for.
 * @param {(file: File) => void} handler called with each dropped file
 */
export function setDropHandler(handler) {
  onFile = handler;
}
