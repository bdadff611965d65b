// Services: search, filters (owner team with its sub-teams, lifecycle, tier, tag), sortable
// columns and cursor paging, all kept in the URL; "mine": the services of the viewer's teams.
import { Field } from '../components/forms.js';
import { teamOptions } from '../components/teams.js';
import { Empty, Failed, Loading } from '../components/status.js';
import { Pager, SortHeader } from '../components/table.js';
import { useDebounced, useQuery } from '../data.js';
import { ago, lower } from '../format.js';
import { html, useEffect, useState } from '../lib.js';
import { useTitle } from '../page.js';
import { href, setQuery } from '../router.js';
import { useViewer, viewerTeams } from '../viewer.js';

const PAGE = 25;
// "Mine" is the union of the first MINE_LIMIT services of each of the first MINE_TEAMS teams
// of the viewer, sorted and paged here (the API filters by one owner team at a time).
const MINE_LIMIT = 100;
const MINE_TEAMS = 10;
const LIFECYCLES = ['EXPERIMENTAL', 'PRODUCTION', 'DEPRECATED'];
const TIERS = [1, 2, 3, 4];
const FIELDS = `slug name description lifecycle tier tags updatedAt createdAt owner { slug name }`;

const SERVICES = `query Services($first: Int, $after: String, $last: Int, $before: String,
    $filter: ServiceFilter, $orderBy: ServiceOrder) {
  services(first: $first, after: $after, last: $last, before: $before, filter: $filter,
      orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { ${FIELDS} }
  }
}`;

const TEAMS = `query TeamChoices { teams(first: 100) { nodes { slug name parent { slug } } } }`;

/** One aliased listing per team of the viewer: "mine" is their union. */
function mineQuery(count) {
  const variables = Array.from({ length: count }, (_, i) => `$t${i}: String!`).join(', ');
  const fields = Array.from({ length: count }, (_, i) => `t${i}: team(slug: $t${i}) {
    services(first: ${MINE_LIMIT}, filter: $filter) { nodes { ${FIELDS} } } }`).join('\n');
  return `query MyServices($filter: ServiceFilter, ${variables}) { ${fields} }`;
}

function readFilters(query) {
  return {
    search: query.get('q') ?? '',
    owner: query.get('owner') ?? '',
    lifecycle: query.get('lifecycle') ?? '',
    tier: query.get('tier') ?? '',
    tag: query.get('tag') ?? '',
    mine: query.get('mine') === '1',
    sort: { field: query.get('sort') ?? 'NAME', direction: query.get('dir') ?? 'ASC' },
    after: query.get('after'),
    before: query.get('before'),
    page: Number(query.get('page') ?? 0),
  };
}

function serviceFilter(filters) {
  const filter = {};
  if (filters.search.trim()) filter.search = filters.search.trim();
  if (filters.owner) filter.owner = filters.owner;
  if (filters.lifecycle) filter.lifecycle = [filters.lifecycle];
  if (filters.tier) filter.tier = [Number(filters.tier)];
  if (filters.tag.trim()) filter.tags = [filters.tag.trim()];
  return filter;
}

const SORT_KEYS = { NAME: 'name', TIER: 'tier', UPDATED_AT: 'updatedAt', CREATED_AT: 'createdAt' };

function sortLocally(services, sort) {
  const key = SORT_KEYS[sort.field] ?? 'name';
  const sign = sort.direction === 'DESC' ? -1 : 1;
  return [...services].sort((a, b) => {
    const x = a[key] ?? Infinity;
    const y = b[key] ?? Infinity;
    if (x === y) return a.name.localeCompare(b.name);
    return (typeof x === 'string' ? x.localeCompare(y) : x - y) * sign;
  });
}

function Filters({ filters, teams, canMine }) {
  const [search, setSearch] = useState(filters.search);
  const settled = useDebounced(search, 250);
  useEffect(() => {
    if (settled !== filters.search) setQuery({ q: settled, after: null, before: null, page: null });
  }, [settled]);
  const change = (name) => (event) => setQuery({
    [name]: event.currentTarget.value, after: null, before: null, page: null,
  });
  return html`<form class="filters" role="search" aria-label="Services"
      onSubmit=${(event) => event.preventDefault()}>
    <${Field} id="search" label="Search">
      <input id="search" type="search" value=${search} placeholder="slug, name or description"
        onInput=${(event) => setSearch(event.currentTarget.value)} />
    <//>
    <${Field} id="owner" label="Owner team (and sub-teams)">
      <select id="owner" value=${filters.owner} onChange=${change('owner')}>
        <option value="">Any team</option>
        ${teamOptions(teams).map((team) => html`<option value=${team.slug}>
          ${'\u00a0\u00a0'.repeat(team.depth)}${team.name}</option>`)}
      </select>
    <//>
    <${Field} id="lifecycle" label="Lifecycle">
      <select id="lifecycle" value=${filters.lifecycle} onChange=${change('lifecycle')}>
        <option value="">Any</option>
        ${LIFECYCLES.map((value) => html`<option value=${value}>${lower(value)}</option>`)}
      </select>
    <//>
    <${Field} id="tier" label="Tier">
      <select id="tier" value=${filters.tier} onChange=${change('tier')}>
        <option value="">Any</option>
        ${TIERS.map((value) => html`<option value=${value}>Tier ${value}</option>`)}
      </select>
    <//>
    <${Field} id="tag" label="Tag">
      <input id="tag" type="text" value=${filters.tag} onChange=${change('tag')} />
    <//>
    <div class="field field-check">
      <input id="mine" type="checkbox" checked=${filters.mine} disabled=${!canMine}
        aria-describedby=${canMine ? undefined : 'mine-hint'}
        onChange=${(event) => setQuery({ mine: event.currentTarget.checked ? '1' : null, page: null, after: null, before: null })} />
      <label for="mine">Mine</label>
      ${!canMine && html`<p class="hint" id="mine-hint">You belong to no team.</p>`}
    </div>
  </form>`;
}

function ServicesTable({ services, sort, onSort }) {
  return html`<div class="table-wrap"><table class="list">
    <caption class="visually-hidden">Services</caption>
    <thead><tr>
      <${SortHeader} label="Name" field="NAME" sort=${sort} onSort=${onSort} />
      <th scope="col">Owner</th>
      <th scope="col">Lifecycle</th>
      <${SortHeader} label="Tier" field="TIER" sort=${sort} onSort=${onSort} />
      <th scope="col">Tags</th>
      <${SortHeader} label="Updated" field="UPDATED_AT" sort=${sort} onSort=${onSort} />
    </tr></thead>
    <tbody>
      ${services.map((service) => html`<tr key=${service.slug}>
        <td><a href=${href('services', service.slug)}>${service.name}</a>
          <div class="sub">${service.slug}</div></td>
        <td>${service.owner ? html`<a href=${href('teams', service.owner.slug)}>${service.owner.name}</a>` : '—'}</td>
        <td><span class=${`badge lifecycle-${lower(service.lifecycle)}`}>${lower(service.lifecycle)}</span></td>
        <td>${service.tier ?? '—'}</td>
        <td>${service.tags.map((tag) => html`<span class="tag">${tag}</span> `)}</td>
        <td><time datetime=${service.updatedAt}>${ago(service.updatedAt)}</time></td>
      </tr>`)}
    </tbody>
  </table></div>`;
}

function useServices(filters, teams) {
  const filter = serviceFilter(filters);
  const paging = filters.before
    ? { last: PAGE, before: filters.before }
    : { first: PAGE, after: filters.after };
  const all = useQuery(SERVICES, { ...paging, filter, orderBy: filters.sort }, { skip: filters.mine });
  const slugs = teams.map((team) => team.slug).slice(0, MINE_TEAMS);
  const variables = { filter, ...Object.fromEntries(slugs.map((slug, i) => [`t${i}`, slug])) };
  const mine = useQuery(mineQuery(slugs.length), variables, { skip: !filters.mine || !slugs.length });
  if (!filters.mine) {
    const connection = all.data?.services;
    const pageInfo = connection && {
      ...connection.pageInfo,
      hasPreviousPage: connection.pageInfo.hasPreviousPage || Boolean(filters.after),
      hasNextPage: connection.pageInfo.hasNextPage || Boolean(filters.before),
    };
    return {
      ...all,
      services: connection?.nodes,
      totalCount: connection?.totalCount,
      pageInfo,
      previous: () => setQuery({ before: connection.pageInfo.startCursor, after: null }),
      next: () => setQuery({ after: connection.pageInfo.endCursor, before: null }),
    };
  }
  const merged = new Map();
  for (const key of Object.keys(mine.data ?? {})) {
    for (const service of mine.data[key]?.services.nodes ?? []) merged.set(service.slug, service);
  }
  const sorted = sortLocally([...merged.values()], filters.sort);
  const start = filters.page * PAGE;
  return {
    ...mine,
    services: mine.data || !slugs.length ? sorted.slice(start, start + PAGE) : undefined,
    totalCount: sorted.length,
    pageInfo: { hasPreviousPage: filters.page > 0, hasNextPage: start + PAGE < sorted.length },
    previous: () => setQuery({ page: filters.page - 1 || null }),
    next: () => setQuery({ page: filters.page + 1 }),
  };
}

export function ServicesPage({ query }) {
  useTitle('Services');
  const viewer = useViewer();
  const filters = readFilters(query);
  const teams = useQuery(TEAMS);
  const mineTeams = viewerTeams(viewer);
  const result = useServices(filters, mineTeams);
  const onSort = (sort) => setQuery({
    sort: sort.field, dir: sort.direction, after: null, before: null, page: null,
  });
  const filtered = Object.keys(serviceFilter(filters)).length > 0 || filters.mine;
  let body;
  if (result.error && !result.services) {
    body = html`<${Failed} error=${result.error} retry=${result.reload} />`;
  } else if (!result.services) {
    body = html`<${Loading} what="Loading services" />`;
  } else if (!result.services.length) {
    body = html`<${Empty}>${filtered ? 'No service matches these filters. ' : 'No service yet.'}
      ${filtered && html`<a href="/services">Clear the filters</a>`}<//>`;
  } else {
    body = html`
      <${ServicesTable} services=${result.services} sort=${filters.sort} onSort=${onSort} />
      <${Pager} pageInfo=${result.pageInfo} totalCount=${result.totalCount}
        shown=${result.services.length} onPrevious=${result.previous} onNext=${result.next}
        label="services" />`;
  }
  return html`<h1>Services</h1>
    <${Filters} filters=${filters} teams=${teams.data?.teams.nodes ?? []}
      canMine=${mineTeams.length > 0} />
    <div aria-live="polite" aria-busy=${result.loading ? 'true' : 'false'} class="results">
      ${result.services && html`<p class="count">${result.totalCount} service${result.totalCount === 1 ? '' : 's'}</p>`}
      ${body}
    </div>`;
}
