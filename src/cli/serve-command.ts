/** custodian serve: the API (and web app) on the configured database; --demo loads the demo dataset once. */
import path from 'node:path';
import { buildApp } from '../server/app.js';
import { loadDefinitions } from '../fhir/definitions.js';
import { describeStore, openStore } from '../store/open.js';
import { describeDemo, loadDemoData } from '../records/demo.js';
import { codeLookupFor } from '../records/code-lookup.js';
import { storeConfig } from './config.js';
import { jwtSecret, prepareServeUsers } from './security-command.js';
import { matcherConfigFile } from './mpi-command.js';

export async function serveCommand(opts: { port?: string; host?: string; data?: string; demo?: boolean; strict?: boolean; mpiConfig?: string }): Promise<void> {
  const config = storeConfig(opts);
  // Checked before the store opens: a refused file stops the server with the setting named.
  const mpiConfig = matcherConfigFile(opts.mpiConfig ?? (process.env.CUSTODIAN_MPI_CONFIG?.trim() || undefined));
  const port = Number(opts.port ?? process.env.PORT ?? 8080);
  const host = opts.host ?? process.env.HOST ?? '127.0.0.1';
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`Invalid port "${opts.port}"`);
  process.stdout.write(`Opening ${describeStore(config)}...\n`);
  const db = await openStore(config);
  loadDefinitions();
  if (opts.demo) {
    const loaded = await loadDemoData({ db, strict: false, codeLookup: await codeLookupFor(db) }, (msg) => process.stdout.write(`${msg}\n`), undefined, mpiConfig);
    if (loaded) process.stdout.write(`Demo data: ${describeDemo(loaded)}\n`);
  }
  try {
    await prepareServeUsers(db, opts.demo === true, (line) => process.stdout.write(`${line}\n`));
  } catch (err) {
    await db.close();
    throw err;
  }
  // Security is always on in the server: authentication, deny-by-default permissions, the audit trail.
  // CUSTODIAN_AUDIT=off exists for the audit-cost benchmark only.
  const auth = {
    jwtSecret: await jwtSecret(db),
    audit: process.env.CUSTODIAN_AUDIT !== 'off',
    corsOrigins: (process.env.CUSTODIAN_CORS_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
  };
  const exportDir = process.env.CUSTODIAN_EXPORT_DIR ?? path.join(config.dataDir ?? './.custodian', 'exports');
  const app = await buildApp({ db, strict: opts.strict ?? false, logger: false, auth, exportDir, mpiConfig });
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping...\n`);
    await app.close();
    await db.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  await app.listen({ port, host });
  const addr = app.server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  process.stdout.write(`Custodian is ready at http://${host}:${actual}/ (FHIR API at http://${host}:${actual}/fhir)\n`);
}
