// Approvals: deployments waiting for the viewer's approval (`viewerCanApprove`, the API's own
// rules), to approve or reject. The mutation still decides: a refusal shows in the dialog.
import { DeploymentActionDialog } from '../components/actions.js';
import { Empty, Failed, Loading } from '../components/status.js';
import { useQuery } from '../data.js';
import { ago, lower, when } from '../format.js';
import { html, useState } from '../lib.js';
import { LiveIndicator, useLiveDeployments } from '../live.js';
import { useTitle } from '../page.js';
import { href } from '../router.js';
import { useViewer, viewerTeams } from '../viewer.js';

const WAITING = `query Waiting {
  deployments(first: 50, filter: { states: [WAITING_APPROVAL] }) {
    totalCount
    nodes {
      id number version kind createdAt viewerCanApprove
      service { slug name }
      environment {
        slug name
        protection { requiredApprovals preventSelfApproval approverTeams { slug name } }
      }
      requestedBy { __typename id name }
      approvals { decision comment at actor { name } }
    }
  }
}`;

function approverHint(deployment, viewer) {
  const teams = deployment.environment.protection.approverTeams;
  if (viewer?.__typename === 'LocalAdmin') return 'You are the local admin.';
  if (deployment.requestedBy.id === viewer?.id && deployment.environment.protection.preventSelfApproval) {
    return 'You asked for it; someone else must approve.';
  }
  if (!teams.length) return null;
  const mine = new Set(viewerTeams(viewer).map((team) => team.slug));
  return teams.some((team) => mine.has(team.slug))
    ? 'You are in an approver team.'
    : `Approvers: ${teams.map((team) => team.name).join(', ')}.`;
}

export function ApprovalsPage() {
  useTitle('Approvals');
  const viewer = useViewer();
  const result = useQuery(WAITING);
  const [action, setAction] = useState(null);
  const [notice, setNotice] = useState(null);
  const mode = useLiveDeployments({}, () => result.reload());
  const done = (deployment) => {
    setAction(null);
    if (deployment) setNotice(`Deployment #${deployment.number} of ${deployment.version}: ${lower(deployment.state)}.`);
    result.reload();
  };
  let body;
  if (result.error && !result.data) body = html`<${Failed} error=${result.error} retry=${result.reload} />`;
  else if (!result.data) body = html`<${Loading} what="Loading deployments waiting for approval" />`;
  else if (!result.data.deployments.nodes.some((deployment) => deployment.viewerCanApprove)) {
    body = html`<${Empty}>Nothing is waiting for your approval.<//>`;
  } else {
    const mine = result.data.deployments.nodes.filter((deployment) => deployment.viewerCanApprove);
    body = html`<ul class="approvals">${mine.map((deployment) => {
      const hint = approverHint(deployment, viewer);
      return html`<li class="card" key=${deployment.id}>
        <h2><a href=${href('services', deployment.service.slug)}>${deployment.service.name}</a>
          ${' '}${deployment.version} to <a href=${href('environments', deployment.environment.slug)}>${deployment.environment.name}</a></h2>
        <p class="sub">#${deployment.number} · ${lower(deployment.kind)} · asked by ${deployment.requestedBy.name}
          · <time datetime=${deployment.createdAt}>${ago(deployment.createdAt)}</time>
          · ${deployment.approvals.filter((a) => a.decision === 'APPROVED').length} of
          ${deployment.environment.protection.requiredApprovals} approval(s)</p>
        ${deployment.approvals.length > 0 && html`<ul class="sub">${deployment.approvals.map((approval) => html`<li>
          ${lower(approval.decision)} by ${approval.actor.name}, ${when(approval.at)}${approval.comment ? `: ${approval.comment}` : ''}</li>`)}</ul>`}
        ${hint && html`<p class="hint">${hint}</p>`}
        <div class="row-actions">
          <button type="button" onClick=${() => setAction({ kind: 'approve', deployment })}>Approve…</button>
          <button type="button" class="secondary" onClick=${() => setAction({ kind: 'reject', deployment })}>Reject…</button>
        </div>
      </li>`;
    })}</ul>`;
  }
  return html`<h1>Approvals</h1>
    <div class="toolbar"><${LiveIndicator} mode=${mode} /></div>
    ${notice && html`<p class="notice" role="status">${notice}</p>`}
    <div aria-busy=${result.loading ? 'true' : 'false'}>${body}</div>
    <${DeploymentActionDialog} action=${action} onClose=${() => setAction(null)} onDone=${done} />`;
}
