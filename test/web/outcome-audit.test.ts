// What the workbench shows for API errors, the audit viewer's rows, its CSV export, and the chart timeline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditCsv, auditRow } from '../../web/src/lib/audit.js';
import { isMissingRoute, outcomeText } from '../../web/src/lib/outcome.js';
import { buildTimeline } from '../../web/src/lib/timeline.js';

test('an API error reads as its OperationOutcome text, errors before information', () => {
  const oo = { resourceType: 'OperationOutcome', issue: [{ severity: 'information', diagnostics: 'fyi' }, { severity: 'error', details: { text: 'Version conflict: Task/1 is at version 3' } }] };
  assert.equal(outcomeText(oo, 'x'), 'Version conflict: Task/1 is at version 3');
  assert.equal(outcomeText({ resourceType: 'OperationOutcome', issue: [{ severity: 'information', diagnostics: 'Merged' }] }, 'x'), 'Merged');
  assert.equal(outcomeText('<html>oops</html>', '502 Bad Gateway'), '502 Bad Gateway');
  assert.equal(outcomeText(undefined, '500 error'), '500 error');
  assert.ok(isMissingRoute(404, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', diagnostics: 'No route for GET /api/x' }] }));
  assert.ok(!isMissingRoute(404, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', diagnostics: 'Patient/9 not found' }] }));
});

test('an audit event becomes a row (who, what, which patient, outcome) and exports as safe CSV', () => {
  const row = auditRow({
    resourceType: 'AuditEvent',
    id: 'e1',
    type: { code: 'rest', display: 'Restful Operation' },
    subtype: [{ code: 'read', display: 'read' }],
    action: 'R',
    recorded: '2026-03-10T12:00:00Z',
    outcome: '4',
    outcomeDesc: 'GET /fhir/Patient/p1 -> 403, "restricted"',
    agent: [{ who: { identifier: { value: 'coder1' } }, requestor: true, network: { address: '10.0.0.5' }, role: [{ coding: [{ code: 'coder' }] }] }, { who: { display: 'Custodian' } }],
    entity: [{ what: { reference: 'Patient/p1' }, role: { code: '1' } }, { what: { reference: 'Encounter/e9' }, role: { code: '4' } }],
  });
  assert.equal(row.user, 'coder1');
  assert.equal(row.action, 'Restful Operation: read');
  assert.deepEqual(row.patients, ['p1']);
  assert.deepEqual(row.objects, ['Encounter/e9']);
  assert.equal(row.success, false);
  const csv = auditCsv([row, { ...row, user: '=HYPERLINK("x")' }]);
  const lines = csv.trim().split('\r\n');
  assert.equal(lines[0], 'recorded,user,roles,action,outcome,patients,objects,address,description');
  assert.match(lines[1] ?? '', /^2026-03-10T12:00:00Z,coder1,coder,Restful Operation: read,failure,p1,Encounter\/e9,10\.0\.0\.5,"GET \/fhir\/Patient\/p1 -> 403, ""restricted"""$/);
  assert.match(lines[2] ?? '', /,"'=HYPERLINK\(""x""\)",/, 'formulas are neutralised');
});

test('the timeline groups records under their encounter, newest encounter first, with the rest last', () => {
  const t = buildTimeline(
    [
      { resourceType: 'Encounter', id: 'old', period: { start: '2020-01-01' } },
      { resourceType: 'Encounter', id: 'new', period: { start: '2024-05-01' } },
    ],
    [
      { resourceType: 'Condition', id: 'c1', encounter: { reference: 'Encounter/new' } },
      { resourceType: 'Observation', id: 'o1', encounter: { reference: 'Encounter/new' } },
      { resourceType: 'Procedure', id: 'x1', encounter: { reference: 'Encounter/old' } },
      { resourceType: 'DocumentReference', id: 'd1', context: { encounter: [{ reference: 'Encounter/old' }] } },
      { resourceType: 'Claim', id: 'cl1', item: [{ encounter: [{ reference: 'Encounter/new' }] }] },
      { resourceType: 'MedicationRequest', id: 'm1', authoredOn: '2023-01-01' },
    ],
  );
  assert.deepEqual(t.map((e) => e.encounter?.id ?? 'other'), ['new', 'old', 'other']);
  assert.deepEqual(Object.keys(t[0]?.records ?? {}).sort(), ['Claim', 'Condition', 'Observation']);
  assert.equal(t[1]?.records.DocumentReference?.[0]?.id, 'd1');
  assert.equal(t[2]?.records.MedicationRequest?.length, 1);
});
