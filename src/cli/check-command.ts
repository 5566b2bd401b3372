/** custodian check / custodian deficiencies: data-quality runs (stored, comparable) and the deficiency worklist. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { selectChecks } from '../quality/instances.js';
import { renderReportHtml } from '../quality/report-html.js';
import { deficiencyReport, getResults, listRuns, previousRun, startCheckRun, syncDeficiencies } from '../store/check-store.js';
import { openStore } from '../store/open.js';
import { storeConfig } from './config.js';
import { progressBar } from './output.js';

const dataOption = ['--data <dir>', 'embedded database folder (default ./.custodian, or CUSTODIAN_DATA); ignored when DATABASE_URL is set'] as const;

interface CheckOpts {
  data?: string;
  json?: boolean;
  html?: string;
  check?: string[];
  patient?: string;
}

export async function checkCommand(opts: CheckOpts): Promise<number> {
  const instances = selectChecks(opts.check);
  const db = await openStore(storeConfig(opts));
  const bar = progressBar(!opts.json);
  try {
    const started = Date.now();
    const { done } = await startCheckRun(db, instances, { patientId: opts.patient, checkIds: opts.check, onProgress: (n, total, id) => bar.update(n, total, id) });
    const { run, results } = await done;
    bar.stop();
    const prev = await previousRun(db, run);
    const prevResults = prev ? await getResults(db, prev.id) : undefined;
    if (opts.html) {
      const history = (await listRuns(db, 30)).filter((r) => r.status === 'completed' && r.id !== run.id && JSON.stringify(r.scope) === JSON.stringify(run.scope)).reverse().map((r) => ({ startedAt: r.startedAt, score: r.summary?.score ?? null }));
      writeFileSync(opts.html, renderReportHtml({ runId: run.id, startedAt: run.startedAt, results, previous: prev && prevResults ? { runId: prev.id, startedAt: prev.startedAt, results: prevResults } : undefined, history }));
    }
    const seconds = (Date.now() - started) / 1000;
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ run: { id: run.id, startedAt: run.startedAt, scope: run.scope, summary: run.summary, previousRunId: prev?.id, seconds }, results }, null, 2)}\n`);
    } else {
      const s = run.summary!;
      process.stdout.write(`Run ${run.id}: ${s.checks} checks in ${seconds.toFixed(1)} s: ${s.passed} passed, ${s.failed} failed, ${s.notApplicable} not applicable, ${s.errors} errors; score ${s.score ?? '-'}%${prev?.summary?.score !== undefined && prev.summary.score !== null && s.score !== null ? ` (previous ${prev.summary.score}%)` : ''}\n`);
      for (const r of results.filter((x) => x.status === 'failed' || x.status === 'error')) {
        process.stdout.write(`  ${r.status === 'error' ? 'ERROR ' : ''}[${r.severity}] ${r.checkId}: ${r.numerator}/${r.denominator} (${r.percentage ?? '-'}%) ${r.title}${r.reason ? ` - ${r.reason}` : ''}\n`);
        if (r.ids.length) process.stdout.write(`      ${r.resourceType}/${r.ids.slice(0, 5).join(`, ${r.resourceType}/`)}${r.ids.length > 5 ? ` and ${r.numerator - 5} more` : ''}\n`);
      }
      if (opts.html) process.stdout.write(`HTML report written to ${opts.html}\n`);
    }
    return results.some((r) => r.status === 'error') ? 2 : 0;
  } finally {
    bar.stop();
    await db.close();
  }
}

export async function deficienciesCommand(opts: { data?: string; json?: boolean; months?: string }): Promise<number> {
  const db = await openStore(storeConfig(opts));
  try {
    const now = new Date();
    const sync = await syncDeficiencies(db, { now });
    const report = await deficiencyReport(db, { now, months: opts.months ? Number(opts.months) : 3 });
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ sync, report }, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(`Deficiencies: ${sync.found} found (${sync.opened} tasks opened, ${sync.closed} closed); ${report.openDeficiencies} open, ${report.overdueDeficiencies} past due\n`);
    process.stdout.write(`Delinquent records: ${report.delinquentRecords}; average monthly discharges (last ${report.months} months): ${report.averageMonthlyDischarges}; ` +
      `delinquency rate ${report.rate === null ? 'n/a (no discharges)' : `${report.rate}%`} vs ${report.threshold}% threshold${report.exceedsThreshold ? ' - EXCEEDS' : ''}\n`);
    for (const p of report.suspensionList) process.stdout.write(`  suspension list: ${p.practitioner}: ${p.delinquentRecords} delinquent records, ${p.openDeficiencies} open deficiencies, oldest ${p.oldestDaysDelinquent} days delinquent\n`);
    return 0;
  } finally {
    await db.close();
  }
}

export function registerCheckCommands(program: Command): void {
  program
    .command('deficiencies')
    .description('find chart deficiencies, open and close their Tasks, and report delinquency (Joint Commission rate)')
    .option(...dataOption)
    .option('--json', 'print the report as JSON')
    .option('--months <n>', 'months of discharges to average', '3')
    .action(async (opts) => {
      process.exitCode = await deficienciesCommand(opts);
    });
  program
    .command('check')
    .description('run the data-quality checks over the whole database (SQL) or one patient (in memory); every run is stored')
    .option(...dataOption)
    .option('--json', 'print the run and its results as JSON')
    .option('--html <file>', 'write a self-contained HTML report')
    .option('--check <ids...>', 'run only these check ids')
    .option('--patient <id>', 'check one patient record')
    .action(async (opts: CheckOpts) => {
      process.exitCode = await checkCommand(opts);
    });
}
