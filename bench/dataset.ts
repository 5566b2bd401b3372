/**
 * Builds the large benchmark dataset: copies of the 100 Synthea bundles with fresh ids (every UUID in
 * a copy is rewritten the same way, so references and identifiers stay consistent), plus per patient
 * the HIM work a real store holds: an unsigned note (DocumentReference, docStatus preliminary) and a
 * deficiency Task owned by the patient's practitioner.
 *
 *   node --import tsx bench/dataset.ts --copies 41 --out /tmp/custodian-1m     (~1,000,000 resources)
 *   node --import tsx bench/dataset.ts --load --out /tmp/custodian-1m          (then import into BENCH_DATABASE_URL)
 *   node --import tsx bench/dataset.ts --copies 1 --out /tmp/custodian-seed    (one copy, as the seed of
 *                                                                                bench/dataset-checks.ts)
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? (process.argv[i + 1] as string) : def;
};
const SRC = path.resolve(arg('--bundles', '../shared/data/synthea/r4-bundles'));
const OUT = path.resolve(arg('--out', '/tmp/custodian-1m'));
const COPIES = Number(arg('--copies', '41'));
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** The copy-k version of a UUID: its first group replaced by k mixed with the original (still a UUID). */
function remap(uuid: string, k: number): string {
  const head = ((parseInt(uuid.slice(0, 8), 16) ^ Math.imul(k + 1, 2654435761)) >>> 0).toString(16).padStart(8, '0');
  return `${head}${uuid.slice(8)}`;
}

interface Entry { fullUrl?: string; resource: { resourceType: string; id: string; [k: string]: unknown }; request: { method: string; url: string } }

function himExtras(bundle: { entry: Entry[] }, k: number, n: number): Entry[] {
  const patient = bundle.entry.find((e) => e.resource.resourceType === 'Patient')?.resource;
  const practitioner = bundle.entry.find((e) => e.resource.resourceType === 'Practitioner')?.resource;
  const encounter = [...bundle.entry].reverse().find((e) => e.resource.resourceType === 'Encounter')?.resource;
  if (!patient || !encounter) return [];
  // UUID-shaped ids, so bench/dataset-checks.ts's SQL replication rewrites them like Synthea's own ids.
  const serial = (kind: number): string => `00000000-0000-4000-800${kind}-${(k * 1000 + n).toString(16).padStart(12, '0')}`;
  const docId = serial(1);
  const taskId = serial(2);
  const period = encounter.period as { start?: string; end?: string } | undefined;
  const due = new Date(Date.parse(period?.end ?? period?.start ?? '2020-01-01') + 30 * 86_400_000).toISOString();
  return [
    {
      fullUrl: `urn:uuid:${docId}`,
      resource: {
        resourceType: 'DocumentReference', id: docId, status: 'current', docStatus: 'preliminary',
        type: { coding: [{ system: 'http://loinc.org', code: '18842-5', display: 'Discharge summary' }] },
        subject: { reference: `urn:uuid:${patient.id}` }, date: period?.end ?? period?.start,
        author: practitioner ? [{ reference: `urn:uuid:${practitioner.id}` }] : undefined,
        context: { encounter: [{ reference: `urn:uuid:${encounter.id}` }] },
        content: [{ attachment: { contentType: 'text/plain', data: Buffer.from('Discharge summary (unsigned).').toString('base64') } }],
      },
      request: { method: 'POST', url: 'DocumentReference' },
    },
    {
      fullUrl: `urn:uuid:${taskId}`,
      resource: {
        resourceType: 'Task', id: taskId, status: 'requested', intent: 'order', priority: 'routine',
        code: { coding: [{ system: 'http://custodian.dev/fhir/CodeSystem/work-type', code: 'deficiency' }, { system: 'http://custodian.dev/fhir/CodeSystem/deficiency-type', code: 'unsigned-note' }] },
        businessStatus: { text: 'awaiting signature' },
        focus: { reference: `urn:uuid:${docId}` }, for: { reference: `urn:uuid:${patient.id}` },
        owner: practitioner ? { reference: `urn:uuid:${practitioner.id}` } : undefined,
        authoredOn: period?.end ?? period?.start,
        restriction: { period: { end: due } },
      },
      request: { method: 'POST', url: 'Task' },
    },
  ];
}

export function buildDataset(): { files: number; resources: number } {
  mkdirSync(OUT, { recursive: true });
  const sources = readdirSync(SRC).filter((f) => f.endsWith('.json')).sort();
  const texts = sources.map((f) => readFileSync(path.join(SRC, f), 'utf8'));
  let resources = 0;
  let files = 0;
  for (let k = 0; k < COPIES; k++) {
    texts.forEach((text, n) => {
      const file = path.join(OUT, `copy${String(k).padStart(3, '0')}-${String(n).padStart(3, '0')}.json`);
      const copy = JSON.parse(k === 0 ? text : text.replace(UUID, (u) => remap(u, k))) as { entry: Entry[] };
      copy.entry.push(...himExtras(copy, k, n));
      resources += copy.entry.length;
      files++;
      if (!existsSync(file)) writeFileSync(file, JSON.stringify(copy));
    });
  }
  return { files, resources };
}

async function load(): Promise<void> {
  const { openStore } = await import('../src/store/open.js');
  const { importFiles } = await import('../src/records/import-files.js');
  const { BENCH_DATABASE_URL } = await import('./util.js');
  const db = await openStore({ databaseUrl: BENCH_DATABASE_URL });
  const files = readdirSync(OUT).filter((f) => f.endsWith('.json')).sort().map((f) => path.join(OUT, f));
  const started = performance.now();
  let done = 0;
  const s = await importFiles({ db, strict: false }, files, (d, total) => {
    done = d;
    if (d % 100 === 0) process.stderr.write(`\r${d}/${total} files, ${((performance.now() - started) / 1000).toFixed(0)} s`);
  });
  const seconds = (performance.now() - started) / 1000;
  await db.close();
  console.log(JSON.stringify({ files: done, resources: s.resources, failures: s.failures.length, seconds: +seconds.toFixed(1), resourcesPerSecond: Math.round(s.resources / seconds) }, null, 2));
}

if (process.argv.includes('--load')) await load();
else console.log(JSON.stringify(buildDataset()));
