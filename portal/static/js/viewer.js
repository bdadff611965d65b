// Who is using the portal, as the API says (`viewer`), shared by every page.
import { createContext, useContext } from './lib.js';

export const VIEWER_QUERY = `query Viewer {
  viewer {
    __typename id name
    ... on User { handle teams { slug name } }
    ... on ApiClient { slug team { slug name } }
  }
}`;

export const ViewerContext = createContext({ viewer: null, reload: () => {} });

export function useViewer() {
  return useContext(ViewerContext).viewer;
}

/** The slugs of the viewer's teams (a user's teams, an API client's team). */
export function viewerTeams(viewer) {
  if (!viewer) return [];
  if (viewer.__typename === 'User') return viewer.teams;
  if (viewer.__typename === 'ApiClient') return [viewer.team];
  return [];
}

export function isLocalAdmin(viewer) {
  return viewer?.__typename === 'LocalAdmin';
}
