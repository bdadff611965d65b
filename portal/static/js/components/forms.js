// Form fields whose UserErrors appear next to them, by the error's `path`.
import { html } from '../lib.js';

/** The input field a UserError's path names: its path below the `input` argument. */
export function fieldOf(error) {
  const path = [...(error.path ?? [])];
  if (path[0] === 'input') path.shift();
  return path.join('.');
}

/** The errors about `field` (`version`, `owners.0.team`...). */
export function errorsFor(errors, field) {
  return (errors ?? []).filter((error) => fieldOf(error) === field);
}

/** The errors about none of `fields`: shown at the top of the form. */
export function otherErrors(errors, fields) {
  return (errors ?? []).filter((error) => !fields.includes(fieldOf(error)));
}

export function ErrorList({ errors, id }) {
  if (!errors?.length) return null;
  return html`<div id=${id} role="alert"><ul class="field-errors">
    ${errors.map((error) => html`<li><span class="code">${error.code}</span> ${error.message}</li>`)}
  </ul></div>`;
}

/** A labelled control; `children` is the control, given `id` and the error's description. */
export function Field({ id, label, hint, errors, children }) {
  const mine = errors ?? [];
  return html`<div class=${`field${mine.length ? ' field-invalid' : ''}`}>
    <label for=${id}>${label}</label>
    ${children}
    ${hint && html`<p class="hint" id=${`${id}-hint`}>${hint}</p>`}
    <${ErrorList} errors=${mine} id=${`${id}-errors`} />
  </div>`;
}

/** Attributes tying a control to its hint and errors. */
export function described(id, errors, hint = false) {
  const ids = [hint && `${id}-hint`, errors?.length && `${id}-errors`].filter(Boolean);
  return {
    id,
    'aria-invalid': errors?.length ? 'true' : undefined,
    'aria-describedby': ids.length ? ids.join(' ') : undefined,
  };
}
