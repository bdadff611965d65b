// The viewer's credential for this tab. A pasted API token lives in this module's memory
// only: never in storage, gone when the tab closes or reloads. A server-side session (signed
// in through the identity provider) travels as its HttpOnly cookie; the page only holds its
// CSRF token, which GraphQL requests must carry in a header.

const listeners = new Set();
let token = null;
let csrf = null;
let csrfHeader = 'X-Paved-CSRF';

export function setToken(value) {
  token = value || null;
  listeners.forEach((listener) => listener());
}

export function hasToken() {
  return token !== null;
}

/** The session's CSRF token and the header it goes in, as `/auth/session` tells them. */
export function setSessionCsrf(value, header = csrfHeader) {
  csrf = value || null;
  csrfHeader = header;
}

export function onCredentialChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The headers that carry the credential (none: the anonymous local admin in development). */
export function credentialHeaders() {
  if (token) return { Authorization: `Bearer ${token}` };
  if (csrf) return { [csrfHeader]: csrf };
  return {};
}
