// The frame of every page: skip link, header with navigation and the viewer, banners, main.
import { onApiStatus } from '../api.js';
import { hasToken, onCredentialChange, setToken } from '../credentials.js';
import { html, useEffect, useState } from '../lib.js';
import { signOut } from '../session.js';
import { isLocalAdmin } from '../viewer.js';

const SECTIONS = [
  ['/services', 'Services'],
  ['/matrix', 'Release matrix'],
  ['/environments', 'Environments'],
  ['/teams', 'Teams'],
  ['/approvals', 'Approvals'],
  ['/tokens', 'Tokens'],
];

function current(path, section) {
  return path === section || path.startsWith(`${section}/`) || (section === '/services' && path === '/');
}

function useApiStatus() {
  const [status, setStatus] = useState({ down: false, message: '' });
  useEffect(() => onApiStatus(setStatus), []);
  return status;
}

function useTokenPresent() {
  const [present, setPresent] = useState(hasToken());
  useEffect(() => onCredentialChange(() => setPresent(hasToken())), []);
  return present;
}

function Banners({ viewer }) {
  const status = useApiStatus();
  const token = useTokenPresent();
  return html`
    ${status.down && html`<div class="banner banner-down" role="alert">
      <strong>The API is not answering.</strong> ${status.message} What you see may be out of date.
      <button type="button" onClick=${() => location.reload()}>Reload</button>
    </div>`}
    ${isLocalAdmin(viewer) && html`<div class="banner banner-dev" role="note">
      <strong>Development mode:</strong> you act as the anonymous local admin; everything is
      allowed and audited under that name. Production asks everyone to sign in.
    </div>`}
    ${token && html`<div class="banner banner-token" role="note">
      Signed in with a pasted API token, kept in this tab only (it is gone when you reload).
    </div>`}`;
}

function Who({ viewer, session }) {
  const token = useTokenPresent();
  if (!viewer) return html`<a class="who" href="/sign-in">Sign in</a>`;
  const signedIn = session?.signedIn && !token;
  const profile = viewer.__typename === 'User' ? `/users/${encodeURIComponent(viewer.handle)}` : null;
  return html`<div class="who">
    ${profile ? html`<a href=${profile}>${viewer.name}</a>` : html`<span>${viewer.name}</span>`}
    ${token && html`<button type="button" class="link" onClick=${() => setToken(null)}>Forget token</button>`}
    ${signedIn && html`<button type="button" class="link" onClick=${() => signOut(session)}>Sign out</button>`}
    ${!token && !signedIn && html`<a href="/sign-in">Sign in</a>`}
  </div>`;
}

export function Layout({ path, viewer, session, children }) {
  return html`
    <a class="skip" href="#main">Skip to content</a>
    <header>
      <div class="top">
      <a class="brand" href="/services">
        <span class="brand-mark" aria-hidden="true">P</span> Paved Road
      </a>
      <nav aria-label="Main">
        <ul>
          ${SECTIONS.map(([section, label]) => html`<li>
            <a href=${section} aria-current=${current(path, section) ? 'page' : undefined}>${label}</a>
          </li>`)}
        </ul>
      </nav>
      <${Who} viewer=${viewer} session=${session} />
      </div>
      <${Banners} viewer=${viewer} />
    </header>
    <main id="main" tabindex="-1">${children}</main>`;
}
