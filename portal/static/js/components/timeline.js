// Deployments as a timeline: state, version, where, who, when and how long.
import { deploymentDuration, lower, when } from '../format.js';
import { html } from '../lib.js';
import { href } from '../router.js';
import { StateBadge } from './status.js';

export function Timeline({ deployments, showService = false }) {
  return html`<ol class="timeline">
    ${deployments.map((deployment) => html`<li key=${deployment.id} class=${`timeline-item state-line-${lower(deployment.state).replace(/ /g, '-')}`}>
      <div class="timeline-head">
        <${StateBadge} state=${deployment.state} />
        <strong>${deployment.version}</strong>
        ${showService && deployment.service && html`<a href=${href('services', deployment.service.slug)}>${deployment.service.name}</a>`}
        <span>to ${deployment.environment
          ? html`<a href=${href('environments', deployment.environment.slug)}>${deployment.environment.name}</a>`
          : '—'}</span>
        <span class="sub">#${deployment.number} · ${lower(deployment.kind)}</span>
      </div>
      <div class="sub">
        ${deployment.requestedBy && html`by ${deployment.requestedBy.__typename === 'User'
          ? html`<a href=${href('users', deployment.requestedBy.handle)}>${deployment.requestedBy.name}</a>`
          : deployment.requestedBy.name} · `}
        <time datetime=${deployment.createdAt}>${when(deployment.createdAt)}</time>
        · took ${deploymentDuration(deployment)}
      </div>
      ${deployment.statusMessage && html`<div class="sub">${deployment.statusMessage}</div>`}
    </li>`)}
  </ol>`;
}
