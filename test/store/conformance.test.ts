/** The storage conformance suite: the same behaviour on PGlite and on PostgreSQL. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '@medplum/fhirtypes';
import { backends } from '../helpers/db.js';
import type { Db } from '../../src/store/db.js';
import { readCurrent, readHistory, readResource, readVersion, writeResources } from '../../src/store/repository.js';
import { parseSearchRequest } from '../../src/fhir/search-request.js';
import { searchIds } from '../../src/store/search-sql.js';
import { OperationOutcomeError, toOutcomeError } from '../../src/fhir/outcomes.js';

const patient = (id: string, extra: Record<string, unknown> = {}): Resource =>
  ({ resourceType: 'Patient', id, name: [{ family: 'Zeta', given: ['Ann'] }], gender: 'female', birthDate: '1970-05-01', ...extra }) as Resource;

for (const backend of backends()) {
  describe(`store conformance (${backend.name})`, () => {
    let db: Db;
    before(async () => {
      db = await backend.open();
    });
    after(async () => {
      await db.close();
    });

    it('versions every change and keeps the full history', async () => {
      await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'v1', method: 'PUT', resource: patient('v1') }]));
      await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'v1', method: 'PUT', resource: patient('v1', { gender: 'male' }) }]));
      const cur = await readResource(db, 'Patient', 'v1');
      assert.equal(cur.versionId, 2);
      assert.equal(cur.resource.meta?.versionId, '2');
      assert.equal((await readVersion(db, 'Patient', 'v1', 1)).resource.meta?.versionId, '1');
      assert.equal(((await readVersion(db, 'Patient', 'v1', 1)).resource as { gender?: string }).gender, 'female');
      const h = await readHistory(db, { resourceType: 'Patient', id: 'v1', count: 10, offset: 0 });
      assert.deepEqual(h.entries.map((e) => e.versionId), [2, 1]);
    });

    it('keeps each version\'s JSON once (the current one in its resource row) and reads every version back through updates, a large write, a delete and a re-create', async () => {
      const family = (v: number): string => `Once${v}`;
      const write = (v: number): Resource => patient('once', { name: [{ family: family(v) }] });
      // a large write (COPY) updating it among 40 others
      const others = (v: number): { resourceType: string; id: string; method: 'PUT'; resource: Resource }[] =>
        Array.from({ length: 40 }, (_, i) => ({ resourceType: 'Patient', id: `once-o${i}`, method: 'PUT' as const, resource: patient(`once-o${i}`, { name: [{ family: `Other${v}` }] }) }));
      await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'once', method: 'PUT', resource: write(1) }]));
      await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'once', method: 'PUT', resource: write(2) }]));
      await db.transaction((tx) => writeResources(tx, [...others(3), { resourceType: 'Patient', id: 'once', method: 'PUT', resource: write(3) }]));
      await db.transaction((tx) => writeResources(tx, [...others(4), { resourceType: 'Patient', id: 'once', method: 'PUT', resource: write(4) }]));
      await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'once', method: 'DELETE' }]));
      await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'once', method: 'PUT', resource: write(6) }]));
      const familyOf = (r: Resource): string | undefined => (r as { name?: { family?: string }[] }).name?.[0]?.family;
      for (const v of [1, 2, 3, 4, 6]) {
        const got = await readVersion(db, 'Patient', 'once', v);
        assert.equal(familyOf(got.resource), family(v), `version ${v}`);
        assert.equal(got.resource.meta?.versionId, String(v));
      }
      await assert.rejects(readVersion(db, 'Patient', 'once', 5), (e: OperationOutcomeError) => e.status === 410);
      const h = await readHistory(db, { resourceType: 'Patient', id: 'once', count: 10, offset: 0 });
      assert.deepEqual(h.entries.map((e) => [e.versionId, e.deleted ? 'deleted' : familyOf(e.resource)]), [[6, family(6)], [5, 'deleted'], [4, family(4)], [3, family(3)], [2, family(2)], [1, family(1)]]);
      // stored: the history rows of earlier versions hold their JSON; the current version's, and the
      // deletion's, none (the other patients' second versions are their current ones)
      const rows = await db.query<{ version_id: number; has: boolean }>(`SELECT version_id, content IS NOT NULL AS has FROM resource_history WHERE resource_type = 'Patient' AND id = 'once' ORDER BY version_id`);
      assert.deepEqual(rows.rows.map((r) => [Number(r.version_id), r.has]), [[1, true], [2, true], [3, true], [4, true], [5, false], [6, false]]);
      const other = await db.query<{ version_id: number; has: boolean }>(`SELECT version_id, content IS NOT NULL AS has FROM resource_history WHERE resource_type = 'Patient' AND id = 'once-o7' ORDER BY version_id`);
      assert.deepEqual(other.rows.map((r) => [Number(r.version_id), r.has]), [[1, true], [2, false]]);
      assert.equal(familyOf((await readVersion(db, 'Patient', 'once-o7', 1)).resource), 'Other3');
      assert.equal(familyOf((await readVersion(db, 'Patient', 'once-o7', 2)).resource), 'Other4');
    });

    it('does not create a version for a write that changes nothing, whatever the key order', async () => {
      const [a] = await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'same', method: 'PUT', resource: patient('same') }]));
      const reordered = { birthDate: '1970-05-01', gender: 'female', name: [{ given: ['Ann'], family: 'Zeta' }], id: 'same', resourceType: 'Patient' } as Resource;
      const [b] = await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'same', method: 'PUT', resource: reordered }]));
      assert.equal(a?.outcome, 'created');
      assert.equal(b?.outcome, 'unchanged');
      assert.equal(b?.versionId, 1);
      const h = await readHistory(db, { resourceType: 'Patient', id: 'same', count: 10, offset: 0 });
      assert.equal(h.total, 1);
    });

    it('soft-deletes: a delete is a new version, a read answers 410, and the history keeps every version', async () => {
      await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'del', method: 'PUT', resource: patient('del') }]));
      const [d] = await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'del', method: 'DELETE' }]));
      assert.equal(d?.outcome, 'deleted');
      assert.equal(d?.versionId, 2);
      await assert.rejects(readResource(db, 'Patient', 'del'), (e: OperationOutcomeError) => e.status === 410);
      assert.equal((await readCurrent(db, 'Patient', 'del'))?.deleted, true);
      assert.equal((await readVersion(db, 'Patient', 'del', 1)).versionId, 1);
      // deleted resources leave searches
      const req = parseSearchRequest('Patient', { _id: 'del' });
      assert.deepEqual((await searchIds(db, req)).ids, []);
      // and can be re-created as a new version
      const [re] = await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'del', method: 'PUT', resource: patient('del') }]));
      assert.equal(re?.versionId, 3);
      assert.deepEqual((await searchIds(db, req)).ids, ['del']);
    });

    it('enforces If-Match with 412 and leaves the resource untouched', async () => {
      await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'lock', method: 'PUT', resource: patient('lock') }]));
      await assert.rejects(
        db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'lock', method: 'PUT', resource: patient('lock', { gender: 'male' }), ifMatch: 7 }])),
        (e: OperationOutcomeError) => e.status === 412,
      );
      assert.equal((await readResource(db, 'Patient', 'lock')).versionId, 1);
      const [ok] = await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'lock', method: 'PUT', resource: patient('lock', { gender: 'male' }), ifMatch: 1 }]));
      assert.equal(ok?.versionId, 2);
    });

    it('rolls back every write of a transaction when one fails', async () => {
      await assert.rejects(
        db.transaction(async (tx) => {
          await writeResources(tx, [{ resourceType: 'Patient', id: 'atom-1', method: 'PUT', resource: patient('atom-1') }]);
          await writeResources(tx, [{ resourceType: 'Patient', id: 'lock', method: 'PUT', resource: patient('lock', { gender: 'other' }), ifMatch: 1 }]);
        }),
      );
      assert.equal(await readCurrent(db, 'Patient', 'atom-1'), undefined);
      const idx = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM sp_string WHERE id = 'atom-1'`);
      assert.equal(Number(idx.rows[0]?.n), 0);
    });

    it('indexes on write and re-indexes on update, so searches follow the current version', async () => {
      await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'idx', method: 'PUT', resource: patient('idx', { name: [{ family: 'Oldname' }] }) }]));
      const find = async (q: Record<string, string>): Promise<string[]> => (await searchIds(db, parseSearchRequest('Patient', q))).ids;
      assert.deepEqual(await find({ family: 'oldn' }), ['idx']);
      await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'idx', method: 'PUT', resource: patient('idx', { name: [{ family: 'Newname' }] }) }]));
      assert.deepEqual(await find({ family: 'oldn' }), []);
      assert.deepEqual(await find({ family: 'newname' }), ['idx']);
    });

    it('keeps the patient compartment of each resource', async () => {
      await db.transaction((tx) => writeResources(tx, [
        { resourceType: 'Observation', id: 'o-comp', method: 'PUT', resource: { resourceType: 'Observation', id: 'o-comp', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/idx' } } as Resource },
      ]));
      const r = await db.query<{ compartments: string[] | string }>(`SELECT compartments FROM resource WHERE resource_type = 'Observation' AND id = 'o-comp'`);
      const comps = r.rows[0]?.compartments;
      assert.deepEqual(Array.isArray(comps) ? comps : String(comps).replace(/[{}]/g, '').split(','), ['idx']);
    });

    it('stores a large write (COPY) exactly as single writes, odd characters included, and updates, deletes and re-writes within it', async () => {
      // Values COPY's text format must escape (tab, line breaks, backslash, \\N), array-literal
      // characters (quotes, commas, braces) and accents, in indexed strings, tokens and the JSON.
      const odd = ['tab\there', 'line\nbreak\r', 'back\\slash \\N', 'quote " , {brace}', 'Zoë Ñúñez'];
      const patientOf = (i: number): Resource => patient('', {
        name: [{ family: odd[i % odd.length], given: [`G${i}`] }],
        identifier: [{ system: 'urn:test:\tsys', value: `${odd[(i + 1) % odd.length]}-${i}` }],
        telecom: [{ system: 'phone', value: `555-01${String(i).padStart(2, '0')}` }],
      });
      const obsOf = (i: number, pid: string): Resource => ({
        resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }], text: odd[i % odd.length] },
        subject: { reference: `Patient/${pid}` }, effectiveDateTime: `2020-01-${String(1 + (i % 28)).padStart(2, '0')}T10:00:00Z`,
        valueQuantity: { value: 5 + i / 10, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
      }) as Resource;
      const n = 20;
      for (let i = 0; i < n; i++) {
        await db.transaction((tx) => writeResources(tx, [
          { resourceType: 'Patient', id: `one-p${i}`, method: 'PUT', resource: { ...patientOf(i), id: `one-p${i}` } as Resource },
          { resourceType: 'Observation', id: `one-o${i}`, method: 'PUT', resource: { ...obsOf(i, `one-p${i}`), id: `one-o${i}` } as Resource },
        ]));
      }
      const batch = Array.from({ length: n }, (_, i) => [
        { resourceType: 'Patient', id: `big-p${i}`, method: 'PUT' as const, resource: { ...patientOf(i), id: `big-p${i}` } as Resource },
        { resourceType: 'Observation', id: `big-o${i}`, method: 'PUT' as const, resource: { ...obsOf(i, `big-p${i}`), id: `big-o${i}` } as Resource },
      ]).flat();
      assert.ok(batch.length >= 32, 'the batch is large enough for the COPY path');
      await db.transaction((tx) => writeResources(tx, batch));

      const tables: Record<string, string> = {
        sp_token: "code, system, value, text, replace(patient, 'big-', 'one-')", sp_string: 'code, value, norm', sp_date: "code, to_char(lo AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS'), to_char(hi AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS')",
        sp_reference: "code, target_type, replace(target_id, 'big-', 'one-'), replace(url, 'big-', 'one-')", sp_quantity: 'code, value::text, system, unit', sp_number: 'code, value::text', sp_uri: 'code, value',
      };
      const stored = async (t: string, id: string): Promise<unknown> => {
        const rows: Record<string, unknown> = {};
        for (const [table, cols] of Object.entries(tables)) {
          rows[table] = (await db.query(`SELECT ${cols} FROM ${table} WHERE resource_type = $1 AND id = $2`, [t, id])).rows.map((r) => JSON.stringify(Object.values(r as object))).sort();
        }
        const cur = await readCurrent(db, t, id);
        const { id: _id, meta: _meta, ...content } = cur?.resource as Resource & Record<string, unknown>;
        const comps = (await db.query<{ c: string[] | string }>('SELECT compartments AS c FROM resource WHERE resource_type = $1 AND id = $2', [t, id])).rows[0]?.c;
        return { rows, content: JSON.stringify(content).replaceAll('big-', 'one-'), comps: String(comps).replaceAll('big-', 'one-'), version: cur?.versionId };
      };
      for (let i = 0; i < n; i++) {
        assert.deepEqual(await stored('Patient', `big-p${i}`), await stored('Patient', `one-p${i}`), `Patient ${i}`);
        assert.deepEqual(await stored('Observation', `big-o${i}`), await stored('Observation', `one-o${i}`), `Observation ${i}`);
      }
      const find = async (q: Record<string, string>): Promise<string[]> => (await searchIds(db, parseSearchRequest('Patient', q))).ids.sort();
      assert.deepEqual(await find({ family: 'zoe' }), ['big-p4', 'big-p9', 'big-p14', 'big-p19', 'one-p4', 'one-p9', 'one-p14', 'one-p19'].sort());

      // A second large write: updates of stored resources, a delete, a resource created and then
      // changed in the same write, and new ones.
      const second = [
        ...Array.from({ length: 10 }, (_, i) => ({ resourceType: 'Patient', id: `big-p${i}`, method: 'PUT' as const, resource: { ...patientOf(i), id: `big-p${i}`, name: [{ family: `Renamed${i}` }] } as Resource })),
        { resourceType: 'Patient', id: 'big-p19', method: 'DELETE' as const },
        { resourceType: 'Patient', id: 'twice', method: 'PUT' as const, resource: patient('twice', { name: [{ family: 'Firstwrite' }] }) },
        { resourceType: 'Patient', id: 'twice', method: 'PUT' as const, resource: patient('twice', { name: [{ family: 'Secondwrite' }] }) },
        ...Array.from({ length: 25 }, (_, i) => ({ resourceType: 'Patient', id: `new-p${i}`, method: 'PUT' as const, resource: { ...patientOf(i), id: `new-p${i}` } as Resource })),
      ];
      const results = await db.transaction((tx) => writeResources(tx, second));
      assert.deepEqual(results.slice(0, 13).map((r) => r.outcome), [...Array(10).fill('updated'), 'deleted', 'created', 'updated']);
      assert.equal((await readResource(db, 'Patient', 'big-p3')).versionId, 2);
      // each version's history row holds that version (the current one's is copied from its row)
      const v1 = (await readVersion(db, 'Patient', 'big-p3', 1)).resource as Resource & { name: { family: string }[] };
      const v2 = (await readVersion(db, 'Patient', 'big-p3', 2)).resource as Resource & { name: { family: string }[] };
      assert.deepEqual([v1.name[0]?.family, v1.meta?.versionId, v2.name[0]?.family, v2.meta?.versionId], [odd[3], '1', 'Renamed3', '2']);
      assert.equal(((await readVersion(db, 'Patient', 'twice', 1)).resource as Resource & { name: { family: string }[] }).name[0]?.family, 'Firstwrite');
      assert.deepEqual(await find({ family: 'renamed3' }), ['big-p3']);
      assert.deepEqual((await find({ family: 'zoe' })).filter((id) => id.startsWith('big-')), ['big-p14'], 'old index rows of updated (p4, p9) and deleted (p19) resources are gone');
      await assert.rejects(readResource(db, 'Patient', 'big-p19'), (e: OperationOutcomeError) => e.status === 410);
      assert.deepEqual(await find({ _id: 'big-p19' }), []);
      assert.deepEqual(await find({ family: 'firstwrite' }), []);
      assert.deepEqual(await find({ family: 'secondwrite' }), ['twice']);
      const twice = await readHistory(db, { resourceType: 'Patient', id: 'twice', count: 10, offset: 0 });
      assert.deepEqual(twice.entries.map((e) => e.versionId), [2, 1]);
      const [fresh, single] = [await stored('Patient', 'new-p4'), await stored('Patient', 'one-p4')] as { rows: unknown; content: string }[];
      assert.deepEqual(fresh?.rows, single?.rows);
      assert.equal(fresh?.content, single?.content);
    });

    it('two large writes creating the same new resources at once: one wins, the other is a 409 and keeps nothing', async () => {
      const batch = (tag: string): { resourceType: string; id: string; method: 'PUT'; resource: Resource }[] =>
        Array.from({ length: 40 }, (_, i) => ({ resourceType: 'Patient', id: `same-new-${i}`, method: 'PUT' as const, resource: patient(`same-new-${i}`, { name: [{ family: tag }] }) }));
      // On PostgreSQL the two must overlap, whatever the machine's load: the first keeps its
      // transaction open until the second is waiting on its rows, then commits.
      let release = (): void => {};
      const gate = new Promise<void>((resolve) => { release = resolve; });
      let wrote = (): void => {};
      const firstWrote = new Promise<void>((resolve) => { wrote = resolve; });
      const overlap = backend.name === 'postgres';
      let firstPid = 0;
      const first = db.transaction(async (tx) => {
        await writeResources(tx, batch('First'));
        if (overlap) {
          firstPid = Number((await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid);
          wrote();
          await gate;
        }
      });
      if (overlap) await firstWrote;
      const second = db.transaction((tx) => writeResources(tx, batch('Second')));
      if (overlap) {
        for (let waited = 0; ; waited += 10) {
          const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))', [firstPid]);
          if (Number(r.rows[0]?.n) > 0) break;
          assert.ok(waited < 10_000, 'the second write never waited on the first');
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        release();
      }
      const outcomes = await Promise.allSettled([first, second]);
      // (the API and the import answer a store error through toOutcomeError)
      for (const o of outcomes) if (o.status === 'rejected') assert.equal(toOutcomeError(o.reason).status, 409, String(o.reason));
      // PGlite runs one transaction at a time, so there the second simply updates the first's rows
      if (backend.name === 'postgres') assert.equal(outcomes.filter((o) => o.status === 'rejected').length, 1);
      const h = await readHistory(db, { resourceType: 'Patient', id: 'same-new-7', count: 10, offset: 0 });
      assert.deepEqual(h.entries.map((e) => e.versionId), backend.name === 'postgres' ? [1] : [2, 1]);
    });

    it('serialises concurrent writers on one resource: versions never collide', async () => {
      await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'race', method: 'PUT', resource: patient('race') }]));
      await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'race', method: 'PUT', resource: patient('race', { birthDate: `19${50 + i}-01-01` }) }])),
        ),
      );
      const h = await readHistory(db, { resourceType: 'Patient', id: 'race', count: 50, offset: 0 });
      assert.deepEqual(h.entries.map((e) => e.versionId), [7, 6, 5, 4, 3, 2, 1]);
    });
  });
}
