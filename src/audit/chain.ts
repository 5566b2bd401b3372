/**
 * The audit hash chain. Each row's hash is sha256 over the previous row's hash, its sequence number and
 * the canonical JSON of its AuditEvent (keys sorted, so a jsonb round trip does not change it). Deleting,
 * inserting, reordering or altering a row breaks the link at that row.
 */
import { createHash } from 'node:crypto';
import type { AuditEvent } from '@medplum/fhirtypes';

export const GENESIS_HASH = '0'.repeat(64);

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
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

/** Checks one row against the one before it (undefined for the first row); returns why it is broken, or undefined. */
export function checkLink(prev: ChainLink | undefined, row: ChainRow): string | undefined {
  const expectedSeq = prev ? prev.seq + 1 : 1;
  if (row.seq !== expectedSeq) return `sequence gap: expected row ${expectedSeq}, found row ${row.seq} (rows deleted or inserted)`;
  const expectedPrev = prev ? prev.hash : GENESIS_HASH;
  if (row.prevHash !== expectedPrev) return 'prev_hash does not match the hash of the row before it';
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

export interface VerifyResult {
  ok: boolean;
  checked: number;
  brokenAt?: { seq: number; reason: string };
  lastHash: string;
}
