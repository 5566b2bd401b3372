/** Sign-in: username and password (and a one-time code when the account has one). */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Alert, Button, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { api, ApiError, setSession } from '../api';

interface LoginAnswer {
  access_token: string;
  refresh_token?: string;
  username: string;
  roles: string[];
}

export function SignIn() {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [needTotp, setNeedTotp] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [noAuth, setNoAuth] = useState(false);
  const first = useRef<HTMLInputElement>(null);

  useEffect(() => {
    document.title = 'Sign in · Custodian';
    first.current?.focus();
    // Probe: a server without the security module has no /api/me route at all.
    api('/api/me', { noRefresh: true }).catch((e: unknown) => {
      if (e instanceof ApiError && e.missingRoute) setNoAuth(true);
    });
  }, []);

  async function submit(ev: FormEvent) {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, string> = { username, password };
      if (needTotp && totp) body.totp = totp;
      const r = await api<LoginAnswer>('/auth/login', { method: 'POST', body, noRefresh: true });
      setSession({ accessToken: r.access_token, refreshToken: r.refresh_token, username: r.username, roles: r.roles });
    } catch (e) {
      if (e instanceof ApiError && e.missingRoute) setNoAuth(true);
      const msg = e instanceof Error ? e.message : String(e);
      if (/one-time code/i.test(msg)) setNeedTotp(true);
      setError(msg);
      setPassword('');
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin">
      <form onSubmit={submit} aria-labelledby="signin-title">
        <Stack>
          <div>
            <Title order={1} size="h2" id="signin-title">
              Sign in to Custodian
            </Title>
            <Text c="dimmed" size="sm">
              Health information management workbench
            </Text>
          </div>
          {noAuth ? (
            <Alert color="gray" title="Not available in this build" role="status">
              This server has no sign-in (the security module is not in this build). You can continue with open access.
              <Button mt="sm" size="xs" variant="light" onClick={() => setSession({ username: 'open-access', roles: [], open: true })}>
                Continue without sign-in
              </Button>
            </Alert>
          ) : null}
          {error ? (
            <Alert color="red" title="Sign-in failed" role="alert">
              {error}
            </Alert>
          ) : null}
          <TextInput ref={first} label="Username" name="username" autoComplete="username" required value={username} onChange={(e) => setUsername(e.currentTarget.value)} />
          <PasswordInput label="Password" name="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.currentTarget.value)} />
          {needTotp ? (
            <TextInput label="One-time code" name="totp" autoComplete="one-time-code" inputMode="numeric" value={totp} onChange={(e) => setTotp(e.currentTarget.value)} />
          ) : null}
          <Button type="submit" loading={busy}>
            Sign in
          </Button>
        </Stack>
      </form>
    </main>
  );
}
