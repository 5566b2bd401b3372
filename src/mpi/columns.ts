/**
 * A population's prepared records as columns of interned ids: each distinct value (a name, a street,
 * a birth date...) is stored once in a table and records hold its index in typed arrays. A pair is
 * then compared by integers, and what a comparison computes from two values alone (Jaro-Winkler of
 * two names, their level) is computed once per pair of values and remembered. The typed arrays sit
 * on SharedArrayBuffers so that worker threads read them without a copy.
 *
 * ColumnComparer gives, for every pair, exactly the levels compareInto (compare.ts) gives on the
 * Prepared records: it calls the same level functions on the values, only fewer times
 * (test/mpi/columns.test.ts checks them equal on every suite).
 */
import { COMPARISON_KINDS, addressLevel, dateLevel, emailLevel, identifierLevel, nameLevel, ssnLevel } from './compare.js';
import { nameCodes, type Prepared } from './prepare.js';
import { jaroWinkler, withinOneEdit } from './string-metrics.js';
import type { MatcherConfig } from './types.js';

/** One list-valued field: record r's ids are ids[off[r] ... off[r + 1]). */
export interface ListColumn {
  off: Int32Array;
  ids: Int32Array;
}

export interface Columns {
  n: number;
  /** Given, family and previous names share one table (transposed names compare across them). */
  names: string[];
  given: ListColumn;
  /** -1 where the value is missing ('' in Prepared), in every single-valued column. */
  family: Int32Array;
  /** The parts of a double-barrelled family name (Prepared.familyParts). */
  familyParts: ListColumn;
  previousFamily: ListColumn;
  dobs: string[];
  dob: Int32Array;
  sexes: string[];
  sex: Int32Array;
  numbers: string[];
  number: Int32Array;
  streets: string[];
  street: Int32Array;
  cities: string[];
  city: Int32Array;
  states: string[];
  state: Int32Array;
  postcodes: string[];
  postcode: Int32Array;
  ssns: string[];
  ssn: Int32Array;
  identifiers: string[];
  identifier: ListColumn;
  phones: string[];
  phone: ListColumn;
  emails: string[];
  email: ListColumn;
}

const sharedInt32 = (length: number): Int32Array => new Int32Array(new SharedArrayBuffer(Math.max(1, length) * 4)).subarray(0, length);

class Interner {
  readonly values: string[] = [];
  private readonly index = new Map<string, number>();
  id(v: string): number {
    if (v === '') return -1;
    let i = this.index.get(v);
    if (i === undefined) {
      i = this.values.length;
      this.index.set(v, i);
      this.values.push(v);
    }
    return i;
  }
}

function single(records: Prepared[], intern: Interner, get: (p: Prepared) => string): Int32Array {
  const out = sharedInt32(records.length);
  for (let r = 0; r < records.length; r++) out[r] = intern.id(get(records[r]!));
  return out;
}

function list(records: Prepared[], intern: Interner, get: (p: Prepared) => string[]): ListColumn {
  const off = sharedInt32(records.length + 1);
  let total = 0;
  for (let r = 0; r < records.length; r++) {
    off[r] = total;
    total += get(records[r]!).length;
  }
  off[records.length] = total;
  const ids = sharedInt32(total);
  for (let r = 0; r < records.length; r++) {
    const vs = get(records[r]!);
    for (let k = 0; k < vs.length; k++) ids[off[r]! + k] = intern.id(vs[k]!);
  }
  return { off, ids };
}

/** The records as columns (the order of the records is kept: record r is row r). */
export function toColumns(records: Prepared[]): Columns {
  const names = new Interner();
  const t = (): Interner => new Interner();
  const [dobs, sexes, numbers, streets, cities, states, postcodes, ssns, identifiers, phones, emails] = [t(), t(), t(), t(), t(), t(), t(), t(), t(), t(), t()];
  return {
    n: records.length,
    given: list(records, names, (p) => p.given),
    family: single(records, names, (p) => p.family),
    familyParts: list(records, names, (p) => p.familyParts),
    previousFamily: list(records, names, (p) => p.previousFamily),
    names: names.values,
    dob: single(records, dobs, (p) => p.dob),
    dobs: dobs.values,
    sex: single(records, sexes, (p) => p.sex),
    sexes: sexes.values,
    number: single(records, numbers, (p) => p.number),
    numbers: numbers.values,
    street: single(records, streets, (p) => p.street),
    streets: streets.values,
    city: single(records, cities, (p) => p.city),
    cities: cities.values,
    state: single(records, states, (p) => p.state),
    states: states.values,
    postcode: single(records, postcodes, (p) => p.postcode),
    postcodes: postcodes.values,
    ssn: single(records, ssns, (p) => p.ssn),
    ssns: ssns.values,
    identifier: list(records, identifiers, (p) => p.identifiers),
    identifiers: identifiers.values,
    phone: list(records, phones, (p) => p.phone),
    phones: phones.values,
    email: list(records, emails, (p) => p.email),
    emails: emails.values,
  };
}

/**
 * A memo of a small result (0-127) per ordered pair of ids: open addressing in typed arrays. When it
 * holds `limit` entries it starts again empty (results do not depend on what it remembers).
 */
export class PairMemo {
  private keys: Int32Array;
  private vals: Int8Array;
  private size = 0;
  constructor(private readonly limit = 1 << 22) {
    this.keys = new Int32Array(2 * 1024).fill(-1);
    this.vals = new Int8Array(1024);
  }

  private slot(x: number, y: number): number {
    const mask = this.vals.length - 1;
    let h = (Math.imul(x, 0x9e3779b1) ^ Math.imul(y, 0x85ebca6b)) & mask;
    for (;;) {
      const k = this.keys[2 * h]!;
      if (k === -1 || (k === x && this.keys[2 * h + 1] === y)) return h;
      h = (h + 1) & mask;
    }
  }

  get(x: number, y: number): number {
    const h = this.slot(x, y);
    return this.keys[2 * h] === -1 ? -1 : this.vals[h]!;
  }

  set(x: number, y: number, v: number): void {
    if (this.size >= this.limit) {
      this.keys.fill(-1);
      this.size = 0;
    } else if (2 * (this.size + 1) > this.vals.length) {
      const old = this.keys;
      const oldVals = this.vals;
      this.keys = new Int32Array(old.length * 2).fill(-1);
      this.vals = new Int8Array(oldVals.length * 2);
      for (let h = 0; h < oldVals.length; h++) {
        const k = old[2 * h]!;
        if (k === -1) continue;
        const s = this.slot(k, old[2 * h + 1]!);
        this.keys[2 * s] = k;
        this.keys[2 * s + 1] = old[2 * h + 1]!;
        this.vals[s] = oldVals[h]!;
      }
    }
    const h = this.slot(x, y);
    if (this.keys[2 * h] === -1) this.size++;
    this.keys[2 * h] = x;
    this.keys[2 * h + 1] = y;
    this.vals[h] = v;
  }
}

// What is remembered about a pair of names: the level (2 bits) and a flag.
const LEVEL = 3;
const JW_HIGH = 4;
// ... and about a pair of streets or cities.
const SIM_HIGH = 1;
const SIM_LOW = 2;


/** Compares pairs of rows of one Columns with a configuration's comparisons. One per thread. */
export class ColumnComparer {
  private readonly kinds: Int8Array;
  private readonly names = new PairMemo();
  private readonly streets = new PairMemo();
  private readonly cities = new PairMemo();
  private readonly codes: (string[] | undefined)[];

  constructor(private readonly c: Columns, private readonly config: MatcherConfig) {
    this.kinds = Int8Array.from(config.comparisons.map((k) => COMPARISON_KINDS.indexOf(k.kind)));
    this.codes = new Array<string[] | undefined>(c.names.length);
  }

  private nameCodes(x: number): string[] {
    let v = this.codes[x];
    if (!v) this.codes[x] = v = nameCodes(this.c.names[x]!);
    return v;
  }

  /** Level and Jaro-Winkler >= high. */
  private name(x: number, y: number): number {
    if (x === y) return JW_HIGH;
    let v = this.names.get(x, y);
    if (v < 0) {
      const a = this.c.names[x]!;
      const b = this.c.names[y]!;
      const sim = this.config.similarity;
      const jw = jaroWinkler(a, b);
      v = nameLevel(a, b, this.nameCodes(x), this.nameCodes(y), sim, jw);
      if (jw >= sim.high) v |= JW_HIGH;
      this.names.set(x, y, v);
    }
    return v;
  }

  private similar(memo: PairMemo, table: string[], x: number, y: number): number {
    let v = memo.get(x, y);
    if (v < 0) {
      const jw = jaroWinkler(table[x]!, table[y]!);
      v = (jw >= this.config.similarity.high ? SIM_HIGH : 0) | (jw >= this.config.similarity.low ? SIM_LOW : 0);
      memo.set(x, y, v);
    }
    return v;
  }

  /** The comparison levels of rows a and b into out[offset...], as compareInto gives them. */
  compareInto(a: number, b: number, out: Int8Array, offset: number): void {
    const c = this.c;
    const g = c.given;
    const ga = g.off[a]!;
    const gaEnd = g.off[a + 1]!;
    const gb = g.off[b]!;
    const gbEnd = g.off[b + 1]!;
    const ag = ga < gaEnd ? g.ids[ga]! : -1;
    const bg = gb < gbEnd ? g.ids[gb]! : -1;
    const af = c.family[a]!;
    const bf = c.family[b]!;
    // alignNames: first and family names transposed on b.
    let swapped = false;
    if (ag >= 0 && bg >= 0 && af >= 0 && bf >= 0 && ag !== bg && af !== bf) swapped = (this.name(ag, bf) & JW_HIGH) !== 0 && (this.name(af, bg) & JW_HIGH) !== 0;
    const kinds = this.kinds;
    for (let k = 0; k < kinds.length; k++) {
      let l: number;
      switch (kinds[k]) {
        case 0: {
          // given
          if (ag < 0 || bg < 0) {
            l = -1;
            break;
          }
          let best = this.name(ag, swapped ? bf : bg) & LEVEL;
          for (let i = ga; i < gaEnd && best > 1; i++) {
            for (let j = gb; j < gbEnd; j++) {
              if (i === ga && j === gb) continue;
              const y = j === gb && swapped ? bf : g.ids[j]!;
              const lij = Math.max(1, (this.name(g.ids[i]!, y) & LEVEL) + 1);
              if (lij < best) best = Math.min(lij, 3);
            }
          }
          l = best;
          break;
        }
        case 1: {
          // family
          const bfx = swapped ? bg : bf;
          if (af < 0 || bfx < 0) {
            l = -1;
            break;
          }
          l = this.name(af, bfx) & LEVEL;
          if (l <= 1) break;
          if (includes(c.previousFamily, a, bfx) || includes(c.previousFamily, b, af) || includes(c.familyParts, a, bfx) || includes(c.familyParts, b, af)) l = 1;
          break;
        }
        case 2: {
          const x = c.dob[a]!;
          const y = c.dob[b]!;
          l = x < 0 || y < 0 ? -1 : x === y ? 0 : dateLevel(c.dobs[x]!, c.dobs[y]!);
          break;
        }
        case 3:
          l = exact(c.sex[a]!, c.sex[b]!);
          break;
        case 4:
          l = addressLevel(this.address(a), this.address(b), this.config.similarity);
          break;
        case 5:
          l = this.street(a, b);
          break;
        case 6: {
          const x = c.city[a]!;
          const y = c.city[b]!;
          l = x < 0 || y < 0 ? -1 : x === y ? 0 : this.similar(this.cities, c.cities, x, y) & SIM_HIGH ? 1 : 2;
          break;
        }
        case 7:
          l = exact(c.state[a]!, c.state[b]!);
          break;
        case 8: {
          const x = c.postcode[a]!;
          const y = c.postcode[b]!;
          l = x < 0 || y < 0 ? -1 : x === y ? 0 : withinOneEdit(c.postcodes[x]!, c.postcodes[y]!) ? 1 : 2;
          break;
        }
        case 9: {
          const x = c.ssn[a]!;
          const y = c.ssn[b]!;
          l = x < 0 || y < 0 ? -1 : x === y ? 0 : ssnLevel(c.ssns[x]!, c.ssns[y]!);
          break;
        }
        case 10:
          l = hasAny(c.identifier, a) && hasAny(c.identifier, b) ? identifierLevel(values(c.identifier, c.identifiers, a), values(c.identifier, c.identifiers, b)) : -1;
          break;
        case 11:
          l = this.phone(a, b);
          break;
        case 12: {
          if (!hasAny(c.email, a) || !hasAny(c.email, b)) {
            l = -1;
            break;
          }
          l = Number.MAX_SAFE_INTEGER;
          for (const x of values(c.email, c.emails, a)) for (const y of values(c.email, c.emails, b)) l = Math.min(l, emailLevel(x, y, this.config.similarity));
          break;
        }
        default:
          throw new Error(`Unknown comparison ${kindName(this.config, k)}`);
      }
      out[offset + k] = l;
    }
  }

  /** streetLevel (compare.ts) on ids. */
  private street(a: number, b: number): number {
    const c = this.c;
    const sa = c.street[a]!;
    const sb = c.street[b]!;
    if (sa < 0 || sb < 0) return -1;
    const na = c.number[a]!;
    const nb = c.number[b]!;
    const sameNo = na >= 0 && na === nb;
    if (sa === sb && (sameNo || (na < 0 && nb < 0))) return 0;
    const sim = sa === sb ? SIM_HIGH | SIM_LOW : this.similar(this.streets, c.streets, sa, sb);
    const nearNo = sameNo || (na >= 0 && nb >= 0 && withinOneEdit(c.numbers[na]!, c.numbers[nb]!));
    if ((sameNo && sim & SIM_HIGH) || (sa === sb && nearNo)) return 1;
    if (sim & SIM_HIGH || (sameNo && sim & SIM_LOW)) return 2;
    return 3;
  }

  /** anyLevel(phone, typoLevel) on ids. */
  private phone(a: number, b: number): number {
    const p = this.c.phone;
    if (!hasAny(p, a) || !hasAny(p, b)) return -1;
    let best = 2;
    for (let i = p.off[a]!; i < p.off[a + 1]!; i++) {
      for (let j = p.off[b]!; j < p.off[b + 1]!; j++) {
        const x = p.ids[i]!;
        const y = p.ids[j]!;
        const l = x === y ? 0 : withinOneEdit(this.c.phones[x]!, this.c.phones[y]!) ? 1 : 2;
        if (l < best) best = l;
      }
    }
    return best;
  }

  /** The address fields of a row, as addressLevel reads them. */
  private address(r: number): Prepared {
    const c = this.c;
    const v = (table: string[], id: number): string => (id < 0 ? '' : table[id]!);
    return { number: v(c.numbers, c.number[r]!), street: v(c.streets, c.street[r]!), city: v(c.cities, c.city[r]!), state: v(c.states, c.state[r]!), postcode: v(c.postcodes, c.postcode[r]!) } as Prepared;
  }
}

const kindName = (c: MatcherConfig, k: number): string => c.comparisons[k]?.kind ?? String(k);
const exact = (x: number, y: number): number => (x < 0 || y < 0 ? -1 : x === y ? 0 : 1);
const hasAny = (col: ListColumn, r: number): boolean => col.off[r + 1]! > col.off[r]!;

function includes(col: ListColumn, r: number, id: number): boolean {
  for (let i = col.off[r]!; i < col.off[r + 1]!; i++) if (col.ids[i] === id) return true;
  return false;
}

function values(col: ListColumn, table: string[], r: number): string[] {
  const out: string[] = [];
  for (let i = col.off[r]!; i < col.off[r + 1]!; i++) out.push(table[col.ids[i]!]!);
  return out;
}

/**
 * Shared state of a comparison of many pairs split in chunks: threads (the caller's and workers)
 * claim chunks through `next` and mark each finished one in `done`, so whichever thread computes a
 * chunk the levels written are the same, and a chunk a dead worker left is recomputed.
 */
export interface PairChunks {
  pairs: Uint32Array;
  gamma: Int8Array;
  K: number;
  chunkPairs: number;
  /** next[0]: the next unclaimed chunk. */
  next: Int32Array;
  /** Per chunk: 0 until finished, then 1 + the thread that finished it (0 the caller). */
  done: Int8Array;
}

export function pairChunks(pairs: Uint32Array, K: number, chunkPairs = 1 << 18): PairChunks {
  const P = pairs.length / 2;
  const shared = new Uint32Array(new SharedArrayBuffer(Math.max(4, pairs.byteLength)));
  shared.set(pairs);
  const chunks = Math.ceil(P / chunkPairs);
  return {
    pairs: shared.subarray(0, pairs.length),
    gamma: new Int8Array(new SharedArrayBuffer(Math.max(1, P * K))).subarray(0, P * K),
    K,
    chunkPairs,
    next: new Int32Array(new SharedArrayBuffer(4)),
    done: new Int8Array(new SharedArrayBuffer(Math.max(1, chunks))).subarray(0, chunks),
  };
}

function compareChunk(comparer: ColumnComparer, s: PairChunks, chunk: number, thread: number): void {
  const P = s.pairs.length / 2;
  const end = Math.min(P, (chunk + 1) * s.chunkPairs);
  for (let p = chunk * s.chunkPairs; p < end; p++) comparer.compareInto(s.pairs[2 * p]!, s.pairs[2 * p + 1]!, s.gamma, p * s.K);
  Atomics.store(s.done, chunk, thread + 1);
}

/** Claims and compares chunks until none is left unclaimed; `thread` (0 the caller) marks them done. */
export function compareClaimedChunks(comparer: ColumnComparer, s: PairChunks, thread: number): void {
  for (;;) {
    const chunk = Atomics.add(s.next, 0, 1);
    if (chunk >= s.done.length) return;
    compareChunk(comparer, s, chunk, thread);
  }
}

/** Compares the chunks no thread finished (after the workers have stopped). */
export function compareUnfinishedChunks(comparer: ColumnComparer, s: PairChunks): void {
  for (let chunk = 0; chunk < s.done.length; chunk++) if (Atomics.load(s.done, chunk) === 0) compareChunk(comparer, s, chunk, 0);
}
