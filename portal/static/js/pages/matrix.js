// The release matrix: services × environments, each cell what runs there coloured by its
// state, what is coming marked; filter by team; cells change live as deployments move.
import { Empty, Failed, Loading, PENDING_STATES, StateBadge } from '../components/status.js';
import { teamOptions } from '../components/teams.js';
import { useQuery } from '../data.js';
import { ago, lower } from '../format.js';
import { html, useEffect, useState } from '../lib.js';
import { LiveIndicator, useLiveDeployments } from '../live.js';
import { useTitle } from '../page.js';
import { href, setQuery } from '../router.js';

const PAGE = 30;
const DEPLOYMENT = 'id number version state finishedAt createdAt';
const MATRIX = `query Matrix($filter: ServiceFilter, $first: Int, $after: String) {
  environments(first: 50) { nodes { slug name } }
  releaseMatrix(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      service { slug name }
      cells {
        environment { slug }
        current { ${DEPLOYMENT} }
        pending { ${DEPLOYMENT} }
      }
    }
  }
}`;
const TEAMS = 'query MatrixTeams { teams(first: 100) { nodes { slug name parent { slug } } } }';

/** The cell as the live updates left it: `updates` are deployments newer than the data. */
function patched(cell, updates) {
  let { current } = cell;
  let pending = [...cell.pending];
  for (const deployment of updates) {
    pending = pending.filter((item) => item.id !== deployment.id);
    if (PENDING_STATES.includes(deployment.state)) pending.push(deployment);
    else if (deployment.state === 'SUCCEEDED') current = deployment;
    else if (current?.id === deployment.id) current = deployment;
  }
  return { current, pending };
}

function Cell({ cell, updates }) {
  const { current, pending } = patched(cell, updates);
  const state = current ? lower(current.state).replace(/ /g, '-') : 'none';
  return html`<td>
    <span class=${`cell state-${state}`}>
      ${current
        ? html`<strong>${current.version}</strong> <span class="sub">${ago(current.finishedAt)}</span>`
        : html`<span class="sub">—</span>`}
      ${pending.map((deployment) => html`<span class="cell-pending">
        → ${deployment.version} <${StateBadge} state=${deployment.state} /></span>`)}
    </span>
  </td>`;
}

export function MatrixPage({ query }) {
  useTitle('Release matrix');
  const team = query.get('team') ?? '';
  const [cursors, setCursors] = useState([null]);
  const after = cursors[cursors.length - 1];
  const filter = team ? { owner: team } : {};
  const result = useQuery(MATRIX, { filter, first: PAGE, after });
  const teams = useQuery(TEAMS);
  const [updates, setUpdates] = useState([]);
  useEffect(() => setUpdates([]), [result.data]);
  useEffect(() => setCursors([null]), [team]);
  const mode = useLiveDeployments({}, (deployment) => {
    if (deployment) setUpdates((list) => [...list, deployment]);
    else result.reload();
  });
  const environments = result.data?.environments.nodes ?? [];
  const matrix = result.data?.releaseMatrix;
  let body;
  if (result.error && !matrix) body = html`<${Failed} error=${result.error} retry=${result.reload} />`;
  else if (!matrix) body = html`<${Loading} what="Loading the release matrix" />`;
  else if (!matrix.nodes.length) body = html`<${Empty}>No service here.<//>`;
  else {
    body = html`<div class="table-wrap"><table class="list matrix">
      <caption class="visually-hidden">What runs where: a row per service, a column per environment</caption>
      <thead><tr><th scope="col">Service</th>
        ${environments.map((environment) => html`<th scope="col">
          <a href=${href('environments', environment.slug)}>${environment.name}</a></th>`)}
      </tr></thead>
      <tbody>${matrix.nodes.map((row) => {
        const bySlug = new Map(row.cells.map((cell) => [cell.environment.slug, cell]));
        return html`<tr key=${row.service.slug}>
          <th scope="row"><a href=${href('services', row.service.slug)}>${row.service.name}</a></th>
          ${environments.map((environment) => {
            const cell = bySlug.get(environment.slug) ?? { current: null, pending: [] };
            const mine = updates.filter((deployment) => deployment.service.slug === row.service.slug
              && deployment.environment.slug === environment.slug);
            return html`<${Cell} cell=${cell} updates=${mine} />`;
          })}
        </tr>`;
      })}</tbody>
    </table></div>
    <nav class="pager" aria-label="Pages of services">
      <button type="button" disabled=${cursors.length < 2}
        onClick=${() => setCursors(cursors.slice(0, -1))}>← Previous</button>
      <span class="pager-count">${matrix.nodes.length} shown of ${matrix.totalCount}</span>
      <button type="button" disabled=${!matrix.pageInfo.hasNextPage}
        onClick=${() => setCursors([...cursors, matrix.pageInfo.endCursor])}>Next →</button>
    </nav>`;
  }
  return html`<h1>Release matrix</h1>
    <div class="toolbar">
      <div class="field">
        <label for="matrix-team">Team (and sub-teams)</label>
        <select id="matrix-team" value=${team} onChange=${(event) => setQuery({ team: event.currentTarget.value })}>
          <option value="">Every team</option>
          ${teamOptions(teams.data?.teams.nodes ?? []).map((option) => html`<option value=${option.slug}>
            ${'\u00a0\u00a0'.repeat(option.depth)}${option.name}</option>`)}
        </select>
      </div>
      <${LiveIndicator} mode=${mode} />
    </div>
    <p class="legend" aria-label="Legend">
      <span class="cell state-succeeded">succeeded</span>
      <span class="cell state-failed">failed</span>
      <span class="cell state-in-progress">in progress</span>
      <span class="cell state-waiting-approval">waiting approval</span>
      <span class="cell">→ pending deployment</span>
    </p>
    <div aria-busy=${result.loading ? 'true' : 'false'}>${body}</div>`;
}
