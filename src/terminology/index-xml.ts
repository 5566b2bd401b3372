/**
 * The ICD-10-CM index XML files (External Cause Index, Neoplasm Table, Table of Drugs and Chemicals):
 * index terms with their codes, for the encoder. Table cells become "term, column heading".
 */
import { XMLParser } from 'fast-xml-parser';
import type { IndexTerm } from './model.js';
import { normalizeCode } from './systems.js';

type Node = Record<string, unknown>;
const ARRAYS = new Set(['letter', 'mainTerm', 'term', 'cell', 'code', 'head']);

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  const o = v as Node;
  return [text(o['#text']), text(o.nemod)].filter(Boolean).join(' ');
}

export function parseIndexXml(xml: string): { version: string; table: string; terms: IndexTerm[] } {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', isArray: (n) => ARRAYS.has(n), parseTagValue: false, trimValues: true });
  const root = (parser.parse(xml) as Node)['ICD10CM.index'] as Node;
  const heads = new Map<string, string>();
  for (const h of ((root.indexHeading as Node | undefined)?.head as Node[] | undefined) ?? []) heads.set(String(h['@col']), text(h));
  const terms: IndexTerm[] = [];
  const add = (words: string, raw: string): void => {
    const c = normalizeCode(raw.replace(/-+$/, '').replace(/\.$/, ''));
    if (/^[A-Z]\d[0-9A-Z]/.test(c)) terms.push({ term: words, code: c });
  };
  const walk = (n: Node, path: string[]): void => {
    const p = [...path, text(n.title)];
    const words = p.join(', ');
    for (const c of (n.code as unknown[] | undefined) ?? []) add(words, text(c));
    for (const cell of (n.cell as Node[] | undefined) ?? []) add(`${words}, ${heads.get(String(cell['@col'])) ?? ''}`, text(cell));
    for (const t of (n.term as Node[] | undefined) ?? []) walk(t, p);
  };
  for (const l of (root.letter as Node[] | undefined) ?? []) for (const m of (l.mainTerm as Node[] | undefined) ?? []) walk(m, []);
  const title = text(root.title) || (heads.get('1') === 'Substance' ? 'Table of Drugs and Chemicals' : heads.size ? 'Neoplasm Table' : 'Index');
  return { version: String(root.version ?? ''), table: title, terms };
}
