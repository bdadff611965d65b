// Loading, empty and failed states, and the badges of states and health.
import { html } from '../lib.js';
import { lower } from '../format.js';

export function Loading({ what = 'Loading' }) {
  return html`<p class="loading" role="status"><span class="spinner" aria-hidden="true"></span>${what}…</p>`;
}

export function Empty({ children }) {
  return html`<p class="empty">${children}</p>`;
}

/** A query that failed as a whole: what the API said, and a way to try again. */
export function Failed({ error, retry }) {
  const text = error.kind === 'down'
    ? 'The API could not be reached.'
    : error.message;
  return html`<div class="notice notice-error" role="alert">
    <p><strong>Could not load this.</strong> ${text}</p>
    ${retry && html`<button type="button" onClick=${retry}>Try again</button>`}
  </div>`;
}

export function StateBadge({ state }) {
  return html`<span class=${`badge state-${lower(state).replace(/ /g, '-')}`}>${lower(state)}</span>`;
}

export function HealthBadge({ health }) {
  return html`<span class=${`badge health-${lower(health)}`}>${lower(health)}</span>`;
}

export const PENDING_STATES = ['QUEUED', 'WAITING_APPROVAL', 'IN_PROGRESS'];
