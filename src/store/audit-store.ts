/**
 * SQL for the audit trail: appends to one of several hash chains (migration 042), reports, chain
 * verification. An appender locks the first chain head no other transaction holds, so concurrent
 * audited writes do not wait for one another; the lock lasts until the caller's transaction ends.
 */
import type { AuditEvent } from '@medplum/fhirtypes';
import { auditColumns, chainHash, checkHead, checkLink, type ChainHead, type ChainLink, type ChainRow, type VerifyResult } from '../audit/chain.js';
import type { Db, Queryable } from './db.js';

/** The chain each open transaction appends to, so a second append in it continues the same chain. */
const chainOf = new WeakMap<Queryable, number>();

interface HeadRow {
  chain: number;
  seq: string | number;
  hash: string;
  seqs: (string | number)[] | string;
}

/** A bigint[] as node-postgres (array) or PGlite (array, or '{1,2}' text) returns it. */
function numbers(v: (string | number)[] | string): number[] {
  if (Array.isArray(v)) return v.map(Number);
  return v.replace(/^\{|\}$/g, '').split(',').filter(Boolean).map(Number);
}

const NEXT_SEQS = 'ARRAY(SELECT nextval(\'audit_event_seq\') FROM generate_series(1, $1::int)) AS seqs';

/**
 * Locks a chain head for the rest of the transaction and draws the events' seq numbers while holding
 * it (so within a chain, seq order is commit order). Takes the first head nobody holds; when every
 * chain is busy, waits for one.
 */
async function lockChain(tx: Queryable, n: number): Promise<{ chain: number; seq: number; hash: string; seqs: number[] }> {
  const held = chainOf.get(tx);
  let row: HeadRow | undefined;
  if (held === undefined) {
    row = (await tx.query<HeadRow>(
      `WITH h AS MATERIALIZED (SELECT chain, seq, hash FROM audit_chain ORDER BY chain LIMIT 1 FOR UPDATE SKIP LOCKED)
       SELECT h.chain, h.seq, h.hash, ${NEXT_SEQS} FROM h`,
      [n],
    )).rows[0];
  }
  if (!row) {
    const count = Number((await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_chain')).rows[0]?.n ?? 1);
    const chain = held ?? Math.floor(Math.random() * Math.max(count, 1));
    row = (await tx.query<HeadRow>(
      `WITH h AS MATERIALIZED (SELECT chain, seq, hash FROM audit_chain WHERE chain = $2 FOR UPDATE)
       SELECT h.chain, h.seq, h.hash, ${NEXT_SEQS} FROM h`,
      [n, chain],
    )).rows[0];
    if (!row) throw new Error(`audit chain ${chain} has no head row`);
  }
  const chain = Number(row.chain);
  chainOf.set(tx, chain);
  return { chain, seq: Number(row.seq), hash: row.hash, seqs: numbers(row.seqs) };
}

/**
 * Appends events to a chain inside the caller's transaction (pass a transaction, not the pool): they
 * commit or roll back with its writes, and the chain's head moves with them.
 */
export async function auditInTransaction(tx: Queryable, ...events: AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  const head = await lockChain(tx, events.length);
  let prev = head.hash;
  let seq = head.seq;
  const values: string[] = [];
  const params: unknown[] = [head.chain];
  events.forEach((e, i) => {
    seq = head.seqs[i] as number;
    const hash = chainHash(prev, seq, e);
    const c = auditColumns(e);
    const b = params.length;
    values.push(`($1, $${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7}, $${b + 8}, $${b + 9}, $${b + 10})`);
    params.push(seq, c.recorded, c.userName, c.patientIds, c.action, c.typeCode, c.outcome, e, prev, hash);
    prev = hash;
  });
  const s = params.push(seq);
  const h = params.push(prev);
  await tx.query(
    `WITH ins AS (
       INSERT INTO audit_event (chain, seq, recorded, user_name, patient_ids, action, type_code, outcome, content, prev_hash, hash)
       VALUES ${values.join(', ')} RETURNING 1)
     UPDATE audit_chain SET seq = $${s}, hash = $${h} WHERE chain = $1`,
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
  chain: number;
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

async function readHeads(db: Queryable): Promise<ChainHead[]> {
  const rows = (await db.query<{ chain: number; seq: string | number; hash: string }>('SELECT chain, seq, hash FROM audit_chain ORDER BY chain')).rows;
  return rows.map((r) => ({ chain: Number(r.chain), seq: Number(r.seq), hash: r.hash }));
}

/**
 * Walks every chain in (chain, seq) order, in batches (the next batch is read while this one is
 * hashed); stops at the first broken link. Then checks each chain ends at its recorded head. Events
 * appended while it runs are either walked or left for the next run; neither is reported as broken.
 */
export async function verifyAuditChain(db: Queryable, onProgress?: (checked: number) => void, batch = 5000): Promise<VerifyResult> {
  const heads = await readHeads(db);
  const headOf = new Map(heads.map((h) => [h.chain, h]));
  const walked = new Map<number, { last?: ChainLink; atHead?: ChainLink }>();
  let checked = 0;
  const read = (chain: number, seq: number): Promise<{ rows: RawRow[] }> =>
    db.query<RawRow>(
      `SELECT chain, seq, recorded, user_name, patient_ids, action, type_code, outcome, content, prev_hash, hash FROM audit_event
        WHERE (chain, seq) > ($1::smallint, $2::bigint) ORDER BY chain, seq LIMIT $3`,
      [chain, seq, batch],
    );
  let next: Promise<{ rows: RawRow[] }> | undefined = read(-1, 0);
  const broken = (seq: number, chain: number, reason: string): VerifyResult => {
    next?.catch(() => undefined); // a read ahead nobody will use
    return { ok: false, checked, brokenAt: { seq, chain, reason }, heads };
  };
  while (next) {
    const rows: RawRow[] = (await next).rows;
    const end: RawRow | undefined = rows[rows.length - 1];
    next = end && rows.length === batch ? read(Number(end.chain), Number(end.seq)) : undefined;
    for (const raw of rows) {
      const chain = Number(raw.chain);
      const row = toChainRow(raw);
      const head = headOf.get(chain);
      if (!head) return broken(row.seq, chain, `row ${row.seq} is in chain ${chain}, which has no recorded head (row inserted outside the appender)`);
      let w = walked.get(chain);
      if (!w) walked.set(chain, (w = {}));
      const reason = checkLink(w.last, row);
      if (reason) return broken(row.seq, chain, reason);
      w.last = { seq: row.seq, hash: row.hash };
      if (row.seq === head.seq) w.atHead = w.last;
      checked += 1;
    }
    onProgress?.(checked);
  }
  const after = new Map((await readHeads(db)).map((h) => [h.chain, h]));
  for (const head of heads) {
    const w = walked.get(head.chain);
    const b = checkHead(head, after.get(head.chain) ?? head, w?.last, w?.atHead);
    if (b) return broken(b.seq, head.chain, b.reason);
  }
  return { ok: true, checked, heads };
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
