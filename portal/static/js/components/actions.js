// The dialogs of deployment actions: deploy, promote (plan first), roll back (choose the
// target), cancel, approve or reject. Each sends one mutation; the API decides, and its
// UserErrors appear next to the field they name (or at the top when they name none).
import { useQuery } from '../data.js';
import { when } from '../format.js';
import { html, useState } from '../lib.js';
import {
  APPROVE, CANCEL, DEPLOY, PROMOTE, REJECT, ROLLBACK, useMutation,
} from '../mutations.js';
import { Dialog } from './dialog.js';
import { ErrorList, Field, described, errorsFor, otherErrors } from './forms.js';
import { StateBadge } from './status.js';

function EnvironmentSelect({ id, label, environments, value, onChange, errors }) {
  return html`<${Field} id=${id} label=${label} errors=${errors}>
    <select ...${described(id, errors)} value=${value}
      onChange=${(event) => onChange(event.currentTarget.value)}>
      ${environments.map((environment) => html`<option value=${environment.slug}>
        ${environment.name}</option>`)}
    </select>
  <//>`;
}

export function DeployDialog({ service, environments, initial, onClose, onDone }) {
  const [environment, setEnvironment] = useState(initial ?? environments[0]?.slug ?? '');
  const [version, setVersion] = useState('');
  const [description, setDescription] = useState('');
  const { run, busy, errors } = useMutation(DEPLOY);
  const submit = async (event) => {
    event.preventDefault();
    const input = { service: service.slug, environment, version: version.trim() };
    if (description.trim()) input.description = description.trim();
    const payload = await run(input);
    if (payload) onDone(payload.deployment);
  };
  const fields = ['environment', 'version', 'description'];
  return html`<${Dialog} title=${`Deploy ${service.name}`} onClose=${onClose}>
    <form noValidate onSubmit=${submit}>
      <${ErrorList} errors=${otherErrors(errors, fields)} id="deploy-errors" />
      <${EnvironmentSelect} id="deploy-environment" label="Environment" environments=${environments}
        value=${environment} onChange=${setEnvironment} errors=${errorsFor(errors, 'environment')} />
      <${Field} id="deploy-version" label="Version" errors=${errorsFor(errors, 'version')}>
        <input type="text" required autocomplete="off" value=${version}
          ...${described('deploy-version', errorsFor(errors, 'version'))}
          onInput=${(event) => setVersion(event.currentTarget.value)} />
      <//>
      <${Field} id="deploy-description" label="Description (optional)"
          errors=${errorsFor(errors, 'description')}>
        <textarea rows="2" value=${description}
          ...${described('deploy-description', errorsFor(errors, 'description'))}
          onInput=${(event) => setDescription(event.currentTarget.value)}></textarea>
      <//>
      <div class="dialog-actions">
        <button type="button" class="secondary" onClick=${onClose}>Cancel</button>
        <button type="submit" disabled=${busy}>${busy ? 'Deploying…' : 'Deploy'}</button>
      </div>
    </form>
  <//>`;
}

function Plan({ plan }) {
  return html`<dl class="plan" aria-label="Promotion plan">
    <dt>Runs there now</dt><dd>${plan.fromVersion ?? 'nothing'}</dd>
    <dt>Would run</dt><dd><strong>${plan.toVersion}</strong></dd>
    <dt>Approvals needed</dt><dd>${plan.requiredApprovals}</dd>
    <dt>Frozen</dt><dd>${plan.frozen ? 'yes: it will be refused' : 'no'}</dd>
  </dl>`;
}

export function PromoteDialog({ service, environments, onClose, onDone }) {
  const [from, setFrom] = useState(environments[0]?.slug ?? '');
  const [to, setTo] = useState(environments[1]?.slug ?? environments[0]?.slug ?? '');
  const [plan, setPlan] = useState(null);
  const { run, busy, errors } = useMutation(PROMOTE);
  const input = { service: service.slug, fromEnvironment: from, toEnvironment: to };
  const showPlan = async (event) => {
    event.preventDefault();
    const payload = await run({ ...input, dryRun: true });
    setPlan(payload ? payload.plan : null);
  };
  const confirm = async () => {
    const payload = await run(input);
    if (payload) onDone(payload.deployment);
  };
  const change = (setter) => (value) => {
    setter(value);
    setPlan(null);
  };
  const fields = ['fromEnvironment', 'toEnvironment'];
  return html`<${Dialog} title=${`Promote ${service.name}`} onClose=${onClose}>
    <form noValidate onSubmit=${showPlan}>
      <${ErrorList} errors=${otherErrors(errors, fields)} id="promote-errors" />
      <${EnvironmentSelect} id="promote-from" label="From" environments=${environments}
        value=${from} onChange=${change(setFrom)} errors=${errorsFor(errors, 'fromEnvironment')} />
      <${EnvironmentSelect} id="promote-to" label="To" environments=${environments}
        value=${to} onChange=${change(setTo)} errors=${errorsFor(errors, 'toEnvironment')} />
      ${plan && html`<${Plan} plan=${plan} />`}
      <div class="dialog-actions">
        <button type="button" class="secondary" onClick=${onClose}>Cancel</button>
        ${plan
          ? html`<button type="button" disabled=${busy} onClick=${confirm}>
              ${busy ? 'Promoting…' : `Promote ${plan.toVersion}`}</button>`
          : html`<button type="submit" disabled=${busy}>Show the plan</button>`}
      </div>
    </form>
  <//>`;
}

const ROLLBACK_TARGETS = `query RollbackTargets($service: String!, $environment: String!) {
  service(slug: $service) {
    deployments(environment: $environment, states: [SUCCEEDED, INACTIVE, ROLLED_BACK], first: 20) {
      nodes { id number version state finishedAt kind }
    }
  }
}`;

export function RollbackDialog({ service, environments, initial, onClose, onDone }) {
  const [environment, setEnvironment] = useState(initial ?? environments[0]?.slug ?? '');
  const [target, setTarget] = useState('');
  const targets = useQuery(ROLLBACK_TARGETS, { service: service.slug, environment });
  const { run, busy, errors } = useMutation(ROLLBACK);
  const submit = async (event) => {
    event.preventDefault();
    const input = { service: service.slug, environment };
    if (target) input.toDeployment = target;
    const payload = await run(input);
    if (payload) onDone(payload.deployment);
  };
  const choices = targets.data?.service?.deployments.nodes ?? [];
  const fields = ['environment', 'toDeployment'];
  const targetErrors = errorsFor(errors, 'toDeployment');
  return html`<${Dialog} title=${`Roll back ${service.name}`} onClose=${onClose}>
    <form noValidate onSubmit=${submit}>
      <${ErrorList} errors=${otherErrors(errors, fields)} id="rollback-errors" />
      <${EnvironmentSelect} id="rollback-environment" label="Environment"
        environments=${environments} value=${environment}
        onChange=${(value) => { setEnvironment(value); setTarget(''); }}
        errors=${errorsFor(errors, 'environment')} />
      <fieldset class="choices" aria-describedby=${targetErrors.length ? 'rollback-target-errors' : undefined}>
        <legend>Return to</legend>
        <label><input type="radio" name="target" value="" checked=${target === ''}
          onChange=${() => setTarget('')} /> The previous successful deployment</label>
        ${choices.map((deployment) => html`<label>
          <input type="radio" name="target" value=${deployment.id} checked=${target === deployment.id}
            onChange=${() => setTarget(deployment.id)} />
          #${deployment.number} · ${deployment.version} · <${StateBadge} state=${deployment.state} />
          · ${when(deployment.finishedAt)}
        </label>`)}
        ${targets.loading && !choices.length && html`<p class="hint">Loading earlier deployments…</p>`}
      </fieldset>
      <${ErrorList} errors=${targetErrors} id="rollback-target-errors" />
      <div class="dialog-actions">
        <button type="button" class="secondary" onClick=${onClose}>Cancel</button>
        <button type="submit" disabled=${busy}>${busy ? 'Rolling back…' : 'Roll back'}</button>
      </div>
    </form>
  <//>`;
}

export function CancelDialog({ deployment, onClose, onDone }) {
  const { run, busy, errors } = useMutation(CANCEL);
  const confirm = async () => {
    const payload = await run({ deployment: deployment.id });
    if (payload) onDone(payload.deployment);
  };
  return html`<${Dialog} title=${`Cancel deployment #${deployment.number}`} onClose=${onClose}>
    <p>Stop rolling out ${deployment.version}? What runs now stays.</p>
    <${ErrorList} errors=${errors} id="cancel-errors" />
    <div class="dialog-actions">
      <button type="button" class="secondary" onClick=${onClose}>Keep it</button>
      <button type="button" class="danger" disabled=${busy} onClick=${confirm}>Cancel the deployment</button>
    </div>
  <//>`;
}

/** Approve (`approve` true) or reject a deployment waiting for approval, with a comment. */
export function DecideDialog({ deployment, approve, onClose, onDone }) {
  const [comment, setComment] = useState('');
  const { run, busy, errors } = useMutation(approve ? APPROVE : REJECT);
  const submit = async (event) => {
    event.preventDefault();
    const input = { deployment: deployment.id };
    if (comment.trim()) input.comment = comment.trim();
    const payload = await run(input);
    if (payload) onDone(payload.deployment);
  };
  const verb = approve ? 'Approve' : 'Reject';
  const what = `${deployment.service?.name ?? ''} ${deployment.version} to ${deployment.environment?.name ?? ''}`;
  return html`<${Dialog} title=${`${verb} deployment #${deployment.number}`} onClose=${onClose}>
    <form noValidate onSubmit=${submit}>
      <p>${verb} ${what.trim()}?</p>
      <${ErrorList} errors=${otherErrors(errors, ['comment'])} id="decide-errors" />
      <${Field} id="decide-comment" label="Comment (optional)" errors=${errorsFor(errors, 'comment')}>
        <textarea rows="2" value=${comment} ...${described('decide-comment', errorsFor(errors, 'comment'))}
          onInput=${(event) => setComment(event.currentTarget.value)}></textarea>
      <//>
      <div class="dialog-actions">
        <button type="button" class="secondary" onClick=${onClose}>Cancel</button>
        <button type="submit" class=${approve ? '' : 'danger'} disabled=${busy}>${verb}</button>
      </div>
    </form>
  <//>`;
}

/** Buttons for what may be done to an unfinished deployment (the API still decides). */
export function PendingActions({ deployment, open }) {
  return html`<span class="row-actions">
    ${deployment.state === 'WAITING_APPROVAL' && html`
      <button type="button" class="small" onClick=${() => open({ kind: 'approve', deployment })}>Approve</button>
      <button type="button" class="small secondary" onClick=${() => open({ kind: 'reject', deployment })}>Reject</button>`}
    <button type="button" class="small secondary" onClick=${() => open({ kind: 'cancel', deployment })}>Cancel</button>
  </span>`;
}

/** The dialog `action` ({kind, deployment}) asks for, or nothing. */
export function DeploymentActionDialog({ action, onClose, onDone }) {
  if (!action) return null;
  const { kind, deployment } = action;
  if (kind === 'cancel') return html`<${CancelDialog} deployment=${deployment} onClose=${onClose} onDone=${onDone} />`;
  return html`<${DecideDialog} deployment=${deployment} approve=${kind === 'approve'}
    onClose=${onClose} onDone=${onDone} />`;
}
