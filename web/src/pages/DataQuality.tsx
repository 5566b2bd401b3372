/** Data quality: the latest run by category, drill-down from a check to the offending records, comparison with the previous run. */
import { Fragment, useState } from 'react';
import { Alert, Badge, Button, Group, Progress, Select, Text, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { Link, useParams } from 'wouter';
import { api } from '../api';
import { ErrorState, Loading, PageTitle, Stat } from '../components/common';
import { useSession } from '../session';

interface Summary { checks: number; passed: number; failed: number; notApplicable: number; errors: number; score: number | null; byCategory: Record<string, { passed: number; failed: number; notApplicable: number; errors: number; score: number | null }> }
interface Run { id: string; startedAt: string; finishedAt?: string; status: string; scope: { patientId?: string }; progress: { done: number; total: number }; summary?: Summary; error?: string }
interface Result { checkId: string; title: string; severity: string; category: string; resourceType: string; numerator: number; denominator: number; percentage: number | null; threshold: number; status: string; ids: string[]; reason?: string }
interface RunDetail { run: Run; previousRunId?: string; results: Result[]; comparison: { checkId: string; change: string; numeratorDelta: number }[] }

export default function DataQuality() {
  const { runId } = useParams<{ runId?: string }>();
  const { can } = useSession();
  const qc = useQueryClient();
  const runs = useQuery({ queryKey: ['check-runs'], queryFn: () => api<{ runs: Run[] }>('/api/checks/runs'), refetchInterval: (q) => (q.state.data?.runs.some((r) => r.status === 'running') ? 1500 : false) });
  const whole = (runs.data?.runs ?? []).filter((r) => !r.scope.patientId).sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  const latest = runId ?? whole.find((r) => r.status === 'completed')?.id;
  const detail = useQuery({ queryKey: ['check-run', latest], queryFn: () => api<RunDetail>(`/api/checks/runs/${latest}`), enabled: !!latest });
  const [open, setOpen] = useState<string | null>(null);
  const [category, setCategory] = useState<string>('');
  const [startError, setStartError] = useState<string | null>(null);
  const running = whole.find((r) => r.status === 'running');

  async function start() {
    setStartError(null);
    try {
      await api('/api/checks/runs', { method: 'POST', body: {} });
      await qc.invalidateQueries({ queryKey: ['check-runs'] });
    } catch (e) {
      setStartError(e instanceof Error ? e.message : String(e));
    }
  }
  const d = detail.data;
  const changes = new Map((d?.comparison ?? []).map((c) => [c.checkId, c]));
  const results = (d?.results ?? []).filter((r) => !category || r.category === category).sort((a, b) => (a.status === 'failed' ? 0 : 1) - (b.status === 'failed' ? 0 : 1) || (b.percentage ?? 0) - (a.percentage ?? 0));

  return (
    <div>
      <PageTitle right={can('checks.run') ? <Button onClick={() => void start()} disabled={!!running}>Run all checks</Button> : undefined}>Data quality</PageTitle>
      {startError ? <Alert color="red" role="alert" mb="sm">{startError}</Alert> : null}
      {running ? (
        <Alert color="blue" mb="sm" title="A check run is in progress" role="status">
          <Progress value={(running.progress.done / Math.max(1, running.progress.total)) * 100} aria-label="Check run progress" />
          {running.progress.done} of {running.progress.total} checks
        </Alert>
      ) : null}
      {runs.isLoading ? <Loading /> : null}
      {runs.error ? <ErrorState error={runs.error} what="data-quality runs" /> : null}
      {runs.data && !latest ? <Alert color="gray">No whole-database check run has completed yet.{can('checks.run') ? ' Press "Run all checks".' : ''}</Alert> : null}
      {detail.error ? <ErrorState error={detail.error} what="the check run" /> : null}
      {d?.run.summary ? (
        <>
          <Group mb="xs" gap="xs">
            <Text size="sm">Run of {d.run.startedAt.slice(0, 16).replace('T', ' ')} UTC</Text>
            {d.previousRunId ? <Text size="sm" c="dimmed">compared with <Link href={`/quality/${d.previousRunId}`}>the previous run</Link>: {d.comparison.length} checks changed</Text> : <Text size="sm" c="dimmed">no previous run to compare with</Text>}
          </Group>
          <div className="stats">
            <Stat label="Overall score" value={d.run.summary.score === null ? '—' : `${d.run.summary.score.toFixed(1)}%`} hint="passed / applicable checks" />
            <Stat label="Checks failed" value={d.run.summary.failed} color={d.run.summary.failed ? 'red' : 'teal'} />
            <Stat label="Checks passed" value={d.run.summary.passed} />
            <Stat label="Not applicable" value={d.run.summary.notApplicable} />
          </div>
          <section className="chart-card" aria-label="Results by category">
            <Title order={2} size="h5">By category (Kahn)</Title>
            <div className="chart-box">
              <ResponsiveContainer>
                <BarChart data={Object.entries(d.run.summary.byCategory).map(([k, v]) => ({ category: k, passed: v.passed, failed: v.failed }))}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="category" />
                  <YAxis allowDecimals={false} />
                  <Tooltip />
                  <Legend />
                  <Bar dataKey="passed" stackId="a" fill="#2f9e44" isAnimationActive={false} />
                  <Bar dataKey="failed" stackId="a" fill="#e03131" isAnimationActive={false} />
                </BarChart>
              </ResponsiveContainer>
            </div>
          </section>
          <Group mt="md" mb="xs" align="flex-end">
            <Title order={2} size="h4">Checks</Title>
            <Select aria-label="Category" data={[{ value: '', label: 'All categories' }, ...Object.keys(d.run.summary.byCategory).map((c) => ({ value: c, label: c }))]} value={category} onChange={(v) => setCategory(v ?? '')} allowDeselect={false} w={200} size="xs" />
          </Group>
          <table className="data" data-testid="dq-results">
            <thead>
              <tr><th>Check</th><th>Category</th><th>Status</th><th>Offending</th><th>Since previous</th><th /></tr>
            </thead>
            <tbody>
              {results.map((r) => (
                <Fragment key={r.checkId}>
                  <tr>
                    <td>{r.title}<Text size="xs" c="dimmed" className="mono">{r.checkId}</Text></td>
                    <td>{r.category}</td>
                    <td><Badge color={r.status === 'failed' ? 'red' : r.status === 'passed' ? 'teal' : 'gray'} variant="light">{r.status}</Badge></td>
                    <td>{r.percentage === null ? '—' : `${r.numerator} / ${r.denominator} (${r.percentage.toFixed(1)}%)`}</td>
                    <td>{changes.get(r.checkId) ? `${changes.get(r.checkId)?.change} (${(changes.get(r.checkId)?.numeratorDelta ?? 0) > 0 ? '+' : ''}${changes.get(r.checkId)?.numeratorDelta})` : ''}</td>
                    <td>{r.ids.length ? <Button size="compact-xs" variant="subtle" onClick={() => setOpen(open === r.checkId ? null : r.checkId)} aria-expanded={open === r.checkId}>{open === r.checkId ? 'Hide records' : 'Show records'}</Button> : null}</td>
                  </tr>
                  {open === r.checkId ? (
                    <tr>
                      <td colSpan={6}>
                        {r.ids.map((id) => (r.resourceType === 'Patient' ? <Link key={id} href={`/patients/${id}`} className="mono">Patient/{id} </Link> : <span key={id} className="mono">{r.resourceType}/{id} </span>))}
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              ))}
            </tbody>
          </table>
        </>
      ) : latest && detail.isLoading ? <Loading /> : null}
    </div>
  );
}
