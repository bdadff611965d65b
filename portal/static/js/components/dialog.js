// A modal dialog on the native <dialog>: it traps focus, Escape closes it, and focus returns
// to what opened it.
import { html, useEffect, useRef } from '../lib.js';

let counter = 0;
const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), '
  + 'textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** Tab from the last control goes to the first, Shift+Tab from the first to the last. */
function trapTab(event) {
  if (event.key !== 'Tab') return;
  const controls = [...event.currentTarget.querySelectorAll(FOCUSABLE)];
  if (!controls.length) return;
  const first = controls[0];
  const last = controls[controls.length - 1];
  const active = document.activeElement;
  if (event.shiftKey && (active === first || !event.currentTarget.contains(active))) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && active === last) {
    event.preventDefault();
    first.focus();
  }
}

export function Dialog({ title, onClose, children, wide = false }) {
  const ref = useRef(null);
  const titleId = useRef(`dialog-title-${(counter += 1)}`).current;
  useEffect(() => {
    const dialog = ref.current;
    const opener = document.activeElement;
    dialog.showModal();
    const first = dialog.querySelector('[autofocus], input, select, textarea, button:not(.dialog-close)');
    first?.focus();
    return () => {
      if (dialog.open) dialog.close();
      if (opener && document.contains(opener)) opener.focus();
    };
  }, []);
  const cancel = (event) => {
    event.preventDefault();
    onClose();
  };
  return html`<dialog ref=${ref} class=${wide ? 'dialog dialog-wide' : 'dialog'}
      aria-labelledby=${titleId} onCancel=${cancel} onKeyDown=${trapTab}>
    <div class="dialog-head">
      <h2 id=${titleId}>${title}</h2>
      <button type="button" class="dialog-close" aria-label="Close" onClick=${onClose}>×</button>
    </div>
    ${children}
  </dialog>`;
}
