/** Home: the user's own numbers and the team's, with charts. */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Text, Title } from '@mantine/core';
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { Link } from 'wouter';
import { api, ApiError } from '../api';
import { ErrorState, Loading, NotAvailable, PageTitle, Stat } from '../components/common';
import { percent } from '../lib/format';
import { summarise } from '../lib/worklist';
import { useSession } from '../session';
import { useOpenWork } from '../work-data';

interface Delinquency {
  sync?: { opened: number; closed: number };
  report: { rate: number | null; threshold: number; exceedsThreshold: boolean; delinquentRecords: number; averageMonthlyDischarges: number; openDeficiencies: number; overdueDeficiencies: number };
}
interface RunsAnswer {
  runs: { id: string; startedAt: string; status: string; scope: { patientId?: string }; summary?: { score: number | null } }[];
}
interface MpiMetrics {
  patients: number;
  possibleDuplicates: number;
  duplicateErrorRate: number;
}

function Card({ title, children, testId }: { title: string; children: React.ReactNode; testId?: string }) {
  return (
    <section className="chart-card" aria-label={title} data-testid={testId}>
      <Title order={2} size="h5" mb="xs">
        {title}
      </Title>
      {children}
    </section>
  );
}

function Optional({ error, what }: { error: unknown; what: string }) {
  if (error instanceof ApiError && error.status === 403) return <Text c="dimmed" size="sm">Your role does not include {what}.</Text>;
  if (error instanceof ApiError && error.missingRoute) return <NotAvailable what={what} />;
  return <ErrorState error={error} what={what} />;
}

export default function Home() {
  const { me, can } = useSession();
  const work = useOpenWork();
  const qc = useQueryClient();
  // Users who may run checks also bring the deficiency Tasks up to date (the report's default sync).
  const delinquency = useQuery({
    queryKey: ['delinquency'],
    queryFn: async () => {
      const r = await api<Delinquency>(`/api/deficiencies/delinquency${can('checks.run') ? '' : '?sync=false'}`);
      if ((r.sync?.opened ?? 0) + (r.sync?.closed ?? 0) > 0) await qc.invalidateQueries({ queryKey: ['open-work'] });
      return r;
    },
    enabled: can('checks.read'),
  });
  const runs = useQuery({ queryKey: ['check-runs'], queryFn: () => api<RunsAnswer>('/api/checks/runs'), enabled: can('checks.read') });
  const mpi = useQuery({ queryKey: ['mpi-metrics'], queryFn: () => api<MpiMetrics>('/api/mpi/metrics'), enabled: can('mpi.read') });

  const items = work.data?.items ?? [];
  const mine = items.filter((i) => i.owner === me?.username);
  const all = summarise(items);
  const my = summarise(mine);
  const trend = (runs.data?.runs ?? [])
    .filter((r) => r.status === 'completed' && !r.scope.patientId && r.summary?.score !== null && r.summary?.score !== undefined)
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt))
    .map((r) => ({ run: r.startedAt.slice(5, 16).replace('T', ' '), score: Math.round((r.summary?.score ?? 0) * 10) / 10 }));
  const rep = delinquency.data?.report;

  return (
    <div>
      <PageTitle>{`Good day, ${me?.username ?? ''}`}</PageTitle>
      {work.isLoading ? <Loading label="Loading your work…" /> : null}
      {work.error ? <ErrorState error={work.error} what="open work" /> : null}
      <div className="stats">
        <Stat label="My open items" value={work.data ? my.open : '…'} hint={<Link href="/worklist">Open the worklist</Link>} />
        <Stat label="My items past their clock" value={work.data ? my.overdue : '…'} color={my.overdue ? 'red' : undefined} />
        <Stat label="All open items" value={work.data ? all.open : '…'} />
        <Stat label="All past their clock" value={work.data ? all.overdue : '…'} color={all.overdue ? 'red' : undefined} hint={`${all.dueSoon} due within 48 h`} />
        <Stat
          label="Delinquency rate"
          value={rep ? (rep.rate === null ? 'no discharges' : `${rep.rate.toFixed(1)}%`) : '—'}
          color={rep?.exceedsThreshold ? 'red' : 'teal'}
          hint={rep ? `threshold ${rep.threshold}% of avg monthly discharges` : undefined}
        />
        <Stat label="Duplicate error rate" value={mpi.data ? percent(mpi.data.duplicateErrorRate, 2) : '—'} color={mpi.data && mpi.data.duplicateErrorRate > 0.01 ? 'red' : 'teal'} hint="AHIMA target ≤ 1%" />
      </div>
      <div className="charts">
        <Card title="Open work by type" testId="chart-by-type">
          {all.byType.length ? (
            <div className="chart-box">
              <ResponsiveContainer>
                <BarChart data={all.byType.map((t) => ({ name: t.label, 'within clock': t.count - t.overdue, 'past clock': t.overdue }))} layout="vertical" margin={{ left: 24 }}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis type="number" allowDecimals={false} />
                  <YAxis type="category" dataKey="name" width={150} />
                  <Tooltip />
                  <Legend />
                  <Bar dataKey="within clock" stackId="a" fill="#228be6" isAnimationActive={false} />
                  <Bar dataKey="past clock" stackId="a" fill="#e03131" isAnimationActive={false} />
                </BarChart>
              </ResponsiveContainer>
            </div>
          ) : (
            <Text c="dimmed">No open work.</Text>
          )}
        </Card>
        <Card title="Open work by age" testId="chart-by-age">
          <div className="chart-box">
            <ResponsiveContainer>
              <BarChart data={all.byAge.map((a) => ({ age: a.bucket, items: a.count }))}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="age" />
                <YAxis allowDecimals={false} />
                <Tooltip />
                <Bar dataKey="items" fill="#1c7ed6" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </div>
        </Card>
        <Card title="Delinquency rate vs threshold" testId="chart-delinquency">
          {delinquency.error ? (
            <Optional error={delinquency.error} what="the delinquency report" />
          ) : !can('checks.read') ? (
            <Text c="dimmed" size="sm">Your role does not include the delinquency report.</Text>
          ) : rep ? (
            <>
              <div className="chart-box">
                <ResponsiveContainer>
                  <BarChart data={[{ name: 'Delinquent records / avg monthly discharges', rate: rep.rate ?? 0 }]}>
                    <CartesianGrid strokeDasharray="3 3" />
                    <XAxis dataKey="name" />
                    <YAxis unit="%" domain={[0, Math.max(100, Math.ceil((rep.rate ?? 0) / 10) * 10)]} />
                    <Tooltip />
                    <ReferenceLine y={rep.threshold} stroke="#e03131" strokeDasharray="6 3" label={{ value: `${rep.threshold}% threshold`, position: 'insideTopRight' }} />
                    <Bar dataKey="rate" fill={rep.exceedsThreshold ? '#e03131' : '#2f9e44'} isAnimationActive={false} />
                  </BarChart>
                </ResponsiveContainer>
              </div>
              <Text size="sm">
                {rep.delinquentRecords} delinquent records; {rep.averageMonthlyDischarges.toFixed(1)} average monthly discharges; {rep.openDeficiencies} open deficiencies ({rep.overdueDeficiencies} overdue).
              </Text>
            </>
          ) : (
            <Loading />
          )}
        </Card>
        <Card title="Data-quality score trend" testId="chart-dq-trend">
          {runs.error ? (
            <Optional error={runs.error} what="data-quality runs" />
          ) : !can('checks.read') ? (
            <Text c="dimmed" size="sm">Your role does not include data-quality runs.</Text>
          ) : runs.data && trend.length === 0 ? (
            <Alert color="gray">No whole-database check run yet. Start one from the Data quality page.</Alert>
          ) : trend.length ? (
            <div className="chart-box">
              <ResponsiveContainer>
                <LineChart data={trend}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="run" />
                  <YAxis unit="%" domain={[0, 100]} />
                  <Tooltip />
                  <Line type="monotone" dataKey="score" stroke="#1c7ed6" strokeWidth={2} isAnimationActive={false} />
                </LineChart>
              </ResponsiveContainer>
            </div>
          ) : (
            <Loading />
          )}
        </Card>
      </div>
      {mpi.error ? <Optional error={mpi.error} what="MPI metrics" /> : null}
    </div>
  );
}
