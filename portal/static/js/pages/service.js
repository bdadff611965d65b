// One service: who owns it, what runs where (with live health), its dependencies, resources,
// deployment history and audit trail; deploy, promote, roll back, cancel, approve, reject.
import { errorsAt } from '../api.js';
import {
  DeployDialog, DeploymentActionDialog, PendingActions, PromoteDialog, RollbackDialog,
} from '../components/actions.js';
import { DependencyGraph } from '../components/graph.js';
import { Timeline } from '../components/timeline.js';
import {
  Empty, Failed, HealthBadge, Loading, PENDING_STATES, StateBadge,
} from '../components/status.js';
import { useQuery } from '../data.js';
import { ago, lower, when } from '../format.js';
import { html, useRef, useState } from '../lib.js';
import { LiveIndicator, useLiveDeployments } from '../live.js';
import { useTitle } from '../page.js';
import { href } from '../router.js';
import { NotFound } from './not-found.js';

const HISTORY_PAGE = 15;
const DEPLOYMENT = `id number version state kind createdAt startedAt finishedAt statusMessage
  requestedBy { __typename name ... on User { handle } }`;

const SERVICE = `query Service($slug: String!, $first: Int!, $after: String) {
  service(slug: $slug) {
    id slug name description lifecycle tier tags system repositoryUrl
    links { title url }
    owners { role team { slug name } }
    dependsOn { slug name }
    dependents { slug name }
    environments {
      environment { slug name tier protection { requiredApprovals frozen freezeReason } }
      current { ${DEPLOYMENT} }
      pending { ${DEPLOYMENT} approvals { decision actor { name } } }
      live { health version replicas readyReplicas message observedAt source }
    }
    resources {
      id name state statusMessage readyAt
      environment { slug name }
      class { slug name type }
    }
    deployments(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { ${DEPLOYMENT} environment { slug name } }
    }
    auditTrail(first: 20) {
      totalCount
      nodes { id at operation outcome actorName errorCodes }
    }
  }
}`;

function Header({ service }) {
  return html`<header class="page-head">
    <p class="crumbs"><a href="/services">Services</a> /</p>
    <h1>${service.name}</h1>
    <p class="meta">
      <code>${service.slug}</code>
      <span class=${`badge lifecycle-${lower(service.lifecycle)}`}>${lower(service.lifecycle)}</span>
      ${service.tier !== null && html`<span class="badge">tier ${service.tier}</span>`}
      ${service.system && html`<span class="badge">system ${service.system}</span>`}
      ${service.tags.map((tag) => html`<span class="tag">${tag}</span>`)}
    </p>
    ${service.description && html`<p class="lead">${service.description}</p>`}
    ${(service.links.length > 0 || service.repositoryUrl) && html`<ul class="links">
      ${service.repositoryUrl && html`<li><a href=${service.repositoryUrl} rel="noopener noreferrer">Repository</a></li>`}
      ${service.links.map((link) => html`<li><a href=${link.url} rel="noopener noreferrer">${link.title}</a></li>`)}
    </ul>`}
  </header>`;
}

function Owners({ owners }) {
  if (!owners.length) return html`<${Empty}>No owner team.<//>`;
  return html`<ul class="owners">
    ${owners.map((owner) => html`<li>
      <a href=${href('teams', owner.team.slug)}>${owner.team.name}</a>
      <span class="badge">${lower(owner.role)}</span>
    </li>`)}
  </ul>`;
}

function Live({ live, errors }) {
  if (errors.length) {
    const message = errors.map((error) => error.message).join(' ');
    return html`<span class="provider-error" role="note">${`Live status unavailable: ${message}`}</span>`;
  }
  if (!live) return html`<span class="sub">not reported</span>`;
  return html`<${HealthBadge} health=${live.health} />
    ${live.version && html` <span>${live.version}</span>`}
    ${live.replicas !== null && html` <span class="sub">${live.readyReplicas ?? 0}/${live.replicas} ready</span>`}
    ${live.message && html`<div class="sub">${live.message}</div>`}`;
}

function Environments({ cells, errors, open }) {
  return html`<div class="table-wrap"><table class="list">
    <caption class="visually-hidden">What runs in each environment</caption>
    <thead><tr>
      <th scope="col">Environment</th><th scope="col">Current</th>
      <th scope="col">Pending</th><th scope="col">Live</th>
    </tr></thead>
    <tbody>
      ${cells.map((cell, index) => html`<tr key=${cell.environment.slug}>
        <th scope="row"><a href=${href('environments', cell.environment.slug)}>${cell.environment.name}</a>
          ${cell.environment.protection.frozen && html`<div><span class="badge frozen"
            title=${cell.environment.protection.freezeReason ?? ''}>frozen</span></div>`}</th>
        <td>${cell.current
          ? html`<strong>${cell.current.version}</strong> <span class="sub">#${cell.current.number} · ${ago(cell.current.finishedAt)}</span>`
          : html`<span class="sub">nothing yet</span>`}</td>
        <td>${cell.pending.length
          ? html`<ul class="pending">${cell.pending.map((deployment) => html`<li>
              <span>${deployment.version} #${deployment.number}</span> <${StateBadge} state=${deployment.state} />
              <${PendingActions} deployment=${{ ...deployment, environment: cell.environment }} open=${open} />
            </li>`)}</ul>`
          : html`<span class="sub">—</span>`}</td>
        <td><${Live} live=${cell.live}
          errors=${errorsAt(errors, ['service', 'environments', index, 'live'])} /></td>
      </tr>`)}
    </tbody>
  </table></div>`;
}

function Resources({ resources }) {
  if (!resources.length) return html`<${Empty}>No resource requested.<//>`;
  return html`<div class="table-wrap"><table class="list">
    <caption class="visually-hidden">Resources</caption>
    <thead><tr><th scope="col">Name</th><th scope="col">Class</th><th scope="col">Environment</th>
      <th scope="col">State</th></tr></thead>
    <tbody>${resources.map((resource) => html`<tr key=${resource.id}>
      <td>${resource.name}</td>
      <td>${resource.class.name} <span class="sub">${resource.class.type}</span></td>
      <td><a href=${href('environments', resource.environment.slug)}>${resource.environment.name}</a></td>
      <td><${StateBadge} state=${resource.state} />
        ${resource.statusMessage && html`<div class="sub">${resource.statusMessage}</div>`}</td>
    </tr>`)}</tbody>
  </table></div>`;
}

function Audit({ trail }) {
  if (!trail.nodes.length) return html`<${Empty}>Nothing recorded yet.<//>`;
  return html`<div class="table-wrap"><table class="list">
    <caption class="visually-hidden">Audit trail, newest first</caption>
    <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Operation</th>
      <th scope="col">Outcome</th></tr></thead>
    <tbody>${trail.nodes.map((event) => html`<tr key=${event.id}>
      <td><time datetime=${event.at}>${when(event.at)}</time></td>
      <td>${event.actorName}</td>
      <td><code>${event.operation}</code></td>
      <td><span class=${`badge outcome-${lower(event.outcome)}`}>${lower(event.outcome)}</span>
        ${event.errorCodes.length > 0 && html` <span class="sub">${event.errorCodes.join(', ')}</span>`}</td>
    </tr>`)}</tbody>
  </table></div>`;
}

function useReloadSoon(reload) {
  const timer = useRef(null);
  return () => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      reload();
    }, 150);
  };
}

export function ServicePage({ slug }) {
  const [shown, setShown] = useState(HISTORY_PAGE);
  const result = useQuery(SERVICE, { slug, first: shown });
  const [dialog, setDialog] = useState(null);
  const [notice, setNotice] = useState(null);
  const reloadSoon = useReloadSoon(result.reload);
  const mode = useLiveDeployments({ service: slug }, reloadSoon);
  const service = result.data?.service;
  useTitle(service?.name ?? slug);
  if (result.error && !result.data) return html`<${Failed} error=${result.error} retry=${result.reload} />`;
  if (!result.data) return html`<${Loading} what="Loading the service" />`;
  if (!service) return html`<${NotFound} what=${`The service ${slug}`} />`;
  const environments = service.environments.map((cell) => cell.environment);
  const done = (deployment) => {
    setDialog(null);
    if (deployment) setNotice(`Deployment #${deployment.number} of ${deployment.version}: ${lower(deployment.state)}.`);
    result.reload();
  };
  const close = () => setDialog(null);
  const history = service.deployments;
  const pending = service.environments.some((cell) => cell.pending.some((d) => PENDING_STATES.includes(d.state)));
  return html`
    <${Header} service=${service} />
    <div class="toolbar" role="group" aria-label="Actions">
      <button type="button" onClick=${() => setDialog({ kind: 'deploy' })}>Deploy…</button>
      <button type="button" onClick=${() => setDialog({ kind: 'promote' })}>Promote…</button>
      <button type="button" class="secondary" onClick=${() => setDialog({ kind: 'rollback' })}>Roll back…</button>
      <${LiveIndicator} mode=${mode} />
    </div>
    ${notice && html`<p class="notice" role="status">${notice}</p>`}
    <section aria-labelledby="environments-title">
      <h2 id="environments-title">Environments ${pending && html`<span class="sub">(deployments in flight)</span>`}</h2>
      <${Environments} cells=${service.environments} errors=${result.errors} open=${setDialog} />
    </section>
    <div class="columns">
      <section aria-labelledby="owners-title">
        <h2 id="owners-title">Owners</h2>
        <${Owners} owners=${service.owners} />
      </section>
      <section aria-labelledby="resources-title">
        <h2 id="resources-title">Resources</h2>
        <${Resources} resources=${service.resources} />
      </section>
    </div>
    <section aria-labelledby="dependencies-title">
      <h2 id="dependencies-title">Dependencies</h2>
      <${DependencyGraph} service=${service} dependsOn=${service.dependsOn} dependents=${service.dependents} />
    </section>
    <section aria-labelledby="history-title">
      <h2 id="history-title">Deployment history <span class="sub">(${history.totalCount})</span></h2>
      ${history.nodes.length
        ? html`<${Timeline} deployments=${history.nodes} />`
        : html`<${Empty}>Never deployed.<//>`}
      ${history.pageInfo.hasNextPage && html`<button type="button" class="secondary"
        onClick=${() => setShown(shown + HISTORY_PAGE)}>Show more</button>`}
    </section>
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit trail <span class="sub">(${service.auditTrail.totalCount})</span></h2>
      <${Audit} trail=${service.auditTrail} />
    </section>
    ${dialog?.kind === 'deploy' && html`<${DeployDialog} service=${service} environments=${environments}
      onClose=${close} onDone=${done} />`}
    ${dialog?.kind === 'promote' && html`<${PromoteDialog} service=${service} environments=${environments}
      onClose=${close} onDone=${done} />`}
    ${dialog?.kind === 'rollback' && html`<${RollbackDialog} service=${service} environments=${environments}
      onClose=${close} onDone=${done} />`}
    ${dialog?.deployment && html`<${DeploymentActionDialog} action=${dialog} onClose=${close} onDone=${done} />`}`;
}
