/** The encoder: search-as-you-type over the code sets, then the code's details, notes and edits. */
import { useState } from 'react';
import { Badge, Group, Select, Stack, Text, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import { ErrorState, Loading, PageTitle } from '../components/common';
import { useDebounced } from '../use-debounced';

interface Hit { code: string; display: string; billable?: boolean; path?: { code: string; display: string }[] }
interface Lookup {
  code: string;
  display?: string;
  found: boolean;
  billable?: boolean;
  header?: boolean;
  systemName?: string;
  release?: { version?: string; effectiveFrom?: string; effectiveTo?: string };
  parents?: { code: string; display: string }[];
  poaExempt?: boolean;
  notes?: Record<string, { from?: string; note: string }[]>;
}

const SYSTEMS = [
  { value: 'icd-10-cm', label: 'ICD-10-CM (diagnoses)' },
  { value: 'icd-10-pcs', label: 'ICD-10-PCS (procedures)' },
  { value: 'hcpcs', label: 'HCPCS Level II' },
];
const NOTE_LABELS: Record<string, string> = { excludes1: 'Excludes1 (never code together)', excludes2: 'Excludes2 (may code together)', codeFirst: 'Code first', useAdditionalCode: 'Use additional code', includes: 'Includes', inclusionTerms: 'Inclusion terms' };

export default function Encoder() {
  const [q, setQ] = useState('');
  const [system, setSystem] = useState('icd-10-cm');
  const [code, setCode] = useState<string | null>(null);
  const term = useDebounced(q.trim(), 150);
  const search = useQuery({
    queryKey: ['code-search', system, term],
    queryFn: ({ signal }) => api<{ hits: Hit[]; release?: string }>(`/api/terminology/search?q=${encodeURIComponent(term)}&system=${system}`, { signal }),
    enabled: term.length >= 2,
    placeholderData: (prev) => prev,
  });
  const lookup = useQuery({ queryKey: ['code-lookup', system, code], queryFn: () => api<Lookup>(`/api/terminology/lookup?system=${system}&code=${encodeURIComponent(code ?? '')}`), enabled: !!code });

  return (
    <div>
      <PageTitle>Encoder</PageTitle>
      <Group align="flex-end" mb="md">
        <TextInput label="Search codes" description="Words, abbreviations or a code; results appear as you type" value={q} onChange={(e) => setQ(e.currentTarget.value)} w={420} data-testid="encoder-search" autoComplete="off" />
        <Select label="Code set" data={SYSTEMS} value={system} onChange={(v) => setSystem(v ?? 'icd-10-cm')} allowDeselect={false} w={240} />
      </Group>
      <div className="side-by-side">
        <section aria-label="Search results" aria-live="polite">
          {search.isFetching && !search.data ? <Loading label="Searching…" /> : null}
          {search.error ? <ErrorState error={search.error} what="code search" /> : null}
          {search.data ? (
            <>
              <Text size="xs" c="dimmed" mb={4}>
                {search.data.hits.length} results{search.data.release ? ` · release ${search.data.release}` : ''}
              </Text>
              <table className="data" data-testid="encoder-results">
                <tbody>
                  {search.data.hits.map((h) => (
                    <tr key={h.code} className={h.code === code ? 'selected' : undefined}>
                      <td className="mono">
                        <button type="button" className="link-button" onClick={() => setCode(h.code)} aria-label={`${h.code} ${h.display}`}>
                          {h.code}
                        </button>
                      </td>
                      <td>
                        {h.display} {h.billable === false ? <Badge size="xs" color="gray">header</Badge> : null}
                        {h.path?.length ? <Text size="xs" c="dimmed">{h.path.map((p) => p.display).join(' › ')}</Text> : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          ) : term.length < 2 ? <Text c="dimmed">Type at least two characters.</Text> : null}
        </section>
        <section aria-label="Code details" data-testid="encoder-details">
          {lookup.isLoading ? <Loading /> : null}
          {lookup.error ? <ErrorState error={lookup.error} what="the code" /> : null}
          {lookup.data ? (
            <Stack gap="xs" className="chart-card">
              <Title order={2} size="h4">
                <span className="mono">{lookup.data.code}</span> {lookup.data.display}
              </Title>
              <Group gap="xs">
                {lookup.data.billable ? <Badge color="teal">billable</Badge> : <Badge color="orange">not billable (header)</Badge>}
                {lookup.data.poaExempt ? <Badge color="gray">POA exempt</Badge> : null}
                {lookup.data.release ? <Badge variant="light">{lookup.data.release.version}: {lookup.data.release.effectiveFrom} to {lookup.data.release.effectiveTo}</Badge> : null}
              </Group>
              {lookup.data.parents?.length ? <Text size="sm">{lookup.data.parents.map((p) => `${p.code} ${p.display}`).join(' › ')}</Text> : null}
              {Object.entries(lookup.data.notes ?? {}).map(([k, notes]) => (
                <div key={k}>
                  <Text fw={600} size="sm">{NOTE_LABELS[k] ?? k}</Text>
                  <ul style={{ margin: 0, paddingLeft: 18, fontSize: 13 }}>
                    {notes.map((n, i) => (
                      <li key={i}>
                        {n.note}
                        {n.from && n.from !== lookup.data.code ? <Text span c="dimmed" size="xs"> (from {n.from})</Text> : null}
                      </li>
                    ))}
                  </ul>
                </div>
              ))}
            </Stack>
          ) : !code ? <Text c="dimmed">Choose a code to see its details, notes and edits.</Text> : null}
        </section>
      </div>
    </div>
  );
}
