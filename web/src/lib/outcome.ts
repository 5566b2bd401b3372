/** Turning an API error body into the sentence a user reads. */
import type { OperationOutcome } from './fhir-types.js';

/** The OperationOutcome's text (details.text or diagnostics of each error issue), or a fallback. */
export function outcomeText(body: unknown, fallback: string): string {
  if (body && typeof body === 'object') {
    const o = body as OperationOutcome & { message?: unknown; error?: unknown };
    if (o.resourceType === 'OperationOutcome' && Array.isArray(o.issue)) {
      const texts = o.issue
        .filter((i) => i.severity !== 'information' && i.severity !== 'warning')
        .map((i) => i.details?.text ?? i.diagnostics)
        .filter((t): t is string => typeof t === 'string' && t.length > 0);
      const all = texts.length > 0 ? texts : o.issue.map((i) => i.details?.text ?? i.diagnostics).filter((t): t is string => !!t);
      if (all.length > 0) return [...new Set(all)].join('; ');
    }
    if (typeof o.message === 'string' && o.message) return o.message;
    if (typeof o.error === 'string' && o.error) return o.error;
  }
  if (typeof body === 'string' && body.trim() && body.length < 300 && !body.trimStart().startsWith('<')) return body.trim();
  return fallback;
}

/** A 404 that says the route itself does not exist (the endpoint is not in this build), as opposed to a missing record. */
export function isMissingRoute(status: number, body: unknown): boolean {
  if (status !== 404) return false;
  return /^No route for /.test(outcomeText(body, ''));
}
