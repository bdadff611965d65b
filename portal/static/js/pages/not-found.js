import { html } from '../lib.js';
import { useTitle } from '../page.js';

export function NotFound({ what = 'This page' }) {
  useTitle('Not found');
  return html`<h1>Not found</h1>
    <p>${what} does not exist, or you may not see it.</p>
    <p><a href="/services">Back to the services</a></p>`;
}
