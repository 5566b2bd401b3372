/** Login, refresh, logout, client credentials, /api/me, user administration and break-the-glass. */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Task } from '@medplum/fhirtypes';
import { buildAuditEvent } from '../audit/balp.js';
import { badRequest, conflict, issue, notFound, outcome, OperationOutcomeError, unauthorized } from '../fhir/outcomes.js';
import { DUMMY_HASH, hashPassword, verifyPassword } from '../security/password.js';
import { isRole, ROLES } from '../security/roles.js';
import { hashOpaqueToken, newOpaqueToken, signAccessToken } from '../security/tokens.js';
import { verifyTotp } from '../security/totp.js';
import { auditInTransaction } from '../store/audit-store.js';
import { writeResources } from '../store/repository.js';
import {
  activeBreakGlassPatients, countActiveAdmins, findSessionByRefresh, findUserById, findUserByName, insertBreakGlass, insertSession, insertUser, listUsers,
  recordLoginFailure, recordLoginSuccess, revokeSession, rotateRefresh, updateUser, type UserRow,
} from '../store/security-store.js';
import type { SecurityRuntime } from './security-types.js';

export const WORK_TYPE_SYSTEM = 'http://custodian.dev/fhir/CodeSystem/work-type';

function body(request: FastifyRequest): Record<string, unknown> {
  const b = request.body;
  if (typeof b === 'string') return Object.fromEntries(new URLSearchParams(b));
  return b && typeof b === 'object' ? (b as Record<string, unknown>) : {};
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

export function publicUser(u: UserRow): Record<string, unknown> {
  return { username: u.username, displayName: u.displayName ?? undefined, roles: u.roles, client: u.isClient, disabled: u.disabled, totp: !!u.totpSecret, createdAt: u.createdAt.toISOString() };
}

export async function registerAuthRoutes(app: FastifyInstance, rt: SecurityRuntime): Promise<void> {
  const { db, secret, options } = rt;

  const fail = async (request: FastifyRequest, username: string | undefined, why: string): Promise<never> => {
    await rt.recordAudit({ kind: { type: 'login' }, success: false, user: username ? { username } : undefined, clientAddress: request.ip, description: why });
    throw unauthorized('Invalid username or password');
  };

  async function issueTokens(user: UserRow, scope: string | undefined, patient: string | undefined, withRefresh: boolean): Promise<Record<string, unknown>> {
    const refresh = newOpaqueToken();
    const sid = await insertSession(db, user.id, hashOpaqueToken(withRefresh ? refresh : newOpaqueToken()), scope);
    const access = await signAccessToken({ sub: user.id, username: user.username, roles: user.roles, sid, scope, patient }, secret, options.accessTokenSeconds);
    return {
      access_token: access,
      token_type: 'Bearer',
      expires_in: options.accessTokenSeconds,
      ...(withRefresh ? { refresh_token: refresh } : {}),
      ...(scope ? { scope } : {}),
      ...(patient ? { patient } : {}),
      username: user.username,
      roles: user.roles,
    };
  }

  /** Checks a password (and TOTP) with lockout; returns the user or throws 401 after auditing the failure. */
  async function checkCredentials(request: FastifyRequest, username: string | undefined, password: string | undefined, totp: string | undefined, client: boolean): Promise<UserRow> {
    if (!username || !password) {
      await rt.recordAudit({ kind: { type: 'login' }, success: false, clientAddress: request.ip, description: 'missing credentials' });
      throw badRequest('username and password are required');
    }
    const user = await findUserByName(db, username);
    if (!user || user.disabled || user.isClient !== client) {
      await verifyPassword(password, DUMMY_HASH);
      return fail(request, username, user ? (user.disabled ? 'account disabled' : 'wrong account kind') : 'unknown user');
    }
    if (user.lockedUntil && user.lockedUntil.getTime() > Date.now()) {
      await rt.recordAudit({ kind: { type: 'login' }, success: false, user: { username }, clientAddress: request.ip, description: 'account locked' });
      throw new OperationOutcomeError(outcome(issue('error', 'login', 'The account is locked after repeated failed sign-ins; try again later')), 401);
    }
    if (!(await verifyPassword(password, user.passwordHash))) {
      await recordLoginFailure(db, user.id, options.maxLoginFailures, options.lockoutSeconds);
      return fail(request, username, 'wrong password');
    }
    if (user.totpSecret) {
      if (!totp) throw new OperationOutcomeError(outcome(issue('error', 'login', 'A one-time code (totp) is required for this account')), 401);
      if (!verifyTotp(user.totpSecret, totp)) {
        await recordLoginFailure(db, user.id, options.maxLoginFailures, options.lockoutSeconds);
        return fail(request, username, 'wrong one-time code');
      }
    }
    await recordLoginSuccess(db, user.id);
    return user;
  }

  app.post('/auth/login', async (request) => {
    const b = body(request);
    const user = await checkCredentials(request, str(b.username), str(b.password), str(b.totp), false);
    const tokens = await issueTokens(user, str(b.scope), str(b.patient), true);
    await rt.recordAudit({ kind: { type: 'login' }, success: true, user: { username: user.username, roles: user.roles }, clientAddress: request.ip });
    return tokens;
  });

  app.post('/auth/token', async (request) => {
    const b = body(request);
    if (b.grant_type === 'refresh_token') return refresh(request, str(b.refresh_token));
    if (b.grant_type !== 'client_credentials') throw badRequest('grant_type must be client_credentials or refresh_token');
    const user = await checkCredentials(request, str(b.client_id), str(b.client_secret), undefined, true);
    const tokens = await issueTokens(user, str(b.scope), undefined, false);
    await rt.recordAudit({ kind: { type: 'login' }, success: true, user: { username: user.username, roles: user.roles }, clientAddress: request.ip, description: 'client credentials' });
    return tokens;
  });

  async function refresh(request: FastifyRequest, token: string | undefined): Promise<Record<string, unknown>> {
    if (!token) throw badRequest('refresh_token is required');
    const s = await findSessionByRefresh(db, hashOpaqueToken(token));
    if (!s || s.revoked) throw unauthorized('The refresh token is invalid or logged off');
    if (Date.now() - s.lastSeen.getTime() > options.idleTimeoutSeconds * 1000) {
      await revokeSession(db, s.id);
      await rt.recordAudit({ kind: { type: 'logout' }, success: true, clientAddress: request.ip, description: 'automatic log-off after inactivity' });
      throw unauthorized('Logged off after inactivity; sign in again');
    }
    const user = await findUserById(db, s.userId);
    if (!user || user.disabled) throw unauthorized('The account is disabled');
    const next = newOpaqueToken();
    await rotateRefresh(db, s.id, hashOpaqueToken(next));
    const access = await signAccessToken({ sub: user.id, username: user.username, roles: user.roles, sid: s.id, scope: s.scope ?? undefined }, secret, options.accessTokenSeconds);
    return { access_token: access, token_type: 'Bearer', expires_in: options.accessTokenSeconds, refresh_token: next, username: user.username, roles: user.roles };
  }

  app.post('/auth/refresh', async (request) => refresh(request, str(body(request).refresh_token)));

  app.post('/auth/logout', async (request, reply) => {
    const sec = request.security;
    if (!sec) throw unauthorized();
    await revokeSession(db, sec.sid);
    (rt as SecurityRuntime & { forgetSession?: (sid: string) => void }).forgetSession?.(sec.sid);
    if (request.auditInfo) request.auditInfo.kind = { type: 'logout' };
    return reply.code(204).send();
  });

  app.get('/api/me', async (request) => {
    const sec = request.security;
    if (!sec) throw unauthorized();
    return {
      username: sec.user.username,
      roles: sec.user.roles,
      permissions: [...sec.permissions].sort(),
      scope: sec.scope,
      breakGlass: await activeBreakGlassPatients(db, sec.user.id),
    };
  });

  app.get('/api/users', async () => ({ users: (await listUsers(db)).map(publicUser) }));

  app.post('/api/users', async (request, reply) => {
    const b = body(request);
    const username = str(b.username);
    const password = str(b.password);
    const roles = Array.isArray(b.roles) ? b.roles.map(String) : str(b.role) ? [String(b.role)] : [];
    if (!username || !/^[A-Za-z0-9._@-]{2,64}$/.test(username)) throw badRequest('username: 2-64 letters, digits, . _ @ -');
    if (!password || password.length < 12) throw badRequest('password: at least 12 characters');
    if (roles.length === 0 || !roles.every(isRole)) throw badRequest(`roles: one or more of ${ROLES.join(', ')}`);
    if (await findUserByName(db, username)) throw conflict(`User ${username} already exists`);
    const u = await insertUser(db, { username, roles, passwordHash: await hashPassword(password), isClient: b.client === true, displayName: str(b.displayName) });
    if (request.auditInfo) request.auditInfo.kind = { type: 'user-admin' };
    return reply.code(201).send(publicUser(u));
  });

  app.patch<{ Params: { username: string } }>('/api/users/:username', async (request) => {
    const b = body(request);
    const patch: { roles?: string[]; disabled?: boolean } = {};
    if (b.roles !== undefined) {
      if (!Array.isArray(b.roles) || b.roles.length === 0 || !b.roles.every((r) => typeof r === 'string' && isRole(r))) throw badRequest(`roles: one or more of ${ROLES.join(', ')}`);
      patch.roles = b.roles as string[];
    }
    if (b.disabled !== undefined) patch.disabled = b.disabled === true;
    const target = await findUserByName(db, request.params.username);
    if (!target) throw notFound(`No user ${request.params.username}`);
    const removesAdmin = target.roles.includes('admin') && (patch.disabled || (patch.roles && !patch.roles.includes('admin')));
    if (removesAdmin && (await countActiveAdmins(db)) <= 1) throw conflict('This is the last active admin; add another admin first');
    const u = await updateUser(db, request.params.username, patch);
    if (request.auditInfo) request.auditInfo.kind = { type: 'user-admin' };
    return publicUser(u as UserRow);
  });

  app.post('/api/break-the-glass', async (request, reply) => {
    const sec = request.security;
    if (!sec) throw unauthorized();
    const b = body(request);
    const patient = str(b.patient)?.replace(/^Patient\//, '');
    const reason = str(b.reason)?.trim();
    if (!patient) throw badRequest('patient is required');
    if (!reason || reason.length < 10) throw badRequest('reason is required: state why you need this record (at least 10 characters)');
    const found = await db.query('SELECT 1 FROM resource WHERE resource_type = $1 AND id = $2 AND NOT deleted', ['Patient', patient]);
    if (found.rows.length === 0) throw notFound(`No Patient/${patient}`);
    const minutes = Math.min(Number(b.minutes) > 0 ? Number(b.minutes) : options.breakGlassMinutes, options.breakGlassMinutes);
    const now = new Date();
    const result = await db.transaction(async (tx) => {
      const grant = await insertBreakGlass(tx, { userId: sec.user.id, patientId: patient, reason, minutes });
      const task: Task = {
        resourceType: 'Task',
        id: randomUUID(),
        status: 'requested',
        intent: 'order',
        priority: 'urgent',
        code: { coding: [{ system: WORK_TYPE_SYSTEM, code: 'break-the-glass-review', display: 'Break-the-glass review' }], text: 'Break-the-glass review' },
        description: `${sec.user.username} opened Patient/${patient} by break-the-glass: ${reason}`,
        for: { reference: `Patient/${patient}` },
        focus: { reference: `Patient/${patient}` },
        authoredOn: now.toISOString(),
        requester: { identifier: { system: 'http://custodian.dev/users', value: sec.user.username }, display: sec.user.username },
        owner: { identifier: { system: 'http://custodian.dev/fhir/CodeSystem/role', value: 'privacy-officer' }, display: 'Privacy officer' },
        businessStatus: { text: 'awaiting privacy review' },
        restriction: { period: { start: now.toISOString(), end: new Date(now.getTime() + 7 * 86_400_000).toISOString() } },
        note: [{ text: 'Review within 7 days (Custodian default; configurable practice).' }],
        input: [{ type: { text: 'reason' }, valueString: reason }, { type: { text: 'expires' }, valueDateTime: grant.expiresAt.toISOString() }],
      };
      await writeResources(tx, [{ resourceType: 'Task', id: task.id as string, method: 'PUT', resource: task }]);
      if (rt.audit) {
        await auditInTransaction(tx, buildAuditEvent({
          kind: { type: 'break-the-glass' }, success: true, recorded: now,
          user: { username: sec.user.username, id: sec.user.id, roles: sec.user.roles }, clientAddress: request.ip,
          patientIds: [patient], references: [`Task/${task.id}`], purposeOfUse: 'ETREAT', reason,
          description: `break-the-glass for ${minutes} minutes`,
        }));
      }
      return { grant, taskId: task.id as string };
    });
    if (request.auditInfo) request.auditInfo.handled = true; // audited above, in the same transaction as the grant and task
    return reply.code(201).send({ patient, expiresAt: result.grant.expiresAt.toISOString(), reviewTask: `Task/${result.taskId}` });
  });
}
