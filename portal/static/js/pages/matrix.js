import { html } from '../lib.js';

export function MatrixPage() {
  return html`<h1>MatrixPage</h1>`;
}
