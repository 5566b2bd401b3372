/** CLI output helpers: OperationOutcome errors as readable lines, progress bars on a terminal. */
import cliProgress from 'cli-progress';
import { toOutcomeError, OperationOutcomeError } from '../fhir/outcomes.js';

export function printError(err: unknown): void {
  if (err instanceof OperationOutcomeError) {
    for (const i of err.outcome.issue ?? []) {
      const where = i.expression?.length ? ` (at ${i.expression.join(', ')})` : '';
      process.stderr.write(`error: ${i.diagnostics ?? i.details?.text ?? i.code}${where}\n`);
    }
    return;
  }
  const e = err as { code?: string; message?: string };
  if (e?.code === 'ECONNREFUSED') process.stderr.write(`error: cannot connect to the database (${e.message})\n`);
  else if (e?.code === 'ENOENT') process.stderr.write(`error: ${e.message}\n`);
  else process.stderr.write(`error: ${toOutcomeError(err).outcome.issue?.[0]?.diagnostics ?? String(e?.message ?? err)}\n`);
  if (process.env.CUSTODIAN_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
}

export interface Progress {
  update(done: number, total: number, label?: string): void;
  stop(): void;
}

export function progressBar(enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: '{bar} {value}/{total} {label}', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, label = '') {
      if (!started) {
        bar.start(total, 0, { label });
        started = true;
      }
      bar.update(done, { label });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
