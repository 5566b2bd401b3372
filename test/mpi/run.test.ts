import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Bundle, Patient, Task } from '@medplum/fhirtypes';
import { backends } from '../helpers/db.js';
import { testApp } from '../helpers/app.js';
import { readText } from '../../src/cli/mpi-command.js';
import { parseSplink } from '../../src/mpi/datasets.js';
import { writeResources } from '../../src/store/repository.js';
import { loadModel, runDuplicateDetection } from '../../src/store/mpi-store.js';
import { matcherConfigFrom } from '../../src/mpi/config-file.js';

const set = parseSplink(readText(path.join(import.meta.dirname, 'fixtures', 'splink-fake_1000.csv.gz')));
const patients: Patient[] = set.records.map((r) => ({
  resourceType: 'Patient',
  id: `p${r.id}`,
  name: [{ given: r.given, family: r.family }],
  birthDate: r.birthDate,
  address: r.address?.city ? [{ city: r.address.city }] : undefined,
  telecom: r.email ? [{ system: 'email', value: r.email[0] }] : undefined,
}));

for (const backend of backends()) {
  describe(`mpi run and Patient/$match (${backend.name})`, () => {
    it('fits the model, links matches, raises one review Task per possible duplicate, explains it, and $match finds the person', async () => {
      const t = await testApp(backend);
      try {
        await t.db.transaction((tx) => writeResources(tx, patients.map((p) => ({ resourceType: 'Patient', id: p.id!, method: 'PUT' as const, resource: p }))));
        const s = await runDuplicateDetection(t.db);
        assert.equal(s.patients, 1000);
        assert.equal(s.parameters.m, 'em');
        assert.ok(s.matches > 500, `${s.matches} auto-links`);
        // one review Task per possible duplicate, and per auto-linked pair (the duplicate record still has to be merged)
        assert.equal(s.tasksCreated, s.possibleMatches + s.matches);
        assert.ok(s.possibleMatches > 0, 'line 37');

        const tasks = await t.db.query<{ content: unknown }>(`SELECT content FROM resource WHERE resource_type = 'Task'`);
        assert.equal(tasks.rows.length, s.tasksCreated);
        const all = tasks.rows.map((r) => (typeof r.content === 'string' ? JSON.parse(r.content) : r.content) as Task);
        assert.equal(all.filter((x) => x.businessStatus?.text === 'auto-linked: merge pending').length, s.matches);
        const task = all.find((x) => x.businessStatus?.text === 'awaiting review') as Task;
        assert.equal(task.status, 'requested');
        assert.deepEqual(task.code?.coding?.[0], { system: 'http://custodian.dev/fhir/CodeSystem/work-type', code: 'possible-duplicate', display: 'Possible duplicate patient' });
        assert.match(task.focus!.reference!, /^Patient\/p\d+$/);
        assert.ok(task.restriction?.period?.end, 'a due date');
        const p = task.input!.find((i) => i.type.text === 'match-probability')!.valueDecimal!;
        assert.ok(p >= 0.5 && p < 0.95, 'line 47');

        // The review screen's explanation: per field level and weight, summing to the total.
        const ex = await t.app.inject({ method: 'GET', url: `/api/mpi/pairs/${task.id}` });
        assert.equal(ex.statusCode, 200, ex.body);
        const body = ex.json() as { explanation: { fields: { comparison: string; level: string; weight: number }[]; weight: number; prior: number; probability: number } };
        const sum = body.explanation.prior + body.explanation.fields.reduce((a, f) => a + f.weight, 0);
        assert.ok(Math.abs(sum - body.explanation.weight) < 0.1, 'line 54');
        assert.ok(Math.abs(body.explanation.probability - p) < 0.001, 'line 55');
        assert.equal(body.explanation.fields.length, 12);
        assert.ok(body.explanation.fields.some((f) => f.level !== 'missing' && f.weight !== 0), 'a compared field carries weight');

        // The fitted model serves the configuration it was fitted for; one that compares other
        // fields gets its own defaults until a run fits it.
        assert.equal((await loadModel(t.db)).source.m, 'em');
        const noEmail = matcherConfigFrom({ comparisons: [{ kind: 'email', remove: true }] });
        const other = await loadModel(t.db, noEmail);
        assert.equal(other.source.m, 'default');
        assert.equal(other.m.length, noEmail.comparisons.length);

        // Running again raises no duplicate Tasks.
        const again = await runDuplicateDetection(t.db);
        assert.equal(again.tasksCreated, 0);

        const m = await t.app.inject({ method: 'GET', url: '/api/mpi/metrics' });
        const metrics = m.json() as { patients: number; possibleDuplicates: number; duplicateErrorRate: number; registrations: number };
        assert.equal(metrics.patients, 1000);
        assert.equal(metrics.possibleDuplicates, s.tasksCreated);
        assert.equal(metrics.duplicateErrorRate, s.tasksCreated / 1000);
        assert.equal(metrics.registrations, 1000);

        // $match: a new registration with a typo in the surname and a nickname finds the person.
        const target = patients[0]!; // Robert Alan 1971-06-24
        const query: Patient = { resourceType: 'Patient', name: [{ given: ['Bob'], family: 'Allan' }], birthDate: target.birthDate, telecom: target.telecom };
        const res = await t.app.inject({ method: 'POST', url: '/fhir/Patient/$match', payload: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: query }, { name: 'count', valueInteger: 3 }] } });
        assert.equal(res.statusCode, 200, res.body);
        const bundle = res.json() as Bundle<Patient>;
        assert.equal(bundle.type, 'searchset');
        assert.ok(bundle.entry!.length >= 1 && bundle.entry!.length <= 3, 'line 77');
        const top = bundle.entry![0]!;
        assert.equal(set.clusters[Number(top.resource!.id!.slice(1))], set.clusters[0], 'the top candidate is the same person');
        assert.equal(top.search?.mode, 'match');
        assert.ok(['certain', 'probable'].includes(top.search!.extension![0]!.valueCode!));
        for (let i = 1; i < bundle.entry!.length; i++) assert.ok(bundle.entry![i]!.search!.score! <= bundle.entry![i - 1]!.search!.score!);

        const none = await t.app.inject({ method: 'POST', url: '/fhir/Patient/$match', payload: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Patient', name: [{ given: ['Zebedee'], family: 'Quixotic' }], birthDate: '1901-01-01' } }] } });
        assert.equal((none.json() as Bundle).entry?.length ?? 0, 0, 'nobody matches a stranger');

        // A registration written after the index was built is found by the next $match.
        const stranger: Patient = { resourceType: 'Patient', name: [{ given: ['Zebedee'], family: 'Quixotic' }], birthDate: '1901-01-01', gender: 'male' };
        const created = await t.app.inject({ method: 'POST', url: '/fhir/Patient', payload: stranger });
        assert.equal(created.statusCode, 201, created.body);
        const later = await t.app.inject({ method: 'POST', url: '/fhir/Patient/$match', payload: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: stranger }] } });
        assert.equal((later.json() as Bundle<Patient>).entry?.[0]?.resource?.id, (created.json() as Patient).id);
      } finally {
        await t.close();
      }
    });

    it('$match grades a pair as the run treats it: two SSNs the rest does not explain are two people; a wrong number is possible at best, with the reason', async () => {
      const t = await testApp(backend);
      try {
        const ssn = (value: string) => [{ system: 'http://hl7.org/fhir/sid/us-ssn', value }];
        const karen: Patient = { resourceType: 'Patient', id: 'karen', name: [{ given: ['Karen'], family: 'Lloyd' }], gender: 'female', birthDate: '1962-09-10', address: [{ line: ['PO BOX 2425'], city: 'New Gregorymouth', state: 'GA', postalCode: '27333' }], identifier: ssn('669-78-8106') };
        const william: Patient = { resourceType: 'Patient', id: 'william', name: [{ given: ['William'], family: 'Klein' }], gender: 'female', birthDate: '1995-03-12', address: [{ line: ['709 Hoover Prairie'], city: 'East Dylan', state: 'PA', postalCode: '59332' }], identifier: ssn('555-54-4262') };
        await t.db.transaction((tx) => writeResources(tx, [karen, william].map((p) => ({ resourceType: 'Patient', id: p.id!, method: 'PUT' as const, resource: p }))));
        const match = async (resource: Patient, onlyCertain = false) => {
          const res = await t.app.inject({ method: 'POST', url: '/fhir/Patient/$match', payload: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource }, ...(onlyCertain ? [{ name: 'onlyCertainMatches', valueBoolean: true }] : [])] } });
          assert.equal(res.statusCode, 200, res.body);
          return (res.json() as Bundle<Patient>).entry ?? [];
        };
        const { id: _k, ...karenQuery } = karen;
        const { id: _w, ...williamQuery } = william;
        // The same person: certain.
        const same = await match(karenQuery);
        assert.equal(same[0]?.resource?.id, 'karen');
        assert.equal(same[0]?.search?.extension?.[0]?.valueCode, 'certain');
        // Born 1942, not 1962, and an SSN one keystroke off: a parent and child of one name at one
        // address, two people, however well the rest scores. Not offered, least of all as certain.
        const parent = await match({ ...karenQuery, birthDate: '1942-09-10', identifier: ssn('669-78-0106') });
        assert.equal(parent.find((e) => e.resource?.id === 'karen'), undefined);
        // Name, birth date and address the same, another SSN: one person with a wrong number. Possible, and why.
        const wrong = await match({ ...williamQuery, identifier: ssn('555-54-4200') });
        assert.equal(wrong[0]?.resource?.id, 'william');
        assert.ok(wrong[0]!.search!.score! > 0.95, 'the rest agrees');
        assert.deepEqual(wrong[0]?.search?.extension, [
          { url: 'http://hl7.org/fhir/StructureDefinition/match-grade', valueCode: 'possible' },
          { url: 'http://custodian.dev/fhir/StructureDefinition/match-review-reason', valueString: 'conflicting ssn' },
        ]);
        assert.deepEqual(await match({ ...williamQuery, identifier: ssn('555-54-4200') }, true), [], 'not a certain match');
      } finally {
        await t.close();
      }
    });

    it('$match and the review follow the configured matcher (serve --mpi-config)', async () => {
      const t = await testApp(backend, { mpiConfig: matcherConfigFrom({ comparisons: [{ kind: 'ssn', onConflict: 'review' }] }) });
      try {
        const ssn = (value: string) => [{ system: 'http://hl7.org/fhir/sid/us-ssn', value }];
        const karen: Patient = { resourceType: 'Patient', id: 'karen', name: [{ given: ['Karen'], family: 'Lloyd' }], gender: 'female', birthDate: '1962-09-10', address: [{ line: ['PO BOX 2425'], city: 'New Gregorymouth', state: 'GA', postalCode: '27333' }], identifier: ssn('669-78-8106') };
        await t.db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'karen', method: 'PUT' as const, resource: karen }]));
        const { id: _k, ...query } = karen;
        const res = await t.app.inject({ method: 'POST', url: '/fhir/Patient/$match', payload: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { ...query, birthDate: '1942-09-10', identifier: ssn('669-78-0106') } }] } });
        const entry = (res.json() as Bundle<Patient>).entry?.[0];
        // Every SSN conflict is review under this configuration: offered, as possible.
        assert.equal(entry?.resource?.id, 'karen');
        assert.equal(entry?.search?.extension?.[0]?.valueCode, 'possible');
      } finally {
        await t.close();
      }
    });
  });
}
