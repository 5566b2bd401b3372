/** Users and tokens for security tests: an app with auth on, one user per role. */
import type { FastifyInstance } from 'fastify';
import type { Backend } from '../helpers/db.js';
import { testApp } from '../helpers/app.js';
import type { Db } from '../../src/store/db.js';
import { hashPassword } from '../../src/security/password.js';
import { ROLES, type Role } from '../../src/security/roles.js';
import { insertUser } from '../../src/store/security-store.js';
import type { AuthOptions } from '../../src/server/security-plugin.js';

export const PASSWORD = 'correct horse battery staple';
/** Cheap scrypt parameters for test users only (the hash records its parameters; production uses N=2^15). */
export const FAST_KDF = { N: 1024, r: 8, p: 1 };

export interface SecureApp {
  app: FastifyInstance;
  db: Db;
  close(): Promise<void>;
  login(username: string, password?: string): Promise<string>;
  tokens: Record<Role, string>;
  as(role: Role): { authorization: string };
}

let cachedHash: Promise<string> | undefined;

export async function secureApp(backend: Backend, auth: AuthOptions = {}): Promise<SecureApp> {
  const t = await testApp(backend, { auth: { jwtSecret: new TextEncoder().encode('test-secret-test-secret-test-secret!'), loginPerMinute: 1000, ...auth } });
  cachedHash ??= hashPassword(PASSWORD, FAST_KDF);
  const hash = await cachedHash;
  for (const r of ROLES) await insertUser(t.db, { username: `${r}-user`, roles: [r], passwordHash: hash });
  const login = async (username: string, password = PASSWORD): Promise<string> => {
    const res = await t.app.inject({ method: 'POST', url: '/auth/login', payload: { username, password } });
    if (res.statusCode !== 200) throw new Error(`login ${username}: ${res.statusCode} ${res.body}`);
    return (res.json() as { access_token: string }).access_token;
  };
  const tokens = {} as Record<Role, string>;
  for (const r of ROLES) tokens[r] = await login(`${r}-user`);
  return { ...t, login, tokens, as: (role) => ({ authorization: `Bearer ${tokens[role]}` }) };
}
