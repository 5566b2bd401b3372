/** `custodian terminology import|list` and `custodian code search|lookup|edits`. */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Command } from 'commander';
import { runCodeEdits, type EncounterCodeSet } from '../terminology/edits.js';
import { importedDir, loadTerminology, readReleases, SHIPPED_DIR } from '../terminology/load-files.js';
import { SYSTEM_NAMES } from '../terminology/systems.js';

const dataDir = (opts: { data?: string }): string => opts.data ?? process.env.CUSTODIAN_DATA ?? './.custodian';
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
    .action((p: string, opts: { data?: string; version?: string; effectiveFrom?: string; effectiveTo?: string; json?: boolean }) => {
      const t0 = performance.now();
      const override = { ...(opts.version ? { version: opts.version } : {}), ...(opts.effectiveFrom ? { effectiveFrom: opts.effectiveFrom } : {}), ...(opts.effectiveTo ? { effectiveTo: opts.effectiveTo } : {}) };
      const { files, skipped } = readReleases(p, override);
      const dir = importedDir(dataDir(opts));
      mkdirSync(dir, { recursive: true });
      // keep the parsed release as a small JSON file so the next start loads it with its dates
      for (const f of files) writeFileSync(path.join(dir, `${f.release.kind}-${f.release.version}-${path.basename(f.file).replace(/\.(gz|zip)$/i, '')}.release.json.gz`), gzipSync(JSON.stringify(f.release)));
      const summary = files.map((f) => ({ file: f.file, system: SYSTEM_NAMES[f.release.system] ?? f.release.system, kind: f.release.kind, version: f.release.version, effectiveFrom: f.release.effectiveFrom, effectiveTo: f.release.effectiveTo, count: f.release.concepts?.length ?? f.release.tabular?.length ?? f.release.mce?.length ?? f.release.poaExempt?.length, billable: f.release.concepts?.filter((c) => c.billable).length }));
      if (opts.json) print({ imported: summary, skipped, seconds: (performance.now() - t0) / 1000 });
      else {
        for (const s of summary) console.log(`${s.system} ${s.kind} ${s.version} (${s.effectiveFrom} to ${s.effectiveTo ?? 'open'}): ${s.count} entries${s.billable !== undefined ? `, ${s.billable} billable` : ''}  <- ${s.file}`);
        if (skipped.length) console.log(`skipped (not a recognised release file): ${skipped.join(', ')}`);
        if (!summary.length) process.exitCode = 1;
      }
      void copyFileSync;
    });
  terminology
    .command('list')
    .description('loaded releases: system, kind, version, effective dates, counts')
    .option('--data <dir>')
    .option('--json')
    .action((opts: { data?: string; json?: boolean }) => {
      const list = loadTerminology(dataDir(opts)).list();
      if (opts.json) return print(list);
      console.log(`shipped releases: ${SHIPPED_DIR}; imported: ${importedDir(dataDir(opts))}`);
      for (const r of list) console.log(`${(SYSTEM_NAMES[r.system] ?? r.system).padEnd(15)} ${r.kind.padEnd(10)} ${r.version.padEnd(12)} ${r.effectiveFrom} to ${(r.effectiveTo ?? 'open').padEnd(10)} ${String(r.count).padStart(6)}${r.billable !== undefined ? ` (${r.billable} billable)` : ''}  ${r.source}`);
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
    .action((words: string, opts: { system: string; billable?: boolean; date?: string; limit: string; data?: string; json?: boolean }) => {
      const r = loadTerminology(dataDir(opts)).search(opts.system, words, { billable: !!opts.billable, limit: Number(opts.limit), ...(opts.date ? { date: opts.date } : {}) });
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
    .action((c: string, opts: { system: string; date?: string; data?: string; json?: boolean }) => {
      const l = loadTerminology(dataDir(opts)).lookup(opts.system, c, opts.date);
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
    .action((file: string, opts: { data?: string; json?: boolean }) => {
      const enc = JSON.parse(readFileSync(file, 'utf8')) as EncounterCodeSet;
      const results = runCodeEdits(loadTerminology(dataDir(opts)), enc);
      const failed = results.filter((r) => r.status === 'failed');
      if (failed.length) process.exitCode = 2;
      if (opts.json) return print({ failed: failed.length, results });
      for (const r of results) console.log(`${r.status.padEnd(14)} ${r.id.padEnd(24)} ${r.numerator}/${r.denominator}`);
      for (const r of failed) for (const f of r.findings) console.log(`${r.severity.toUpperCase()} ${r.id}: ${f.message} [${f.rule}]`);
    });
}
