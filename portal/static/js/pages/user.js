import { html } from '../lib.js';

export function UserPage() {
  return html`<h1>UserPage</h1>`;
}
