/** Duplicate review: the two records side by side with each field's comparison and weight, merge with preview, unmerge. */
import { useState } from 'react';
import { Alert, Badge, Button, Group, Radio, Stack, Text, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'wouter';
import { api } from '../api';
import { ClockBadge, ErrorState, Loading, PageTitle } from '../components/common';
import type { Bundle, Patient, Resource, Task } from '../lib/fhir-types';
import { patientName, percent } from '../lib/format';
import { OPEN_STATUSES, shapeBundle } from '../lib/worklist';
import { saveStatus } from '../work-data';

interface FieldExplanation { comparison: string; level: string; weight: number; left?: string; right?: string }
interface Pair { task: Task; left: Patient; right: Patient; explanation: { fields: FieldExplanation[]; prior: number; weight: number; probability: number; classification: string; namesTransposed: boolean; reviewReason?: string } }
interface ParametersLike { resourceType: 'Parameters'; parameter?: { name: string; resource?: Resource; valueInteger?: number; part?: { name: string; valueCode?: string; valueInteger?: number }[] }[] }

/** Why the matcher would not link a pair on its own, whatever its score (mpi/model.ts pairCap), as the reviewer reads it. */
const REVIEW_REASONS: Record<string, string> = {
  'invalid birth date': 'A birth date is not a possible date, or reads as two dates: the matcher does not link on it, whatever the score. Check the date against the source documents.',
  'conflicting ssn':
    'The two records carry different SSNs. The matcher reads that as two people unless the rest of the identity says one number is wrong (one keystroke apart with nothing else disagreeing, or name, birth date and address all the same); then it queues the pair for review and never links it on its own. Check the SSN against the source documents before merging.',
};

function mergeParams(source: string, target: string, preview: boolean) {
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'source-patient', valueReference: { reference: `Patient/${source}` } },
      { name: 'target-patient', valueReference: { reference: `Patient/${target}` } },
      { name: 'preview', valueBoolean: preview },
    ],
  };
}

function summaryOf(p: ParametersLike | undefined) {
  const outcome = p?.parameter?.find((x) => x.name === 'outcome')?.resource as { issue?: { diagnostics?: string }[] } | undefined;
  const moved = (p?.parameter ?? []).filter((x) => x.name === 'referencing').map((x) => ({ type: x.part?.find((y) => y.name === 'type')?.valueCode ?? '?', count: x.part?.find((y) => y.name === 'count')?.valueInteger ?? 0 }));
  const provenance = p?.parameter?.find((x) => x.name === 'provenance')?.resource;
  return { text: outcome?.issue?.map((i) => i.diagnostics).join('; '), moved, provenance };
}

function Queue() {
  const q = useQuery({ queryKey: ['dup-queue'], queryFn: () => api<Bundle>(`/fhir/Task?code=possible-duplicate&status=${OPEN_STATUSES.join(',')}&_count=200&_include=Task:patient`) });
  if (q.isLoading) return <Loading />;
  if (q.error) return <ErrorState error={q.error} what="the duplicate queue" />;
  const items = shapeBundle(q.data as Bundle, new Date()).filter((i) => i.type === 'possible-duplicate');
  return (
    <div>
      <PageTitle>Possible duplicates</PageTitle>
      {items.length === 0 ? <Text c="dimmed">No possible duplicates are waiting for review.</Text> : null}
      <Stack gap={4}>
        {items.map((i) => (
          <Group key={i.id} gap="sm">
            <ClockBadge clock={i.clock} />
            <Link href={`/duplicates/${encodeURIComponent(i.id)}`}>{i.patientName || i.patientId} and {i.task.input?.find((x) => x.type.text === 'other-patient')?.valueReference?.reference}</Link>
            <Text size="sm" c="dimmed">probability {i.task.input?.find((x) => x.type.text === 'match-probability')?.valueDecimal ?? '?'}</Text>
          </Group>
        ))}
      </Stack>
    </div>
  );
}

function Review({ taskId }: { taskId: string }) {
  const qc = useQueryClient();
  const pair = useQuery({ queryKey: ['pair', taskId], queryFn: () => api<Pair>(`/api/mpi/pairs/${encodeURIComponent(taskId)}`) });
  const [survivor, setSurvivor] = useState<'left' | 'right'>('left');
  const [preview, setPreview] = useState<ParametersLike | null>(null);
  const [merged, setMerged] = useState<ParametersLike | null>(null);
  const [unmerged, setUnmerged] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (pair.isLoading) return <Loading label="Loading the pair…" />;
  if (pair.error || !pair.data) return <ErrorState error={pair.error} what="this pair" />;
  const { left, right, explanation: ex, task } = pair.data;
  const target = survivor === 'left' ? left : right;
  const source = survivor === 'left' ? right : left;

  async function step(fn: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }
  const doPreview = () => step(async () => setPreview(await api<ParametersLike>('/fhir/Patient/$merge', { method: 'POST', body: mergeParams(source.id ?? '', target.id ?? '', true), fhir: true })));
  const doMerge = () =>
    step(async () => {
      const r = await api<ParametersLike>('/fhir/Patient/$merge', { method: 'POST', body: mergeParams(source.id ?? '', target.id ?? '', false), fhir: true });
      setMerged(r);
      setUnmerged(null);
      await saveStatus(task, 'completed', `merged into Patient/${target.id}`).catch(() => undefined);
      await qc.invalidateQueries({ queryKey: ['open-work'] });
    });
  const doUnmerge = () =>
    step(async () => {
      const prov = summaryOf(merged ?? undefined).provenance;
      const r = await api<ParametersLike>('/fhir/Patient/$unmerge', { method: 'POST', body: { resourceType: 'Parameters', parameter: [{ name: 'provenance', valueReference: { reference: `Provenance/${prov?.id}` } }] }, fhir: true });
      const restored = r.parameter?.find((x) => x.name === 'restored')?.valueInteger ?? 0;
      setUnmerged(`Unmerged: ${restored} records restored to their state before the merge.`);
      setMerged(null);
      setPreview(null);
      const current = await api<Task>(`/fhir/Task/${encodeURIComponent(taskId)}`).catch(() => undefined);
      if (current) await saveStatus(current, 'requested', 'unmerged; awaiting review').catch(() => undefined);
      await qc.invalidateQueries({ queryKey: ['open-work'] });
      await qc.invalidateQueries({ queryKey: ['pair', taskId] });
    });
  const pv = summaryOf(preview ?? undefined);
  const mg = summaryOf(merged ?? undefined);

  return (
    <div>
      <PageTitle right={<Badge size="lg" color={ex.probability >= 0.9 ? 'red' : 'orange'} data-testid="match-probability">match probability {percent(ex.probability, 1)}</Badge>}>Duplicate review</PageTitle>
      <Text mb="sm" size="sm">
        Total weight {ex.weight.toFixed(2)} (prior {ex.prior.toFixed(2)}), classified <b>{ex.classification}</b>{ex.namesTransposed ? '; first and last names appear transposed' : ''}.
      </Text>
      {ex.reviewReason ? (
        <Alert color="orange" mb="sm" title={`Not linked automatically: ${ex.reviewReason}`} data-testid="review-reason">
          {REVIEW_REASONS[ex.reviewReason] ?? 'The matcher does not link this pair on its own, whatever the score.'}
        </Alert>
      ) : null}
      <table className="data" data-testid="pair-fields" aria-label="Field comparison">
        <thead>
          <tr>
            <th>Field</th>
            <th><Link href={`/patients/${left.id}`}>{patientName(left)}</Link> <Text span c="dimmed" size="xs">Patient/{left.id}</Text></th>
            <th><Link href={`/patients/${right.id}`}>{patientName(right)}</Link> <Text span c="dimmed" size="xs">Patient/{right.id}</Text></th>
            <th>Comparison</th>
            <th>Weight</th>
          </tr>
        </thead>
        <tbody>
          {ex.fields.map((f) => (
            <tr key={f.comparison}>
              <td>{f.comparison}</td>
              <td>{f.left ?? <Text span c="dimmed">missing</Text>}</td>
              <td>{f.right ?? <Text span c="dimmed">missing</Text>}</td>
              <td>{f.level}</td>
              <td className={f.weight > 0 ? 'weight-pos' : f.weight < 0 ? 'weight-neg' : undefined}>{f.weight > 0 ? '+' : ''}{f.weight.toFixed(2)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Title order={2} size="h4" mt="lg" mb="xs">Merge</Title>
      <Radio.Group label="Record that survives (the other is retired and linked to it)" value={survivor} onChange={(v) => { setSurvivor(v as 'left' | 'right'); setPreview(null); }}>
        <Group mt={4}>
          <Radio value="left" label={`${patientName(left)} (Patient/${left.id})`} />
          <Radio value="right" label={`${patientName(right)} (Patient/${right.id})`} />
        </Group>
      </Radio.Group>
      {error ? <Alert color="red" title="The server refused" role="alert" mt="sm">{error}</Alert> : null}
      <Group mt="sm">
        <Button variant="light" onClick={() => void doPreview()} loading={busy && !preview} disabled={busy || !!merged}>Preview merge</Button>
        <Button color="red" onClick={() => void doMerge()} disabled={busy || !preview || !!merged}>Merge</Button>
        <Button variant="default" onClick={() => void doUnmerge()} disabled={busy || !merged}>Unmerge</Button>
      </Group>
      {preview && !merged ? (
        <Alert color="blue" title="Preview" mt="sm" data-testid="merge-preview">
          {pv.text}
          <div>{pv.moved.length ? `Records that move to the survivor: ${pv.moved.map((m) => `${m.count} ${m.type}`).join(', ')}` : 'No records reference the retired patient.'}</div>
        </Alert>
      ) : null}
      {merged ? (
        <Alert color="teal" title="Merged" mt="sm" role="status" data-testid="merge-result">
          {mg.text}. Provenance/{mg.provenance?.id} records it; Unmerge restores both records.
        </Alert>
      ) : null}
      {unmerged ? <Alert color="teal" title="Unmerged" mt="sm" role="status" data-testid="unmerge-result">{unmerged}</Alert> : null}
    </div>
  );
}

export default function Duplicates() {
  const { taskId } = useParams<{ taskId?: string }>();
  return taskId ? <Review taskId={taskId} /> : <Queue />;
}
