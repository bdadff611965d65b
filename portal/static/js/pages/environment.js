import { html } from '../lib.js';

export function EnvironmentsPage() {
  return html`<h1>Environments</h1>`;
}

export function EnvironmentPage() {
  return html`<h1>Environment</h1>`;
}
