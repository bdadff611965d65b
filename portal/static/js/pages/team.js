import { html } from '../lib.js';

export function TeamsPage() {
  return html`<h1>Teams</h1>`;
}

export function TeamPage() {
  return html`<h1>Team</h1>`;
}
