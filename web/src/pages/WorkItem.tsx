/** One work item's view: what it is, its clock and rule, the patient and record it is about, and its actions. */
import { useState } from 'react';
import { Alert, Badge, Button, Group, Stack, Table, Text, Textarea } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'wouter';
import { api } from '../api';
import { ClockBadge, ErrorState, Loading, PageTitle } from '../components/common';
import type { Task } from '../lib/fhir-types';
import { formatDate } from '../lib/format';
import { assignTask, toWorkItem } from '../lib/worklist';
import { useSession } from '../session';

export default function WorkItemPage() {
  const { id = '' } = useParams<{ id: string }>();
  const { me } = useSession();
  const qc = useQueryClient();
  const q = useQuery({ queryKey: ['task', id], queryFn: () => api<Task>(`/fhir/Task/${encodeURIComponent(id)}`) });
  const [note, setNote] = useState('');
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  if (q.isLoading) return <Loading label="Loading the work item…" />;
  if (q.error || !q.data) return <ErrorState error={q.error} what="this work item" />;
  const task = q.data;
  const item = toWorkItem(task, new Date());

  async function save(next: Task, what: string) {
    setSaving(true);
    setError(null);
    setSaved(null);
    try {
      const r = await api<Task>(`/fhir/Task/${encodeURIComponent(id)}`, { method: 'PUT', body: next, fhir: true, ifMatch: task.meta?.versionId ? `W/"${task.meta.versionId}"` : undefined });
      qc.setQueryData(['task', id], r);
      await qc.invalidateQueries({ queryKey: ['open-work'] });
      setSaved(what);
      setNote('');
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e)); // the note stays in the box: nothing is lost
    } finally {
      setSaving(false);
    }
  }
  const withNote = (t: Task): Task => (note.trim() ? { ...t, note: [...(t.note ?? []), { text: note.trim(), time: new Date().toISOString(), authorString: me?.username }] } : t);
  const encounterId = item.focus?.startsWith('Encounter/') ? item.focus.slice('Encounter/'.length) : undefined;

  return (
    <div>
      <PageTitle right={<ClockBadge clock={item.clock} />}>{`${item.typeLabel}${item.subtype ? `: ${item.subtype}` : ''}`}</PageTitle>
      <Stack gap="md" maw={900}>
        {item.description ? <Text>{item.description}</Text> : null}
        <Table withTableBorder variant="vertical" data-testid="work-details">
          <Table.Tbody>
            <Table.Tr>
              <Table.Th w={200}>Patient</Table.Th>
              <Table.Td>{item.patientId ? <Link href={`/patients/${encodeURIComponent(item.patientId)}`}>Open the patient's chart ({item.patientName || item.patientId})</Link> : '—'}</Table.Td>
            </Table.Tr>
            <Table.Tr>
              <Table.Th>About</Table.Th>
              <Table.Td>{encounterId && item.patientId ? <Link href={`/patients/${encodeURIComponent(item.patientId)}#enc-${encounterId}`}>{item.focus}</Link> : (item.focus ?? '—')}</Table.Td>
            </Table.Tr>
            <Table.Tr>
              <Table.Th>Clock</Table.Th>
              <Table.Td>
                {item.clock.due ? `Due ${formatDate(item.clock.due.toISOString())} UTC (${item.clock.label})` : 'No clock'}
                {item.clock.rule ? <Text size="sm" c="dimmed" data-testid="clock-rule">{item.clock.rule}</Text> : null}
              </Table.Td>
            </Table.Tr>
            <Table.Tr>
              <Table.Th>Owner</Table.Th>
              <Table.Td>{item.ownerLabel}</Table.Td>
            </Table.Tr>
            <Table.Tr>
              <Table.Th>Status</Table.Th>
              <Table.Td>
                <Badge variant="light">{item.status}</Badge> {item.businessStatus}
              </Table.Td>
            </Table.Tr>
            <Table.Tr>
              <Table.Th>Raised by</Table.Th>
              <Table.Td>{task.requester?.display ?? task.requester?.reference ?? '—'} on {formatDate(task.authoredOn)}</Table.Td>
            </Table.Tr>
            {(task.input ?? []).map((i, k) => (
              <Table.Tr key={k}>
                <Table.Th>{i.type.text ?? i.type.coding?.[0]?.code}</Table.Th>
                <Table.Td>{i.valueReference?.reference ?? i.valueString ?? i.valueDateTime ?? i.valueDecimal ?? i.valueInteger ?? i.valueCode ?? ''}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        {(task.note ?? []).length > 1 ? (
          <div>
            <Text fw={600}>Notes</Text>
            {(task.note ?? []).slice(1).map((n, k) => (
              <Text key={k} size="sm">
                {n.time ? `${formatDate(n.time)} ` : ''}
                {n.authorString ? `${n.authorString}: ` : ''}
                {n.text}
              </Text>
            ))}
          </div>
        ) : null}
        <Textarea label="Add a note" value={note} onChange={(e) => setNote(e.currentTarget.value)} autosize minRows={2} />
        {error ? <Alert color="red" title="Not saved" role="alert">{error}</Alert> : null}
        {saved ? <Alert color="teal" role="status">{saved}</Alert> : null}
        <Group>
          <Button disabled={saving || item.owner === me?.username} onClick={() => void save(withNote(assignTask(task, me?.username)), 'Assigned to you.')}>
            Assign to me
          </Button>
          <Button variant="light" disabled={saving} onClick={() => void save(withNote({ ...task, status: 'in-progress' }), 'Work started.')}>
            Start work
          </Button>
          <Button variant="light" disabled={saving} onClick={() => void save(withNote({ ...task, status: 'on-hold' }), 'Put on hold.')}>
            Put on hold
          </Button>
          <Button color="teal" disabled={saving} onClick={() => void save(withNote({ ...task, status: 'completed', businessStatus: { text: 'resolved' } }), 'Marked completed.')}>
            Mark completed
          </Button>
          {note.trim() ? (
            <Button variant="default" disabled={saving} onClick={() => void save(withNote(task), 'Note saved.')}>
              Save note
            </Button>
          ) : null}
        </Group>
      </Stack>
    </div>
  );
}
