/** The unified worklist: every open work item, filtered, sorted by its clock, assignable in bulk. */
import { useMemo, useState } from 'react';
import { Alert, Badge, Button, Checkbox, Group, MultiSelect, Select, Text, TextInput } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { createColumnHelper, flexRender, getCoreRowModel, getSortedRowModel, useReactTable, type RowSelectionState, type SortingState } from '@tanstack/react-table';
import { Link } from 'wouter';
import { ClockBadge, ErrorState, Loading, PageTitle } from '../components/common';
import { formatDate } from '../lib/format';
import { filterItems, sortByClock, WORK_TYPE_LABELS, type DueFilter, type WorkItem } from '../lib/worklist';
import { useSession } from '../session';
import { saveAssignment, saveStatus, useOpenWork } from '../work-data';

const col = createColumnHelper<WorkItem>();

export function workHref(item: WorkItem): string {
  return item.type === 'possible-duplicate' ? `/duplicates/${encodeURIComponent(item.id)}` : `/work/${encodeURIComponent(item.id)}`;
}

export default function Worklist() {
  const { me } = useSession();
  const qc = useQueryClient();
  const work = useOpenWork();
  const [types, setTypes] = useState<string[]>([]);
  const [owner, setOwner] = useState<string>('');
  const [status, setStatus] = useState<string>('');
  const [due, setDue] = useState<DueFilter>('');
  const [patient, setPatient] = useState('');
  const [sorting, setSorting] = useState<SortingState>([]);
  const [selection, setSelection] = useState<RowSelectionState>({});
  const [assignee, setAssignee] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: number; failed: { id: string; message: string }[] } | null>(null);

  const items = work.data?.items ?? [];
  const now = useMemo(() => new Date(), [work.dataUpdatedAt]);
  const filtered = useMemo(() => sortByClock(filterItems(items, { types, owner, status, due, patient }, me?.username, now)), [items, types, owner, status, due, patient, me, now]);
  const typeOptions = useMemo(() => {
    const seen = new Map<string, string>(Object.entries(WORK_TYPE_LABELS));
    for (const i of items) seen.set(i.type, i.typeLabel);
    return [...seen.entries()].map(([value, label]) => ({ value, label }));
  }, [items]);
  const ownerOptions = useMemo(() => {
    const owners = [...new Set(items.map((i) => i.owner).filter((o): o is string => !!o))].sort();
    return [{ value: '', label: 'Anyone' }, { value: 'me', label: 'Me' }, { value: 'unassigned', label: 'Unassigned' }, ...owners.filter((o) => o !== me?.username).map((o) => ({ value: o, label: o }))];
  }, [items, me]);

  const columns = useMemo(
    () => [
      col.display({
        id: 'select',
        header: ({ table }) => (
          <Checkbox aria-label="Select all shown items" checked={table.getIsAllRowsSelected()} indeterminate={table.getIsSomeRowsSelected()} onChange={table.getToggleAllRowsSelectedHandler()} />
        ),
        cell: ({ row }) => <Checkbox aria-label={`Select item ${row.original.typeLabel} ${row.original.patientName ?? ''}`} checked={row.getIsSelected()} onChange={row.getToggleSelectedHandler()} />,
      }),
      col.accessor((r) => r.clock.due?.getTime() ?? Number.POSITIVE_INFINITY, {
        id: 'clock',
        header: 'Clock',
        cell: ({ row }) => <ClockBadge clock={row.original.clock} />,
      }),
      col.accessor('typeLabel', {
        header: 'Work',
        cell: ({ row }) => (
          <div>
            <Link href={workHref(row.original)} className="work-link">
              {row.original.typeLabel}
              {row.original.subtype ? `: ${row.original.subtype}` : ''}
            </Link>
            {row.original.description ? (
              <Text size="xs" c="dimmed" lineClamp={1} maw={420}>
                {row.original.description}
              </Text>
            ) : null}
          </div>
        ),
      }),
      col.accessor((r) => r.patientName ?? r.patientId ?? '', {
        id: 'patient',
        header: 'Patient',
        cell: ({ row }) => (row.original.patientId ? <Link href={`/patients/${encodeURIComponent(row.original.patientId)}`}>{row.original.patientName || row.original.patientId}</Link> : '—'),
      }),
      col.accessor('ownerLabel', { header: 'Owner' }),
      col.accessor('status', {
        header: 'Status',
        cell: ({ row }) => (
          <span>
            {row.original.status}
            {row.original.businessStatus ? (
              <Text size="xs" c="dimmed">
                {row.original.businessStatus}
              </Text>
            ) : null}
          </span>
        ),
      }),
      col.accessor('authoredOn', { header: 'Opened', cell: ({ getValue }) => formatDate(getValue()) }),
      col.display({
        id: 'actions',
        header: () => <span className="visually-hidden">Actions</span>,
        cell: ({ row }) =>
          row.original.owner === me?.username ? (
            <Badge variant="light">mine</Badge>
          ) : (
            <Button size="compact-xs" variant="light" onClick={() => void run([row.original], (i) => saveAssignment(i, me?.username))} aria-label={`Assign ${row.original.typeLabel} for ${row.original.patientName ?? 'patient'} to me`}>
              Assign to me
            </Button>
          ),
      }),
    ],
    [me],
  );

  const table = useReactTable({
    data: filtered,
    columns,
    state: { sorting, rowSelection: selection },
    getRowId: (r) => r.id,
    onSortingChange: setSorting,
    onRowSelectionChange: setSelection,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
  });
  const selected = filtered.filter((i) => selection[i.id]);

  async function run(targets: WorkItem[], action: (i: WorkItem) => Promise<unknown>) {
    setBusy(true);
    setResult(null);
    const failed: { id: string; message: string }[] = [];
    let ok = 0;
    for (const t of targets) {
      try {
        await action(t);
        ok += 1;
      } catch (e) {
        failed.push({ id: t.id, message: e instanceof Error ? e.message : String(e) });
      }
    }
    setResult({ ok, failed });
    // keep the failed ones selected so nothing is lost; clear the rest
    setSelection(Object.fromEntries(failed.map((f) => [f.id, true])));
    await qc.invalidateQueries({ queryKey: ['open-work'] });
    setBusy(false);
  }

  return (
    <div>
      <PageTitle right={<Text c="dimmed" size="sm" data-testid="worklist-count">{work.data ? `${filtered.length} of ${items.length} open items` : ''}</Text>}>Worklist</PageTitle>
      <Group align="flex-end" gap="sm" mb="sm" wrap="wrap" role="search" aria-label="Filter the worklist">
        <MultiSelect label="Type" placeholder={types.length ? undefined : 'All types'} data={typeOptions} value={types} onChange={setTypes} clearable w={260} comboboxProps={{ withinPortal: true }} />
        <Select label="Owner" data={ownerOptions} value={owner} onChange={(v) => setOwner(v ?? '')} allowDeselect={false} w={150} />
        <Select
          label="Status"
          data={[{ value: '', label: 'Any open' }, ...['requested', 'accepted', 'in-progress', 'on-hold', 'ready', 'received'].map((s) => ({ value: s, label: s }))]}
          value={status}
          onChange={(v) => setStatus(v ?? '')}
          allowDeselect={false}
          w={140}
        />
        <Select
          label="Due"
          data={[
            { value: '', label: 'Any time' },
            { value: 'overdue', label: 'Past the clock' },
            { value: 'due-soon', label: 'Due within 48 h' },
            { value: 'week', label: 'Due within 7 days' },
            { value: 'no-clock', label: 'No clock' },
          ]}
          value={due}
          onChange={(v) => setDue((v ?? '') as DueFilter)}
          allowDeselect={false}
          w={170}
        />
        <TextInput label="Patient" placeholder="Name or id" value={patient} onChange={(e) => setPatient(e.currentTarget.value)} w={180} />
      </Group>
      <Group gap="sm" mb="sm" aria-label="Bulk actions" role="group">
        <Text size="sm">{selected.length} selected</Text>
        <Button size="xs" disabled={!selected.length || busy || !me} onClick={() => void run(selected, (i) => saveAssignment(i, me?.username))}>
          Assign to me
        </Button>
        <TextInput size="xs" aria-label="Assign selected to user" placeholder="user name" value={assignee} onChange={(e) => setAssignee(e.currentTarget.value)} w={140} />
        <Button size="xs" variant="light" disabled={!selected.length || busy || !assignee.trim()} onClick={() => void run(selected, (i) => saveAssignment(i, assignee.trim()))}>
          Assign to user
        </Button>
        <Button size="xs" variant="light" disabled={!selected.length || busy} onClick={() => void run(selected, (i) => saveStatus(i.task, 'in-progress'))}>
          Start work
        </Button>
        <Button size="xs" variant="default" disabled={!selected.length || busy} onClick={() => void run(selected, (i) => saveAssignment(i, undefined))}>
          Unassign
        </Button>
      </Group>
      {result ? (
        <Alert color={result.failed.length ? 'red' : 'teal'} mb="sm" role={result.failed.length ? 'alert' : 'status'} withCloseButton onClose={() => setResult(null)}>
          {result.ok} item(s) saved.
          {result.failed.map((f) => (
            <div key={f.id}>
              Task/{f.id}: {f.message}
            </div>
          ))}
        </Alert>
      ) : null}
      {work.isLoading ? <Loading label="Loading the worklist…" /> : null}
      {work.error ? <ErrorState error={work.error} what="the worklist" /> : null}
      {work.data ? (
        filtered.length === 0 ? (
          <Text c="dimmed" p="md">
            No open work matches these filters.
          </Text>
        ) : (
          <table className="data" data-testid="worklist-table" aria-label="Open work items">
            <thead>
              {table.getHeaderGroups().map((hg) => (
                <tr key={hg.id}>
                  {hg.headers.map((h) => (
                    <th key={h.id} aria-sort={h.column.getIsSorted() === 'asc' ? 'ascending' : h.column.getIsSorted() === 'desc' ? 'descending' : undefined}>
                      {h.column.getCanSort() && h.id !== 'select' && h.id !== 'actions' ? (
                        <button className="sort" type="button" onClick={h.column.getToggleSortingHandler()}>
                          {flexRender(h.column.columnDef.header, h.getContext())}
                          {h.column.getIsSorted() === 'asc' ? ' ▲' : h.column.getIsSorted() === 'desc' ? ' ▼' : ''}
                        </button>
                      ) : (
                        flexRender(h.column.columnDef.header, h.getContext())
                      )}
                    </th>
                  ))}
                </tr>
              ))}
            </thead>
            <tbody>
              {table.getRowModel().rows.map((row) => (
                <tr key={row.id} className={row.getIsSelected() ? 'selected' : undefined} data-work-type={row.original.type}>
                  {row.getVisibleCells().map((cell) => (
                    <td key={cell.id}>{flexRender(cell.column.columnDef.cell, cell.getContext())}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        )
      ) : null}
    </div>
  );
}
