/** SQL for the audit trail: chained appends (serialised by an advisory lock), reports, chain verification. */
import type { AuditEvent } from '@medplum/fhirtypes';
import { GENESIS_HASH, auditColumns, chainHash, checkLink, type ChainLink, type ChainRow, type VerifyResult } from '../audit/chain.js';
import type { Db, Queryable } from './db.js';

const AUDIT_LOCK = 7_346_001;

/** Appends events to the chain inside the caller's transaction: they commit or roll back with its writes. */
export async function auditInTransaction(tx: Queryable, ...events: AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  await tx.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK]);
  const last = (await tx.query<{ seq: string | number; hash: string }>('SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1')).rows[0];
  let seq = last ? Number(last.seq) : 0;
  let prev = last ? last.hash : GENESIS_HASH;
  const values: string[] = [];
  const params: unknown[] = [];
  for (const e of events) {
    seq += 1;
    const hash = chainHash(prev, seq, e);
    const c = auditColumns(e);
    const b = params.length;
    values.push(`($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7}, $${b + 8}, $${b + 9}, $${b + 10})`);
    params.push(seq, c.recorded, c.userName, c.patientIds, c.action, c.typeCode, c.outcome, e, prev, hash);
    prev = hash;
  }
  await tx.query(
    `INSERT INTO audit_event (seq, recorded, user_name, patient_ids, action, type_code, outcome, content, prev_hash, hash) VALUES ${values.join(', ')}`,
    params,
  );
}

/**
 * Group commit: events queued while one append runs go together in the next transaction. `append`
 * resolves once the event is committed, so the server answers only after its audit record is durable.
 */
export class AuditWriter {
  private queue: { event: AuditEvent; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private running: Promise<void> | undefined;
  constructor(private readonly db: Db) {}

  append(event: AuditEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      this.running ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, 500);
      try {
        await this.db.transaction((tx) => auditInTransaction(tx, ...batch.map((b) => b.event)));
        for (const b of batch) b.resolve();
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.running = undefined;
  }

  async flush(): Promise<void> {
    while (this.running) await this.running;
  }
}

interface RawRow {
  seq: string | number;
  recorded: string | Date;
  user_name: string | null;
  patient_ids: string[];
  action: string;
  type_code: string;
  outcome: string;
  content: AuditEvent;
  prev_hash: string;
  hash: string;
}

function toChainRow(r: RawRow): ChainRow {
  return {
    seq: Number(r.seq),
    recorded: r.recorded instanceof Date ? r.recorded.toISOString() : String(r.recorded),
    userName: r.user_name,
    patientIds: r.patient_ids ?? [],
    action: r.action,
    typeCode: r.type_code,
    outcome: r.outcome,
    content: typeof r.content === 'string' ? (JSON.parse(r.content) as AuditEvent) : r.content,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** Walks the whole chain in seq order, in batches; stops at the first broken link. */
export async function verifyAuditChain(db: Queryable, onProgress?: (checked: number) => void, batch = 5000): Promise<VerifyResult> {
  let prev: ChainLink | undefined;
  let checked = 0;
  for (;;) {
    const rows = (await db.query<RawRow>(
      'SELECT seq, recorded, user_name, patient_ids, action, type_code, outcome, content, prev_hash, hash FROM audit_event WHERE seq > $1 ORDER BY seq LIMIT $2',
      [prev?.seq ?? 0, batch],
    )).rows;
    if (rows.length === 0) break;
    for (const raw of rows) {
      const row = toChainRow(raw);
      const reason = checkLink(prev, row);
      if (reason) return { ok: false, checked, brokenAt: { seq: row.seq, reason }, lastHash: prev?.hash ?? GENESIS_HASH };
      prev = { seq: row.seq, hash: row.hash };
      checked += 1;
    }
    onProgress?.(checked);
  }
  return { ok: true, checked, lastHash: prev?.hash ?? GENESIS_HASH };
}

export interface AuditQuery {
  user?: string;
  patient?: string;
  from?: string;
  to?: string;
  type?: string;
  sort?: 'recorded' | '-recorded' | 'user' | '-user';
  limit?: number;
  offset?: number;
}

export async function queryAudit(db: Queryable, q: AuditQuery): Promise<{ total: number; events: (AuditEvent & { id: string })[] }> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.user) where.push(`user_name = $${params.push(q.user)}`);
  if (q.patient) where.push(`patient_ids @> ARRAY[$${params.push(q.patient)}]::text[]`);
  if (q.from) where.push(`recorded >= $${params.push(q.from)}::timestamptz`);
  if (q.to) where.push(`recorded <= $${params.push(q.to)}::timestamptz`);
  if (q.type) where.push(`type_code = $${params.push(q.type)}`);
  const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const order = {
    recorded: 'recorded ASC, seq ASC',
    '-recorded': 'recorded DESC, seq DESC',
    user: 'user_name ASC NULLS FIRST, seq ASC',
    '-user': 'user_name DESC NULLS LAST, seq DESC',
  }[q.sort ?? '-recorded'];
  const total = Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_event ${w}`, params)).rows[0]?.n ?? 0);
  const rows = (await db.query<{ seq: string | number; content: AuditEvent }>(
    `SELECT seq, content FROM audit_event ${w} ORDER BY ${order} LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
    [...params, Math.min(q.limit ?? 100, 1000), q.offset ?? 0],
  )).rows;
  return { total, events: rows.map((r) => ({ ...r.content, id: String(r.seq) })) };
}

export async function countAudit(db: Queryable): Promise<number> {
  return Number((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_event')).rows[0]?.n ?? 0);
}
