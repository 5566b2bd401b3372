/** The patient chart: demographics, identifiers, a timeline of encounters with their records, open work, and who accessed it. */
import { useMemo } from 'react';
import { Badge, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'wouter';
import { api, ApiError } from '../api';
import { ClockBadge, ErrorState, Loading, PageTitle } from '../components/common';
import { auditRow, type AuditEventLike } from '../lib/audit';
import type { Bundle, CodeableConcept, Patient, Resource, Task } from '../lib/fhir-types';
import { ageYears, conceptText, formatDate, patientName } from '../lib/format';
import { buildTimeline, recordDate, type Encounterish } from '../lib/timeline';
import { OPEN_STATUSES, shapeBundle } from '../lib/worklist';
import { useSession } from '../session';

const LABELS: Record<string, string> = {
  DocumentReference: 'Documents',
  Condition: 'Conditions',
  Procedure: 'Procedures',
  Observation: 'Observations',
  MedicationRequest: 'Medications',
  Claim: 'Claims',
  DiagnosticReport: 'Reports',
  Immunization: 'Immunizations',
};

function codeOf(r: Resource): CodeableConcept | undefined {
  const x = r as Record<string, unknown>;
  return (x.code ?? x.medicationCodeableConcept ?? x.type ?? x.vaccineCode) as CodeableConcept | undefined;
}

function RecordLine({ r }: { r: Resource }) {
  const c = codeOf(r);
  const coding = c?.coding?.[0];
  const x = r as Record<string, unknown>;
  const value = x.valueQuantity as { value?: number; unit?: string } | undefined;
  return (
    <li>
      {conceptText(c) || r.resourceType}
      {coding?.code ? (
        <Text span c="dimmed" size="xs" className="mono">
          {' '}
          {coding.code}
        </Text>
      ) : null}
      {value?.value !== undefined ? ` = ${Math.round(value.value * 100) / 100} ${value.unit ?? ''}` : ''}
      {r.resourceType === 'Claim' && x.total ? ` (${(x.total as { value?: number }).value ?? ''} ${(x.total as { currency?: string }).currency ?? ''})` : ''}
    </li>
  );
}

export default function PatientChart() {
  const { id = '' } = useParams<{ id: string }>();
  const { can } = useSession();
  const everything = useQuery({ queryKey: ['everything', id], queryFn: () => api<Bundle>(`/fhir/Patient/${encodeURIComponent(id)}/$everything?_count=5000`) });
  const work = useQuery({ queryKey: ['patient-work', id], queryFn: () => api<Bundle>(`/fhir/Task?patient=${encodeURIComponent(id)}&status=${OPEN_STATUSES.join(',')}&_count=200`) });
  const access = useQuery({ queryKey: ['patient-access', id], queryFn: () => api<Bundle<AuditEventLike>>(`/api/audit?patient=${encodeURIComponent(id)}&_count=50`), enabled: can('audit.read') });

  const data = useMemo(() => {
    const resources = (everything.data?.entry ?? []).map((e) => e.resource).filter((r): r is Resource => !!r);
    const patient = resources.find((r) => r.resourceType === 'Patient' && r.id === id) as Patient | undefined;
    const encounters = resources.filter((r) => r.resourceType === 'Encounter') as Encounterish[];
    const records = resources.filter((r) => Object.hasOwn(LABELS, r.resourceType));
    return { patient, timeline: buildTimeline(encounters, records), encounters: encounters.length, records: records.length };
  }, [everything.data, id]);

  if (everything.isLoading) return <Loading label="Loading the chart…" />;
  if (everything.error) return <ErrorState error={everything.error} what="this chart" />;
  const p = data.patient;
  if (!p) return <ErrorState error={new Error(`Patient/${id} is not in the answer`)} what="this chart" />;
  const items = work.data ? shapeBundle(work.data, new Date()) : [];
  const replacedBy = p.link?.find((l) => l.type === 'replaced-by');

  return (
    <div>
      <PageTitle right={p.active === false ? <Badge color="gray">inactive</Badge> : undefined}>{patientName(p)}</PageTitle>
      {replacedBy ? (
        <Text c="orange" mb="sm">
          This record was merged into <Link href={`/patients/${replacedBy.other.reference?.replace(/^Patient\//, '')}`}>{replacedBy.other.reference}</Link>.
        </Text>
      ) : null}
      <div className="grid3 gap-md">
        <section className="chart-card" aria-label="Demographics">
          <Title order={2} size="h5">Demographics</Title>
          <Text size="sm">Born {p.birthDate ?? 'unknown'} ({ageYears(p.birthDate, new Date()) ?? '?'} years){p.deceasedDateTime ? `, died ${formatDate(p.deceasedDateTime)}` : ''}</Text>
          <Text size="sm">Sex: {p.gender ?? 'unknown'}</Text>
          {p.address?.[0] ? <Text size="sm">{[...(p.address[0].line ?? []), p.address[0].city, p.address[0].state, p.address[0].postalCode].filter(Boolean).join(', ')}</Text> : null}
          {p.telecom?.[0] ? <Text size="sm">{p.telecom[0].system}: {p.telecom[0].value}</Text> : null}
        </section>
        <section className="chart-card" aria-label="Identifiers">
          <Title order={2} size="h5">Identifiers</Title>
          <Table fz="xs">
            <Table.Tbody>
              {(p.identifier ?? []).map((i, k) => (
                <Table.Tr key={k}>
                  <Table.Td>{i.type?.text ?? i.type?.coding?.[0]?.display ?? i.system}</Table.Td>
                  <Table.Td className="mono">{i.value}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </section>
        <section className="chart-card" aria-label="Open work" data-testid="patient-open-work">
          <Title order={2} size="h5">Open work</Title>
          {work.error ? <ErrorState error={work.error} what="open work" /> : items.length === 0 ? <Text size="sm" c="dimmed">No open work.</Text> : null}
          <Stack gap={4}>
            {items.map((i) => (
              <Group key={i.id} gap="xs" wrap="nowrap">
                <ClockBadge clock={i.clock} />
                <Link href={i.type === 'possible-duplicate' ? `/duplicates/${i.id}` : `/work/${i.id}`}>{i.subtype ?? i.typeLabel}</Link>
              </Group>
            ))}
          </Stack>
        </section>
      </div>
      <Title order={2} size="h4" mb="xs">
        Timeline <Text span c="dimmed" size="sm">({data.encounters} encounters, {data.records} records)</Text>
      </Title>
      <div data-testid="timeline">
        {data.timeline.slice(0, 60).map((e, k) => (
          <article className="timeline-item" key={e.encounter?.id ?? `other-${k}`} id={e.encounter ? `enc-${e.encounter.id}` : undefined}>
            <Text fw={600}>
              {e.encounter ? `${formatDate(e.encounter.period?.start)} · ${conceptText(e.encounter.type?.[0]) || e.encounter.class?.code || 'Encounter'}` : 'Not linked to an encounter'}
              {e.encounter?.class?.code ? <Badge ml="xs" variant="light" size="sm">{e.encounter.class.code}</Badge> : null}
            </Text>
            <div className="grid3 gap-xs">
              {Object.entries(e.records).map(([type, rs]) => (
                <div key={type}>
                  <Text size="sm" fw={500}>
                    {LABELS[type] ?? type} ({rs.length})
                  </Text>
                  <ul style={{ margin: 0, paddingLeft: 18, fontSize: 13 }}>
                    {rs
                      .sort((a, b) => (recordDate(b) ?? '').localeCompare(recordDate(a) ?? ''))
                      .slice(0, 8)
                      .map((r) => (
                        <RecordLine key={`${r.resourceType}/${r.id}`} r={r} />
                      ))}
                    {rs.length > 8 ? <li>… {rs.length - 8} more</li> : null}
                  </ul>
                </div>
              ))}
            </div>
          </article>
        ))}
        {data.timeline.length > 60 ? <Text c="dimmed">{data.timeline.length - 60} older encounters not shown.</Text> : null}
      </div>
      {can('audit.read') ? (
        <section aria-label="Who accessed this record" data-testid="patient-access">
          <Title order={2} size="h4" mt="lg" mb="xs">
            Who accessed this record
          </Title>
          {access.isLoading ? <Loading /> : null}
          {access.error ? (access.error instanceof ApiError && access.error.status === 403 ? null : <ErrorState error={access.error} what="the access log" />) : null}
          <table className="data">
            <thead>
              <tr>
                <th>When</th>
                <th>User</th>
                <th>Action</th>
                <th>Outcome</th>
              </tr>
            </thead>
            <tbody>
              {(access.data?.entry ?? []).map((en) => {
                const r = auditRow(en.resource as AuditEventLike);
                return (
                  <tr key={r.id}>
                    <td>{formatDate(r.recorded)}</td>
                    <td>{r.user}</td>
                    <td>{r.action}</td>
                    <td>{r.success ? 'success' : 'failure'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </section>
      ) : null}
    </div>
  );
}

export type { Task };
