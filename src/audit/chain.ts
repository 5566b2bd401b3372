/**
 * The audit hash chains. The trail is several independent chains (so concurrent writers need not wait
 * for one lock); in each, a row's hash is sha256 over the previous row's hash, its sequence number and
 * the canonical JSON of its AuditEvent (keys sorted, so a jsonb round trip does not change it). Seq
 * numbers are global and increase along a chain, with gaps where other chains' rows fall. Deleting,
 * inserting, reordering or altering a row breaks the link at that row; each chain's recorded head (seq
 * and hash of its last row) catches rows deleted from its end and a last row altered with its hash.
 */
import { createHash } from 'node:crypto';
import type { AuditEvent } from '@medplum/fhirtypes';

export const GENESIS_HASH = '0'.repeat(64);

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  // plain loops and one string: verify runs this over every event, and it dominates a verify's time
  if (Array.isArray(value)) {
    let s = '[';
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (i > 0) s += ',';
      s += v === undefined ? 'null' : canonicalJson(v);
    }
    return `${s}]`;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let s = '{';
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    if (s.length > 1) s += ',';
    s += `${JSON.stringify(k)}:${canonicalJson(v)}`;
  }
  return `${s}}`;
}

export function chainHash(prevHash: string, seq: number, content: unknown): string {
  return createHash('sha256').update(`${prevHash}|${seq}|`).update(canonicalJson(content)).digest('hex');
}

/** The columns derived from an AuditEvent for reports; verify checks they still match the content. */
export interface AuditColumns {
  recorded: string;
  userName: string | null;
  patientIds: string[];
  action: string;
  typeCode: string;
  outcome: string;
}

export function auditColumns(e: AuditEvent): AuditColumns {
  const requestor = e.agent?.find((a) => a.requestor) ?? e.agent?.[0];
  const patientIds = (e.entity ?? [])
    .map((x) => x.what?.reference)
    .filter((r): r is string => typeof r === 'string' && r.startsWith('Patient/'))
    .map((r) => r.slice('Patient/'.length));
  return {
    recorded: e.recorded,
    userName: requestor?.who?.identifier?.value ?? null,
    patientIds: [...new Set(patientIds)].sort(),
    action: e.action ?? 'E',
    typeCode: e.subtype?.[0]?.code ?? e.type.code ?? 'unknown',
    outcome: e.outcome ?? '0',
  };
}

export interface ChainRow {
  seq: number;
  recorded: string;
  userName: string | null;
  patientIds: string[];
  action: string;
  typeCode: string;
  outcome: string;
  content: AuditEvent;
  prevHash: string;
  hash: string;
}

export interface ChainLink {
  seq: number;
  hash: string;
}

/** A chain's head as recorded by the appenders: its number and the seq and hash of its last row (seq 0: empty). */
export interface ChainHead extends ChainLink {
  chain: number;
}

/** Checks one row against the one before it in its chain (undefined for the chain's first row); returns why it is broken, or undefined. */
export function checkLink(prev: ChainLink | undefined, row: ChainRow): string | undefined {
  if (prev && row.seq <= prev.seq) return `out of order: row ${row.seq} after row ${prev.seq}`;
  const expectedPrev = prev ? prev.hash : GENESIS_HASH;
  if (row.prevHash !== expectedPrev) {
    return prev
      ? `prev_hash does not match the hash of row ${prev.seq} before it in the chain (rows between them deleted or inserted, or row ${prev.seq} altered)`
      : 'prev_hash is not the genesis hash of an empty chain (the rows before it were deleted)';
  }
  if (chainHash(row.prevHash, row.seq, row.content) !== row.hash) return 'content does not match its hash (row altered)';
  const c = auditColumns(row.content);
  const same =
    Date.parse(c.recorded) === Date.parse(row.recorded) &&
    c.userName === row.userName &&
    c.action === row.action &&
    c.typeCode === row.typeCode &&
    c.outcome === row.outcome &&
    c.patientIds.join(',') === [...row.patientIds].sort().join(',');
  if (!same) return 'report columns do not match the hashed content (row altered)';
  return undefined;
}

/**
 * Checks a chain's rows against its head as read before the walk (`head`) and after it (`headAfter`):
 * the walk must reach the head's row with the head's hash (else rows were deleted from the chain's
 * end, or its last row altered together with its hash), and no row may lie beyond the later head (a
 * row the appenders did not write). `last` is the last row walked; `atHead` the row walked whose seq
 * is the head's, if any. Returns the offending seq and why, or undefined.
 */
export function checkHead(head: ChainHead, headAfter: ChainHead, last: ChainLink | undefined, atHead: ChainLink | undefined): { seq: number; reason: string } | undefined {
  if (head.seq > 0) {
    if (!atHead) {
      const what = !last || last.seq < head.seq ? 'deleted from the end of' : 'deleted from';
      return { seq: head.seq, reason: `row ${head.seq}, the head of chain ${head.chain}, is missing (rows ${what} the chain)` };
    }
    if (atHead.hash !== head.hash) return { seq: head.seq, reason: `row ${head.seq} does not match the hash recorded as the head of chain ${head.chain} (row altered)` };
  }
  if (last && last.seq > headAfter.seq) return { seq: last.seq, reason: `row ${last.seq} lies beyond the head of chain ${head.chain} (row inserted outside the appender)` };
  return undefined;
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  brokenAt?: { seq: number; chain: number; reason: string };
  /** The heads of the chains verified (seq and hash of each chain's last row): keep them elsewhere to anchor the trail. */
  heads: ChainHead[];
}
