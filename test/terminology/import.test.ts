import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { buildManifest, readReleases, shippedTerminology, SHIPPED_DIR } from '../../src/store/terminology-files.js';
import { summarize } from '../../src/terminology/model.js';
import { detectFile, parseReleaseFile } from '../../src/terminology/parse.js';
import { CARC, HCPCS, ICD10CM, ICD10PCS } from '../../src/terminology/systems.js';

const t = shippedTerminology();
// the importer parses every shipped file (the real CMS/CDC files, gzipped)
const parsed = readReleases(SHIPPED_DIR).files.map((f) => summarize(f.release));
const rel = (system: string, kind: string, version: string) => parsed.find((r) => r.system === system && r.kind === kind && r.version === version);

test('the shipped manifest (lazy loading) matches the files', () => {
  const manifest = JSON.parse(readFileSync(path.join(SHIPPED_DIR, 'manifest.json'), 'utf8'));
  assert.deepEqual(manifest, JSON.parse(JSON.stringify(buildManifest(SHIPPED_DIR))));
  assert.deepEqual(t.list().map((r) => [r.version, r.count]), [...parsed].sort((a, b) => a.effectiveFrom.localeCompare(b.effectiveFrom)).map((r) => [r.version, r.count]));
});

test('shipped ICD-10-CM releases have the counts of the CDC/CMS files', () => {
  const fy21 = rel(ICD10CM, 'codes', 'FY2021');
  assert.equal(fy21?.count, 95358);
  assert.equal(fy21?.billable, 72621);
  assert.equal(fy21?.effectiveFrom, '2020-10-01');
  assert.equal(fy21?.effectiveTo, '2021-09-30');
  const fy22 = rel(ICD10CM, 'codes', 'FY2022');
  assert.equal(fy22?.billable, 72748);
  assert.equal(fy22?.count, 95524);
});

test('shipped ICD-10-PCS, HCPCS, CARC, MCE and Tabular releases load with their source counts', () => {
  assert.equal(rel(ICD10PCS, 'codes', 'FY2022')?.billable, 78220);
  assert.equal(rel(HCPCS, 'codes', 'CY2020')?.count, 6710 + 369);
  assert.equal(rel(CARC, 'codes', 'current')?.count, 407);
  assert.equal(rel(ICD10CM, 'mce', 'v37')?.count, 14153);
  assert.equal(rel(ICD10CM, 'tabular', 'FY2021')?.count, 45017);
});

test('POA-exempt list and order-file flags', () => {
  const r = readReleases(path.join(import.meta.dirname, 'fixtures/POAexemptCodes2020-excerpt.txt')).files[0]!.release;
  assert.equal(r.kind, 'poa-exempt');
  assert.equal(r.version, 'FY2020');
  assert.ok(r.poaExempt!.includes('B900'));
  assert.equal(t.lookup(ICD10CM, 'Z79.4', '2022-01-10').poaExempt, true);
  assert.equal(t.lookup(ICD10CM, 'E11.9', '2022-01-10').poaExempt, false);
});

test('a HCPCS code continues its description over continuation lines', () => {
  const text = readFileSync(path.join(SHIPPED_DIR, 'HCPC2020_ANWEB_w_disclaimer.txt.gz'));
  assert.ok(text.length > 0);
  const l = t.lookup('hcpcs', 'A0021', '2020-06-01');
  assert.equal(l.found, true);
  assert.match(l.display!, /^Ambulance service, outside state per mile, transport \(medicaid only\)$/i);
  assert.equal(t.lookup('hcpcs', 'GT', '2020-06-01').found, true);
});

test('the order-file layout is recognised by content', () => {
  const line = '00002 A000    1 Cholera due to Vibrio cholerae 01, biovar cholerae           Cholera due to Vibrio cholerae 01, biovar cholerae';
  assert.equal(detectFile('icd10cm-order-2026.txt', line), 'icd10cm-order');
  const r = parseReleaseFile('icd10cm-order', 'icd10cm-order-2026.txt', line);
  assert.equal(r.version, 'FY2026');
  assert.equal(r.effectiveFrom, '2025-10-01');
  assert.deepEqual(r.concepts![0], { code: 'A000', billable: true, short: 'Cholera due to Vibrio cholerae 01, biovar cholerae', display: 'Cholera due to Vibrio cholerae 01, biovar cholerae' });
  const april = parseReleaseFile('icd10cm-order', 'icd10cm-order-April-1-2026.txt', line);
  assert.equal(april.effectiveFrom, '2026-04-01');
});

test('lookup: E11.9 billable, E11 a header, S72.001 asks for a 7th character', () => {
  const e119 = t.lookup(ICD10CM, 'E11.9', '2022-03-01');
  assert.equal(e119.display, 'Type 2 diabetes mellitus without complications');
  assert.equal(e119.billable, true);
  assert.deepEqual(e119.parents.map((p) => p.code), ['E11']);
  assert.ok(e119.notes?.excludes1?.some((n) => /E10/.test(n.note)));
  const e11 = t.lookup(ICD10CM, 'e11', '2022-03-01');
  assert.equal(e11.header, true);
  assert.equal(e11.billable, false);
  assert.ok(e11.children!.some((c) => c.code === 'E11.9'));
  const s = t.lookup(ICD10CM, 'S72.001', '2022-03-01');
  assert.equal(s.needsSeventhCharacter, true);
  assert.ok(s.completions!.some((c) => c.code === 'S72.001A'));
  assert.equal(s.completions!.length, 16);
  const x = t.lookup(ICD10CM, 'T14.8', '2022-03-01');
  assert.deepEqual(x.completions!.map((c) => c.code), ['T14.8XXA', 'T14.8XXD', 'T14.8XXS']);
  assert.ok(t.lookup(ICD10CM, 'E11.22').notes!.useAdditionalCode!.some((n) => /N18/.test(n.note)));
});

test('lookup by date picks the release in force; codes new in FY2022 are unknown in FY2021', () => {
  // U09.9 (post COVID-19 condition) was added on 1 October 2021
  assert.equal(t.lookup(ICD10CM, 'U09.9', '2021-12-01').found, true);
  const before = t.lookup(ICD10CM, 'U09.9', '2021-03-01');
  assert.equal(before.found, false);
  assert.equal(before.release?.version, 'FY2021');
  const later = t.lookup(ICD10CM, 'E11.9', '2025-03-01');
  assert.equal(later.releaseOutOfDate, true);
});

test('MCE flags come with the lookup', () => {
  assert.ok(t.lookup(ICD10CM, 'A33', '2020-03-01').mce?.includes('Newborn_Only'));
  assert.ok(t.lookup(ICD10PCS, '0VT00ZZ', '2020-03-01').mce?.includes('Male_Only'));
});

test('a zip as CMS publishes it (files in a subfolder, with unrelated files) imports', async () => {
  const { default: AdmZip } = await import('adm-zip');
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const os = await import('node:os');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'term-'));
  try {
    const zip = new AdmZip();
    zip.addFile('2020 POA Exempt/POAexemptCodes2020.txt', readFileSync(path.join(import.meta.dirname, 'fixtures/POAexemptCodes2020-excerpt.txt')));
    zip.addFile('2020 POA Exempt/README.txt', Buffer.from('Read me'));
    zip.addFile('carc_2026.csv', readFileSync(path.join(import.meta.dirname, 'fixtures/carc-excerpt.csv')));
    const file = path.join(dir, 'release.zip');
    writeFileSync(file, zip.toBuffer());
    const { files, skipped } = readReleases(file);
    assert.deepEqual(files.map((f) => [f.kind, f.release.kind]).sort(), [['carc', 'codes'], ['poa-exempt', 'poa-exempt']]);
    assert.deepEqual(skipped, ['README.txt']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
