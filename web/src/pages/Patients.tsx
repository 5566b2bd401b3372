/** Find a patient by name, identifier or birth date. */
import { useState } from 'react';
import { Text, TextInput } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api } from '../api';
import { ErrorState, Loading, PageTitle } from '../components/common';
import { useDebounced } from '../use-debounced';
import type { Bundle, Patient } from '../lib/fhir-types';
import { patientName } from '../lib/format';

export default function Patients() {
  const [q, setQ] = useState('');
  const term = useDebounced(q.trim(), 250);
  const param = /^\d{4}-\d{2}-\d{2}$/.test(term) ? `birthdate=${term}` : /\d/.test(term) ? `identifier=${encodeURIComponent(term)}` : `name=${encodeURIComponent(term)}`;
  const res = useQuery({ queryKey: ['patients', term], queryFn: () => api<Bundle<Patient>>(`/fhir/Patient?${term ? `${param}&` : ''}_count=50&_sort=family`) });
  return (
    <div>
      <PageTitle>Patients</PageTitle>
      <TextInput label="Search patients" description="Name, identifier (e.g. MRN) or birth date (YYYY-MM-DD)" value={q} onChange={(e) => setQ(e.currentTarget.value)} maw={420} mb="md" />
      {res.isLoading ? <Loading /> : null}
      {res.error ? <ErrorState error={res.error} what="patients" /> : null}
      {res.data ? (
        <table className="data" aria-label="Patients">
          <thead>
            <tr>
              <th>Name</th>
              <th>Born</th>
              <th>Sex</th>
              <th>Identifier</th>
            </tr>
          </thead>
          <tbody>
            {(res.data.entry ?? []).map((e) => e.resource).filter((p): p is Patient => !!p && p.resourceType === 'Patient').map((p) => (
              <tr key={p.id}>
                <td><Link href={`/patients/${p.id}`}>{patientName(p)}</Link></td>
                <td>{p.birthDate}</td>
                <td>{p.gender}</td>
                <td className="mono">{p.identifier?.find((i) => i.type?.coding?.[0]?.code === 'MR')?.value ?? p.identifier?.[0]?.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {res.data && !(res.data.entry ?? []).length ? <Text c="dimmed">No patient matches.</Text> : null}
    </div>
  );
}
