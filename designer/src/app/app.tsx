import { QueryClient, QueryClientProvider } from '@tanstack/preact-query';
import { useEffect } from 'preact/hooks';
import { ErrorBoundary, lazy, LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { onSessionEnded } from '../api/client';
import { t } from '../i18n';
import { LoginPage } from './login-page';
import { homeRoom, mayEnter, roomOfPath } from './rooms';
import { currentStaff, loadSession, sessionEnded } from './session';
import { Shell } from './shell';
import { ForbiddenPage, NotFoundPage } from './status-pages';

// Each room is its own chunk: the modeler's megabytes load only for those who open the designer.
const DesignerRoom = lazy(() => import('../rooms/designer/designer-room').then((module) => module.DesignerRoom));
const TasksRoom = lazy(() => import('../rooms/tasks/tasks-room').then((module) => module.TasksRoom));
const AccountsRoom = lazy(() => import('../rooms/accounts/accounts-room').then((module) => module.AccountsRoom));
const BillingRoom = lazy(() => import('../rooms/billing/billing-room').then((module) => module.BillingRoom));
const OpsRoom = lazy(() => import('../rooms/ops/ops-room').then((module) => module.OpsRoom));

export const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: false, refetchOnWindowFocus: false, staleTime: 10_000 } },
});

onSessionEnded(() => {
  queryClient.clear();
  sessionEnded();
});
void loadSession();

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <LocationProvider>
        <Gate />
      </LocationProvider>
    </QueryClientProvider>
  );
}

/** Sends the signed-out to login and the signed-in away from it; keeps each room to its roles. */
function Gate() {
  const location = useLocation();
  const staff = currentStaff.value;
  const onLogin = location.path === '/login';

  useEffect(() => {
    if (staff === null && !onLogin) location.route(`/login?next=${encodeURIComponent(location.url)}`, true);
    if (staff && (onLogin || location.path === '/')) {
      const next = onLogin ? new URLSearchParams(location.url.split('?')[1] ?? '').get('next') : null;
      const target = next && next.startsWith('/') && !next.startsWith('//') ? next : (homeRoom(staff.roles)?.path ?? '/forbidden');
      location.route(target, true);
    }
  }, [staff, onLogin, location.url]);

  if (staff === undefined) return <div class="kf-boot" role="status" aria-live="polite">{t('app.loading')}</div>;
  if (staff === null) return onLogin ? <LoginPage /> : null;
  if (onLogin || location.path === '/') return null;

  const room = roomOfPath(location.path);
  return (
    <Shell staff={staff}>
      {room && !mayEnter(room, staff.roles) ? (
        <ForbiddenPage />
      ) : (
        <ErrorBoundary>
          <Router>
            <Route path="/designer/*" component={DesignerRoom} />
            <Route path="/designer" component={DesignerRoom} />
            <Route path="/tasks/*" component={TasksRoom} />
            <Route path="/tasks" component={TasksRoom} />
            <Route path="/accounts/*" component={AccountsRoom} />
            <Route path="/accounts" component={AccountsRoom} />
            <Route path="/billing/*" component={BillingRoom} />
            <Route path="/billing" component={BillingRoom} />
            <Route path="/ops/*" component={OpsRoom} />
            <Route path="/ops" component={OpsRoom} />
            <Route path="/forbidden" component={ForbiddenPage} />
            <Route default component={NotFoundPage} />
          </Router>
        </ErrorBoundary>
      )}
    </Shell>
  );
}
