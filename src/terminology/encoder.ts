/**
 * The encoder: an in-memory inverted index over code titles and Tabular inclusion terms, built once
 * per release. Words in any order, prefixes of words, common abbreviations, one typo per word;
 * billable codes rank first and each hit carries the path to it.
 */
import type { Concept, IndexTerm, TabularEntry } from './model.js';
import { formatCode } from './systems.js';

const STOP = new Set(['of', 'the', 'and', 'with', 'in', 'to', 'for', 'or', 'by', 'on', 'a', 'an', 'due', 'as', 'at', 'from', 'nos']);

/** Abbreviations coders type, expanded before matching. */
export const ABBREVIATIONS: Record<string, string> = {
  dm: 'diabetes mellitus', t2dm: 'type 2 diabetes mellitus', t1dm: 'type 1 diabetes mellitus', ckd: 'chronic kidney disease',
  htn: 'hypertension', chf: 'congestive heart failure', hf: 'heart failure', copd: 'chronic obstructive pulmonary disease',
  mi: 'myocardial infarction', ami: 'acute myocardial infarction', uti: 'urinary tract infection', fx: 'fracture',
  cva: 'cerebral infarction', afib: 'atrial fibrillation', af: 'atrial fibrillation', dvt: 'deep vein thrombosis', pe: 'pulmonary embolism',
  gerd: 'gastro-esophageal reflux disease', cad: 'coronary artery disease', aki: 'acute kidney failure', esrd: 'end stage renal disease',
  bph: 'benign prostatic hyperplasia', ra: 'rheumatoid arthritis', oa: 'osteoarthritis', sob: 'shortness of breath', lt: 'left', rt: 'right',
  bilat: 'bilateral', appendectomy: 'resection appendix', cholecystectomy: 'resection gallbladder', laparoscopic: 'percutaneous endoscopic', lap: 'percutaneous endoscopic', hx: 'history', pna: 'pneumonia', abd: 'abdominal', l: 'left', r: 'right',
};

export function tokenize(s: string): string[] {
  return [...new Set( s.toLowerCase().replace(/'s\b/g, '').split(/[^a-z0-9]+/).filter((w) => w && !STOP.has(w)))];
}

function expand(q: string): string[] {
  const out: string[] = [];
  for (const w of q.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean)) {
    const a = ABBREVIATIONS[w];
    if (a) out.push(...tokenize(a));
    else if (!STOP.has(w)) out.push(w);
  }
  return [...new Set(out)];
}

/** Damerau-style: at most one edit (substitution, insertion, deletion, adjacent swap). */
function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  const la = a.length, lb = b.length;
  if (Math.abs(la - lb) > 1) return false;
  let i = 0;
  while (i < la && i < lb && a[i] === b[i]) i++;
  if (la === lb) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true;
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  return la > lb ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

export interface SearchHit {
  code: string;
  display: string;
  billable: boolean;
  score: number;
  /** Matched through an inclusion term rather than the title. */
  matchedTerm?: string;
  path: { code: string; display: string }[];
  needsSeventhCharacter?: boolean;
}

export interface SearchOptions { billable?: boolean; limit?: number }

export class EncoderIndex {
  private concepts: Concept[];
  private byCode = new Map<string, number>();
  /** word -> concept ids; title words and inclusion-term words (inherited by descendants) apart. */
  private title = new Map<string, Int32Array>();
  private term = new Map<string, Int32Array>();
  private vocab: string[];
  /** vocabulary by length, for the one-typo scan */
  private byLength = new Map<number, string[]>();
  private terms: (string | undefined)[] = [];
  private lengths: Uint16Array;
  /** first title word of each concept (a title that starts with a query word is the main term) */
  private firstWord: string[] = [];
  /** titles of the unspecified (NOS) code, the default when the query says no more */
  private unspecified: Uint8Array;
  private scores: Float64Array;
  private wordBest: Float64Array;
  private hits: Uint8Array;

  constructor(readonly system: string, concepts: Concept[], tabular?: Map<string, TabularEntry>, index?: IndexTerm[]) {
    this.concepts = concepts;
    const n = concepts.length;
    this.lengths = new Uint16Array(n);
    this.scores = new Float64Array(n);
    this.wordBest = new Float64Array(n);
    this.hits = new Uint8Array(n);
    this.unspecified = new Uint8Array(n);
    const title = new Map<string, number[]>();
    const term = new Map<string, number[]>();
    const add = (m: Map<string, number[]>, w: string, i: number): void => { const p = m.get(w); if (p) p.push(i); else m.set(w, [i]); };
    concepts.forEach((c, i) => this.byCode.set(c.code, i));
    concepts.forEach((c, i) => {
      const words = new Set(tokenize(c.display));
      // a 7th-character code is as specific as its stem: measure the stem's title
      const stem = c.code.length === 7 ? c.code.slice(0, 6).replace(/X+$/, '') : undefined;
      const sj = stem ? this.byCode.get(stem) : undefined;
      this.lengths[i] = sj !== undefined ? tokenize(concepts[sj]!.display).length : words.size;
      for (const w of words) add(title, w, i);
      this.firstWord[i] = tokenize(c.display)[0] ?? '';
      if (/\b(unspecified|not specified)\b/i.test(c.display)) this.unspecified[i] = 1;
      if (tabular) {
        const inc: string[] = [];
        for (let k = Math.min(c.code.length, 7); k >= 4; k--) {
          const e = tabular.get(c.code.slice(0, k));
          if (e?.inclusionTerms) inc.push(...e.inclusionTerms);
        }
        if (inc.length) {
          this.terms[i] = inc.join('; ');
          const tw = new Set(inc.flatMap(tokenize));
          for (const w of tw) if (!words.has(w)) add(term, w, i);
        }
      }
    });
    // index terms (External Cause Index, Neoplasm and Drug tables) lead to a code and its 7th-character completions
    if (index) {
      const sorted = concepts.map((c, i) => [c.code, i] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const codesArr = sorted.map((x) => x[0]);
      const termWords = new Map<number, Set<string>>();
      for (const it of index) {
        let lo = 0, hi = codesArr.length;
        while (lo < hi) { const m = (lo + hi) >> 1; if (codesArr[m]! < it.code) lo = m + 1; else hi = m; }
        const targets: number[] = [];
        for (let k = lo; k < codesArr.length && codesArr[k]!.startsWith(it.code) && targets.length < 20; k++) targets.push(sorted[k]![1]);
        const ws = tokenize(it.term);
        for (const i of targets) {
          let set = termWords.get(i);
          if (!set) { set = new Set(); termWords.set(i, set); }
          for (const w of ws) set.add(w);
          if (!this.terms[i]) this.terms[i] = it.term;
        }
      }
      for (const [i, set] of termWords) {
        const own = new Set(tokenize(concepts[i]!.display));
        const already = new Set<string>();
        for (const w of set) if (!own.has(w) && !already.has(w)) { already.add(w); if (!(term.get(w)?.at(-1) === i)) add(term, w, i); }
      }
    }
    for (const [w, p] of title) this.title.set(w, Int32Array.from(p));
    for (const [w, p] of term) this.term.set(w, Int32Array.from(p));
    this.vocab = [...new Set([...title.keys(), ...term.keys()])].sort();
    for (const w of this.vocab) { const l = this.byLength.get(w.length); if (l) l.push(w); else this.byLength.set(w.length, [w]); }
  }

  private has(w: string): boolean { return this.title.has(w) || this.term.has(w); }

  /** Vocabulary words a query word matches, with a weight: exact 1, prefix 0.6, one typo 0.7. */
  private matches(q: string): Map<string, number> {
    const out = new Map<string, number>();
    if (this.has(q)) out.set(q, 1);
    if (/^\d+$/.test(q)) return out;
    if (q.length >= 2) {
      let lo = 0, hi = this.vocab.length;
      while (lo < hi) { const m = (lo + hi) >> 1; if (this.vocab[m]! < q) lo = m + 1; else hi = m; }
      for (let i = lo; i < this.vocab.length && this.vocab[i]!.startsWith(q); i++) if (!out.has(this.vocab[i]!)) out.set(this.vocab[i]!, 0.6);
    }
    if (q.length >= 4 && !this.has(q)) {
      for (let len = q.length - 1; len <= q.length + 1; len++) {
        for (const w of this.byLength.get(len) ?? []) if (w[0] === q[0] && !out.has(w) && withinOneEdit(q, w)) out.set(w, 0.7);
      }
    }
    return out;
  }

  search(query: string, opts: SearchOptions = {}): SearchHit[] {
    const limit = opts.limit ?? 20;
    const words = expand(query).slice(0, 12);
    if (!words.length) return [];
    const n = this.concepts.length;
    const { scores, hits, wordBest } = this;
    const touched: number[] = [];
    // rarest words first; a candidate (all words, or all but one) must match one of the two rarest,
    // so later (common) words only update concepts already touched
    const perWord = words.map((w) => {
      const m = this.matches(w);
      let size = 0;
      for (const v of m.keys()) size += (this.title.get(v)?.length ?? 0) + (this.term.get(v)?.length ?? 0);
      return { m, size };
    }).sort((a, b) => a.size - b.size);
    perWord.forEach(({ m }, wi) => {
      const open = wi < 2;
      const wt: number[] = [];
      for (const [v, weight] of m) {
        for (let pass = 0; pass < 2; pass++) {
          const p = (pass === 0 ? this.title : this.term).get(v);
          if (!p) continue;
          const s = weight * (pass === 0 ? 1 : 0.6) * Math.log(1 + n / p.length);
          for (let k = 0; k < p.length; k++) {
            const i = p[k]!;
            if (!open && hits[i] === 0) continue;
            if (wordBest[i] === 0) wt.push(i);
            if (wordBest[i]! < s) wordBest[i] = s;
          }
        }
      }
      for (const i of wt) {
        if (hits[i] === 0) touched.push(i);
        scores[i]! += wordBest[i]!;
        hits[i]!++;
        wordBest[i] = 0;
      }
    });
    const rank = (i: number): number => {
      const c = this.concepts[i]!;
      // prefer billable codes and titles with few words beyond the query (the more specific match)
      const lead = (words.some((w) => this.firstWord[i]!.startsWith(w)) ? 0.5 : 0) + (this.unspecified[i] ? 0.4 : 0);
      return scores[i]! + lead + (c.billable ? 2 : 0) - 0.15 * Math.max(0, this.lengths[i]! - words.length);
    };
    // every word must match; when nothing does, allow one missing word. Keep the top `limit` only.
    let top: { i: number; r: number }[] = [];
    for (let need = words.length; need >= Math.max(1, words.length - 1); need--) {
      top = [];
      for (const i of touched) {
        if (hits[i]! < need || (opts.billable && !this.concepts[i]!.billable)) continue;
        const r = rank(i);
        if (top.length === limit && r <= top[limit - 1]!.r) continue;
        let k = top.length;
        while (k > 0 && (top[k - 1]!.r < r || (top[k - 1]!.r === r && top[k - 1]!.i > i))) k--;
        top.splice(k, 0, { i, r });
        if (top.length > limit) top.pop();
      }
      if (top.length) break;
    }
    const out = top.map(({ i, r }) => this.hit(i, r, words));
    for (const i of touched) { scores[i] = 0; hits[i] = 0; }
    return out;
  }

  private hit(i: number, score: number, words: string[]): SearchHit {
    const c = this.concepts[i]!;
    const path: { code: string; display: string }[] = [];
    for (let k = 3; k < c.code.length; k++) {
      const j = this.byCode.get(c.code.slice(0, k));
      if (j !== undefined) path.push({ code: formatCode(this.system, this.concepts[j]!.code), display: this.concepts[j]!.display });
    }
    const h: SearchHit = { code: formatCode(this.system, c.code), display: c.display, billable: c.billable, score: Math.round(score * 100) / 100, path };
    const titleWords = tokenize(c.display);
    if (this.terms[i] && words.some((w) => !titleWords.some((t) => t.startsWith(w)))) h.matchedTerm = this.terms[i];
    if (!c.billable && c.code.length < 7) {
      const next = this.concepts[i + 1];
      if (next && next.code.startsWith(c.code) && next.code.length === 7 && /^X*[A-Z]$/.test(next.code.slice(c.code.length))) h.needsSeventhCharacter = true;
    }
    return h;
  }
}
