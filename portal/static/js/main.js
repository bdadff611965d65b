// Start: draw the app into #app and follow the URL.
import { Layout } from './components/layout.js';
import { Failed, Loading } from './components/status.js';
import { useQuery } from './data.js';
import { html, render, useEffect, useRef } from './lib.js';
import { routes } from './routes.js';
import { match, startRouter, useLocation } from './router.js';
import { NotFound } from './pages/not-found.js';
import { SignIn } from './pages/sign-in.js';
import { useSession } from './session.js';
import { VIEWER_QUERY, ViewerContext } from './viewer.js';

function useFocusOnNavigation(path) {
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [path]);
}

function App() {
  const location = useLocation();
  const { loaded, session } = useSession();
  const viewer = useQuery(VIEWER_QUERY, {}, { skip: !loaded });
  useFocusOnNavigation(location.path);
  const found = match(routes, location.path);
  const signedOut = viewer.error?.kind === 'unauthenticated';
  let body;
  if (found?.route.path === '/sign-in' || signedOut) {
    body = html`<${SignIn} required=${signedOut} loginUrl=${session?.loginUrl} />`;
  } else if (!viewer.data && !viewer.error) {
    body = html`<${Loading} what="Loading" />`;
  } else if (!viewer.data) {
    body = html`<${Failed} error=${viewer.error} retry=${viewer.reload} />`;
  } else if (!found) {
    body = html`<${NotFound} />`;
  } else {
    const Page = found.route.page;
    body = html`<${Page} ...${found.params} query=${location.query} />`;
  }
  const value = { viewer: viewer.data?.viewer ?? null, reload: viewer.reload };
  return html`<${ViewerContext.Provider} value=${value}>
    <${Layout} path=${location.path} viewer=${value.viewer} session=${session}>${body}<//>
  <//>`;
}

startRouter();
const root = document.getElementById('app');
root.textContent = ''; // the boot message
render(html`<${App} />`, root);
