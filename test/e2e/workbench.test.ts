// End to end in headless Chromium: the real server (`custodian serve --demo`) and the built workbench.
// A health information technician signs in, works the worklist, opens a deficiency and the patient's chart,
// searches the encoder, reviews, merges and unmerges a duplicate; a privacy officer reads the audit trail;
// an admin sees the users; a coder is refused the audit trail. Screenshots go to test-output/screenshots/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildWeb, webBuildIsStale } from '../../scripts/build-web.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shots = path.join(root, 'test-output', 'screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

let server: ChildProcess | undefined;
let browser: Browser | undefined;
let base = '';
let dataDir = '';
const passwords = new Map<string, string>();
const consoleErrors: string[] = [];

/**
 * The server, built in-process the way `custodian serve --demo` builds it (store, here an in-memory PGlite loaded
 * from the migrated test template; definitions, demo users with printed passwords, security on, web app), on a
 * subset of the demo dataset so the test stays quick on a busy machine. E2E_FULL_DEMO=1 starts the real
 * `custodian serve --demo` process with the whole dataset instead.
 */
async function startServer(): Promise<void> {
  dataDir = mkdtempSync(path.join(tmpdir(), 'custodian-e2e-'));
  if (process.env.E2E_FULL_DEMO === '1') return startServerProcess();
  const { openPGliteTest } = await import('../helpers/db.js');
  const { loadDefinitions } = await import('../../src/fhir/definitions.js');
  const { importFiles } = await import('../../src/records/import-files.js');
  const { prepareServeUsers, jwtSecret } = await import('../../src/cli/security-command.js');
  const { buildApp } = await import('../../src/server/app.js');
  const db = await openPGliteTest(); // the migrated store, as openStore leaves it, without initdb's seconds
  loadDefinitions();
  const demo = path.join(root, 'data/demo');
  const synthea = readdirSync(path.join(demo, 'synthea')).sort().slice(0, 8).map((f) => path.join(demo, 'synthea', f));
  await importFiles({ db, strict: false }, synthea);
  let out = '';
  await prepareServeUsers(db, true, (line) => (out += `${line}\n`));
  for (const m of out.matchAll(/^\s+demo-([a-z-]+)\s+(\S+)$/gm)) passwords.set(m[1] as string, m[2] as string);
  const app = await buildApp({ db, logger: false, auth: { jwtSecret: await jwtSecret(db), audit: true } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  stopInProcess = async () => {
    await app.close();
    await db.close();
  };
}

let stopInProcess: (() => Promise<void>) | undefined;

async function startServerProcess(): Promise<void> {
  server = spawn(process.execPath, [path.join(root, 'bin/custodian.js'), 'serve', '--demo', '--port', '0', '--data', dataDir], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CUSTODIAN_CORS_ORIGINS: '' } });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in time:\n${out}`)), 170_000);
    server?.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      for (const m of out.matchAll(/^\s+demo-([a-z-]+)\s+(\S+)$/gm)) passwords.set(m[1] as string, m[2] as string);
      const ready = /ready at (http:\/\/[^/\s]+)\//.exec(out);
      if (ready) {
        clearTimeout(timer);
        base = ready[1] as string;
        resolve();
      }
    });
    server?.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    server?.on('exit', (code) => reject(new Error(`server exited (${code}):\n${out}`)));
  });
}

async function apiAs(role: string, method: string, url: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const login = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: `demo-${role}`, password: passwords.get(role) }) });
  assert.equal(login.status, 200, `sign-in of demo-${role}`);
  const token = ((await login.json()) as { access_token: string }).access_token;
  const res = await fetch(`${base}${url}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function signIn(page: Page, role: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.getByLabel('Username').fill(`demo-${role}`);
  await page.locator('input[name=password]').fill(passwords.get(role) ?? '');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('signed-in-user').waitFor();
}

async function newPage(): Promise<Page> {
  const context = await (browser as Browser).newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  return page;
}

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: false });

let dupTask = '';
let dupSource = '';
let dupTarget = '';

before(async () => {
  mkdirSync(shots, { recursive: true });
  if (webBuildIsStale()) buildWeb({ quiet: true });
  await startServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  // Work for the demo: deficiencies from the completion rules, a whole-database check run, and a possible duplicate
  // (a re-registration of a demo patient with a typo, as a registration feed would send it, and the review Task the MPI raises).
  const sync = await apiAs('him-technician', 'GET', '/api/deficiencies/delinquency');
  assert.equal(sync.status, 200);
  await apiAs('him-technician', 'POST', '/api/checks/runs', {});
  const patients = (await apiAs('him-technician', 'GET', '/fhir/Patient?_count=1&_sort=birthdate')).json as { entry: { resource: Record<string, unknown> & { id: string; name: { given: string[]; family: string }[] } }[] };
  const original = patients.entry[0]?.resource;
  assert.ok(original);
  const { id: _id, meta: _meta, ...copy } = original;
  const name = original.name[0] as { given: string[]; family: string };
  const dup = { ...copy, name: [{ ...name, given: [`${name.given[0]?.slice(0, -1)}`], family: name.family }], identifier: [] };
  const created = await apiAs('him-technician', 'POST', '/fhir/Patient', dup);
  assert.equal(created.status, 201, JSON.stringify(created.json));
  dupTarget = original.id;
  dupSource = (created.json as { id: string }).id;
  const task = {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    priority: 'urgent',
    code: { coding: [{ system: 'http://custodian.dev/fhir/CodeSystem/work-type', code: 'possible-duplicate', display: 'Possible duplicate patient' }], text: 'Possible duplicate patient' },
    businessStatus: { text: 'awaiting review' },
    focus: { reference: `Patient/${dupTarget}` },
    for: { reference: `Patient/${dupTarget}` },
    authoredOn: new Date().toISOString(),
    restriction: { period: { end: new Date(Date.now() + 5 * 86_400_000).toISOString() } },
    note: [{ text: 'Clock: review possible duplicates within 5 days (common practice, configurable).' }],
    input: [{ type: { text: 'other-patient' }, valueReference: { reference: `Patient/${dupSource}` } }],
  };
  const t = await apiAs('him-technician', 'POST', '/fhir/Task', task);
  assert.equal(t.status, 201, JSON.stringify(t.json));
  dupTask = (t.json as { id: string }).id;
});

after(async () => {
  await browser?.close();
  await stopInProcess?.();
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server?.once('exit', r));
    server.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (server.exitCode === null) server.kill('SIGKILL');
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test('the HIT signs in, works the worklist, a deficiency, the chart, the encoder and a duplicate merge/unmerge', { timeout: 240_000 }, async (t) => {
  const page = await newPage();

  // First page: sign-in; the JavaScript it loads, gzipped.
  const scripts: string[] = [];
  page.on('response', (r) => {
    if (r.request().resourceType() === 'script') scripts.push(new URL(r.url()).pathname);
  });
  await page.goto(`${base}/`);
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  const firstPageJs = [...new Set(scripts)].reduce((n, p) => n + gzipSync(readFileSync(path.join(root, 'web/dist', p))).length, 0);
  await shot(page, '01-sign-in');

  // A wrong password shows the server's message and stays on the sign-in page.
  await page.getByLabel('Username').fill('demo-him-technician');
  await page.locator('input[name=password]').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Invalid username or password' }).waitFor();

  await signIn(page, 'him-technician');
  await page.getByRole('heading', { level: 1, name: /Good day/ }).waitFor();
  await page.getByTestId('chart-by-type').locator('svg.recharts-surface').first().waitFor();
  await page.getByText(/delinquent records/).waitFor();
  await shot(page, '02-home');

  // Open / to an interactive worklist (a full page load: HTML, JS, session check, Tasks).
  const t0 = Date.now();
  await page.goto(`${base}/worklist`);
  const firstRow = page.getByTestId('worklist-table').locator('tbody tr').first();
  await firstRow.getByRole('checkbox').waitFor();
  const toInteractive = Date.now() - t0;
  await firstRow.getByRole('checkbox').check();
  assert.equal(await page.getByText('1 selected').count(), 1, 'the worklist answers input');
  await firstRow.getByRole('checkbox').uncheck();

  // Filter to deficiencies past their clock; the most overdue comes first and shows its clock.
  await page.getByLabel('Due', { exact: true }).first().click();
  await page.getByRole('option', { name: 'Past the clock' }).click();
  const rows = page.getByTestId('worklist-table').locator('tbody tr');
  await rows.first().waitFor();
  assert.ok((await rows.count()) > 0);
  for (const type of await rows.evaluateAll((trs) => trs.map((tr) => tr.querySelector('[data-clock]')?.getAttribute('data-clock')))) assert.equal(type, 'overdue');
  await shot(page, '03-worklist');

  const deficiency = page.getByTestId('worklist-table').locator('tbody tr[data-work-type="deficiency"]').first();
  await deficiency.getByRole('link').first().click();
  await page.getByTestId('work-details').waitFor();
  await page.getByTestId('work-details').getByText(/^Due /).waitFor();
  await page.getByTestId('clock-rule').filter({ hasText: /(days|hours)/ }).waitFor();
  await page.getByRole('button', { name: 'Assign to me' }).click();
  await page.getByText('Assigned to you.').waitFor();
  await shot(page, '04-deficiency');

  await page.getByRole('link', { name: /Open the patient's chart/ }).click();
  await page.getByTestId('timeline').locator('article').first().waitFor();
  assert.ok((await page.getByTestId('timeline').locator('article').count()) > 1, 'the chart shows a timeline of encounters');
  await page.getByTestId('patient-open-work').getByRole('link').first().waitFor();
  await shot(page, '05-patient-chart');

  // Encoder: results as you type, then the code's details and notes.
  await page.getByRole('link', { name: 'Encoder' }).click();
  await page.getByLabel('Search codes').pressSequentially('diabetes type 2', { delay: 20 });
  const hit = page.getByTestId('encoder-results').getByRole('button', { name: /^E11/ }).first();
  await hit.waitFor();
  await hit.click();
  await page.getByTestId('encoder-details').getByText(/Excludes1/).waitFor();
  await shot(page, '06-encoder');

  // Duplicate review: side by side with weights, preview, merge, then unmerge.
  await page.goto(`${base}/duplicates/${dupTask}`);
  await page.getByTestId('pair-fields').waitFor();
  assert.ok((await page.getByTestId('pair-fields').locator('tbody tr').count()) >= 3);
  await page.getByRole('radio', { name: new RegExp(`Patient/${dupTarget}`) }).check();
  await page.getByRole('button', { name: 'Preview merge' }).click();
  await page.getByTestId('merge-preview').waitFor();
  await shot(page, '07-duplicate-review');
  await page.getByRole('button', { name: 'Merge', exact: true }).click();
  await page.getByTestId('merge-result').waitFor();
  const retired = (await apiAs('him-technician', 'GET', `/fhir/Patient/${dupSource}`)).json as { link?: { type: string; other: { reference: string } }[] };
  assert.equal(retired.link?.find((l) => l.type === 'replaced-by')?.other.reference, `Patient/${dupTarget}`);
  await page.getByRole('button', { name: 'Unmerge' }).click();
  await page.getByTestId('unmerge-result').waitFor();
  const restored = (await apiAs('him-technician', 'GET', `/fhir/Patient/${dupSource}`)).json as { link?: { type: string }[] };
  assert.equal(restored.link?.find((l) => l.type === 'replaced-by'), undefined, 'unmerge restores the retired record');

  // A pair the matcher never links on its own says why: one identity registered twice with two SSNs
  // (a guarantor's number keyed as the patient's).
  const sameIdentity = { resourceType: 'Patient', name: [{ family: 'Klein', given: ['William'] }], gender: 'female', birthDate: '1995-03-12', address: [{ line: ['709 Hoover Prairie'], city: 'East Dylan', state: 'PA', postalCode: '59332' }] };
  const ssn = (value: string) => [{ system: 'http://hl7.org/fhir/sid/us-ssn', value }];
  const first = await apiAs('him-technician', 'POST', '/fhir/Patient', { ...sameIdentity, identifier: ssn('555-54-4262') });
  const second = await apiAs('him-technician', 'POST', '/fhir/Patient', { ...sameIdentity, address: [{ ...sameIdentity.address[0], line: ['00709 Hoover Prairie'] }], identifier: ssn('555-54-4200') });
  const ssnTask = await apiAs('him-technician', 'POST', '/fhir/Task', {
    resourceType: 'Task', status: 'requested', intent: 'order',
    code: { coding: [{ system: 'http://custodian.dev/fhir/CodeSystem/work-type', code: 'possible-duplicate' }] },
    focus: { reference: `Patient/${(first.json as { id: string }).id}` }, for: { reference: `Patient/${(first.json as { id: string }).id}` },
    input: [{ type: { text: 'other-patient' }, valueReference: { reference: `Patient/${(second.json as { id: string }).id}` } }],
  });
  assert.equal(ssnTask.status, 201, JSON.stringify(ssnTask.json));
  await page.goto(`${base}/duplicates/${(ssnTask.json as { id: string }).id}`);
  const reason = page.getByTestId('review-reason');
  await reason.getByText('Not linked automatically: conflicting ssn').waitFor();
  await reason.getByText(/carry different SSNs/).waitFor();
  await shot(page, '07b-duplicate-review-reason');
  assert.match(await page.getByTestId('pair-fields').innerText(), /street\s+709 hooverprairie\s+709 hooverprairie\s+exact/);

  await page.getByRole('link', { name: 'Data quality' }).click();
  await page.getByRole('heading', { level: 1, name: 'Data quality' }).waitFor();
  await page.getByTestId('dq-results').waitFor({ timeout: 60_000 });
  await shot(page, '08-data-quality');

  const metrics = { firstPageJsGzipBytes: firstPageJs, openToInteractiveWorklistMs: toInteractive, measuredAt: new Date().toISOString() };
  writeFileSync(path.join(root, 'test-output', 'web-metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  t.diagnostic(`first page JS (gzip): ${(firstPageJs / 1024).toFixed(1)} KiB; / to interactive worklist: ${toInteractive} ms`);
  assert.ok(toInteractive < 5_000, `worklist interactive in ${toInteractive} ms`);
  await page.context().close();
});

test('a privacy officer reads and filters the audit trail; an admin sees users and roles', { timeout: 120_000 }, async () => {
  const page = await newPage();
  await signIn(page, 'privacy-officer');
  await page.getByRole('link', { name: 'Audit trail' }).click();
  await page.getByTestId('audit-table').locator('tbody tr').first().waitFor();
  await page.getByLabel('User').fill('demo-him-technician');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.getByTestId('audit-table').locator('tbody tr').first().waitFor();
  const users = await page.getByTestId('audit-table').locator('tbody tr td:nth-child(2)').allTextContents();
  assert.ok(users.length > 0 && users.every((u) => u === 'demo-him-technician'), 'filtered by user');
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export CSV' }).click();
  const csv = readFileSync(await (await download).path(), 'utf8');
  assert.match(csv.split('\r\n')[0] ?? '', /^recorded,user,roles,action/);
  assert.match(csv, /demo-him-technician/);
  await shot(page, '09-audit');
  await page.context().close();

  const admin = await newPage();
  await signIn(admin, 'admin');
  await admin.getByRole('link', { name: 'Administration' }).click();
  await admin.getByTestId('users-table').getByText('demo-coder').waitFor();
  await shot(admin, '10-admin');
  await admin.context().close();
});

test('a coder does not see the audit trail and is refused when opening it', { timeout: 60_000 }, async () => {
  const page = await newPage();
  await signIn(page, 'coder');
  assert.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit trail' }).count(), 0);
  await page.goto(`${base}/audit`);
  const refused = page.getByRole('alert').filter({ hasText: 'Access refused' });
  await refused.waitFor();
  await shot(page, '11-coder-audit-refused');
  await page.context().close();
  const csp = consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e));
  assert.deepEqual(csp, [], 'no content-security-policy violations');
});

