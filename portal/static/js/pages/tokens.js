// API tokens: the viewer's (an admin may look at anyone's), create one (its secret shown
// once, with a copy button) and revoke.
import { Dialog } from '../components/dialog.js';
import { ErrorList, Field, described, errorsFor, otherErrors } from '../components/forms.js';
import { Empty, Failed, Loading } from '../components/status.js';
import { useQuery } from '../data.js';
import { ago, lower, when } from '../format.js';
import { html, useState } from '../lib.js';
import { CREATE_TOKEN, REVOKE_TOKEN, useMutation } from '../mutations.js';
import { useTitle } from '../page.js';
import { setQuery } from '../router.js';
import { useViewer } from '../viewer.js';

const SCOPES = ['READ', 'WRITE', 'DEPLOY', 'APPROVE', 'ADMIN'];
const TOKENS = `query Tokens($handle: String!) {
  user(handle: $handle) {
    handle name
    tokens { id name prefix scopes expiresAt lastUsedAt revokedAt createdAt }
  }
}`;

function Secret({ secret, onDismiss }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard.writeText(secret);
    setCopied(true);
  };
  return html`<section class="card" aria-labelledby="secret-title">
    <h2 id="secret-title">Your new token</h2>
    <p>Copy it now: it is shown this once and cannot be read again.</p>
    <div class="secret">
      <code id="new-secret">${secret}</code>
      <button type="button" onClick=${copy} aria-describedby="new-secret">${copied ? 'Copied' : 'Copy'}</button>
      <span class="visually-hidden" role="status">${copied ? 'Copied to the clipboard' : ''}</span>
    </div>
    <p><button type="button" class="secondary" onClick=${onDismiss}>I have saved it</button></p>
  </section>`;
}

function CreateToken({ handle, onCreated }) {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState(['READ']);
  const [expires, setExpires] = useState('');
  const { run, busy, errors } = useMutation(CREATE_TOKEN);
  const toggle = (scope) => setScopes(scopes.includes(scope)
    ? scopes.filter((item) => item !== scope) : [...scopes, scope]);
  const submit = async (event) => {
    event.preventDefault();
    const input = { user: handle, name: name.trim(), scopes };
    if (expires) input.expiresAt = new Date(`${expires}T23:59:59`).toISOString();
    const payload = await run(input);
    if (payload) {
      setName('');
      onCreated(payload.secret);
    }
  };
  const scopeErrors = errorsFor(errors, 'scopes');
  return html`<form class="card" noValidate onSubmit=${submit} aria-labelledby="create-title">
    <h2 id="create-title">Create a token</h2>
    <${ErrorList} errors=${otherErrors(errors, ['name', 'scopes', 'expiresAt'])} id="create-errors" />
    <${Field} id="token-name" label="Name" errors=${errorsFor(errors, 'name')}>
      <input type="text" required autocomplete="off" value=${name}
        ...${described('token-name', errorsFor(errors, 'name'))}
        onInput=${(event) => setName(event.currentTarget.value)} />
    <//>
    <fieldset class="choices" aria-describedby=${scopeErrors.length ? 'token-scopes-errors' : undefined}>
      <legend>Scopes</legend>
      ${SCOPES.map((scope) => html`<label>
        <input type="checkbox" checked=${scopes.includes(scope)} onChange=${() => toggle(scope)} /> ${lower(scope)}
      </label>`)}
    </fieldset>
    <${ErrorList} errors=${scopeErrors} id="token-scopes-errors" />
    <${Field} id="token-expires" label="Expires (optional)" errors=${errorsFor(errors, 'expiresAt')}
        hint="The end of that day; the server may set a longest lifetime.">
      <input type="date" value=${expires} ...${described('token-expires', errorsFor(errors, 'expiresAt'), true)}
        onInput=${(event) => setExpires(event.currentTarget.value)} />
    <//>
    <button type="submit" disabled=${busy}>${busy ? 'Creating…' : 'Create token'}</button>
  </form>`;
}

function RevokeDialog({ token, onClose, onDone }) {
  const { run, busy, errors } = useMutation(REVOKE_TOKEN);
  const confirm = async () => {
    if (await run({ token: token.id })) onDone();
  };
  return html`<${Dialog} title=${`Revoke ${token.name}`} onClose=${onClose}>
    <p>Requests with <code>${token.prefix}…</code> will be refused from now on.</p>
    <${ErrorList} errors=${errors} id="revoke-errors" />
    <div class="dialog-actions">
      <button type="button" class="secondary" onClick=${onClose}>Keep it</button>
      <button type="button" class="danger" disabled=${busy} onClick=${confirm}>Revoke</button>
    </div>
  <//>`;
}

function TokenTable({ tokens, onRevoke }) {
  if (!tokens.length) return html`<${Empty}>No token yet.<//>`;
  return html`<div class="table-wrap"><table class="list">
    <caption class="visually-hidden">API tokens</caption>
    <thead><tr><th scope="col">Name</th><th scope="col">Prefix</th><th scope="col">Scopes</th>
      <th scope="col">Expires</th><th scope="col">Last used</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody>${tokens.map((token) => html`<tr key=${token.id}>
      <td>${token.name}<div class="sub">created ${when(token.createdAt)}</div></td>
      <td><code>${token.prefix}…</code></td>
      <td>${token.scopes.map((scope) => html`<span class="badge">${lower(scope)}</span> `)}</td>
      <td>${token.expiresAt ? when(token.expiresAt) : 'never'}</td>
      <td>${token.lastUsedAt ? ago(token.lastUsedAt) : 'never'}</td>
      <td>${token.revokedAt
        ? html`<span class="badge frozen">revoked</span>`
        : html`<button type="button" class="small secondary" onClick=${() => onRevoke(token)}
            aria-label=${`Revoke ${token.name}`}>Revoke</button>`}</td>
    </tr>`)}</tbody>
  </table></div>`;
}

function AdminChooser({ handle }) {
  const [value, setValue] = useState(handle ?? '');
  const submit = (event) => {
    event.preventDefault();
    setQuery({ user: value.trim() });
  };
  return html`<form class="toolbar" onSubmit=${submit}>
    <div class="field">
      <label for="token-user">Whose tokens (a user's handle)</label>
      <input id="token-user" type="text" value=${value} onInput=${(event) => setValue(event.currentTarget.value)} />
    </div>
    <button type="submit">Show</button>
  </form>`;
}

export function TokensPage({ query }) {
  useTitle('API tokens');
  const viewer = useViewer();
  const own = viewer?.__typename === 'User' ? viewer.handle : null;
  const handle = query.get('user') || own;
  const result = useQuery(TOKENS, { handle: handle ?? '' }, { skip: !handle });
  const [secret, setSecret] = useState(null);
  const [revoking, setRevoking] = useState(null);
  let body;
  if (!handle) {
    body = html`<${Empty}>${viewer?.__typename === 'ApiClient'
      ? 'An API client\'s tokens are made by an admin (`paved token create`).'
      : 'Choose whose tokens to look at.'}<//>`;
  } else if (result.error && !result.data) body = html`<${Failed} error=${result.error} retry=${result.reload} />`;
  else if (!result.data) body = html`<${Loading} what="Loading tokens" />`;
  else if (!result.data.user) body = html`<${Empty}>No user ${handle}.<//>`;
  else {
    body = html`
      ${secret && html`<${Secret} secret=${secret} onDismiss=${() => setSecret(null)} />`}
      <h2>Tokens of ${result.data.user.name}</h2>
      <${TokenTable} tokens=${result.data.user.tokens} onRevoke=${setRevoking} />
      <${CreateToken} handle=${handle} onCreated=${(value) => { setSecret(value); result.reload(); }} />`;
  }
  return html`<h1>API tokens</h1>
    <p class="lead">Send a token as <code>Authorization: Bearer …</code> from scripts, CI or the
      <code>paved</code> command. It can do what its scopes allow and its owner may.</p>
    ${!own && html`<${AdminChooser} handle=${query.get('user')} />`}
    ${body}
    ${revoking && html`<${RevokeDialog} token=${revoking} onClose=${() => setRevoking(null)}
      onDone=${() => { setRevoking(null); result.reload(); }} />`}`;
}
