// Every page and its URL. The server answers index.html for these first segments
// (portal/serving.py PAGE_SECTIONS; a test keeps the two lists equal).
import { ApprovalsPage } from './pages/approvals.js';
import { EnvironmentPage, EnvironmentsPage } from './pages/environment.js';
import { MatrixPage } from './pages/matrix.js';
import { ServicePage } from './pages/service.js';
import { ServicesPage } from './pages/services.js';
import { SignIn } from './pages/sign-in.js';
import { TeamPage, TeamsPage } from './pages/team.js';
import { TokensPage } from './pages/tokens.js';
import { UserPage } from './pages/user.js';

export const routes = [
  { path: '/', page: ServicesPage },
  { path: '/services', page: ServicesPage },
  { path: '/services/:slug', page: ServicePage },
  { path: '/matrix', page: MatrixPage },
  { path: '/teams', page: TeamsPage },
  { path: '/teams/:slug', page: TeamPage },
  { path: '/users/:handle', page: UserPage },
  { path: '/environments', page: EnvironmentsPage },
  { path: '/environments/:slug', page: EnvironmentPage },
  { path: '/approvals', page: ApprovalsPage },
  { path: '/tokens', page: TokensPage },
  { path: '/sign-in', page: SignIn },
];
