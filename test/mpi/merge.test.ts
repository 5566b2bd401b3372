import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Patient, Resource } from '@medplum/fhirtypes';
import { backends } from '../helpers/db.js';
import { testApp } from '../helpers/app.js';
import { demoBundleFiles } from '../helpers/fixtures.js';
import { importFiles } from '../../src/records/import-files.js';
import { writeResources, readCurrent } from '../../src/store/repository.js';
import type { Queryable } from '../../src/store/db.js';

/** Every current resource, without meta.versionId / lastUpdated, keyed by type/id. */
async function snapshot(q: Queryable): Promise<Map<string, string>> {
  const r = await q.query<{ resource_type: string; id: string; content: unknown }>('SELECT resource_type, id, content FROM resource WHERE NOT deleted');
  const out = new Map<string, string>();
  for (const row of r.rows) {
    const c = (typeof row.content === 'string' ? JSON.parse(row.content) : row.content) as Resource;
    const meta = { ...c.meta };
    delete meta.versionId;
    delete meta.lastUpdated;
    out.set(`${row.resource_type}/${row.id}`, JSON.stringify({ ...c, meta: Object.keys(meta).length ? meta : undefined }));
  }
  return out;
}

const params = (...parameter: unknown[]): unknown => ({ resourceType: 'Parameters', parameter });

for (const backend of backends()) {
  describe(`Patient $merge and $unmerge (${backend.name})`, () => {
    it('previews, merges every reference in one step, and unmerges back to the exact prior state', async () => {
      const t = await testApp(backend);
      try {
        // The demo patient with the most resources.
        const files = demoBundleFiles();
        await importFiles({ db: t.db, strict: false }, files.slice(0, 1));
        const counts = await t.db.query<{ target_id: string; n: number }>(
          `SELECT target_id, count(DISTINCT (resource_type, id))::int AS n FROM sp_reference WHERE target_type = 'Patient' GROUP BY target_id ORDER BY n DESC LIMIT 1`,
        );
        const sourceId = counts.rows[0]!.target_id;
        const refCount = Number(counts.rows[0]!.n);
        assert.ok(refCount >= 100, `the demo patient has ${refCount} referencing resources`);
        const source = (await readCurrent(t.db, 'Patient', sourceId))!.resource as Patient;
        const dup: Patient = { ...source, id: 'dup-of-source', meta: undefined, identifier: [{ system: 'urn:example:mrn', value: 'NEW-1' }] };
        await t.db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: dup.id!, method: 'PUT', resource: dup }]));
        const before = await snapshot(t.db);

        const body = (preview: boolean): unknown => params(
          { name: 'source-patient', valueReference: { reference: `Patient/${sourceId}` } },
          { name: 'target-patient', valueReference: { reference: 'Patient/dup-of-source' } },
          { name: 'preview', valueBoolean: preview },
        );
        const pre = await t.app.inject({ method: 'POST', url: '/fhir/Patient/$merge', payload: body(true) as object });
        assert.equal(pre.statusCode, 200, pre.body);
        const preOut = pre.json() as { parameter: { name: string; part?: { name: string; valueInteger?: number }[] }[] };
        const moved = preOut.parameter.filter((p) => p.name === 'referencing').reduce((s, p) => s + (p.part?.find((x) => x.name === 'count')?.valueInteger ?? 0), 0);
        assert.ok(moved >= 100, `preview counts ${moved} resources to move`);
        assert.deepEqual(await snapshot(t.db), before, 'a preview changes nothing');

        const res = await t.app.inject({ method: 'POST', url: '/fhir/Patient/$merge', payload: body(false) as object });
        assert.equal(res.statusCode, 200, res.body);
        const prov = (res.json() as { parameter: { name: string; resource?: { id: string; target: unknown[] } }[] }).parameter.find((p) => p.name === 'provenance')!.resource!;
        assert.equal(prov.target.length, moved + 2);
        const left = await t.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM sp_reference WHERE target_type = 'Patient' AND target_id = $1 AND resource_type NOT IN ('Provenance', 'AuditEvent', 'Patient')`,
          [sourceId],
        );
        assert.equal(Number(left.rows[0]!.n), 0, 'no clinical resource still points at the source');
        const retired = (await readCurrent(t.db, 'Patient', sourceId))!.resource as Patient;
        assert.equal(retired.active, false);
        assert.deepEqual(retired.link?.at(-1), { other: { reference: 'Patient/dup-of-source' }, type: 'replaced-by' });
        const again = await t.app.inject({ method: 'POST', url: '/fhir/Patient/$merge', payload: body(false) as object });
        assert.equal(again.statusCode, 409, 'a merged-away record cannot be merged again');

        const un = await t.app.inject({ method: 'POST', url: '/fhir/Patient/$unmerge', payload: params({ name: 'provenance', valueReference: { reference: `Provenance/${prov.id}` } }) as object });
        assert.equal(un.statusCode, 200, un.body);
        const after = await snapshot(t.db);
        for (const [k, v] of before) assert.equal(after.get(k), v, `${k} restored byte for byte`);
        const twice = await t.app.inject({ method: 'POST', url: '/fhir/Patient/$unmerge', payload: params({ name: 'provenance', valueReference: { reference: `Provenance/${prov.id}` } }) as object });
        assert.equal(twice.statusCode, 409);
      } finally {
        await t.close();
      }
    });

    it('refuses an unmerge when a merged resource changed since, naming it', async () => {
      const t = await testApp(backend);
      try {
        const w = (r: Resource): Promise<unknown> => t.db.transaction((tx) => writeResources(tx, [{ resourceType: r.resourceType, id: r.id!, method: 'PUT', resource: r }]));
        await w({ resourceType: 'Patient', id: 'a', name: [{ family: 'Smith', given: ['Ann'] }] } as Patient);
        await w({ resourceType: 'Patient', id: 'b', name: [{ family: 'Smith', given: ['Anne'] }] } as Patient);
        await w({ resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/a' } } as Resource);
        const res = await t.app.inject({ method: 'POST', url: '/fhir/Patient/$merge', payload: params({ name: 'source-patient', valueReference: { reference: 'Patient/a' } }, { name: 'target-patient', valueReference: { reference: 'Patient/b' } }) as object });
        assert.equal(res.statusCode, 200, res.body);
        const provId = (res.json() as { parameter: { name: string; resource?: { id: string } }[] }).parameter.find((p) => p.name === 'provenance')!.resource!.id;
        await w({ resourceType: 'Observation', id: 'o1', status: 'amended', code: { text: 'x' }, subject: { reference: 'Patient/b' } } as Resource);
        const un = await t.app.inject({ method: 'POST', url: '/fhir/Patient/$unmerge', payload: params({ name: 'provenance', valueString: provId }) as object });
        assert.equal(un.statusCode, 409);
        assert.match(un.body, /Observation\/o1 changed after the merge/);
        assert.equal(((await readCurrent(t.db, 'Patient', 'a'))!.resource as Patient).active, false, 'nothing was undone');
      } finally {
        await t.close();
      }
    });
  });
}
