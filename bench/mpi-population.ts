/**
 * A synthetic patient population for the MPI benchmarks, shaped like Synthea's Patients: the name
 * parts, street names, city/state/postcode triples, phone and SSN formats (555-..., 999-...) of the
 * 100 Synthea patients in ../shared/data/synthea/r4-bundles, with names widened by the FEBRL 3 and
 * Splink fake_1000 name lists (100 Synthea names alone would make every name block huge); birth dates
 * uniform over 1925-2024. A share of records (default 10%) are injected duplicates of an original
 * with 1-3 changes: a typo in a name, a nickname, a married name (the old one kept as maiden name),
 * another day of birth or day/month swapped, an SSN typo or a missing SSN, a move to another
 * address, a new phone.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Patient } from '@medplum/fhirtypes';
import { readText } from '../src/cli/mpi-command.js';
import { parseFebrl, parseSplink } from '../src/mpi/datasets.js';
import { SSN_SYSTEM } from '../src/mpi/fhir-person.js';
import { rng } from '../src/mpi/model.js';
import type { PersonRecord } from '../src/mpi/types.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FX = path.join(HERE, '../test/mpi/fixtures');
const SYNTHEA = path.join(HERE, '../../shared/data/synthea/r4-bundles');

export interface Population {
  records: PersonRecord[];
  /** The original each record belongs to (truth). */
  clusters: string[];
}

interface Pools {
  givenFemale: string[];
  givenMale: string[];
  family: string[];
  streets: string[];
  places: { city: string; state: string; postcode: string }[];
}

const title = (s: string): string => s.replace(/\b[a-z]/g, (c) => c.toUpperCase());

function pools(): Pools {
  const givenFemale = new Set<string>();
  const givenMale = new Set<string>();
  const family = new Set<string>();
  const streets = new Set<string>();
  const places = new Map<string, { city: string; state: string; postcode: string }>();
  for (const f of readdirSync(SYNTHEA).filter((x) => x.endsWith('.json'))) {
    const bundle = JSON.parse(readFileSync(path.join(SYNTHEA, f), 'utf8')) as { entry: { resource: Patient }[] };
    const p = bundle.entry.map((e) => e.resource).find((r) => r.resourceType === 'Patient');
    if (!p) continue;
    for (const n of p.name ?? []) {
      for (const g of n.given ?? []) (p.gender === 'female' ? givenFemale : givenMale).add(g.replace(/\d+/g, ''));
      if (n.family) family.add(n.family.replace(/\d+/g, ''));
    }
    for (const a of p.address ?? []) {
      const street = /^\d+\s+(.*?)(?:\s+(?:Suite|Unit|Apt\.?)\s+\d+)?$/.exec(a.line?.[0] ?? '')?.[1];
      if (street) streets.add(street);
      if (a.city && a.postalCode) places.set(`${a.city}|${a.postalCode}`, { city: a.city, state: a.state ?? '', postcode: a.postalCode });
    }
  }
  // Wider name and street lists from the public suites (sex unknown there: both lists).
  const others = [parseFebrl(readText(path.join(FX, 'febrl-dataset3.csv.gz'))), parseSplink(readText(path.join(FX, 'splink-fake_1000.csv.gz')))].flatMap((s) => s.records);
  for (const r of others) {
    const g = r.given?.[0];
    if (g && /^[a-z]{2,}$/i.test(g)) (g.length % 2 ? givenFemale : givenMale).add(title(g.toLowerCase()));
    if (r.family && /^[a-z]{2,}$/i.test(r.family)) family.add(title(r.family.toLowerCase()));
    if (r.address?.street && /^[a-z ]{4,}$/i.test(r.address.street)) streets.add(title(r.address.street.toLowerCase()));
  }
  return { givenFemale: [...givenFemale], givenMale: [...givenMale], family: [...family], streets: [...streets], places: [...places.values()] };
}

const NICKNAMES: Record<string, string> = { William: 'Bill', Robert: 'Bob', Richard: 'Dick', Margaret: 'Peggy', Elizabeth: 'Liz', James: 'Jim', John: 'Jack', Katherine: 'Kate', Michael: 'Mike', Jennifer: 'Jen', Thomas: 'Tom', Joseph: 'Joe' };

/** N records, `dupShare` of them duplicates of the others. Deterministic for a seed. */
export function syntheticPopulation(n: number, dupShare = 0.1, seed = 42): Population {
  const P = pools();
  const r = rng(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)]!;
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const pad = (x: number, w: number): string => String(x).padStart(w, '0');
  const typo = (s: string): string => {
    if (s.length < 3) return s;
    const i = 1 + Math.floor(r() * (s.length - 2));
    const k = r();
    if (k < 0.33) return s.slice(0, i) + s.slice(i + 1);
    if (k < 0.66) return s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2);
    return s.slice(0, i) + 'aeiou'[Math.floor(r() * 5)] + s.slice(i + 1);
  };
  const address = (): PersonRecord['address'] => {
    const place = pick(P.places);
    const unit = r() < 0.3 ? ` Unit ${int(1, 99)}` : '';
    return { line: `${int(1, 999)} ${pick(P.streets)}${unit}`, city: place.city, state: place.state, postcode: place.postcode };
  };
  const records: PersonRecord[] = [];
  const clusters: string[] = [];
  const originals = Math.round(n * (1 - dupShare));
  for (let i = 0; i < originals; i++) {
    const female = r() < 0.5;
    records.push({
      id: `p${i}`,
      given: [pick(female ? P.givenFemale : P.givenMale)],
      family: pick(P.family),
      birthDate: `${int(1925, 2024)}-${pad(int(1, 12), 2)}-${pad(int(1, 28), 2)}`,
      sex: female ? 'female' : 'male',
      address: address(),
      phone: r() < 0.9 ? [`555-${pad(int(100, 999), 3)}-${pad(int(0, 9999), 4)}`] : undefined,
      ssn: r() < 0.95 ? `999-${pad(int(10, 99), 2)}-${pad(int(0, 9999), 4)}` : undefined,
    });
    clusters.push(`p${i}`);
  }
  for (let i = originals; i < n; i++) {
    const k = Math.floor(r() * originals);
    const d: PersonRecord = structuredClone(records[k]!);
    d.id = `d${i}`;
    const changes = int(1, 3);
    for (let c = 0; c < changes; c++) {
      const f = int(0, 7);
      if (f === 0) d.given = [typo(d.given![0]!)];
      else if (f === 1) d.family = typo(d.family!);
      else if (f === 2) d.given = [NICKNAMES[d.given![0]!] ?? typo(d.given![0]!)];
      else if (f === 3 && d.sex === 'female') {
        d.previousFamily = [d.family!];
        d.family = pick(P.family);
      } else if (f === 4) {
        const [y, m, dd] = d.birthDate!.split('-') as [string, string, string];
        d.birthDate = r() < 0.5 && Number(dd) <= 12 ? `${y}-${dd}-${m}` : `${y}-${m}-${pad(int(1, 28), 2)}`;
      } else if (f === 5) d.ssn = r() < 0.5 || !d.ssn ? undefined : typo(d.ssn);
      else if (f === 6) d.address = address();
      else d.phone = [`555-${pad(int(100, 999), 3)}-${pad(int(0, 9999), 4)}`];
    }
    records.push(d);
    clusters.push(`p${k}`);
  }
  return { records, clusters };
}

/** The record as a FHIR Patient (as registration would write it). */
export function toPatient(p: PersonRecord): Patient {
  return {
    resourceType: 'Patient',
    id: p.id,
    identifier: [
      { system: 'http://hospital.example.org/mrn', value: `MRN-${p.id}` },
      ...(p.ssn ? [{ system: SSN_SYSTEM, type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'SS' }] }, value: p.ssn }] : []),
    ],
    name: [
      { use: 'official', family: p.family, given: p.given },
      ...(p.previousFamily ?? []).map((f) => ({ use: 'maiden' as const, family: f, given: p.given })),
    ],
    telecom: (p.phone ?? []).map((v) => ({ system: 'phone' as const, value: v, use: 'home' as const })),
    gender: p.sex as Patient['gender'],
    birthDate: p.birthDate,
    address: p.address ? [{ line: [p.address.line!], city: p.address.city, state: p.address.state, postalCode: p.address.postcode, country: 'US' }] : undefined,
  };
}
