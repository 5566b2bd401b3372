/** `custodian terminology import|list` and `custodian code search|lookup|edits`. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { openStore } from '../store/open.js';
import { listStoredReleases, loadStoredReleases, saveRelease } from '../store/terminology-store.js';
import type { Terminology } from '../terminology/catalog.js';
import { storeConfig } from './config.js';
import { runCodeEdits, type EncounterCodeSet } from '../terminology/edits.js';
import { readReleases, SHIPPED_DIR, terminologyWith } from '../store/terminology-files.js';
import { SYSTEM_NAMES } from '../terminology/systems.js';

/** Shipped releases plus those imported into the database. */
async function loadCatalog(opts: { data?: string }): Promise<Terminology> {
  const db = await openStore(storeConfig(opts));
  try {
    return terminologyWith(await loadStoredReleases(db));
  } finally {
    await db.close();
  }
}
const print = (v: unknown): void => { process.stdout.write(`${JSON.stringify(v, null, 2)}\n`); };

export function registerTerminologyCommands(program: Command): void {
  const terminology = program.command('terminology').description('code-system releases (ICD-10-CM/PCS, HCPCS, CARC/RARC, MCE, POA-exempt)');
  terminology
    .command('import')
    .description('import CMS/CDC release files (a file, a folder or a zip as published); kept in DATA/terminology')
    .argument('<path>')
    .option('--data <dir>', 'data folder (default ./.custodian or CUSTODIAN_DATA)')
    .option('--version <v>', 'release version (default: from the file name, e.g. FY2026)')
    .option('--effective-from <date>', 'first date of service of the release')
    .option('--effective-to <date>', 'last date of service of the release')
    .option('--json', 'print a JSON summary')
    .action(async (p: string, opts: { data?: string; version?: string; effectiveFrom?: string; effectiveTo?: string; json?: boolean }) => {
      const t0 = performance.now();
      const override = { ...(opts.version ? { version: opts.version } : {}), ...(opts.effectiveFrom ? { effectiveFrom: opts.effectiveFrom } : {}), ...(opts.effectiveTo ? { effectiveTo: opts.effectiveTo } : {}) };
      const { files, skipped } = readReleases(p, override);
      const db = await openStore(storeConfig(opts));
      try {
        for (const f of files) await saveRelease(db, f.release);
      } finally {
        await db.close();
      }
      const summary = files.map((f) => ({ file: f.file, system: SYSTEM_NAMES[f.release.system] ?? f.release.system, kind: f.release.kind, version: f.release.version, effectiveFrom: f.release.effectiveFrom, effectiveTo: f.release.effectiveTo, count: f.release.concepts?.length ?? f.release.tabular?.length ?? f.release.mce?.length ?? f.release.poaExempt?.length, billable: f.release.concepts?.filter((c) => c.billable).length }));
      if (!summary.length) process.exitCode = 1;
      if (opts.json) return print({ imported: summary, skipped, seconds: +((performance.now() - t0) / 1000).toFixed(2) });
      for (const s of summary) console.log(`${s.system} ${s.kind} ${s.version} (${s.effectiveFrom} to ${s.effectiveTo ?? 'open'}): ${s.count} entries${s.billable !== undefined ? `, ${s.billable} billable` : ''}  <- ${s.file}`);
      if (skipped.length) console.log(`skipped (not a recognised release file): ${skipped.join(', ')}`);
    });
  terminology
    .command('list')
    .description('loaded releases: system, kind, version, effective dates, counts')
    .option('--data <dir>')
    .option('--json')
    .action(async (opts: { data?: string; json?: boolean }) => {
      const db = await openStore(storeConfig(opts));
      const imported = await listStoredReleases(db).finally(() => db.close());
      const t = await loadCatalog(opts);
      const list = t.list().map((r) => ({ ...r, origin: imported.some((i) => i.system === r.system && i.kind === r.kind && i.version === r.version) ? 'imported' : 'shipped' }));
      if (opts.json) return print(list);
      console.log(`shipped releases: ${SHIPPED_DIR}; imported releases: in the database`);
      for (const r of list) console.log(`${(SYSTEM_NAMES[r.system] ?? r.system).padEnd(15)} ${r.kind.padEnd(10)} ${r.version.padEnd(12)} ${r.effectiveFrom} to ${(r.effectiveTo ?? 'open').padEnd(10)} ${String(r.count).padStart(6)}${r.billable !== undefined ? ` (${r.billable} billable)` : ''}  ${r.source} (${r.origin})`);
      console.log('Load the current release: download the CDC/CMS files and run `custodian terminology import PATH`.');
    });

  const code = program.command('code').description('look up, search and edit-check codes');
  code
    .command('search')
    .argument('<words>')
    .option('--system <s>', 'icd-10-cm (default), icd-10-pcs, hcpcs, carc, rarc', 'icd-10-cm')
    .option('--billable', 'billable codes only')
    .option('--date <date>', 'date of service')
    .option('--limit <n>', 'results', '15')
    .option('--data <dir>')
    .option('--json')
    .action(async (words: string, opts: { system: string; billable?: boolean; date?: string; limit: string; data?: string; json?: boolean }) => {
      const r = (await loadCatalog(opts)).search(opts.system, words, { billable: !!opts.billable, limit: Number(opts.limit), ...(opts.date ? { date: opts.date } : {}) });
      if (opts.json) return print(r);
      for (const h of r.hits) {
        console.log(`${h.code.padEnd(9)} ${h.billable ? '   ' : '[H]'} ${h.display}${h.needsSeventhCharacter ? '  (needs a 7th character)' : ''}`);
        if (h.path.length) console.log(`          ${h.path.map((p) => p.code).join(' > ')}`);
      }
    });
  code
    .command('lookup')
    .argument('<code>')
    .option('--system <s>', 'icd-10-cm (default), icd-10-pcs, hcpcs, carc, rarc', 'icd-10-cm')
    .option('--date <date>', 'date of service')
    .option('--data <dir>')
    .option('--json')
    .action(async (c: string, opts: { system: string; date?: string; data?: string; json?: boolean }) => {
      const l = (await loadCatalog(opts)).lookup(opts.system, c, opts.date);
      if (!l.found && !l.needsSeventhCharacter) process.exitCode = 1;
      if (opts.json) return print(l);
      console.log(`${l.code} ${l.display ?? ''}  [${l.found ? (l.billable ? 'billable' : 'header') : 'not found'}] ${l.systemName} ${l.release?.version ?? ''}${l.releaseOutOfDate ? ' (date outside the loaded releases)' : ''}`);
      if (l.parents.length) console.log(`path: ${l.parents.map((p) => `${p.code} ${p.display}`).join(' > ')}`);
      if (l.message) console.log(l.message);
      for (const x of l.completions ?? []) console.log(`  ${x.code} ${x.display}`);
      for (const [k, v] of Object.entries(l.notes ?? {})) for (const n of v as (string | { from: string; note: string })[]) console.log(`${k}: ${typeof n === 'string' ? n : `${n.note} (at ${n.from})`}`);
      if (l.poaExempt !== undefined) console.log(`POA exempt: ${l.poaExempt ? 'yes' : 'no'}`);
      if (l.mce?.length) console.log(`MCE: ${l.mce.join(', ')}`);
    });
  code
    .command('edits')
    .description('run the code edits on an encounter code set (JSON: dateOfService, setting, age, sex, diagnoses [{code, poa}], procedures [{code}])')
    .argument('<file>')
    .option('--data <dir>')
    .option('--json')
    .action(async (file: string, opts: { data?: string; json?: boolean }) => {
      const enc = JSON.parse(readFileSync(file, 'utf8')) as EncounterCodeSet;
      const results = runCodeEdits((await loadCatalog(opts)), enc);
      const failed = results.filter((r) => r.status === 'failed');
      if (failed.length) process.exitCode = 2;
      if (opts.json) return print({ failed: failed.length, results });
      for (const r of results) console.log(`${r.status.padEnd(14)} ${r.id.padEnd(24)} ${r.numerator}/${r.denominator}`);
      for (const r of failed) for (const f of r.findings) console.log(`${r.severity.toUpperCase()} ${r.id}: ${f.message} [${f.rule}]`);
    });
}
