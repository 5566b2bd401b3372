/** OperationOutcome errors and helpers: every failure leaves as an OperationOutcome with a status. */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

export type IssueSeverity = OperationOutcomeIssue['severity'];
export type IssueCode = OperationOutcomeIssue['code'];

export class OperationOutcomeError extends Error {
  readonly outcome: OperationOutcome;
  readonly status: number;
  constructor(outcome: OperationOutcome, status?: number) {
    super(outcome.issue?.map((i) => i.diagnostics ?? i.details?.text ?? i.code).join('; ') || 'error');
    this.outcome = outcome;
    this.status = status ?? outcomeStatus(outcome);
  }
}

export function issue(
  severity: IssueSeverity,
  code: IssueCode,
  text: string,
  expression?: string | string[],
): OperationOutcomeIssue {
  const i: OperationOutcomeIssue = { severity, code, details: { text }, diagnostics: text };
  if (expression !== undefined) i.expression = Array.isArray(expression) ? expression : [expression];
  return i;
}

export function outcome(...issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

export function allOk(text = 'All OK'): OperationOutcome {
  return outcome(issue('information', 'informational', text));
}

export function badRequest(text: string, expression?: string): OperationOutcomeError {
  return new OperationOutcomeError(outcome(issue('error', 'invalid', text, expression)), 400);
}
export function unprocessable(issues: OperationOutcomeIssue[]): OperationOutcomeError {
  return new OperationOutcomeError(outcome(...issues), 422);
}
export function notFound(text = 'Not found'): OperationOutcomeError {
  return new OperationOutcomeError(outcome(issue('error', 'not-found', text)), 404);
}
export function gone(text: string): OperationOutcomeError {
  return new OperationOutcomeError(outcome(issue('error', 'deleted', text)), 410);
}
export function conflict(text: string): OperationOutcomeError {
  return new OperationOutcomeError(outcome(issue('error', 'conflict', text)), 409);
}
export function preconditionFailed(text: string): OperationOutcomeError {
  return new OperationOutcomeError(outcome(issue('error', 'conflict', text)), 412);
}
export function forbidden(text = 'Forbidden'): OperationOutcomeError {
  return new OperationOutcomeError(outcome(issue('error', 'forbidden', text)), 403);
}
export function unauthorized(text = 'Unauthorized'): OperationOutcomeError {
  return new OperationOutcomeError(outcome(issue('error', 'login', text)), 401);
}
export function notSupported(text: string, status = 400): OperationOutcomeError {
  return new OperationOutcomeError(outcome(issue('error', 'not-supported', text)), status);
}
export function tooLarge(text: string): OperationOutcomeError {
  return new OperationOutcomeError(outcome(issue('error', 'too-costly', text)), 413);
}
export function multipleMatches(text: string): OperationOutcomeError {
  return new OperationOutcomeError(outcome(issue('error', 'multiple-matches', text)), 412);
}

/** Maps an outcome to the HTTP status a client should see (medplum's getStatus, in spirit). */
export function outcomeStatus(o: OperationOutcome): number {
  const codes = (o.issue ?? []).filter((i) => i.severity === 'error' || i.severity === 'fatal').map((i) => i.code);
  if (codes.length === 0) return 200;
  if (codes.includes('login') || codes.includes('security')) return codes.includes('login') ? 401 : 403;
  if (codes.includes('forbidden')) return 403;
  if (codes.includes('not-found')) return 404;
  if (codes.includes('deleted')) return 410;
  if (codes.includes('conflict') || codes.includes('duplicate')) return 409;
  if (codes.includes('multiple-matches')) return 412;
  if (codes.includes('too-costly')) return 413;
  if (codes.includes('exception')) return 500;
  return 400;
}

/** Converts any thrown value into an OperationOutcomeError without leaking internals. */
export function toOutcomeError(err: unknown): OperationOutcomeError {
  if (err instanceof OperationOutcomeError) return err;
  // PostgreSQL's unique_violation: two transactions created the same record at the same time (a
  // new row is not there to lock); the later one loses and may retry.
  if ((err as { code?: unknown } | null)?.code === '23505') {
    return conflict('Another transaction wrote the same record at the same time; nothing of this one was kept. Retry it.');
  }
  return new OperationOutcomeError(outcome(issue('fatal', 'exception', 'Internal server error')), 500);
}

export function errorIssues(o: OperationOutcome): OperationOutcomeIssue[] {
  return (o.issue ?? []).filter((i) => i.severity === 'error' || i.severity === 'fatal');
}
