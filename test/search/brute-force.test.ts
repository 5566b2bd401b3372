/**
 * Generated searches over real Synthea data, each compared with a brute-force evaluation of the same
 * criteria in memory: FHIRPath over every resource, with the FHIR R4 matching rules written out here
 * independently of the SQL compiler. Identical ids; identical order where sorted.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evalFhirPathTyped, getSearchParameters, toTypedValue, type TypedValue } from '@medplum/core';
import type { Resource, SearchParameter } from '@medplum/fhirtypes';
import { backends } from '../helpers/db.js';
import { demoBundleFiles } from '../helpers/fixtures.js';
import type { Db } from '../../src/store/db.js';
import { importFiles } from '../../src/records/import-files.js';
import { loadDefinitions } from '../../src/fhir/definitions.js';
import { parseSearchRequest } from '../../src/fhir/search-request.js';
import { searchIds, searchTuning } from '../../src/store/search-sql.js';

// ---- a deterministic generator --------------------------------------------------------------------
let seed = 20261127;
const rand = (): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const pick = <T,>(a: T[]): T => a[Math.floor(rand() * a.length)] as T;

// ---- brute-force semantics ------------------------------------------------------------------------
const norm = (s: string): string => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().trim();

/** [lo, hi] in ms of a FHIR date/dateTime/instant text; written independently of src/fhir/dates.ts. */
function range(text: string): [number, number] | undefined {
  const m = /^(\d{4})(-(\d{2}))?(-(\d{2}))?(T(\d{2}):(\d{2})(:(\d{2})(\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?$/.exec(text);
  if (!m) return undefined;
  const y = +m[1]!;
  if (!m[3]) return [Date.UTC(y, 0, 1), Date.UTC(y + 1, 0, 1) - 1];
  const mo = +m[3] - 1;
  if (!m[5]) return [Date.UTC(y, mo, 1), Date.UTC(y, mo + 1, 1) - 1];
  const d = +m[5];
  if (!m[6]) return [Date.UTC(y, mo, d), Date.UTC(y, mo, d + 1) - 1];
  const tz = m[13];
  const off = !tz || tz === 'Z' ? 0 : (tz[0] === '-' ? -1 : 1) * (+tz.slice(1, 3) * 60 + +tz.slice(4, 6));
  const base = Date.UTC(y, mo, d, +m[7]!, +m[8]!) - off * 60000;
  if (!m[10]) return [base, base + 59999];
  const sec = base + +m[10] * 1000;
  if (!m[12]) return [sec, sec + 999];
  const digits = m[12].length;
  const ms = Math.floor(Number(`0.${m[12]}`) * 1000);
  return [sec + ms, sec + ms + (digits >= 3 ? 0 : 10 ** (3 - digits) - 1)];
}

interface Tok { system?: string; code?: string; text?: string }

function tokensOf(tv: TypedValue): Tok[] {
  const v = tv.value as Record<string, unknown> | string | boolean;
  if (typeof v === 'string' || typeof v === 'boolean') return [{ code: String(v) }];
  if (!v || typeof v !== 'object') return [];
  switch (tv.type) {
    case 'CodeableConcept': {
      const out: Tok[] = ((v.coding as Record<string, string>[]) ?? []).map((c) => ({ system: c.system, code: c.code, text: c.display ?? (v.text as string) }));
      if (v.text) out.push({ text: v.text as string });
      return out;
    }
    case 'Identifier': return [{ system: v.system as string, code: v.value as string, text: (v.type as { text?: string })?.text }];
    case 'ContactPoint': return [{ system: v.system as string, code: v.value as string }];
    case 'Coding': return [{ system: v.system as string, code: v.code as string, text: v.display as string }];
    default: return [];
  }
}

function stringsOf(tv: TypedValue): string[] {
  const v = tv.value as Record<string, unknown> | string;
  if (typeof v === 'string') return [v];
  if (!v || typeof v !== 'object') return [];
  const flat = (x: unknown): string[] => (Array.isArray(x) ? x.map(String) : typeof x === 'string' ? [x] : []);
  if (tv.type === 'HumanName') return [...flat(v.text), ...flat(v.family), ...flat(v.given), ...flat(v.prefix), ...flat(v.suffix)];
  if (tv.type === 'Address') return [...flat(v.text), ...flat(v.line), ...flat(v.city), ...flat(v.district), ...flat(v.state), ...flat(v.postalCode), ...flat(v.country)];
  return [];
}

function rangesOf(tv: TypedValue): [number, number][] {
  const v = tv.value as Record<string, string> | string;
  if (typeof v === 'string') return range(v) ? [range(v)!] : [];
  if (tv.type === 'Period' && v) {
    const lo = v.start ? range(v.start)?.[0] : -Infinity;
    const hi = v.end ? range(v.end)?.[1] : Infinity;
    return lo === undefined || hi === undefined || (!v.start && !v.end) ? [] : [[lo, hi]];
  }
  return [];
}

function refsOf(tv: TypedValue): string[] {
  const v = tv.value as { reference?: string } | string;
  if (typeof v === 'string') return [v];
  return v?.reference && !v.reference.startsWith('#') ? [v.reference] : [];
}

function dateMatches(prefix: string, q: [number, number], r: [number, number]): boolean {
  switch (prefix) {
    case 'eq': return r[0] >= q[0] && r[1] <= q[1];
    case 'ne': return !(r[0] >= q[0] && r[1] <= q[1]);
    case 'gt': return r[1] > q[1];
    case 'lt': return r[0] < q[0];
    case 'ge': return r[1] >= q[0];
    case 'le': return r[0] <= q[1];
    case 'sa': return r[0] > q[1];
    case 'eb': return r[1] < q[0];
    case 'ap': {
      // the value's range widened by a tenth of its distance from now, at least a day (the server's rule)
      const pad = Math.max(Math.abs(Date.now() - (q[0] + q[1]) / 2) * 0.1, 86_400_000);
      return r[0] <= q[1] + pad && r[1] >= q[0] - pad;
    }
    default: throw new Error(prefix);
  }
}

interface Criterion { name: string; value: string }

class Oracle {
  private cache = new Map<string, TypedValue[]>();
  constructor(readonly all: Resource[]) {}
  byType(t: string): Resource[] {
    return this.all.filter((r) => r.resourceType === t);
  }
  values(r: Resource, sp: SearchParameter): TypedValue[] {
    const k = `${r.resourceType}/${r.id}/${sp.code}`;
    let v = this.cache.get(k);
    if (!v) {
      v = evalFhirPathTyped(sp.expression as string, [toTypedValue(r)]);
      this.cache.set(k, v);
    }
    return v;
  }
  param(t: string, code: string): SearchParameter {
    const sp = getSearchParameters(t)?.[code];
    if (!sp) throw new Error(`${t}.${code}`);
    return sp;
  }
  matches(r: Resource, c: Criterion): boolean {
    const [head, modifier] = c.name.split(':') as [string, string | undefined];
    if (c.name.includes('.')) {
      const [refPart, tail] = [c.name.slice(0, c.name.indexOf('.')), c.name.slice(c.name.indexOf('.') + 1)];
      const [code, target] = refPart.split(':') as [string, string];
      const refs = this.values(r, this.param(r.resourceType, code)).flatMap(refsOf);
      return refs.some((ref) => {
        const [tt, tid] = ref.split('/');
        if (tt !== target) return false;
        const t = this.all.find((x) => x.resourceType === tt && x.id === tid);
        return !!t && this.matches(t, { name: tail, value: c.value });
      });
    }
    if (head === '_has') {
      const [, hasType, refCode, inner] = c.name.split(':') as [string, string, string, string];
      return this.byType(hasType).some((h) =>
        this.values(h, this.param(hasType, refCode)).flatMap(refsOf).includes(`${r.resourceType}/${r.id}`) && this.matches(h, { name: inner, value: c.value }));
    }
    if (head === '_id') return c.value.split(',').includes(r.id as string);
    const sp = this.param(r.resourceType, head);
    const vals = this.values(r, sp);
    if (modifier === 'missing') return (vals.length === 0) === (c.value === 'true');
    const ors = c.value.split(',');
    switch (sp.type) {
      case 'token': {
        const toks = vals.flatMap(tokensOf);
        const any = ors.some((q) => {
          if (modifier === 'text') return toks.some((t) => t.text !== undefined && t.text.toLowerCase().includes(q.toLowerCase()));
          const bar = q.indexOf('|');
          if (bar < 0) return toks.some((t) => t.code === q);
          const sys = q.slice(0, bar);
          const code = q.slice(bar + 1);
          if (!sys) return toks.some((t) => t.code === code && !t.system);
          if (!code) return toks.some((t) => t.system === sys);
          return toks.some((t) => t.system === sys && t.code === code);
        });
        return modifier === 'not' ? !any : any;
      }
      case 'string': {
        const ss = vals.flatMap(stringsOf);
        return ors.some((q) => ss.some((s) => (modifier === 'exact' ? s === q : modifier === 'contains' ? norm(s).includes(norm(q)) : norm(s).startsWith(norm(q)))));
      }
      case 'date': {
        const rs = vals.flatMap(rangesOf);
        return ors.some((q) => {
          const prefix = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)/.exec(q)?.[1] ?? 'eq';
          const qr = range(q.replace(/^(eq|ne|gt|lt|ge|le|sa|eb|ap)/, ''))!;
          return rs.some((x) => dateMatches(prefix, qr, x));
        });
      }
      case 'reference': {
        const refs = vals.flatMap(refsOf);
        return ors.some((q) => refs.some((ref) => (q.includes('/') ? ref === q || ref.endsWith(`/${q}`) : ref.split('/').pop() === q && (!modifier || ref.startsWith(`${modifier}/`)))));
      }
      case 'quantity': {
        return ors.some((q) => {
          const [num, sys, code] = q.split('|') as [string, string?, string?];
          const prefix = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)/.exec(num)?.[1] ?? 'eq';
          const n = Number(num.replace(/^(eq|ne|gt|lt|ge|le|sa|eb|ap)/, ''));
          const decimals = (num.split('.')[1] ?? '').length;
          const half = 0.5 * 10 ** -decimals;
          return vals.some((tv) => {
            const v = tv.value as { value?: number; system?: string; code?: string; unit?: string };
            if (typeof v?.value !== 'number') return false;
            if (sys && v.system !== sys) return false;
            if (code && (v.code ?? v.unit) !== code) return false;
            const x = v.value;
            // ap: within 10% of the value (the spec's suggestion, what the server does)
            return { eq: x >= n - half && x < n + half, ne: !(x >= n - half && x < n + half), gt: x > n, lt: x < n, ge: x >= n, le: x <= n, sa: x > n, eb: x < n, ap: Math.abs(x - n) <= Math.abs(n) * 0.1 }[prefix];
          });
        });
      }
      default: throw new Error(`oracle: ${sp.type}`);
    }
  }
  sortKey(r: Resource, code: string, desc: boolean): string | number | null {
    if (code === '_id') return r.id as string;
    const sp = this.param(r.resourceType, code);
    const vals = this.values(r, sp);
    let keys: (string | number)[] = [];
    if (sp.type === 'date') keys = vals.flatMap(rangesOf).map((x) => (desc ? x[1] : x[0]));
    else if (sp.type === 'string') keys = vals.flatMap(stringsOf).map(norm);
    else if (sp.type === 'token') keys = vals.flatMap(tokensOf).map((t) => t.code).filter((x): x is string => !!x);
    if (!keys.length) return null;
    return keys.reduce((a, b) => ((desc ? b > a : b < a) ? b : a));
  }
  search(type: string, criteria: Criterion[], sort?: { code: string; desc: boolean }): string[] {
    const hits = this.byType(type).filter((r) => criteria.every((c) => this.matches(r, c)));
    if (!sort) return hits.map((r) => r.id as string).sort();
    const cmpText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    return hits
      .map((r) => ({ id: r.id as string, k: this.sortKey(r, sort.code, sort.desc) }))
      .sort((a, b) => {
        if (a.k === null && b.k !== null) return 1;
        if (b.k === null && a.k !== null) return -1;
        if (a.k !== null && b.k !== null && a.k !== b.k) {
          const c = typeof a.k === 'number' ? (a.k as number) - (b.k as number) : cmpText(String(a.k), String(b.k));
          if (c !== 0) return sort.desc ? -c : c;
        }
        return cmpText(a.id, b.id);
      })
      .map((x) => x.id);
  }
}

// ---- search generation from the data --------------------------------------------------------------
const PARAMS: Record<string, string[]> = {
  Patient: ['name', 'family', 'given', 'gender', 'birthdate', 'identifier', 'address-city', 'address-postalcode', 'deceased', 'general-practitioner', 'telecom'],
  Encounter: ['status', 'class', 'type', 'date', 'subject', 'patient', 'participant', 'practitioner', 'service-provider', 'reason-code'],
  // (patient, practitioner and the combo parameters are read from other parameters' rows: storage-aliases.ts)
  Observation: ['code', 'status', 'category', 'date', 'subject', 'patient', 'encounter', 'value-quantity', 'value-concept', 'combo-code', 'combo-value-quantity', 'combo-value-concept'],
  Condition: ['code', 'clinical-status', 'onset-date', 'abatement-date', 'subject', 'patient', 'encounter', 'verification-status'],
  Procedure: ['code', 'status', 'date', 'subject', 'encounter'],
  Claim: ['status', 'use', 'created', 'patient', 'provider', 'priority'],
  ExplanationOfBenefit: ['status', 'created', 'patient', 'provider', 'claim'],
  Immunization: ['vaccine-code', 'date', 'status', 'patient'],
  MedicationRequest: ['code', 'status', 'intent', 'authoredon', 'subject'],
  DiagnosticReport: ['code', 'status', 'category', 'date', 'subject', 'patient', 'encounter'],
  CarePlan: ['category', 'status', 'date', 'subject', 'intent'],
  Organization: ['name', 'identifier', 'address-city', 'type'],
  Practitioner: ['name', 'family', 'identifier', 'gender', 'address-state'],
};

function criterionFor(o: Oracle, type: string, code: string): Criterion | undefined {
  const sp = o.param(type, code);
  const sample = o.byType(type).filter((r) => o.values(r, sp).length > 0);
  if (sample.length === 0) return undefined;
  const r = pick(sample);
  const tv = pick(o.values(r, sp));
  const roll = rand();
  switch (sp.type) {
    case 'token': {
      const toks = tokensOf(tv).filter((t) => t.code);
      const t = toks.length ? pick(toks) : undefined;
      if (!t) return undefined;
      if (roll < 0.1) return { name: `${code}:missing`, value: rand() < 0.5 ? 'true' : 'false' };
      if (roll < 0.2) return { name: `${code}:not`, value: t.code as string };
      if (roll < 0.3 && t.text) return { name: `${code}:text`, value: t.text.split(/\s+/)[0]!.slice(0, 6) };
      if (roll < 0.5 && t.system) return { name: code, value: `${t.system}|${t.code}` };
      if (roll < 0.6 && t.system) return { name: code, value: `${t.system}|` };
      if (roll < 0.7) {
        const other = tokensOf(pick(o.values(pick(sample), sp))).find((x) => x.code);
        return { name: code, value: `${t.code},${other?.code ?? 'zzz'}` };
      }
      return { name: code, value: t.code as string };
    }
    case 'string': {
      const s = pick(stringsOf(tv));
      if (!s) return undefined;
      if (roll < 0.2) return { name: `${code}:exact`, value: s };
      if (roll < 0.4) return { name: `${code}:contains`, value: s.slice(1, 4) };
      return { name: code, value: s.slice(0, Math.max(2, Math.floor(s.length * rand()))).toUpperCase() };
    }
    case 'date': {
      const rs = rangesOf(tv);
      if (!rs.length) return undefined;
      const x = rs[0]!;
      const anchor = Number.isFinite(x[0]) ? x[0] : x[1];
      const iso = new Date(anchor).toISOString();
      const precision = pick([4, 7, 10, 19]);
      const text = precision === 19 ? `${iso.slice(0, 19)}Z` : iso.slice(0, precision);
      return { name: code, value: `${pick(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap', ''])}${text}` };
    }
    case 'reference': {
      const ref = refsOf(tv)[0];
      if (!ref) return undefined;
      if (roll < 0.15) return { name: `${code}:missing`, value: 'false' };
      if (roll < 0.5) return { name: code, value: ref.split('/').pop() as string };
      return { name: code, value: ref };
    }
    case 'quantity': {
      const v = tv.value as { value: number; system?: string; code?: string };
      const n = Math.round(v.value * 10) / 10;
      if (roll < 0.5) return { name: code, value: `${pick(['gt', 'lt', 'ge', 'le'])}${n}` };
      return { name: code, value: `${n.toFixed(1)}|${v.system ?? ''}|${v.code ?? ''}` };
    }
    default: return undefined;
  }
}

function generate(o: Oracle, n: number): { type: string; criteria: Criterion[]; sort?: { code: string; desc: boolean } }[] {
  const out: { type: string; criteria: Criterion[]; sort?: { code: string; desc: boolean } }[] = [];
  const types = Object.keys(PARAMS).filter((t) => o.byType(t).length > 0);
  let guard = 0;
  while (out.length < n && guard++ < n * 20) {
    const type = pick(types);
    const criteria: Criterion[] = [];
    const k = rand() < 0.7 ? 1 : 2;
    for (let i = 0; i < k; i++) {
      const c = criterionFor(o, type, pick(PARAMS[type] as string[]));
      if (c) criteria.push(c);
    }
    const roll = rand();
    if (roll < 0.08 && ['Observation', 'Encounter', 'Condition', 'Procedure'].includes(type)) {
      const name = pick(o.byType('Patient').flatMap((p) => (p as { name?: { family?: string }[] }).name ?? []).map((x) => x.family).filter((x): x is string => !!x));
      criteria.push({ name: `${rand() < 0.5 ? 'subject' : 'patient'}:Patient.family`, value: name.slice(0, 4) });
    } else if (roll < 0.14 && type === 'Patient') {
      const obs = pick(o.byType('Condition'));
      const code = tokensOf(o.values(obs, o.param('Condition', 'code'))[0]!)[0]?.code;
      if (code) criteria.push({ name: `_has:Condition:${rand() < 0.5 ? 'subject' : 'patient'}:code`, value: code });
    }
    // a closed date range (two filters on one parameter): one row must satisfy both only when the
    // parameter has one value per resource, otherwise each filter may match another value
    const date = criteria.find((c) => !c.name.includes(':') && o.param(type, c.name)?.type === 'date' && /^(ge|gt)/.test(c.value));
    if (date) criteria.push({ name: date.name, value: `lt${2000 + Math.floor(rand() * 30)}` });
    if (criteria.length === 0) continue;
    let sort: { code: string; desc: boolean } | undefined;
    if (rand() < 0.3) {
      const sortable = (PARAMS[type] as string[]).filter((c) => ['date', 'string', 'token'].includes(o.param(type, c).type as string));
      if (sortable.length) sort = { code: pick(sortable), desc: rand() < 0.5 };
    }
    out.push({ type, criteria, sort });
  }
  return out;
}

for (const backend of backends()) {
  describe(`search against a brute-force oracle (${backend.name})`, () => {
    let db: Db;
    let oracle: Oracle;
    before(async () => {
      loadDefinitions();
      db = await backend.open();
      const files = demoBundleFiles().slice(0, 6);
      const s = await importFiles({ db, strict: false }, files);
      assert.deepEqual(s.failures, []);
      const rows = await db.query<{ content: Resource | string }>('SELECT content FROM resource WHERE NOT deleted');
      oracle = new Oracle(rows.rows.map((r) => (typeof r.content === 'string' ? JSON.parse(r.content) : r.content) as Resource));
    });
    after(async () => db.close());

    const check = async (searches: ReturnType<typeof generate>): Promise<void> => {
      const mismatches: string[] = [];
      let nonEmpty = 0;
      for (const s of searches) {
        const query: Record<string, string[]> = {};
        for (const c of s.criteria) (query[c.name] ??= []).push(c.value);
        if (s.sort) query._sort = [`${s.sort.desc ? '-' : ''}${s.sort.code}`];
        query._count = ['1000'];
        const req = parseSearchRequest(s.type, query);
        const got = (await searchIds(db, req)).ids;
        const expected = oracle.search(s.type, s.criteria, s.sort);
        if (expected.length) nonEmpty++;
        const same = s.sort ? JSON.stringify(got) === JSON.stringify(expected) : JSON.stringify([...got].sort()) === JSON.stringify(expected);
        if (!same) mismatches.push(`${s.type}?${new URLSearchParams(Object.entries(query).flatMap(([k, vs]) => vs.map((v) => [k, v]))).toString()} -> got ${got.length}, expected ${expected.length}`);
      }
      assert.deepEqual(mismatches.slice(0, 15), [], `${mismatches.length} of ${searches.length} searches differ`);
      assert.ok(nonEmpty > searches.length / 2, `most generated searches should find something (${nonEmpty})`);
    };

    it('returns exactly what FHIRPath over every resource returns, for 520 generated searches', async () => {
      seed = 20261127;
      const searches = generate(oracle, 520);
      assert.ok(searches.length >= 500, `generated ${searches.length}`);
      const ranges = searches.filter((x) => x.criteria.some((c, i) => /^lt\d{4}$/.test(c.value) && x.criteria.findIndex((d) => d.name === c.name) < i));
      assert.ok(ranges.length >= 20, `closed date ranges are tested (${ranges.length})`);
      await check(searches);
    });

    it('answers a value within a code (code=X&value-quantity=Y, served by the composite rows) as FHIRPath does', async () => {
      seed = 20261130;
      type Obs = { code?: { coding?: { system?: string; code?: string }[] }; valueQuantity?: { value?: number } };
      const withValue = oracle.byType('Observation').filter((r) => typeof (r as Obs).valueQuantity?.value === 'number' && (r as Obs).code?.coding?.some((c) => c.code));
      assert.ok(withValue.length > 50, `observations with a value (${withValue.length})`);
      const searches = Array.from({ length: 80 }, () => {
        const r = pick(withValue) as Obs;
        const coding = pick((r.code?.coding ?? []).filter((c) => c.code));
        const value = r.valueQuantity?.value as number;
        const around = +(value * pick([0.5, 0.9, 1, 1.1, 2])).toFixed(1);
        return {
          type: 'Observation',
          criteria: [
            { name: 'code', value: rand() < 0.6 && coding.system ? `${coding.system}|${coding.code}` : (coding.code as string) },
            { name: 'value-quantity', value: `${pick(['gt', 'lt', 'ge', 'le', 'eq', 'ne', 'sa', 'eb', 'ap'])}${around}` },
          ],
        };
      });
      await check(searches);
    });

    // code=X&subject:Patient.family=Y reads the token rows filed under the chained patients
    // (migration 045); a store upgraded without `custodian reindex` intersects the two sets instead
    for (const [name, complete, seedValue] of [
      ['through the token rows\' patient', true, 20261207],
      ['before a reindex has filed the token rows under their patient', false, 20261208],
    ] as const) {
      it(`answers a code among a chained family's resources as FHIRPath does, ${name}`, async () => {
        seed = seedValue;
        type Coded = { code?: { coding?: { system?: string; code?: string }[] }; subject?: { reference?: string }; patient?: { reference?: string } };
        const families = new Map(oracle.byType('Patient').map((p) => [p.id, ((p as { name?: { family?: string }[] }).name ?? [])[0]?.family]));
        const searches = Array.from({ length: 60 }, () => {
          const type = pick(['Observation', 'Condition', 'Procedure', 'Encounter', 'Immunization']);
          const r = pick(oracle.byType(type)) as Resource & Coded;
          const coding = pick((r.code?.coding ?? (r as { vaccineCode?: Coded['code'] }).vaccineCode?.coding ?? (r as { type?: Coded['code'][] }).type?.[0]?.coding ?? []).filter((c) => c.code));
          const own = families.get(((r.subject ?? r.patient)?.reference ?? '').split('/').pop());
          // mostly the resource's own patient's family (a match), sometimes another's, sometimes a prefix
          const family = rand() < 0.7 && own ? own : (pick([...families.values()].filter((x): x is string => !!x)));
          const codeParam = type === 'Immunization' ? 'vaccine-code' : type === 'Encounter' ? 'type' : 'code';
          const value = coding ? (rand() < 0.5 && coding.system ? `${coding.system}|${coding.code}` : coding.code as string) : '0000';
          const chain = type === 'Immunization' || rand() < 0.5 ? 'patient:Patient' : 'subject:Patient';
          return { type, criteria: [{ name: codeParam, value }, { name: `${chain}.family`, value: rand() < 0.2 ? family.slice(0, 3) : family }] };
        });
        const state = await db.query<{ complete: boolean }>(`SELECT complete FROM search_index_state WHERE feature = 'token-patient'`);
        assert.equal(state.rows[0]?.complete, true, 'a store loaded from empty has its token rows filed under their patient');
        const filed = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM sp_token WHERE resource_type = 'Observation' AND patient IS NOT NULL`);
        assert.ok(Number(filed.rows[0]?.n) > 1000, `observation token rows carry their patient (${filed.rows[0]?.n})`);
        if (!complete) await db.exec(`UPDATE search_index_state SET complete = false WHERE feature = 'token-patient'`);
        try {
          await check(searches);
        } finally {
          await db.exec(`UPDATE search_index_state SET complete = true WHERE feature = 'token-patient'`);
        }
      });
    }

    // the join strategies chosen by set sizes, each exercised on this small data set
    for (const [name, tuning, seedValue] of [
      ['the planner alone joins the sets (no driving set)', { driverLimit: 0, firstCount: 0 }, 20261128],
      ['sets are recounted, and hashed or probed by estimated size', { driverLimit: 40, firstCount: 4 }, 20261129],
    ] as const) {
      it(`returns the same when ${name}`, async () => {
        seed = seedValue;
        const saved = { ...searchTuning };
        Object.assign(searchTuning, tuning);
        try {
          await check(generate(oracle, 120));
        } finally {
          Object.assign(searchTuning, saved);
        }
      });
    }
  });
}
