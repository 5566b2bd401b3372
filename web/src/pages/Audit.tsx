/** The audit trail viewer (ONC 170.315(d)(3)): by user, patient and time range, sortable, exportable as CSV. */
import { useState, type FormEvent } from 'react';
import { Button, Group, Select, Text, TextInput } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import { ErrorState, Loading, PageTitle } from '../components/common';
import { auditCsv, auditRow, type AuditEventLike } from '../lib/audit';
import type { Bundle } from '../lib/fhir-types';
import { formatDate } from '../lib/format';

interface Filters { user: string; patient: string; from: string; to: string; sort: string }

export default function Audit() {
  const [form, setForm] = useState<Filters>({ user: '', patient: '', from: '', to: '', sort: '-recorded' });
  const [filters, setFilters] = useState<Filters>(form);
  const [page, setPage] = useState(0);
  const qs = new URLSearchParams();
  if (filters.user) qs.set('user', filters.user);
  if (filters.patient) qs.set('patient', filters.patient);
  if (filters.from) qs.set('from', new Date(filters.from).toISOString());
  if (filters.to) qs.set('to', new Date(filters.to).toISOString());
  qs.set('sort', filters.sort);
  qs.set('_count', '100');
  qs.set('_offset', String(page * 100));
  const res = useQuery({ queryKey: ['audit', qs.toString()], queryFn: () => api<Bundle<AuditEventLike>>(`/api/audit?${qs.toString()}`) });
  const rows = (res.data?.entry ?? []).map((e) => auditRow(e.resource as AuditEventLike));

  function apply(ev: FormEvent) {
    ev.preventDefault();
    setPage(0);
    setFilters(form);
  }
  async function exportCsv() {
    const all = new URLSearchParams(qs);
    all.set('_count', '5000');
    all.set('_offset', '0');
    const b = await api<Bundle<AuditEventLike>>(`/api/audit?${all.toString()}`);
    const csv = auditCsv((b.entry ?? []).map((e) => auditRow(e.resource as AuditEventLike)));
    const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `audit-${new Date().toISOString().slice(0, 10)}.csv`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
  const set = (k: keyof Filters) => (v: string) => setForm((f) => ({ ...f, [k]: v }));

  return (
    <div>
      <PageTitle right={<Button variant="light" onClick={() => void exportCsv()} disabled={!res.data}>Export CSV</Button>}>Audit trail</PageTitle>
      <form onSubmit={apply}>
        <Group align="flex-end" mb="md">
          <TextInput label="User" value={form.user} onChange={(e) => set('user')(e.currentTarget.value)} w={170} />
          <TextInput label="Patient id" value={form.patient} onChange={(e) => set('patient')(e.currentTarget.value)} w={230} />
          <TextInput label="From" type="datetime-local" value={form.from} onChange={(e) => set('from')(e.currentTarget.value)} w={200} />
          <TextInput label="To" type="datetime-local" value={form.to} onChange={(e) => set('to')(e.currentTarget.value)} w={200} />
          <Select label="Sort" data={[{ value: '-recorded', label: 'Newest first' }, { value: 'recorded', label: 'Oldest first' }, { value: 'user', label: 'User A-Z' }, { value: '-user', label: 'User Z-A' }]} value={form.sort} onChange={(v) => set('sort')(v ?? '-recorded')} allowDeselect={false} w={150} />
          <Button type="submit">Show</Button>
        </Group>
      </form>
      {res.isLoading ? <Loading label="Loading the audit trail…" /> : null}
      {res.error ? <ErrorState error={res.error} what="the audit trail" /> : null}
      {res.data ? (
        <>
          <Text size="sm" c="dimmed" mb={4} data-testid="audit-total">
            {res.data.total ?? rows.length} events{res.data.total && res.data.total > 100 ? `, showing ${page * 100 + 1}-${page * 100 + rows.length}` : ''}
          </Text>
          <table className="data" data-testid="audit-table" aria-label="Audit events">
            <thead>
              <tr>
                <th>When (UTC)</th>
                <th>User</th>
                <th>Action</th>
                <th>Patient</th>
                <th>Outcome</th>
                <th>From</th>
                <th>Details</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id}>
                  <td className="mono">{formatDate(r.recorded)}</td>
                  <td>{r.user}</td>
                  <td>{r.action}</td>
                  <td className="mono">{r.patients.join(', ')}</td>
                  <td>{r.success ? 'success' : <Text span c="red">failure</Text>}</td>
                  <td className="mono">{r.address}</td>
                  <td><Text size="xs" lineClamp={2} maw={360}>{r.description || r.objects.slice(0, 3).join(', ')}</Text></td>
                </tr>
              ))}
            </tbody>
          </table>
          <Group mt="sm">
            <Button size="xs" variant="default" disabled={page === 0} onClick={() => setPage((p) => p - 1)}>Previous</Button>
            <Button size="xs" variant="default" disabled={(page + 1) * 100 >= (res.data.total ?? 0)} onClick={() => setPage((p) => p + 1)}>Next</Button>
          </Group>
        </>
      ) : null}
    </div>
  );
}
