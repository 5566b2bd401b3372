/** The HTTP client: bearer token, one refresh on 401, errors as the OperationOutcome's text. */
import { isMissingRoute, outcomeText } from './lib/outcome.js';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown,
    /** The route itself is absent from this server build. */
    readonly missingRoute: boolean,
  ) {
    super(message);
  }
}

export interface StoredSession {
  accessToken?: string;
  refreshToken?: string;
  username: string;
  roles: string[];
  /** Signed in to a server without authentication (security not in this build). */
  open?: boolean;
}

const KEY = 'custodian.session';
let session: StoredSession | null = null;
try {
  const raw = sessionStorage.getItem(KEY);
  session = raw ? (JSON.parse(raw) as StoredSession) : null;
} catch {
  session = null;
}
const listeners = new Set<() => void>();

export function getSession(): StoredSession | null {
  return session;
}
export function setSession(s: StoredSession | null): void {
  session = s;
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
  for (const l of listeners) l();
}
export function onSessionChange(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  /** Send the body as application/fhir+json. */
  fhir?: boolean;
  ifMatch?: string;
  signal?: AbortSignal;
  /** Do not try to refresh the token on 401 (sign-in itself). */
  noRefresh?: boolean;
}

async function parse(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

let refreshing: Promise<boolean> | null = null;
async function refresh(): Promise<boolean> {
  const s = session;
  if (!s?.refreshToken) return false;
  refreshing ??= (async () => {
    try {
      const res = await fetch('/auth/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: s.refreshToken }) });
      if (!res.ok) return false;
      const b = (await res.json()) as { access_token: string; refresh_token?: string };
      setSession({ ...s, accessToken: b.access_token, refreshToken: b.refresh_token ?? s.refreshToken });
      return true;
    } catch {
      return false;
    } finally {
      setTimeout(() => (refreshing = null), 0);
    }
  })();
  return refreshing;
}

export async function api<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/fhir+json, application/json' };
  if (session?.accessToken) headers.authorization = `Bearer ${session.accessToken}`;
  if (opts.body !== undefined) headers['content-type'] = opts.fhir ? 'application/fhir+json' : 'application/json';
  if (opts.ifMatch) headers['if-match'] = opts.ifMatch;
  let res: Response;
  try {
    res = await fetch(path, { method: opts.method ?? 'GET', headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal: opts.signal });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError('The server cannot be reached; check your connection and try again.', 0, undefined, false);
  }
  if (res.status === 401 && !opts.noRefresh && session?.refreshToken) {
    if (await refresh()) return api<T>(path, { ...opts, noRefresh: true });
    setSession(null);
  } else if (res.status === 401 && !opts.noRefresh && session && !session.open) {
    setSession(null);
  }
  const body = await parse(res);
  if (!res.ok) {
    const missing = isMissingRoute(res.status, body);
    throw new ApiError(outcomeText(body, `${res.status} ${res.statusText || 'error'}`), res.status, body, missing);
  }
  return body as T;
}

export function missing(e: unknown): boolean {
  return e instanceof ApiError && e.missingRoute;
}
