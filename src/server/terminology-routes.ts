/**
 * Terminology routes: FHIR CodeSystem/$lookup, CodeSystem/$validate-code, ValueSet/$validate-code,
 * ValueSet/$expand (implicit value sets `{system}?fhir_vs`, with filter), and the HIM API for the
 * encoder (/api/terminology/search, /lookup, /edits).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { expandValueSet } from '../fhir/definitions.js';
import { badRequest, notFound } from '../fhir/outcomes.js';
import type { Terminology } from '../terminology/catalog.js';
import { runCodeEdits, type EncounterCodeSet } from '../terminology/edits.js';
import { loadTerminology, terminologyWith } from '../store/terminology-files.js';
import type { Db } from '../store/db.js';
import { loadStoredReleases } from '../store/terminology-store.js';
import { canonicalSystem } from '../terminology/systems.js';

export interface TerminologyDeps {
  /** The catalog; defaults to the shipped releases plus those imported into the database (db). */
  terminology?: () => Terminology;
  /** Where `custodian terminology import` keeps releases (table code_system_release). */
  db?: Db;
}

/** Shipped + stored releases, re-read when the stored set changes (checked at most every 30 s). */
function storedCatalog(db: Db): () => Promise<Terminology> {
  let current: Terminology | undefined;
  let stamp = '';
  let checked = 0;
  return async () => {
    if (current && Date.now() - checked < 30_000) return current;
    checked = Date.now();
    const r = await db.query<{ s: string }>("SELECT count(*)::int || '|' || coalesce(max(imported_at)::text, '') AS s FROM code_system_release");
    const s = r.rows[0]?.s ?? '';
    if (!current || s !== stamp) { current = terminologyWith(await loadStoredReleases(db)); stamp = s; }
    return current;
  };
}

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** Operation parameters from the query string (GET) or a Parameters body (POST). */
function params(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((req.query ?? {}) as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
  const body = req.body as Parameters | undefined;
  if (body && body.resourceType === 'Parameters') {
    for (const p of body.parameter ?? []) {
      const v = p.valueString ?? p.valueUri ?? p.valueCode ?? p.valueDate ?? p.valueDateTime ?? p.valueCanonical ?? p.valueCoding?.code;
      if (p.name && v !== undefined) out[p.name] = String(v);
      if (p.name === 'coding' && p.valueCoding) { out.code = p.valueCoding.code ?? ''; out.system = p.valueCoding.system ?? ''; }
    }
  }
  return out;
}

function systemOfValueSet(url: string | undefined): string {
  if (!url) throw badRequest('Parameter "url" is required (an implicit value set such as http://hl7.org/fhir/sid/icd-10-cm?fhir_vs)');
  return canonicalSystem(url.replace(/\?fhir_vs.*$/, ''));
}

export async function registerTerminologyRoutes(app: FastifyInstance, deps: TerminologyDeps = {}): Promise<void> {
  const fixed = deps.terminology;
  const stored = deps.db ? storedCatalog(deps.db) : undefined;
  let t: Terminology = fixed ? fixed() : loadTerminology(process.env.CUSTODIAN_DATA);
  const term = (): Terminology => t;
  // refresh the catalog from the database before each terminology request (cheap: a cached stamp check)
  app.addHook('onRequest', async (req) => {
    if (stored && !fixed && (req.url.startsWith('/fhir/CodeSystem/$') || req.url.startsWith('/fhir/ValueSet/$') || req.url.startsWith('/api/terminology/'))) t = await stored();
  });

  const lookup = (req: FastifyRequest): Parameters => {
    const p = params(req);
    if (!p.system || !p.code) throw badRequest('Parameters "system" and "code" are required');
    const l = term().lookup(p.system, p.code, p.date);
    if (!l.found) {
      const e = badRequest(l.message ?? `Unknown code ${p.code}`);
      e.outcome.issue![0]!.code = 'not-found';
      throw Object.assign(e, { status: 404 });
    }
    const prop = (code: string, v: ParametersParameter): ParametersParameter => ({ name: 'property', part: [{ name: 'code', valueCode: code }, v] });
    const parameter: ParametersParameter[] = [
      { name: 'name', valueString: l.systemName },
      { name: 'version', valueString: l.release?.version ?? '' },
      { name: 'display', valueString: l.display ?? '' },
      prop('billable', { name: 'value', valueBoolean: l.billable }),
      ...l.parents.map((x) => prop('parent', { name: 'value', valueCode: x.code })),
      ...(l.children ?? []).map((x) => prop('child', { name: 'value', valueCode: x.code })),
    ];
    if (l.poaExempt !== undefined) parameter.push(prop('poa-exempt', { name: 'value', valueBoolean: l.poaExempt }));
    for (const m of l.mce ?? []) parameter.push(prop('mce', { name: 'value', valueString: m }));
    for (const [k, notes] of Object.entries(l.notes ?? {})) {
      for (const n of notes as (string | { note: string })[]) parameter.push(prop(k, { name: 'value', valueString: typeof n === 'string' ? n : n.note }));
    }
    return { resourceType: 'Parameters', parameter };
  };

  const validate = (system: string, code: string | undefined, date: string | undefined, display?: string): Parameters => {
    if (!code) throw badRequest('Parameter "code" is required');
    const l = term().lookup(system, code, date);
    const result = l.found && l.billable;
    const parameter: ParametersParameter[] = [{ name: 'result', valueBoolean: result }];
    if (l.display) parameter.push({ name: 'display', valueString: l.display });
    if (!result) parameter.push({ name: 'message', valueString: l.message ?? `${code} is not billable` });
    else if (display && l.display && display.toLowerCase() !== l.display.toLowerCase()) parameter.push({ name: 'message', valueString: `Display "${display}" does not match "${l.display}"` });
    return { resourceType: 'Parameters', parameter };
  };

  for (const method of ['GET', 'POST'] as const) {
    app.route({ method, url: '/fhir/CodeSystem/$lookup', handler: async (req, reply) => reply.type(FHIR_JSON).send(lookup(req)) });
    app.route({
      method, url: '/fhir/CodeSystem/$validate-code', handler: async (req, reply) => {
        const p = params(req);
        if (!p.url && !p.system) throw badRequest('Parameter "url" (the code system) is required');
        return reply.type(FHIR_JSON).send(validate(p.url ?? p.system!, p.code, p.date, p.display));
      },
    });
    app.route({
      method, url: '/fhir/ValueSet/$validate-code', handler: async (req, reply) => {
        const p = params(req);
        if (p.url && !p.url.includes('?fhir_vs')) {
          // a FHIR base value set (R4 definitions)
          const exp = expandValueSet(p.url);
          if (!exp) throw notFound(`Value set ${p.url} is not known or cannot be expanded here`);
          if (!p.code) throw badRequest('Parameter "code" is required');
          const ok = p.system ? !!exp.get(p.system)?.has(p.code) : [...exp.values()].some((c) => c.has(p.code!));
          const parameter: ParametersParameter[] = [{ name: 'result', valueBoolean: ok }];
          if (!ok) parameter.push({ name: 'message', valueString: `${p.code} is not in value set ${p.url}` });
          return reply.type(FHIR_JSON).send({ resourceType: 'Parameters', parameter });
        }
        const system = p.system ? canonicalSystem(p.system) : systemOfValueSet(p.url);
        if (p.url && systemOfValueSet(p.url) !== system) return reply.type(FHIR_JSON).send({ resourceType: 'Parameters', parameter: [{ name: 'result', valueBoolean: false }, { name: 'message', valueString: `System ${system} is not in value set ${p.url}` }] });
        return reply.type(FHIR_JSON).send(validate(system, p.code, p.date, p.display));
      },
    });
    app.route({
      method, url: '/fhir/ValueSet/$expand', handler: async (req, reply) => {
        const p = params(req);
        if (p.url && !p.url.includes('?fhir_vs')) {
          const exp = expandValueSet(p.url);
          if (!exp) throw notFound(`Value set ${p.url} is not known or cannot be expanded here`);
          const f = p.filter?.toLowerCase();
          const contains = [...exp].flatMap(([system, codes]) => [...codes].map((code) => ({ system, code }))).filter((c) => !f || c.code.toLowerCase().includes(f));
          return reply.type(FHIR_JSON).send({ resourceType: 'ValueSet', url: p.url, status: 'active', expansion: { timestamp: new Date().toISOString(), total: contains.length, contains: contains.slice(0, Math.min(Number(p.count ?? 1000) || 1000, 1000)) } });
        }
        const system = systemOfValueSet(p.url);
        const count = Math.min(Number(p.count ?? 50) || 50, 1000);
        const t = term();
        let contains: { system: string; code: string; display: string }[];
        let total: number | undefined;
        if (p.filter) {
          contains = t.search(system, p.filter, { limit: count, date: p.date }).hits.map((h) => ({ system, code: h.code, display: h.display }));
        } else {
          const f = t.releaseFor(system, 'codes', p.date);
          const all = f?.release.concepts ?? [];
          total = all.length;
          const offset = Number(p.offset ?? 0) || 0;
          contains = all.slice(offset, offset + count).map((c) => ({ system, code: t.lookup(system, c.code, p.date).code, display: c.display }));
        }
        const vs = { resourceType: 'ValueSet', url: p.url, status: 'active', expansion: { timestamp: new Date().toISOString(), ...(total !== undefined ? { total } : {}), parameter: p.filter ? [{ name: 'filter', valueString: p.filter }] : [], contains } };
        return reply.type(FHIR_JSON).send(vs);
      },
    });
  }

  app.get('/api/terminology/search', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    if (!q.q) throw badRequest('Query parameter "q" is required');
    const r = term().search(q.system ?? 'icd-10-cm', q.q, { billable: q.billable === 'true', limit: Math.min(Number(q.limit ?? 20) || 20, 100), ...(q.date ? { date: q.date } : {}) });
    return { query: q.q, system: canonicalSystem(q.system ?? 'icd-10-cm'), release: r.release, hits: r.hits };
  });
  app.get('/api/terminology/lookup', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    if (!q.code) throw badRequest('Query parameter "code" is required');
    return term().lookup(q.system ?? 'icd-10-cm', q.code, q.date);
  });
  app.get('/api/terminology/releases', async () => term().list());
  app.post('/api/terminology/edits', async (req) => {
    const enc = req.body as EncounterCodeSet | undefined;
    if (!enc || !Array.isArray(enc.diagnoses) || typeof enc.dateOfService !== 'string') throw badRequest('Body must be an encounter code set: { dateOfService, setting, age, sex, diagnoses: [{code, poa}], procedures: [{code}] }');
    const results = runCodeEdits(term(), enc);
    return { failed: results.filter((r) => r.status === 'failed').length, results };
  });
}
