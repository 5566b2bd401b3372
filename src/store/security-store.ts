/** SQL for users, sessions, the signing key, break-the-glass grants and disclosures. */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Queryable } from './db.js';

export interface UserRow {
  id: string;
  username: string;
  displayName: string | null;
  roles: string[];
  passwordHash: string;
  isClient: boolean;
  disabled: boolean;
  totpSecret: string | null;
  failedLogins: number;
  lockedUntil: Date | null;
  createdAt: Date;
}

interface RawUser {
  id: string;
  username: string;
  display_name: string | null;
  roles: string[];
  password_hash: string;
  is_client: boolean;
  disabled: boolean;
  totp_secret: string | null;
  failed_logins: number;
  locked_until: string | Date | null;
  created_at: string | Date;
}

const toDate = (v: string | Date | null): Date | null => (v === null ? null : v instanceof Date ? v : new Date(v));

function toUser(r: RawUser): UserRow {
  return {
    id: r.id,
    username: r.username,
    displayName: r.display_name,
    roles: r.roles ?? [],
    passwordHash: r.password_hash,
    isClient: r.is_client,
    disabled: r.disabled,
    totpSecret: r.totp_secret,
    failedLogins: Number(r.failed_logins),
    lockedUntil: toDate(r.locked_until),
    createdAt: toDate(r.created_at) as Date,
  };
}

export async function insertUser(
  q: Queryable,
  u: { username: string; roles: string[]; passwordHash: string; displayName?: string; isClient?: boolean },
): Promise<UserRow> {
  const r = await q.query<RawUser>(
    `INSERT INTO app_user (id, username, display_name, roles, password_hash, is_client) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
    [randomUUID(), u.username, u.displayName ?? null, u.roles, u.passwordHash, u.isClient ?? false],
  );
  return toUser(r.rows[0] as RawUser);
}

export async function findUserByName(q: Queryable, username: string): Promise<UserRow | undefined> {
  const r = await q.query<RawUser>('SELECT * FROM app_user WHERE username = $1', [username]);
  return r.rows[0] ? toUser(r.rows[0]) : undefined;
}

export async function findUserById(q: Queryable, id: string): Promise<UserRow | undefined> {
  const r = await q.query<RawUser>('SELECT * FROM app_user WHERE id = $1', [id]);
  return r.rows[0] ? toUser(r.rows[0]) : undefined;
}

export async function listUsers(q: Queryable): Promise<UserRow[]> {
  return (await q.query<RawUser>('SELECT * FROM app_user ORDER BY username')).rows.map(toUser);
}

export async function updateUser(
  q: Queryable,
  username: string,
  patch: { roles?: string[]; disabled?: boolean; passwordHash?: string; totpSecret?: string | null },
): Promise<UserRow | undefined> {
  const sets: string[] = ['updated_at = now()'];
  const params: unknown[] = [username];
  if (patch.roles) sets.push(`roles = $${params.push(patch.roles)}`);
  if (patch.disabled !== undefined) sets.push(`disabled = $${params.push(patch.disabled)}`);
  if (patch.passwordHash) sets.push(`password_hash = $${params.push(patch.passwordHash)}`, 'failed_logins = 0', 'locked_until = NULL');
  if (patch.totpSecret !== undefined) sets.push(`totp_secret = $${params.push(patch.totpSecret)}`);
  const r = await q.query<RawUser>(`UPDATE app_user SET ${sets.join(', ')} WHERE username = $1 RETURNING *`, params);
  if (patch.disabled) await q.query('UPDATE auth_session SET revoked_at = now() WHERE revoked_at IS NULL AND user_id = (SELECT id FROM app_user WHERE username = $1)', [username]);
  return r.rows[0] ? toUser(r.rows[0]) : undefined;
}

export async function countActiveAdmins(q: Queryable): Promise<number> {
  const r = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM app_user WHERE NOT disabled AND 'admin' = ANY(roles)`);
  return Number(r.rows[0]?.n ?? 0);
}

/** Records a failed login; locks the account for lockSeconds after maxFailures in a row. */
export async function recordLoginFailure(q: Queryable, userId: string, maxFailures: number, lockSeconds: number): Promise<void> {
  await q.query(
    `UPDATE app_user SET failed_logins = failed_logins + 1,
       locked_until = CASE WHEN failed_logins + 1 >= $2 THEN now() + make_interval(secs => $3) ELSE locked_until END
     WHERE id = $1`,
    [userId, maxFailures, lockSeconds],
  );
}

export async function recordLoginSuccess(q: Queryable, userId: string): Promise<void> {
  await q.query('UPDATE app_user SET failed_logins = 0, locked_until = NULL WHERE id = $1 AND (failed_logins <> 0 OR locked_until IS NOT NULL)', [userId]);
}

// sessions
export interface SessionRow {
  id: string;
  userId: string;
  scope: string | null;
  lastSeen: Date;
  revoked: boolean;
}

export async function insertSession(q: Queryable, userId: string, refreshHash: string, scope: string | undefined): Promise<string> {
  const id = randomUUID();
  await q.query('INSERT INTO auth_session (id, user_id, refresh_hash, scope) VALUES ($1, $2, $3, $4)', [id, userId, refreshHash, scope ?? null]);
  return id;
}

export async function findSessionByRefresh(q: Queryable, refreshHash: string): Promise<SessionRow | undefined> {
  const r = await q.query<{ id: string; user_id: string; scope: string | null; last_seen: string | Date; revoked_at: unknown }>(
    'SELECT id, user_id, scope, last_seen, revoked_at FROM auth_session WHERE refresh_hash = $1',
    [refreshHash],
  );
  const s = r.rows[0];
  return s ? { id: s.id, userId: s.user_id, scope: s.scope, lastSeen: toDate(s.last_seen) as Date, revoked: s.revoked_at !== null } : undefined;
}

export async function findSession(q: Queryable, id: string): Promise<SessionRow | undefined> {
  const r = await q.query<{ id: string; user_id: string; scope: string | null; last_seen: string | Date; revoked_at: unknown }>(
    'SELECT id, user_id, scope, last_seen, revoked_at FROM auth_session WHERE id = $1',
    [id],
  );
  const s = r.rows[0];
  return s ? { id: s.id, userId: s.user_id, scope: s.scope, lastSeen: toDate(s.last_seen) as Date, revoked: s.revoked_at !== null } : undefined;
}

export async function rotateRefresh(q: Queryable, sessionId: string, refreshHash: string): Promise<void> {
  await q.query('UPDATE auth_session SET refresh_hash = $2, last_seen = now() WHERE id = $1', [sessionId, refreshHash]);
}

export async function touchSession(q: Queryable, sessionId: string): Promise<void> {
  await q.query('UPDATE auth_session SET last_seen = now() WHERE id = $1', [sessionId]);
}

export async function revokeSession(q: Queryable, sessionId: string): Promise<void> {
  await q.query('UPDATE auth_session SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [sessionId]);
}

/** The token signing secret: created once and kept in the database, so `custodian token` and the server agree. */
export async function signingSecret(q: Queryable): Promise<Uint8Array> {
  await q.query('INSERT INTO security_key (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', ['jwt', randomBytes(32).toString('base64')]);
  const r = await q.query<{ secret: string }>('SELECT secret FROM security_key WHERE name = $1', ['jwt']);
  return new Uint8Array(Buffer.from((r.rows[0] as { secret: string }).secret, 'base64'));
}

// break-the-glass
export async function insertBreakGlass(q: Queryable, g: { userId: string; patientId: string; reason: string; minutes: number }): Promise<{ id: string; expiresAt: Date }> {
  const r = await q.query<{ id: string; expires_at: string | Date }>(
    `INSERT INTO break_glass_grant (id, user_id, patient_id, reason, expires_at) VALUES ($1, $2, $3, $4, now() + make_interval(mins => $5)) RETURNING id, expires_at`,
    [randomUUID(), g.userId, g.patientId, g.reason, g.minutes],
  );
  const row = r.rows[0] as { id: string; expires_at: string | Date };
  return { id: row.id, expiresAt: toDate(row.expires_at) as Date };
}

export async function activeBreakGlassPatients(q: Queryable, userId: string): Promise<string[]> {
  const r = await q.query<{ patient_id: string }>('SELECT DISTINCT patient_id FROM break_glass_grant WHERE user_id = $1 AND expires_at > now()', [userId]);
  return r.rows.map((x) => x.patient_id);
}

// labels and compartments for visibility decisions
export interface VisibilityFacts {
  compartments: string[];
  /** meta.security of the labelled patients among the compartments. */
  patientSecurity: Record<string, { system?: string; code?: string }[]>;
}

/** One query: each resource's patient compartments and the security labels of those patients. */
export async function visibilityFacts(q: Queryable, keys: { resourceType: string; id: string }[]): Promise<Map<string, VisibilityFacts>> {
  const out = new Map<string, VisibilityFacts>();
  if (keys.length === 0) return out;
  const r = await q.query<{ resource_type: string; id: string; compartments: string[]; patient_security: Record<string, { system?: string; code?: string }[]> | string | null }>(
    `SELECT r.resource_type, r.id, r.compartments,
       (SELECT json_object_agg(p.id, p.content->'meta'->'security') FROM resource p
         WHERE p.resource_type = 'Patient' AND p.id = ANY(r.compartments) AND p.content->'meta' ? 'security') AS patient_security
     FROM unnest($1::text[], $2::text[]) AS k(t, i) JOIN resource r ON r.resource_type = k.t AND r.id = k.i`,
    [keys.map((k) => k.resourceType), keys.map((k) => k.id)],
  );
  for (const row of r.rows) {
    const ps = typeof row.patient_security === 'string' ? JSON.parse(row.patient_security) : row.patient_security;
    out.set(`${row.resource_type}/${row.id}`, { compartments: row.compartments ?? [], patientSecurity: ps ?? {} });
  }
  return out;
}

// disclosures
export interface Disclosure {
  id: string;
  patientId: string;
  disclosedAt: string;
  recipient: string;
  description: string;
  purpose: string;
  recordedBy: string | null;
}

export async function insertDisclosure(q: Queryable, d: Omit<Disclosure, 'id'>): Promise<Disclosure> {
  const id = randomUUID();
  await q.query(
    'INSERT INTO disclosure (id, patient_id, disclosed_at, recipient, description, purpose, recorded_by) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [id, d.patientId, d.disclosedAt, d.recipient, d.description, d.purpose, d.recordedBy],
  );
  return { id, ...d };
}

/** Disclosures for a patient in the six years before `asOf` (HIPAA 164.528 accounting period). */
export async function listDisclosures(q: Queryable, patientId: string, asOf = new Date()): Promise<Disclosure[]> {
  const r = await q.query<{ id: string; patient_id: string; disclosed_at: string | Date; recipient: string; description: string; purpose: string; recorded_by: string | null }>(
    `SELECT * FROM disclosure WHERE patient_id = $1 AND disclosed_at >= $2::timestamptz - interval '6 years' ORDER BY disclosed_at DESC`,
    [patientId, asOf.toISOString()],
  );
  return r.rows.map((x) => ({
    id: x.id,
    patientId: x.patient_id,
    disclosedAt: (toDate(x.disclosed_at) as Date).toISOString(),
    recipient: x.recipient,
    description: x.description,
    purpose: x.purpose,
    recordedBy: x.recorded_by,
  }));
}
