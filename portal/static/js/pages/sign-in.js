// Signing in: through the identity provider (a server-side session), or by pasting an API
// token that this tab keeps in memory only.
import { request } from '../api.js';
import { Field, described } from '../components/forms.js';
import { setToken } from '../credentials.js';
import { html, useState } from '../lib.js';
import { useTitle } from '../page.js';
import { navigate } from '../router.js';
import { VIEWER_QUERY } from '../viewer.js';

export function SignIn({ required = false, loginUrl = null }) {
  useTitle('Sign in');
  const [value, setValue] = useState('');
  const [errors, setErrors] = useState([]);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setErrors([]);
    setToken(value.trim());
    try {
      await request(VIEWER_QUERY);
      setValue('');
      navigate('/services');
    } catch (error) {
      setToken(null);
      setErrors([{ code: 'UNAUTHENTICATED', message: error.message }]);
    } finally {
      setBusy(false);
    }
  };
  return html`<h1>Sign in</h1>
    ${required && html`<p class="notice">The API needs to know who you are before it shows anything.</p>`}
    ${loginUrl && html`<section class="card" aria-labelledby="sso-title">
      <h2 id="sso-title">With your company account</h2>
      <p>Signs you in through the identity provider; the session ends when you sign out or
        after a while without use.</p>
      <p><a class="button" href=${`${loginUrl}?next=${encodeURIComponent('/services')}`}>Sign in with single sign-on</a></p>
    </section>`}
    <section class="card" aria-labelledby="token-title">
      <h2 id="token-title">With an API token</h2>
      <p>Paste a token (<code>paved_…</code>). It stays in this tab's memory only: reloading
        or closing the tab forgets it.</p>
      <form onSubmit=${submit}>
        <${Field} id="token" label="API token" errors=${errors}>
          <input type="password" autocomplete="off" spellcheck=${false} required
            ...${described('token', errors)} value=${value}
            onInput=${(event) => setValue(event.currentTarget.value)} />
        <//>
        <button type="submit" disabled=${busy || !value.trim()}>Use this token</button>
      </form>
    </section>`;
}
