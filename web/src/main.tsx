/** The HIM workbench entry: providers, layout and the lazily loaded pages. */
import { lazy, StrictMode, Suspense, type ComponentType } from 'react';
import { createRoot } from 'react-dom/client';
import { MantineProvider, createTheme } from '@mantine/core';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { Redirect, Route, Switch } from 'wouter';
import '@mantine/core/styles.css';
import './styles.css';
import { ApiError } from './api';
import { Layout } from './components/Layout';
import { Loading } from './components/common';
import { SessionProvider, useSession } from './session';
import { SignIn } from './pages/SignIn';

const page = (load: () => Promise<{ default: ComponentType }>) => lazy(load);
const Home = page(() => import('./pages/Home'));
const Worklist = page(() => import('./pages/Worklist'));
const WorkItemPage = page(() => import('./pages/WorkItem'));
const PatientChart = page(() => import('./pages/PatientChart'));
const Patients = page(() => import('./pages/Patients'));
const Encoder = page(() => import('./pages/Encoder'));
const DataQuality = page(() => import('./pages/DataQuality'));
const Duplicates = page(() => import('./pages/Duplicates'));
const Audit = page(() => import('./pages/Audit'));
const Admin = page(() => import('./pages/Admin'));

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      retry: (n, e) => !(e instanceof ApiError && e.status >= 400 && e.status < 500) && n < 2,
      staleTime: 15_000,
      refetchOnWindowFocus: false,
    },
  },
});

const theme = createTheme({ primaryColor: 'blue', defaultRadius: 'sm', fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif' });

function Routes() {
  const { session, loading } = useSession();
  if (!session) return <SignIn />;
  if (loading) return <Loading label="Signing in…" />;
  return (
    <Layout>
      <Suspense fallback={<Loading />}>
        <Switch>
          <Route path="/" component={Home} />
          <Route path="/worklist" component={Worklist} />
          <Route path="/work/:id" component={WorkItemPage} />
          <Route path="/patients" component={Patients} />
          <Route path="/patients/:id" component={PatientChart} />
          <Route path="/encoder" component={Encoder} />
          <Route path="/quality" component={DataQuality} />
          <Route path="/quality/:runId" component={DataQuality} />
          <Route path="/duplicates" component={Duplicates} />
          <Route path="/duplicates/:taskId" component={Duplicates} />
          <Route path="/audit" component={Audit} />
          <Route path="/admin" component={Admin} />
          <Route path="/signin">
            <Redirect to="/" />
          </Route>
          <Route>
            <p>There is no page at this address.</p>
          </Route>
        </Switch>
      </Suspense>
    </Layout>
  );
}

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <MantineProvider theme={theme} withCssVariables={false} withGlobalClasses={false} defaultColorScheme="light">
      <QueryClientProvider client={queryClient}>
        <SessionProvider>
          <Routes />
        </SessionProvider>
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
