/** Data hooks shared by Home and the worklist. */
import { useQuery } from '@tanstack/react-query';
import { api } from './api';
import type { Bundle, Task } from './lib/fhir-types';
import { OPEN_STATUSES, assignTask, shapeBundle, type WorkItem } from './lib/worklist';

export const OPEN_WORK_URL = `/fhir/Task?status=${OPEN_STATUSES.join(',')}&_sort=authored-on&_count=1000&_include=Task:patient&_include=Task:owner`;

export function useOpenWork() {
  return useQuery({
    queryKey: ['open-work'],
    queryFn: async () => {
      const bundle = await api<Bundle>(OPEN_WORK_URL);
      return { items: shapeBundle(bundle, new Date()), total: bundle.total };
    },
  });
}

/** Writes the item's Task back with a new owner (optimistic locking on its version). */
export async function saveAssignment(item: WorkItem, username: string | undefined): Promise<Task> {
  const next = assignTask(item.task, username);
  return api<Task>(`/fhir/Task/${encodeURIComponent(item.id)}`, { method: 'PUT', body: next, fhir: true, ifMatch: item.versionId ? `W/"${item.versionId}"` : undefined });
}

export async function saveStatus(task: Task, status: string, businessStatus?: string): Promise<Task> {
  const next: Task = { ...task, status, lastModified: new Date().toISOString() };
  if (businessStatus) next.businessStatus = { text: businessStatus };
  return api<Task>(`/fhir/Task/${encodeURIComponent(task.id ?? '')}`, { method: 'PUT', body: next, fhir: true, ifMatch: task.meta?.versionId ? `W/"${task.meta.versionId}"` : undefined });
}
