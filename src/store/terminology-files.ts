/**
 * Reading terminology release files from disk: a file, a folder, a zip as CMS/CDC publish them, or the gzip
 * copies shipped in data/terminology. The parsing itself is pure (parse.ts).
 */
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import AdmZip from 'adm-zip';
import type { Release } from '../terminology/model.js';
import { detectFile, parseReleaseFile, type Period } from '../terminology/parse.js';
import { Terminology } from '../terminology/catalog.js';

/** The shipped code sets (data/terminology in the package). */
export const SHIPPED_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../data/terminology');

interface RawFile { name: string; bytes: Buffer }

function decode(b: Buffer): string {
  // the CMS files are Windows-1252/Latin-1 in places; UTF-8 when it decodes cleanly
  const s = b.toString('utf8');
  return s.includes('\uFFFD') ? b.toString('latin1') : s;
}

function collect(p: string, out: RawFile[]): void {
  const st = statSync(p);
  if (st.isDirectory()) {
    for (const f of readdirSync(p).sort()) collect(path.join(p, f), out);
    return;
  }
  const name = path.basename(p);
  if (/\.zip$/i.test(name)) {
    const zip = new AdmZip(p);
    for (const e of zip.getEntries()) {
      if (e.isDirectory) continue;
      const n = path.basename(e.entryName);
      if (/\.zip$/i.test(n)) continue;
      out.push({ name: n, bytes: e.getData() });
    }
    return;
  }
  out.push({ name, bytes: readFileSync(p) });
}

export interface ImportedFile { file: string; kind: string; release: Release }

/** Parses every recognised release file under a path; unrecognised files are listed in `skipped`. */
export function readReleases(p: string, override?: Partial<Period>): { files: ImportedFile[]; skipped: string[] } {
  if (!existsSync(p)) throw new Error(`No such file or folder: ${p}`);
  const raw: RawFile[] = [];
  collect(p, raw);
  const files: ImportedFile[] = [];
  const skipped: string[] = [];
  for (const f of raw) {
    let bytes = f.bytes;
    let name = f.name;
    if (/\.gz$/i.test(name)) { bytes = gunzipSync(bytes); name = name.replace(/\.gz$/i, ''); }
    if (/\.release\.json$/.test(name)) { files.push({ file: f.name, kind: 'release', release: JSON.parse(bytes.toString('utf8')) as Release }); continue; }
    const head = decode(bytes.subarray(0, 4000));
    const kind = detectFile(name, head);
    if (!kind) { if (name !== 'manifest.json') skipped.push(f.name); continue; }
    files.push({ file: f.name, kind, release: parseReleaseFile(kind, name, decode(bytes), override) });
  }
  return { files, skipped };
}

let shipped: Terminology | undefined;

export interface ManifestEntry extends Omit<Release, 'concepts' | 'tabular' | 'mce' | 'poaExempt' | 'index'> { file: string }

/** Metadata of every release file in a folder, so a catalog can list releases without parsing them. */
export function buildManifest(dir: string): ManifestEntry[] {
  return readReleases(dir).files.map(({ file, release: r }) => {
    const e: ManifestEntry = { file, system: r.system, kind: r.kind, version: r.version, effectiveFrom: r.effectiveFrom, source: r.source,
      count: r.concepts?.length ?? r.tabular?.length ?? r.mce?.length ?? r.poaExempt?.length ?? r.index?.length ?? 0 };
    if (r.effectiveTo) e.effectiveTo = r.effectiveTo;
    if (r.concepts) e.billableCount = r.concepts.filter((c) => c.billable).length;
    return e;
  });
}

/** A release whose content is parsed on first use. */
function lazyRelease(dir: string, m: ManifestEntry): Release {
  const { file, ...meta } = m;
  const r = { ...meta } as Release;
  let loaded: Release | undefined;
  const load = (): Release => (loaded ??= readReleases(path.join(dir, file)).files[0]!.release);
  for (const k of ['concepts', 'tabular', 'mce', 'poaExempt', 'index'] as const) {
    Object.defineProperty(r, k, { enumerable: true, get: () => load()[k] });
  }
  return r;
}

/** The catalog of shipped releases, loaded once per process; content is parsed when first needed. */
export function shippedTerminology(): Terminology {
  if (!shipped) {
    shipped = new Terminology();
    const manifest = path.join(SHIPPED_DIR, 'manifest.json');
    if (existsSync(manifest)) {
      for (const m of JSON.parse(readFileSync(manifest, 'utf8')) as ManifestEntry[]) shipped.add(lazyRelease(SHIPPED_DIR, m));
    } else {
      for (const f of readReleases(SHIPPED_DIR).files) shipped.add(f.release);
    }
  }
  return shipped;
}

/** Releases imported with `custodian terminology import` live in DATA/terminology as gzip copies. */
export function importedDir(dataDir: string): string {
  return path.join(dataDir, 'terminology');
}

const withImports = new Map<string, Terminology>();

/** The shipped releases plus those imported into a data folder (loaded once per folder). */
export function loadTerminology(dataDir?: string): Terminology {
  if (!dataDir || !existsSync(importedDir(dataDir))) return shippedTerminology();
  let t = withImports.get(dataDir);
  if (!t) {
    t = new Terminology();
    for (const r of shippedTerminology().releases) t.add(r);
    for (const f of readReleases(importedDir(dataDir)).files) t.add(f.release);
    withImports.set(dataDir, t);
  }
  return t;
}

/** The shipped releases plus others (imported into the database); the shipped content stays shared and lazy. */
export function terminologyWith(extra: Release[]): Terminology {
  if (!extra.length) return shippedTerminology();
  const t = new Terminology();
  for (const r of shippedTerminology().releases) t.add(r);
  for (const r of extra) t.add(r);
  return t;
}
