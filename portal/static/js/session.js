// The browser session of someone signed in through the identity provider: `/auth/session`
// says who, gives the CSRF token GraphQL requests carry, and where to sign in and out.
import { setSessionCsrf } from './credentials.js';
import { useEffect, useState } from './lib.js';

async function fetchSession() {
  try {
    const response = await fetch('/auth/session', {
      credentials: 'same-origin', headers: { Accept: 'application/json' }, cache: 'no-store',
    });
    if (!response.ok) return null;
    const session = await response.json();
    setSessionCsrf(session.csrfToken, session.csrfHeader);
    return session;
  } catch {
    return null; // the API is down: the GraphQL requests will say so
  }
}

/** {loaded, session}: session null when the server has no sign-in routes. */
export function useSession() {
  const [state, setState] = useState({ loaded: false, session: null });
  useEffect(() => {
    fetchSession().then((session) => setState({ loaded: true, session }));
  }, []);
  return state;
}

/** Ends the session on the server, then starts the portal afresh. */
export async function signOut(session) {
  await fetch(session.logoutUrl, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { [session.csrfHeader]: session.csrfToken },
  });
  setSessionCsrf(null);
  location.assign('/sign-in');
}
