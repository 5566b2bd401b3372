/** The ICD-10-CM Tabular List XML: categories and codes with their instructional notes. */
import { XMLParser } from 'fast-xml-parser';
import type { TabularEntry } from './model.js';
import { normalizeCode } from './systems.js';

type Node = Record<string, unknown>;

const ARRAYS = new Set(['chapter', 'section', 'diag', 'note', 'extension']);

function notes(n: unknown): string[] | undefined {
  if (!n || typeof n !== 'object') return undefined;
  const list = (n as Node).note as unknown[] | undefined;
  if (!list) return undefined;
  const out = list.map((x) => (typeof x === 'string' ? x : String((x as Node)['#text'] ?? ''))).map((s) => s.trim()).filter(Boolean);
  return out.length ? out : undefined;
}

export function parseTabularXml(xml: string): { version: string; entries: TabularEntry[] } {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', isArray: (name) => ARRAYS.has(name), parseTagValue: false, trimValues: true });
  const doc = parser.parse(xml) as Node;
  const root = doc['ICD10CM.tabular'] as Node;
  const entries: TabularEntry[] = [];
  const walk = (d: Node, parent?: string): void => {
    const code = normalizeCode(String(d.name));
    const e: TabularEntry = { code, desc: String(d.desc ?? '') };
    if (parent) e.parent = parent;
    const set = (k: keyof TabularEntry, src: string): void => {
      const v = notes(d[src]);
      if (v) (e as unknown as Record<string, unknown>)[k] = v;
    };
    set('includes', 'includes');
    set('inclusionTerms', 'inclusionTerm');
    set('excludes1', 'excludes1');
    set('excludes2', 'excludes2');
    set('codeFirst', 'codeFirst');
    set('useAdditionalCode', 'useAdditionalCode');
    set('codeAlso', 'codeAlso');
    const def = d.sevenChrDef as Node | undefined;
    if (def && Array.isArray(def.extension)) {
      e.sevenChr = (def.extension as Node[]).map((x) => ({ char: String(x['@char']), desc: String(x['#text'] ?? '').trim() }));
    }
    entries.push(e);
    for (const c of (d.diag as Node[] | undefined) ?? []) walk(c, code);
  };
  for (const ch of (root.chapter as Node[] | undefined) ?? []) {
    for (const sec of (ch.section as Node[] | undefined) ?? []) {
      for (const d of (sec.diag as Node[] | undefined) ?? []) walk(d);
    }
  }
  return { version: String(root.version ?? ''), entries };
}

/**
 * Code references inside a note: `(E08-E13)`, `(S78.-)`, `(N18.1-N18.6)`, `Z79.4`. Returned as
 * [from, to] ranges of normalised prefixes; a code matches when it falls in a range by prefix.
 */
export function codeRefs(note: string): [string, string][] {
  const out: [string, string][] = [];
  const re = /\b([A-Z]\d[0-9A-Z](?:\.[0-9A-Z]{0,4})?)(?:\s*-\s*([A-Z]\d[0-9A-Z](?:\.[0-9A-Z]{0,4})?))?/g;
  for (const m of note.matchAll(re)) {
    const a = normalizeCode(m[1]!);
    const b = m[2] ? normalizeCode(m[2]) : a;
    out.push([a, b]);
  }
  return out;
}

/** Whether a code falls in a reference range (prefix-wise: E11.22 is in E08-E13, N18.30 in N18.1-N18.6 only if N183 >= N181 ...). */
export function inRange(code: string, [from, to]: [string, string]): boolean {
  if (from === to) return code.startsWith(from);
  const a = code.slice(0, from.length);
  const b = code.slice(0, to.length);
  return a >= from && b <= to;
}
