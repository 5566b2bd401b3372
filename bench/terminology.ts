/**
 * Terminology benchmark: in-process lookups per second, encoder p95 over 1,000 realistic queries
 * through the HTTP API (Fastify inject), and the import of one full ICD-10-CM release (order file
 * and Tabular XML). Run: npx tsx bench/terminology.ts
 */
import Fastify from 'fastify';
import { registerTerminologyRoutes } from '../src/server/terminology-routes.js';
import { readReleases, shippedTerminology, SHIPPED_DIR } from '../src/store/terminology-files.js';
import { percentile } from './util.js';

const out: Record<string, number | string> = {};
let t0 = performance.now();
const t = shippedTerminology();
out['load shipped releases (s)'] = +((performance.now() - t0) / 1000).toFixed(2);

t0 = performance.now();
const order = readReleases(`${SHIPPED_DIR}/icd10cm-order-Jan-2021.txt.gz`).files[0]!.release;
const tab = readReleases(`${SHIPPED_DIR}/icd10cm_tabular_2021.xml.gz`).files[0]!.release;
out['import ICD-10-CM FY2021 order + tabular (s)'] = +((performance.now() - t0) / 1000).toFixed(2);
out['  codes / tabular entries'] = `${order.concepts!.length} / ${tab.tabular!.length}`;

const codes = order.concepts!.filter((c) => c.billable).map((c) => c.code);
t.lookup('icd-10-cm', 'E119', '2021-01-01');
t0 = performance.now();
let n = 0;
while (performance.now() - t0 < 2000) { t.lookup('icd-10-cm', codes[(n * 7919) % codes.length]!, '2021-01-01'); n++; }
out['lookups per second (billable codes, with notes, POA, MCE)'] = Math.round(n / ((performance.now() - t0) / 1000));

const stems = ['type 2 diabetes', 'diabetes with chronic kidney disease', 'chf', 'acute systolic heart failure', 'copd exacerbation', 'pneumonia', 'sepsis', 'uti', 'essential hypertension',
  'afib', 'hip fracture', 'fx neck femur right', 'major depressive disorder recurrent', 'anxiety', 'obesity', 'morbid obesity bmi 40', 'asthma', 'migraine', 'low back pain', 'osteoarthritis knee',
  'ckd stage 3', 'anemia', 'hyperlipidemia', 'hypothyroidism', 'gerd', 'urinary retention', 'dementia', 'alzheimer', 'stroke', 'cerebral infarction', 'pressure ulcer sacral stage 3',
  'malnutrition severe', 'acute kidney failure', 'dehydration', 'syncope', 'chest pain', 'abdominal pain', 'cellulitis left leg', 'diabetic foot ulcer', 'hyperkalemia', 'hyponatremia',
  'encounter for screening', 'history of falling', 'long term insulin', 'tobacco use', 'alcohol dependence', 'opioid abuse', 'covid', 'influenza', 'bronchitis acute'];
const typo = (s: string): string => s.replace(/([a-z]{5,})/, (w) => w.slice(0, 2) + w[3] + w[2] + w.slice(4));
const queries: string[] = [];
for (let i = 0; i < 1000; i++) { const s = stems[i % stems.length]!; queries.push(i % 5 === 4 ? typo(s) : i % 5 === 3 ? s.split(' ').reverse().join(' ') : s); }
const app = Fastify();
await registerTerminologyRoutes(app, { terminology: () => t });
await app.inject({ url: '/api/terminology/search?q=warm' });
const lat: number[] = [];
for (const q of queries) {
  const s = performance.now();
  const r = await app.inject({ url: `/api/terminology/search?q=${encodeURIComponent(q)}&system=icd-10-cm` });
  lat.push(performance.now() - s);
  if (r.statusCode !== 200) throw new Error(r.body);
}
lat.sort((a, b) => a - b);
out['encoder p50 (ms, 1,000 queries via API)'] = +percentile(lat, 50).toFixed(2);
out['encoder p95 (ms)'] = +percentile(lat, 95).toFixed(2);
out['encoder max (ms)'] = +lat[lat.length - 1]!.toFixed(2);
await app.close();
for (const [k, v] of Object.entries(out)) console.log(`${k.padEnd(58)} ${v}`);
