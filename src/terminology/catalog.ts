/**
 * The terminology catalog: every loaded release, and lookup of a code as of a date of service
 * (display, billable or header, parent chain, Tabular notes, 7th-character completions, POA
 * exemption, MCE flags).
 */
import type { Concept, MceEntry, Release, ReleaseSummary, TabularEntry } from './model.js';
import { summarize } from './model.js';
import { EncoderIndex, type SearchHit, type SearchOptions } from './encoder.js';
import { ICD10CM, SYSTEM_NAMES, canonicalSystem, formatCode, normalizeCode } from './systems.js';

export interface CodeRelease {
  release: Release;
  byCode: Map<string, Concept>;
  /** Sorted billable codes, for completions by prefix. */
  sorted: string[];
}

export interface LookupResult {
  system: string;
  systemName: string;
  code: string;
  /** Found in the release in force on the date. */
  found: boolean;
  display?: string;
  billable: boolean;
  header: boolean;
  release?: { version: string; effectiveFrom: string; effectiveTo?: string };
  /** The date is outside every loaded release's period: the nearest release was used. */
  releaseOutOfDate?: boolean;
  parents: { code: string; display: string }[];
  children?: { code: string; display: string; billable: boolean }[];
  /** The code needs more characters (7th character, with placeholder X): valid completions. */
  needsSeventhCharacter?: boolean;
  completions?: { code: string; display: string }[];
  sevenChr?: { char: string; desc: string }[];
  notes?: {
    includes?: string[]; inclusionTerms?: string[]; excludes1?: { from: string; note: string }[]; excludes2?: { from: string; note: string }[];
    codeFirst?: { from: string; note: string }[]; useAdditionalCode?: { from: string; note: string }[]; codeAlso?: { from: string; note: string }[];
  };
  poaExempt?: boolean;
  mce?: string[];
  message?: string;
}

const inPeriod = (r: Release, date: string): boolean => r.effectiveFrom <= date && (!r.effectiveTo || date <= r.effectiveTo);

export class Terminology {
  readonly releases: Release[] = [];
  private codeReleases = new Map<string, CodeRelease>();
  private tabularIndex = new Map<string, Map<string, TabularEntry>>();
  private mceIndex = new Map<string, Map<string, string[]>>();
  private poaIndex = new Map<string, Set<string>>();
  private encoders = new Map<string, EncoderIndex>();

  /** Encoder search over one system's release in force on the date (the newest by default). */
  search(systemIn: string, query: string, opts: SearchOptions & { date?: string } = {}): { release?: string; hits: SearchHit[] } {
    const system = canonicalSystem(systemIn);
    const f = this.releaseFor(system, 'codes', opts.date);
    if (!f) return { hits: [] };
    const key = `${system}|${f.release.version}`;
    let e = this.encoders.get(key);
    if (!e) {
      e = new EncoderIndex(system, f.release.concepts ?? [], system === ICD10CM ? this.tabular(opts.date) : undefined,
        system === ICD10CM ? this.releases.filter((r) => r.system === ICD10CM && r.kind === 'index').flatMap((r) => r.index ?? []) : undefined);
      this.encoders.set(key, e);
    }
    return { release: f.release.version, hits: e.search(query, opts) };
  }

  add(r: Release): void {
    const i = this.releases.findIndex((x) => x.system === r.system && x.kind === r.kind && x.version === r.version);
    if (i >= 0) this.releases.splice(i, 1);
    this.releases.push(r);
    this.releases.sort((a, b) => a.effectiveFrom.localeCompare(b.effectiveFrom));
    const key = `${r.system}|${r.kind}|${r.version}`;
    this.codeReleases.delete(key);
    this.tabularIndex.delete(key);
    this.mceIndex.delete(key);
    this.poaIndex.delete(key);
    this.encoders.clear();
  }

  list(): ReleaseSummary[] {
    return this.releases.map(summarize);
  }

  /** The release of a kind in force on the date; the newest before it (or the oldest) when none covers it. */
  releaseFor(system: string, kind: Release['kind'], date?: string): { release: Release; outOfDate: boolean } | undefined {
    const all = this.releases.filter((r) => r.system === system && r.kind === kind);
    if (!all.length) return undefined;
    if (!date) return { release: all[all.length - 1]!, outOfDate: false };
    const covering = all.filter((r) => inPeriod(r, date));
    if (covering.length) return { release: covering[covering.length - 1]!, outOfDate: false };
    const before = all.filter((r) => r.effectiveFrom <= date);
    return { release: before.length ? before[before.length - 1]! : all[0]!, outOfDate: true };
  }

  codes(r: Release): CodeRelease {
    const key = `${r.system}|${r.kind}|${r.version}`;
    let c = this.codeReleases.get(key);
    if (!c) {
      const byCode = new Map<string, Concept>();
      for (const x of r.concepts ?? []) byCode.set(x.code, x);
      const sorted = (r.concepts ?? []).filter((x) => x.billable).map((x) => x.code).sort();
      c = { release: r, byCode, sorted };
      this.codeReleases.set(key, c);
    }
    return c;
  }

  tabular(date?: string): Map<string, TabularEntry> | undefined {
    const f = this.releaseFor(ICD10CM, 'tabular', date);
    if (!f) return undefined;
    const key = `${ICD10CM}|tabular|${f.release.version}`;
    let m = this.tabularIndex.get(key);
    if (!m) {
      m = new Map((f.release.tabular ?? []).map((e) => [e.code, e]));
      this.tabularIndex.set(key, m);
    }
    return m;
  }

  /** MCE edit types listing a code (D diagnosis or P procedure) in the MCE release for the date. */
  mceFlags(code: string, codeType: 'D' | 'P', date?: string): string[] {
    const f = this.releaseFor(ICD10CM, 'mce', date);
    if (!f) return [];
    const key = `${ICD10CM}|mce|${f.release.version}`;
    let m = this.mceIndex.get(key);
    if (!m) {
      m = new Map();
      for (const e of f.release.mce as MceEntry[]) {
        const k = `${e.codeType}${e.code}`;
        const l = m.get(k);
        if (l) l.push(e.type); else m.set(k, [e.type]);
      }
      this.mceIndex.set(key, m);
    }
    return m.get(`${codeType}${normalizeCode(code)}`) ?? [];
  }

  /** POA exemption: the flag in the code release when it has one, else the CDC POA-exempt list for the date. */
  isPoaExempt(code: string, date?: string): boolean | undefined {
    const c = normalizeCode(code);
    const f = this.releaseFor(ICD10CM, 'codes', date);
    const concept = f ? this.codes(f.release).byCode.get(c) : undefined;
    if (concept?.poaExempt !== undefined) return concept.poaExempt;
    const p = this.releaseFor(ICD10CM, 'poa-exempt', date);
    if (!p) return undefined;
    const key = `${ICD10CM}|poa-exempt|${p.release.version}`;
    let s = this.poaIndex.get(key);
    if (!s) { s = new Set(p.release.poaExempt); this.poaIndex.set(key, s); }
    return s.has(c);
  }

  /** Tabular entries from the code up to its category (the code's own first). */
  tabularChain(code: string, date?: string): TabularEntry[] {
    const t = this.tabular(date);
    if (!t) return [];
    const out: TabularEntry[] = [];
    let c = normalizeCode(code);
    // a 7-character code with placeholders is not in the Tabular List: start at its stem
    while (c.length > 3 && !t.has(c)) c = c.slice(0, -1).replace(/X+$/, '');
    let e = t.get(c);
    while (e) { out.push(e); e = e.parent ? t.get(e.parent) : undefined; }
    return out;
  }

  lookup(systemIn: string, codeIn: string, date?: string): LookupResult {
    const system = canonicalSystem(systemIn);
    const code = normalizeCode(codeIn);
    const res: LookupResult = { system, systemName: SYSTEM_NAMES[system] ?? system, code: formatCode(system, code), found: false, billable: false, header: false, parents: [] };
    const f = this.releaseFor(system, 'codes', date);
    if (!f) { res.message = `No release of ${res.systemName} is loaded`; return res; }
    const cr = this.codes(f.release);
    res.release = { version: f.release.version, effectiveFrom: f.release.effectiveFrom, ...(f.release.effectiveTo ? { effectiveTo: f.release.effectiveTo } : {}) };
    if (f.outOfDate) res.releaseOutOfDate = true;
    const concept = cr.byCode.get(code);
    const fmt = (c: string): string => formatCode(system, c);
    for (let n = code.length - 1; n >= 3; n--) {
      const p = cr.byCode.get(code.slice(0, n));
      if (p) res.parents.unshift({ code: fmt(p.code), display: p.display });
    }
    if (system === ICD10CM || system === ICD10PCS_SYS) {
      const cat = cr.byCode.get(code.slice(0, 3));
      if (cat && cat.code !== code && !res.parents.some((p) => p.code === fmt(cat.code))) res.parents.unshift({ code: fmt(cat.code), display: cat.display });
    }
    // completions: billable codes that extend this one by placeholder X then one final character
    const completions = (): { code: string; display: string }[] => {
      const out: { code: string; display: string }[] = [];
      let lo = 0, hi = cr.sorted.length;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (cr.sorted[mid]! < code) lo = mid + 1; else hi = mid; }
      for (let i = lo; i < cr.sorted.length && cr.sorted[i]!.startsWith(code); i++) {
        const c = cr.sorted[i]!;
        if (c.length === 7 && /^X*[0-9A-Z]$/.test(c.slice(code.length))) out.push({ code: fmt(c), display: cr.byCode.get(c)!.display });
      }
      return out;
    };
    if (concept) {
      res.found = true;
      res.display = concept.display;
      res.billable = concept.billable;
      res.header = !concept.billable;
      if (concept.poaExempt !== undefined) res.poaExempt = concept.poaExempt;
      if (!concept.billable) {
        const comp = system === ICD10CM && code.length < 7 ? completions() : [];
        if (comp.length && this.tabularChain(code, date).some((e) => e.sevenChr)) { res.needsSeventhCharacter = true; res.completions = comp; }
        res.children = [];
        for (const c of cr.release.concepts ?? []) {
          if (c.code.length > code.length && c.code.startsWith(code)) {
            // direct children: no other known code between
            let direct = true;
            for (let n = code.length + 1; n < c.code.length; n++) if (cr.byCode.has(c.code.slice(0, n))) { direct = false; break; }
            if (direct) res.children.push({ code: fmt(c.code), display: c.display, billable: c.billable });
          }
        }
        if (res.needsSeventhCharacter) res.message = `${fmt(code)} is not billable: it needs a 7th character (${res.completions!.map((x) => x.code.slice(-1)).join(', ')})`;
        else res.message = `${fmt(code)} is a header, not billable: code to a more specific child`;
      }
    } else {
      const comp = system === ICD10CM ? completions() : [];
      if (comp.length) {
        res.needsSeventhCharacter = true;
        res.completions = comp;
        res.message = `${fmt(code)} is incomplete: it needs a 7th character${comp.some((c) => c.code.includes('X')) ? ' with placeholder X' : ''}`;
      } else res.message = `${fmt(code)} is not a code in ${res.systemName} ${f.release.version}`;
    }
    if (system === ICD10CM) {
      const chain = this.tabularChain(code, date);
      if (chain.length) {
        const notes: NonNullable<LookupResult['notes']> = {};
        const own = chain[0]!;
        if (own.includes) notes.includes = own.includes;
        if (own.inclusionTerms) notes.inclusionTerms = own.inclusionTerms;
        for (const k of ['excludes1', 'excludes2', 'codeFirst', 'useAdditionalCode', 'codeAlso'] as const) {
          const l = chain.flatMap((e) => (e[k] ?? []).map((note) => ({ from: fmt(e.code), note })));
          if (l.length) notes[k] = l;
        }
        if (Object.keys(notes).length) res.notes = notes;
        const seven = chain.find((e) => e.sevenChr)?.sevenChr;
        if (seven && (res.needsSeventhCharacter || code.length === 7)) res.sevenChr = seven;
      }
      const ex = this.isPoaExempt(code, date);
      if (ex !== undefined) res.poaExempt = ex;
      const mce = this.mceFlags(code, 'D', date);
      if (mce.length) res.mce = mce;
    }
    if (system === ICD10PCS_SYS) {
      const mce = this.mceFlags(code, 'P', date);
      if (mce.length) res.mce = mce;
    }
    return res;
  }
}

const ICD10PCS_SYS = 'http://www.cms.gov/Medicare/Coding/ICD10';
