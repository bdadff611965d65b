import { html } from '../lib.js';

export function ApprovalsPage() {
  return html`<h1>ApprovalsPage</h1>`;
}
