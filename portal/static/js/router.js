// Client-side routing on the History API: links inside the app change the URL without a
// reload; back and forward work; each page is reachable by its URL.
import { useEffect, useState } from './lib.js';

const listeners = new Set();
// Paths the server answers itself: never routed in the page.
const SERVER_PATHS = ['/graphql', '/auth/', '/static/', '/healthz', '/readyz'];

function notify() {
  listeners.forEach((listener) => listener());
}

/** Go to `url` (path and query) inside the app. */
export function navigate(url, { replace = false } = {}) {
  const before = location.pathname + location.search;
  history[replace ? 'replaceState' : 'pushState'](null, '', url);
  if (before !== location.pathname + location.search) notify();
}

/** Change the current URL's query (a page's filters) without a new history entry. */
export function setQuery(values) {
  const params = new URLSearchParams(location.search);
  for (const [name, value] of Object.entries(values)) {
    if (value === null || value === undefined || value === '' || value === false) params.delete(name);
    else params.set(name, String(value));
  }
  const search = params.toString();
  navigate(location.pathname + (search ? `?${search}` : ''), { replace: true });
}

/** The current path and query; the component re-renders when they change. */
export function useLocation() {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const listener = () => setVersion((version) => version + 1);
    listeners.add(listener);
    return () => listeners.delete(listener);
  }, []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

/** The route whose pattern (`/services/:slug`) matches `path`, with its parameters. */
export function match(routes, path) {
  const parts = path.replace(/\/+$/, '').split('/').slice(1);
  for (const route of routes) {
    const pattern = route.path === '/' ? [] : route.path.split('/').slice(1);
    if (pattern.length !== (parts.length === 1 && parts[0] === '' ? 0 : parts.length)) continue;
    const params = {};
    const ok = pattern.every((segment, index) => {
      if (segment.startsWith(':')) {
        params[segment.slice(1)] = decodeURIComponent(parts[index]);
        return true;
      }
      return segment === parts[index];
    });
    if (ok) return { route, params };
  }
  return null;
}

function routedLink(event) {
  if (event.defaultPrevented || event.button !== 0) return null;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return null;
  const link = event.target.closest?.('a[href]');
  if (!link || link.target || link.hasAttribute('download')) return null;
  if (link.getAttribute('href').startsWith('#')) return null;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin) return null;
  if (SERVER_PATHS.some((prefix) => url.pathname.startsWith(prefix))) return null;
  return url;
}

/** Start listening to link clicks and history moves; once, at start. */
export function startRouter() {
  window.addEventListener('popstate', notify);
  document.addEventListener('click', (event) => {
    const url = routedLink(event);
    if (!url) return;
    event.preventDefault();
    if (url.pathname + url.search !== location.pathname + location.search) {
      navigate(url.pathname + url.search);
      window.scrollTo(0, 0);
    }
  });
}

/** A link to a page of the app (path segments are encoded). */
export function href(...segments) {
  return `/${segments.map((segment) => encodeURIComponent(segment)).join('/')}`;
}
