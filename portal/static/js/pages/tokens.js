import { html } from '../lib.js';

export function TokensPage() {
  return html`<h1>TokensPage</h1>`;
}
