// Teams: the tree of teams; one team with its parent, sub-teams, members and services.
import { Empty, Failed, Loading } from '../components/status.js';
import { Pager } from '../components/table.js';
import { teamOptions } from '../components/teams.js';
import { useQuery } from '../data.js';
import { lower } from '../format.js';
import { html, useState } from '../lib.js';
import { useTitle } from '../page.js';
import { href } from '../router.js';
import { NotFound } from './not-found.js';

const TEAMS = `query Teams { teams(first: 100) {
  totalCount nodes { slug name description parent { slug } } } }`;

export function TeamsPage() {
  useTitle('Teams');
  const result = useQuery(TEAMS);
  if (result.error && !result.data) return html`<h1>Teams</h1><${Failed} error=${result.error} retry=${result.reload} />`;
  if (!result.data) return html`<h1>Teams</h1><${Loading} what="Loading teams" />`;
  const teams = teamOptions(result.data.teams.nodes);
  return html`<h1>Teams</h1>
    ${teams.length ? html`<ul class="tree">
      ${teams.map((team) => html`<li class=${`depth-${Math.min(team.depth, 4)}`}>
        <a href=${href('teams', team.slug)}>${team.name}</a>
        ${team.description && html` <span class="sub">${team.description}</span>`}
      </li>`)}
    </ul>` : html`<${Empty}>No team yet.<//>`}`;
}

const MEMBERS = 50;
const SERVICES = 25;
const TEAM = `query Team($slug: String!, $after: String) {
  team(slug: $slug) {
    slug name description
    parent { slug name }
    children { slug name }
    members(first: ${MEMBERS}) { totalCount nodes { handle name } }
    services(first: ${SERVICES}, after: $after) {
      totalCount pageInfo { hasNextPage endCursor }
      nodes { slug name lifecycle tier }
    }
  }
}`;

export function TeamPage({ slug }) {
  const [cursors, setCursors] = useState([null]);
  const result = useQuery(TEAM, { slug, after: cursors[cursors.length - 1] });
  const team = result.data?.team;
  useTitle(team?.name ?? slug);
  if (result.error && !result.data) return html`<${Failed} error=${result.error} retry=${result.reload} />`;
  if (!result.data) return html`<${Loading} what="Loading the team" />`;
  if (!team) return html`<${NotFound} what=${`The team ${slug}`} />`;
  const services = team.services;
  return html`<header class="page-head">
      <p class="crumbs"><a href="/teams">Teams</a> /
        ${team.parent && html` <a href=${href('teams', team.parent.slug)}>${team.parent.name}</a> /`}</p>
      <h1>${team.name}</h1>
      ${team.description && html`<p class="lead">${team.description}</p>`}
    </header>
    <div class="columns">
      <section aria-labelledby="children-title">
        <h2 id="children-title">Sub-teams</h2>
        ${team.children.length
          ? html`<ul>${team.children.map((child) => html`<li><a href=${href('teams', child.slug)}>${child.name}</a></li>`)}</ul>`
          : html`<${Empty}>No sub-team.<//>`}
      </section>
      <section aria-labelledby="members-title">
        <h2 id="members-title">Members <span class="sub">(${team.members.totalCount})</span></h2>
        ${team.members.nodes.length
          ? html`<ul>${team.members.nodes.map((user) => html`<li><a href=${href('users', user.handle)}>${user.name}</a></li>`)}</ul>`
          : html`<${Empty}>No member.<//>`}
        ${team.members.totalCount > MEMBERS && html`<p class="sub">The first ${MEMBERS} are shown.</p>`}
      </section>
    </div>
    <section aria-labelledby="services-title">
      <h2 id="services-title">Services it owns <span class="sub">(primary or contributor)</span></h2>
      ${services.nodes.length ? html`<div class="table-wrap"><table class="list">
        <caption class="visually-hidden">Services of ${team.name}</caption>
        <thead><tr><th scope="col">Service</th><th scope="col">Lifecycle</th><th scope="col">Tier</th></tr></thead>
        <tbody>${services.nodes.map((service) => html`<tr key=${service.slug}>
          <td><a href=${href('services', service.slug)}>${service.name}</a></td>
          <td><span class=${`badge lifecycle-${lower(service.lifecycle)}`}>${lower(service.lifecycle)}</span></td>
          <td>${service.tier ?? '—'}</td>
        </tr>`)}</tbody>
      </table></div>
      <${Pager} pageInfo=${{ hasPreviousPage: cursors.length > 1, hasNextPage: services.pageInfo.hasNextPage }}
        totalCount=${services.totalCount} shown=${services.nodes.length} label="services"
        onPrevious=${() => setCursors(cursors.slice(0, -1))}
        onNext=${() => setCursors([...cursors, services.pageInfo.endCursor])} />`
      : html`<${Empty}>It owns no service.<//>`}
    </section>
    <p><a href=${`/services?owner=${encodeURIComponent(team.slug)}`}>Services of ${team.name} and its sub-teams</a>
      · <a href=${`/matrix?team=${encodeURIComponent(team.slug)}`}>What they run where</a></p>`;
}
