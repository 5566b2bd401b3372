/** Administration: users and their roles. */
import { useState, type FormEvent } from 'react';
import { Alert, Badge, Button, Group, MultiSelect, PasswordInput, TextInput, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api';
import { ErrorState, Loading, PageTitle } from '../components/common';

interface User { username: string; displayName?: string; roles: string[]; client: boolean; disabled: boolean; totp: boolean; createdAt: string }
const ROLES = ['him-technician', 'coder', 'cdi-specialist', 'billing', 'him-manager', 'privacy-officer', 'auditor', 'provider', 'integration', 'admin'];

export default function Admin() {
  const qc = useQueryClient();
  const users = useQuery({ queryKey: ['users'], queryFn: () => api<{ users: User[] }>('/api/users') });
  const [form, setForm] = useState({ username: '', password: '', roles: [] as string[] });
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [editing, setEditing] = useState<Record<string, string[]>>({});

  async function act(fn: () => Promise<unknown>, ok: string) {
    setMsg(null);
    try {
      await fn();
      setMsg({ ok: true, text: ok });
      await qc.invalidateQueries({ queryKey: ['users'] });
      return true;
    } catch (e) {
      setMsg({ ok: false, text: e instanceof Error ? e.message : String(e) });
      return false;
    }
  }
  async function add(ev: FormEvent) {
    ev.preventDefault();
    if (await act(() => api('/api/users', { method: 'POST', body: form }), `User ${form.username} added.`)) setForm({ username: '', password: '', roles: [] });
  }

  return (
    <div>
      <PageTitle>Administration</PageTitle>
      {msg ? <Alert color={msg.ok ? 'teal' : 'red'} role={msg.ok ? 'status' : 'alert'} mb="sm">{msg.text}</Alert> : null}
      <Title order={2} size="h4" mb="xs">Users and roles</Title>
      {users.isLoading ? <Loading /> : null}
      {users.error ? <ErrorState error={users.error} what="users" /> : null}
      {users.data ? (
        <table className="data" aria-label="Users" data-testid="users-table">
          <thead>
            <tr><th>User</th><th>Roles</th><th>State</th><th>Actions</th></tr>
          </thead>
          <tbody>
            {users.data.users.map((u) => (
              <tr key={u.username}>
                <td>{u.username}{u.displayName ? <div><small>{u.displayName}</small></div> : null}</td>
                <td>
                  {editing[u.username] ? (
                    <MultiSelect aria-label={`Roles of ${u.username}`} data={ROLES} value={editing[u.username]} onChange={(v) => setEditing((e) => ({ ...e, [u.username]: v }))} w={320} />
                  ) : (
                    u.roles.map((r) => <Badge key={r} variant="light" mr={4}>{r}</Badge>)
                  )}
                </td>
                <td>{u.disabled ? <Badge color="gray">disabled</Badge> : <Badge color="teal">active</Badge>} {u.client ? <Badge variant="outline">client</Badge> : null} {u.totp ? <Badge variant="outline">2FA</Badge> : null}</td>
                <td>
                  <Group gap={4}>
                    {editing[u.username] ? (
                      <>
                        <Button size="compact-xs" onClick={() => void act(() => api(`/api/users/${encodeURIComponent(u.username)}`, { method: 'PATCH', body: { roles: editing[u.username] } }), `Roles of ${u.username} saved.`).then((ok) => ok && setEditing(({ [u.username]: _, ...rest }) => rest))}>Save roles</Button>
                        <Button size="compact-xs" variant="default" onClick={() => setEditing(({ [u.username]: _, ...rest }) => rest)}>Cancel</Button>
                      </>
                    ) : (
                      <Button size="compact-xs" variant="light" onClick={() => setEditing((e) => ({ ...e, [u.username]: u.roles }))}>Change roles</Button>
                    )}
                    <Button size="compact-xs" variant="default" onClick={() => void act(() => api(`/api/users/${encodeURIComponent(u.username)}`, { method: 'PATCH', body: { disabled: !u.disabled } }), `${u.username} ${u.disabled ? 'enabled' : 'disabled'}.`)}>
                      {u.disabled ? 'Enable' : 'Disable'}
                    </Button>
                  </Group>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <Title order={2} size="h4" mt="lg" mb="xs">Add a user</Title>
      <form onSubmit={add}>
        <Group align="flex-end">
          <TextInput label="Username" required value={form.username} onChange={(e) => setForm({ ...form, username: e.currentTarget.value })} w={180} />
          <PasswordInput label="Initial password" description="At least 12 characters" required value={form.password} onChange={(e) => setForm({ ...form, password: e.currentTarget.value })} w={220} />
          <MultiSelect label="Roles" data={ROLES} value={form.roles} onChange={(v) => setForm({ ...form, roles: v })} w={320} required />
          <Button type="submit">Add user</Button>
        </Group>
      </form>
    </div>
  );
}
