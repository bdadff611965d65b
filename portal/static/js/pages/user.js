// A person: their teams and the deployments they asked for lately.
import { Empty, Failed, Loading } from '../components/status.js';
import { Timeline } from '../components/timeline.js';
import { useQuery } from '../data.js';
import { html } from '../lib.js';
import { useTitle } from '../page.js';
import { href } from '../router.js';
import { NotFound } from './not-found.js';

const SCANNED = 100;
const USER = `query User($handle: String!) {
  user(handle: $handle) { handle name email teams { slug name } }
  deployments(first: ${SCANNED}) {
    nodes {
      id number version state kind createdAt startedAt finishedAt statusMessage
      service { slug name } environment { slug name }
      requestedBy { __typename name ... on User { handle } }
    }
  }
}`;

export function UserPage({ handle }) {
  const result = useQuery(USER, { handle });
  const user = result.data?.user;
  useTitle(user?.name ?? handle);
  if (result.error && !result.data) return html`<${Failed} error=${result.error} retry=${result.reload} />`;
  if (!result.data) return html`<${Loading} what="Loading the person" />`;
  if (!user) return html`<${NotFound} what=${`The user ${handle}`} />`;
  const theirs = result.data.deployments.nodes.filter(
    (deployment) => deployment.requestedBy.__typename === 'User' && deployment.requestedBy.handle === handle,
  );
  return html`<header class="page-head">
      <h1>${user.name}</h1>
      <p class="meta"><code>${user.handle}</code> <a href=${`mailto:${user.email}`}>${user.email}</a></p>
    </header>
    <section aria-labelledby="teams-title">
      <h2 id="teams-title">Teams</h2>
      ${user.teams.length
        ? html`<ul class="owners">${user.teams.map((team) => html`<li><a href=${href('teams', team.slug)}>${team.name}</a></li>`)}</ul>`
        : html`<${Empty}>In no team.<//>`}
    </section>
    <section aria-labelledby="deployments-title">
      <h2 id="deployments-title">Recent deployments</h2>
      <p class="sub">Those ${user.name} asked for among the latest ${SCANNED} you may see.</p>
      ${theirs.length ? html`<${Timeline} deployments=${theirs} showService />` : html`<${Empty}>None lately.<//>`}
    </section>`;
}
