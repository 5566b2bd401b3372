/** Who is signed in: the stored session plus /api/me (permissions); "open" when the server has no sign-in. */
import { createContext, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError, getSession, onSessionChange, setSession, type StoredSession } from './api';

export interface Me {
  username: string;
  roles: string[];
  permissions: string[];
  open: boolean;
}

interface SessionValue {
  session: StoredSession | null;
  me: Me | undefined;
  loading: boolean;
  can(permission: string): boolean;
  signOut(): Promise<void>;
}

const Ctx = createContext<SessionValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const session = useSyncExternalStore(onSessionChange, getSession);
  const qc = useQueryClient();
  const meQuery = useQuery({
    queryKey: ['me', session?.username, session?.accessToken ? 'token' : 'none'],
    enabled: !!session && !session.open,
    queryFn: () => api<{ username: string; roles: string[]; permissions: string[] }>('/api/me'),
    staleTime: 60_000,
    retry: false,
  });
  const [me, setMe] = useState<Me | undefined>(undefined);
  useEffect(() => {
    if (!session) setMe(undefined);
    else if (session.open) setMe({ username: session.username, roles: session.roles, permissions: ['*'], open: true });
    else if (meQuery.data) setMe({ ...meQuery.data, open: false });
    else if (meQuery.error instanceof ApiError && meQuery.error.missingRoute) setMe({ username: session.username, roles: session.roles, permissions: ['*'], open: false });
  }, [session, meQuery.data, meQuery.error]);
  const value: SessionValue = {
    session,
    me,
    loading: !!session && !session.open && meQuery.isLoading,
    can: (p) => !!me && (me.permissions.includes('*') || me.permissions.includes(p)),
    signOut: async () => {
      if (session?.accessToken) await api('/auth/logout', { method: 'POST', noRefresh: true }).catch(() => undefined);
      setSession(null);
      qc.clear();
    },
  };
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useSession(): SessionValue {
  const v = useContext(Ctx);
  if (!v) throw new Error('useSession outside SessionProvider');
  return v;
}
