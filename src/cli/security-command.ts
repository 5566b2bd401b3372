/**
 * custodian user add|list|disable|enable|role|totp, custodian token, custodian audit verify|report.
 * These work on the database directly (--data DIR or DATABASE_URL): whoever can reach the database
 * can administer it. Passwords come from a prompt or stdin, never from the command line.
 */
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { buildAuditEvent } from '../audit/balp.js';
import { hashPassword } from '../security/password.js';
import { isRole, ROLES } from '../security/roles.js';
import { hashOpaqueToken, newOpaqueToken, signAccessToken } from '../security/tokens.js';
import { newTotpSecret, otpauthUri } from '../security/totp.js';
import { auditInTransaction, countAudit, queryAudit, verifyAuditChain } from '../store/audit-store.js';
import type { Db } from '../store/db.js';
import { openStore } from '../store/open.js';
import { countActiveAdmins, findUserByName, insertSession, insertUser, listUsers, signingSecret, updateUser } from '../store/security-store.js';
import { badRequest } from '../fhir/outcomes.js';
import { storeConfig } from './config.js';
import { progressBar } from './output.js';

const dataOption = ['--data <dir>', 'embedded database folder (default ./.custodian, or CUSTODIAN_DATA); ignored when DATABASE_URL is set'] as const;

/** CUSTODIAN_JWT_SECRET (at least 32 characters) when set; else the key kept in the database. */
export async function jwtSecret(db: Db): Promise<Uint8Array> {
  const env = process.env.CUSTODIAN_JWT_SECRET;
  if (env) {
    if (env.length < 32) throw badRequest('CUSTODIAN_JWT_SECRET must be at least 32 characters');
    return new TextEncoder().encode(env);
  }
  return signingSecret(db);
}

async function withDb<T>(opts: { data?: string }, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openStore(storeConfig(opts));
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

async function auditAdmin(db: Db, description: string): Promise<void> {
  await db.transaction((tx) => auditInTransaction(tx, buildAuditEvent({ kind: { type: 'user-admin' }, success: true, user: { username: cliActor() }, description })));
}

async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  if (!process.stdin.isTTY) throw badRequest('No terminal to prompt for the password: use --password-stdin');
  const ask = (q: string): Promise<string> =>
    new Promise((resolve) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
      const out = rl as unknown as { _writeToOutput: (s: string) => void };
      process.stderr.write(q);
      out._writeToOutput = () => undefined; // do not echo the password
      rl.question('', (a) => {
        rl.close();
        process.stderr.write('\n');
        resolve(a);
      });
    });
  const a = await ask('Password: ');
  const b = await ask('Repeat password: ');
  if (a !== b) throw badRequest('The passwords do not match');
  return a;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
}

function checkRoles(roles: string[]): void {
  if (roles.length === 0 || !roles.every(isRole)) throw badRequest(`--role must be one of: ${ROLES.join(', ')}`);
}

export function registerSecurityCommands(program: Command): void {
  const user = program.command('user').description('manage user accounts and system clients (on the database directly)');

  user
    .command('add')
    .description('add a user (prompts for the password unless --password-stdin)')
    .requiredOption('--username <name>', 'sign-in name')
    .requiredOption('--role <role>', `role (repeat or comma-separate): ${ROLES.join(', ')}`, collect, [])
    .option('--password-stdin', 'read the password from standard input')
    .option('--client', 'a system client (client-credentials grant) rather than a person')
    .option('--display-name <name>', 'name shown in the app')
    .option(...dataOption)
    .action(async (opts: { username: string; role: string[]; passwordStdin?: boolean; client?: boolean; displayName?: string; data?: string }) => {
      checkRoles(opts.role);
      if (!/^[A-Za-z0-9._@-]{2,64}$/.test(opts.username)) throw badRequest('--username: 2-64 letters, digits, . _ @ -');
      const password = await readPassword(opts.passwordStdin === true);
      if (password.length < 12) throw badRequest('The password must have at least 12 characters');
      await withDb(opts, async (db) => {
        if (await findUserByName(db, opts.username)) throw badRequest(`User ${opts.username} already exists`);
        await insertUser(db, { username: opts.username, roles: opts.role, passwordHash: await hashPassword(password), isClient: opts.client === true, displayName: opts.displayName });
        await auditAdmin(db, `user add ${opts.username} roles=${opts.role.join(',')}`);
      });
      process.stdout.write(`Added ${opts.client ? 'client' : 'user'} ${opts.username} (${opts.role.join(', ')})\n`);
    });

  user
    .command('list')
    .description('list users')
    .option('--json', 'print JSON')
    .option(...dataOption)
    .action(async (opts: { json?: boolean; data?: string }) => {
      const users = await withDb(opts, listUsers);
      const rows = users.map((u) => ({ username: u.username, roles: u.roles, client: u.isClient, disabled: u.disabled, totp: !!u.totpSecret, locked: !!u.lockedUntil && u.lockedUntil > new Date() }));
      if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else for (const r of rows) process.stdout.write(`${r.username.padEnd(24)} ${r.roles.join(',').padEnd(28)} ${[r.client ? 'client' : '', r.disabled ? 'disabled' : '', r.totp ? 'totp' : '', r.locked ? 'locked' : ''].filter(Boolean).join(' ')}\n`);
    });

  const setDisabled = (disabled: boolean) => async (opts: { username: string; data?: string }) => {
    await withDb(opts, async (db) => {
      const u = await findUserByName(db, opts.username);
      if (!u) throw badRequest(`No user ${opts.username}`);
      if (disabled && u.roles.includes('admin') && !u.disabled && (await countActiveAdmins(db)) <= 1) throw badRequest('This is the last active admin; add another admin first');
      await updateUser(db, opts.username, { disabled });
      await auditAdmin(db, `user ${disabled ? 'disable' : 'enable'} ${opts.username}`);
    });
    process.stdout.write(`${disabled ? 'Disabled' : 'Enabled'} ${opts.username}\n`);
  };
  user.command('disable').description('disable a user and end their sessions').requiredOption('--username <name>').option(...dataOption).action(setDisabled(true));
  user.command('enable').description('enable a disabled user').requiredOption('--username <name>').option(...dataOption).action(setDisabled(false));

  user
    .command('role')
    .description("set a user's roles")
    .requiredOption('--username <name>')
    .requiredOption('--role <role>', 'role (repeat or comma-separate)', collect, [])
    .option(...dataOption)
    .action(async (opts: { username: string; role: string[]; data?: string }) => {
      checkRoles(opts.role);
      await withDb(opts, async (db) => {
        const u = await findUserByName(db, opts.username);
        if (!u) throw badRequest(`No user ${opts.username}`);
        if (u.roles.includes('admin') && !opts.role.includes('admin') && (await countActiveAdmins(db)) <= 1) throw badRequest('This is the last active admin; add another admin first');
        await updateUser(db, opts.username, { roles: opts.role });
        await auditAdmin(db, `user role ${opts.username} roles=${opts.role.join(',')}`);
      });
      process.stdout.write(`${opts.username}: ${opts.role.join(', ')}\n`);
    });

  user
    .command('totp')
    .description('turn on the TOTP second factor for a user and print the enrolment URI (or --off)')
    .requiredOption('--username <name>')
    .option('--off', 'turn it off')
    .option(...dataOption)
    .action(async (opts: { username: string; off?: boolean; data?: string }) => {
      const secret = opts.off ? null : newTotpSecret();
      await withDb(opts, async (db) => {
        if (!(await updateUser(db, opts.username, { totpSecret: secret }))) throw badRequest(`No user ${opts.username}`);
        await auditAdmin(db, `user totp ${opts.off ? 'off' : 'on'} ${opts.username}`);
      });
      if (secret) process.stdout.write(`Scan or enter in an authenticator app:\n${otpauthUri(secret, opts.username)}\n`);
      else process.stdout.write(`TOTP off for ${opts.username}\n`);
    });

  program
    .command('token')
    .description('print an access token for an existing user (for scripts)')
    .requiredOption('--username <name>')
    .option('--scope <scopes>', 'SMART scopes to limit the token, e.g. "user/*.rs"')
    .option('--minutes <n>', 'lifetime in minutes', '15')
    .option(...dataOption)
    .action(async (opts: { username: string; scope?: string; minutes: string; data?: string }) => {
      const minutes = Number(opts.minutes);
      if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60) throw badRequest('--minutes must be between 1 and 1440');
      const token = await withDb(opts, async (db) => {
        const u = await findUserByName(db, opts.username);
        if (!u) throw badRequest(`No user ${opts.username}`);
        if (u.disabled) throw badRequest(`User ${opts.username} is disabled`);
        const sid = await insertSession(db, u.id, hashOpaqueToken(newOpaqueToken()), opts.scope);
        await db.transaction((tx) => auditInTransaction(tx, buildAuditEvent({ kind: { type: 'login' }, success: true, user: { username: u.username, roles: u.roles }, description: `token issued by ${cliActor()}` })));
        return signAccessToken({ sub: u.id, username: u.username, roles: u.roles, sid, scope: opts.scope }, await jwtSecret(db), Math.round(minutes * 60));
      });
      process.stdout.write(`${token}\n`);
    });

  const audit = program.command('audit').description('the audit trail');
  audit
    .command('verify')
    .description('walk the hash chains and report the first broken link (exit 1 when broken); prints each chain\'s head')
    .option('--json', 'print JSON')
    .option(...dataOption)
    .action(async (opts: { json?: boolean; data?: string }) => {
      const started = Date.now();
      const r = await withDb(opts, async (db) => {
        const total = await countAudit(db);
        const bar = progressBar(!opts.json);
        const res = await verifyAuditChain(db, (n) => bar.update(n, total, 'events'));
        bar.stop();
        return res;
      });
      const seconds = (Date.now() - started) / 1000;
      if (opts.json) process.stdout.write(`${JSON.stringify({ ...r, seconds })}\n`);
      else if (r.ok) {
        const used = r.heads.filter((h) => h.seq > 0);
        process.stdout.write(`Audit chain intact: ${r.checked} events verified in ${seconds.toFixed(2)} s (${used.length} of ${r.heads.length} chains in use)\n`);
        for (const h of used) process.stdout.write(`  chain ${h.chain}: head row ${h.seq} ${h.hash}\n`);
      } else process.stderr.write(`Audit chain BROKEN at row seq=${r.brokenAt?.seq} (chain ${r.brokenAt?.chain}): ${r.brokenAt?.reason} (${r.checked} events verified before it)\n`);
      process.exitCode = r.ok ? 0 : 1;
    });

  audit
    .command('report')
    .description('list audit events by user, patient and time range')
    .option('--user <name>')
    .option('--patient <id>')
    .option('--from <date>')
    .option('--to <date>')
    .option('--sort <order>', 'recorded, -recorded, user or -user', '-recorded')
    .option('--limit <n>', 'rows', '100')
    .option('--json', 'print the AuditEvents as JSON')
    .option(...dataOption)
    .action(async (opts: { user?: string; patient?: string; from?: string; to?: string; sort: string; limit: string; json?: boolean; data?: string }) => {
      const r = await withDb(opts, (db) => queryAudit(db, { user: opts.user, patient: opts.patient, from: opts.from, to: opts.to, sort: opts.sort as '-recorded', limit: Number(opts.limit) }));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      for (const e of r.events) {
        const who = e.agent?.find((a) => a.requestor)?.who?.identifier?.value ?? 'anonymous';
        const patients = (e.entity ?? []).map((x) => x.what?.reference).filter((x) => x?.startsWith('Patient/')).join(',');
        process.stdout.write(`${e.recorded}  ${who.padEnd(20)} ${(e.subtype?.[0]?.code ?? e.type.code ?? '').padEnd(16)} ${e.outcome === '0' ? 'ok  ' : 'FAIL'} ${patients} ${e.outcomeDesc ?? ''}\n`);
      }
      process.stdout.write(`${r.events.length} of ${r.total} events\n`);
    });
}

/**
 * Before `serve` starts: with --demo, one demo user per role gets a fresh random password (printed once,
 * to the console only); otherwise the server refuses to start without an active admin.
 */
export async function prepareServeUsers(db: Db, demo: boolean, print: (line: string) => void): Promise<void> {
  if (demo) {
    const { randomPassword } = await import('../security/password.js');
    print('Demo users (passwords are new at every start):');
    for (const role of ROLES) {
      const username = `demo-${role}`;
      const password = randomPassword();
      const passwordHash = await hashPassword(password);
      if (await findUserByName(db, username)) await updateUser(db, username, { passwordHash, roles: [role], disabled: false });
      else await insertUser(db, { username, roles: [role], passwordHash, displayName: `Demo ${role}` });
      print(`  ${username.padEnd(26)} ${password}`);
    }
    return;
  }
  if ((await countActiveAdmins(db)) === 0) {
    throw badRequest('No active admin user: create one first with `custodian user add --username NAME --role admin` (or start with --demo)');
  }
}
