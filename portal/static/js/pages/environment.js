// Environments: the list; one environment with its provider and capabilities, protection,
// freeze and unfreeze (with a reason), recent deployments, and DORA metrics over a period.
import { BarChart } from '../components/chart.js';
import { Dialog } from '../components/dialog.js';
import { ErrorList, Field, described, errorsFor, otherErrors } from '../components/forms.js';
import { Empty, Failed, Loading } from '../components/status.js';
import { Timeline } from '../components/timeline.js';
import { useQuery } from '../data.js';
import { duration, lower, percent } from '../format.js';
import { html, useState } from '../lib.js';
import { LiveIndicator, useLiveDeployments } from '../live.js';
import { FREEZE, UNFREEZE, useMutation } from '../mutations.js';
import { useTitle } from '../page.js';
import { href, setQuery } from '../router.js';
import { NotFound } from './not-found.js';

const ENVIRONMENTS = `query Environments { environments(first: 50) { nodes {
  slug name tier description provider { kind name }
  protection { requiredApprovals frozen freezeReason } } } }`;

export function EnvironmentsPage() {
  useTitle('Environments');
  const result = useQuery(ENVIRONMENTS);
  if (result.error && !result.data) return html`<h1>Environments</h1><${Failed} error=${result.error} retry=${result.reload} />`;
  if (!result.data) return html`<h1>Environments</h1><${Loading} what="Loading environments" />`;
  const environments = result.data.environments.nodes;
  return html`<h1>Environments</h1>
    ${environments.length ? html`<div class="table-wrap"><table class="list">
      <caption class="visually-hidden">Environments</caption>
      <thead><tr><th scope="col">Environment</th><th scope="col">Tier</th><th scope="col">Provider</th>
        <th scope="col">Approvals</th><th scope="col">Frozen</th></tr></thead>
      <tbody>${environments.map((environment) => html`<tr key=${environment.slug}>
        <td><a href=${href('environments', environment.slug)}>${environment.name}</a></td>
        <td>${lower(environment.tier)}</td>
        <td>${environment.provider.name} <span class="sub">${environment.provider.kind}</span></td>
        <td>${environment.protection.requiredApprovals}</td>
        <td>${environment.protection.frozen
          ? html`<span class="badge frozen">frozen</span> <span class="sub">${environment.protection.freezeReason}</span>`
          : 'no'}</td>
      </tr>`)}</tbody>
    </table></div>` : html`<${Empty}>No environment yet.<//>`}`;
}

const ENVIRONMENT = `query Environment($slug: String!) {
  environment(slug: $slug) {
    slug name description tier version
    provider { name kind capabilities }
    protection { requiredApprovals preventSelfApproval frozen freezeReason approverTeams { slug name } }
    deployments(first: 15) {
      totalCount
      nodes {
        id number version state kind createdAt startedAt finishedAt statusMessage
        service { slug name } environment { slug name }
        requestedBy { __typename name ... on User { handle } }
      }
    }
  }
}`;

const DAY = 86400000;
const PERIODS = { 7: { buckets: 7, days: 1 }, 30: { buckets: 10, days: 3 }, 90: { buckets: 13, days: 7 } };
const METRICS = 'deployments succeeded failed rolledBack deploymentsPerDay changeFailureRate meanTimeToRestoreSeconds medianLeadTimeSeconds';

/** One aliased `deploymentMetrics` per bucket of the period, and one over all of it. */
function metricsQuery(buckets) {
  const variables = Array.from({ length: buckets }, (_, i) => `$s${i}: DateTime!, $u${i}: DateTime!`).join(', ');
  const fields = Array.from({ length: buckets }, (_, i) => `b${i}: deploymentMetrics(environment: $environment, since: $s${i}, until: $u${i}) { ${METRICS} }`).join('\n');
  return `query Metrics($environment: String!, $since: DateTime!, ${variables}) {
    total: deploymentMetrics(environment: $environment, since: $since) { ${METRICS} }
    ${fields}
  }`;
}

function bucketsOf(days, now) {
  const period = PERIODS[days] ?? PERIODS[30];
  const end = Math.ceil(now / DAY) * DAY;
  return Array.from({ length: period.buckets }, (_, i) => {
    const until = end - (period.buckets - 1 - i) * period.days * DAY;
    const since = until - period.days * DAY;
    return { since: new Date(since).toISOString(), until: new Date(until).toISOString(), days: period.days };
  });
}

function Metrics({ environment, days }) {
  const [now] = useState(() => Date.now());
  const buckets = bucketsOf(days, now);
  const variables = { environment, since: buckets[0].since };
  buckets.forEach((bucket, i) => {
    variables[`s${i}`] = bucket.since;
    variables[`u${i}`] = bucket.until;
  });
  const result = useQuery(metricsQuery(buckets.length), variables);
  if (result.error && !result.data) return html`<${Failed} error=${result.error} retry=${result.reload} />`;
  if (!result.data) return html`<${Loading} what="Loading metrics" />`;
  const label = (bucket) => new Date(bucket.since).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  const series = (pick) => buckets.map((bucket, i) => ({ label: label(bucket), value: pick(result.data[`b${i}`], bucket) }));
  const hours = (seconds) => (seconds === null ? null : seconds / 3600);
  const { total } = result.data;
  return html`
    <dl class="facts">
      <dt>Deployments</dt><dd>${total.deployments} (${total.succeeded} succeeded, ${total.failed} failed, ${total.rolledBack} rolled back)</dd>
      <dt>Per day</dt><dd>${total.deploymentsPerDay.toFixed(2)}</dd>
      <dt>Change failure rate</dt><dd>${percent(total.changeFailureRate)}</dd>
      <dt>Mean time to restore</dt><dd>${duration(total.meanTimeToRestoreSeconds)}</dd>
      <dt>Median lead time</dt><dd>${duration(total.medianLeadTimeSeconds)}</dd>
    </dl>
    <div class="charts">
      <${BarChart} title="Deployments per day" points=${series((m, bucket) => m.deployments / bucket.days)}
        format=${(value) => value.toFixed(1)} />
      <${BarChart} title="Change failure rate" points=${series((m) => m.changeFailureRate)} format=${percent} />
      <${BarChart} title="Time to restore (hours)" points=${series((m) => hours(m.meanTimeToRestoreSeconds))}
        format=${(value) => `${value.toFixed(1)} h`} />
      <${BarChart} title="Lead time (hours)" points=${series((m) => hours(m.medianLeadTimeSeconds))}
        format=${(value) => `${value.toFixed(1)} h`} />
    </div>`;
}

function FreezeDialog({ environment, onClose, onDone }) {
  const [reason, setReason] = useState('');
  const { run, busy, errors } = useMutation(FREEZE);
  const submit = async (event) => {
    event.preventDefault();
    const input = { environment: environment.slug };
    if (reason.trim()) input.reason = reason.trim();
    if (await run(input)) onDone();
  };
  return html`<${Dialog} title=${`Freeze ${environment.name}`} onClose=${onClose}>
    <form noValidate onSubmit=${submit}>
      <p>While frozen, deployments to ${environment.name} are refused, with your reason.</p>
      <${ErrorList} errors=${otherErrors(errors, ['reason'])} id="freeze-errors" />
      <${Field} id="freeze-reason" label="Reason" errors=${errorsFor(errors, 'reason')}>
        <textarea rows="2" required value=${reason} ...${described('freeze-reason', errorsFor(errors, 'reason'))}
          onInput=${(event) => setReason(event.currentTarget.value)}></textarea>
      <//>
      <div class="dialog-actions">
        <button type="button" class="secondary" onClick=${onClose}>Cancel</button>
        <button type="submit" class="danger" disabled=${busy}>Freeze</button>
      </div>
    </form>
  <//>`;
}

function UnfreezeDialog({ environment, onClose, onDone }) {
  const { run, busy, errors } = useMutation(UNFREEZE);
  const confirm = async () => {
    if (await run({ environment: environment.slug })) onDone();
  };
  return html`<${Dialog} title=${`Unfreeze ${environment.name}`} onClose=${onClose}>
    <p>Allow deployments to ${environment.name} again?</p>
    <${ErrorList} errors=${errors} id="unfreeze-errors" />
    <div class="dialog-actions">
      <button type="button" class="secondary" onClick=${onClose}>Cancel</button>
      <button type="button" disabled=${busy} onClick=${confirm}>Unfreeze</button>
    </div>
  <//>`;
}

export function EnvironmentPage({ slug, query }) {
  const days = Number(query.get('days') ?? 30);
  const result = useQuery(ENVIRONMENT, { slug });
  const [dialog, setDialog] = useState(null);
  const mode = useLiveDeployments({ environment: slug }, () => result.reload());
  const environment = result.data?.environment;
  useTitle(environment?.name ?? slug);
  if (result.error && !result.data) return html`<${Failed} error=${result.error} retry=${result.reload} />`;
  if (!result.data) return html`<${Loading} what="Loading the environment" />`;
  if (!environment) return html`<${NotFound} what=${`The environment ${slug}`} />`;
  const { protection, provider } = environment;
  const done = () => {
    setDialog(null);
    result.reload();
  };
  return html`<header class="page-head">
      <p class="crumbs"><a href="/environments">Environments</a> /</p>
      <h1>${environment.name}</h1>
      <p class="meta"><code>${environment.slug}</code> <span class="badge">${lower(environment.tier)}</span>
        ${protection.frozen && html`<span class="badge frozen">frozen</span>`}</p>
      ${environment.description && html`<p class="lead">${environment.description}</p>`}
    </header>
    ${protection.frozen && html`<p class="notice notice-error" role="note"><strong>Frozen:</strong>
      ${protection.freezeReason ?? 'no reason given'}</p>`}
    <div class="toolbar" role="group" aria-label="Actions">
      ${protection.frozen
        ? html`<button type="button" onClick=${() => setDialog('unfreeze')}>Unfreeze…</button>`
        : html`<button type="button" class="danger" onClick=${() => setDialog('freeze')}>Freeze…</button>`}
      <${LiveIndicator} mode=${mode} />
    </div>
    <div class="columns">
      <section aria-labelledby="provider-title">
        <h2 id="provider-title">Provider</h2>
        <dl class="facts">
          <dt>Name</dt><dd>${provider.name}</dd>
          <dt>Kind</dt><dd><code>${provider.kind}</code></dd>
          <dt>Can</dt><dd>${provider.capabilities.map((capability) => html`<span class="badge">${lower(capability)}</span> `)}</dd>
        </dl>
      </section>
      <section aria-labelledby="protection-title">
        <h2 id="protection-title">Protection</h2>
        <dl class="facts">
          <dt>Approvals needed</dt><dd>${protection.requiredApprovals}</dd>
          <dt>Self-approval</dt><dd>${protection.preventSelfApproval ? 'not allowed' : 'allowed'}</dd>
          <dt>Approver teams</dt><dd>${protection.approverTeams.length
            ? protection.approverTeams.map((team, i) => html`${i ? ', ' : ''}<a href=${href('teams', team.slug)}>${team.name}</a>`)
            : 'any'}</dd>
        </dl>
      </section>
    </div>
    <section aria-labelledby="metrics-title">
      <h2 id="metrics-title">Delivery metrics</h2>
      <div class="field">
        <label for="period">Period</label>
        <select id="period" value=${String(days)} onChange=${(event) => setQuery({ days: event.currentTarget.value })}>
          <option value="7">Last 7 days</option>
          <option value="30">Last 30 days</option>
          <option value="90">Last 90 days</option>
        </select>
      </div>
      <${Metrics} environment=${slug} days=${days} />
    </section>
    <section aria-labelledby="recent-title">
      <h2 id="recent-title">Recent deployments <span class="sub">(${environment.deployments.totalCount})</span></h2>
      ${environment.deployments.nodes.length
        ? html`<${Timeline} deployments=${environment.deployments.nodes} showService />`
        : html`<${Empty}>Nothing deployed here yet.<//>`}
    </section>
    ${dialog === 'freeze' && html`<${FreezeDialog} environment=${environment} onClose=${() => setDialog(null)} onDone=${done} />`}
    ${dialog === 'unfreeze' && html`<${UnfreezeDialog} environment=${environment} onClose=${() => setDialog(null)} onDone=${done} />`}`;
}
