import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CONFIG as config } from '../../src/mpi/default-config.js';
import { explainPair, isUsSsn, type Explanation } from '../../src/mpi/model.js';
import { parseBirthDate, prepare } from '../../src/mpi/prepare.js';
import type { ModelParameters, PersonRecord } from '../../src/mpi/types.js';

const today = new Date('2026-06-01T00:00:00Z');
const params: ModelParameters = {
  m: config.comparisons.map((c) => c.m.slice()),
  u: config.comparisons.map((c) => c.u.slice()),
  lambda: 1e-4,
  tf: {},
  source: { m: 'default', u: 'default', iterations: 0, pairs: 0 },
};
const person = (over: Partial<PersonRecord>): PersonRecord => ({
  id: 'x',
  given: ['Dawn'],
  family: 'Ayala',
  birthDate: '1960-10-20',
  sex: 'F',
  address: { line: '5236 Fischer Way', city: 'Moralesstad', state: 'AS', postcode: '47592' },
  ssn: '069-78-3909',
  ...over,
});
const explain = (a: PersonRecord, b: PersonRecord): Explanation => explainPair(prepare(a, config, today), prepare(b, config, today), params, config);
const level = (e: Explanation, kind: string): string => e.fields.find((f) => f.comparison === kind)!.level;

describe('mpi comparisons', () => {
  it('reads birth dates: ISO, US with four or two-digit years, partial; flags impossible ones', () => {
    assert.deepEqual(parseBirthDate('1951-06-02', today), { dob: '19510602', invalid: false });
    assert.deepEqual(parseBirthDate('1/17/72', today), { dob: '19720117', invalid: false });
    assert.deepEqual(parseBirthDate('5/2/06', today), { dob: '20060502', invalid: false });
    assert.deepEqual(parseBirthDate('11/11/1897', today), { dob: '18971111', invalid: false });
    assert.deepEqual(parseBirthDate('1964-10', today), { dob: '196410', invalid: false });
    assert.equal(parseBirthDate('2000-13-01', today).invalid, true);
    assert.equal(parseBirthDate('2000-02-30', today).invalid, true);
    assert.equal(parseBirthDate('3000-01-01', today).invalid, true);
    assert.equal(parseBirthDate('Missing, but age 23', today).invalid, true);
    assert.deepEqual(parseBirthDate('', today), { dob: '', invalid: false });
  });

  it('never auto-links a record whose birth date is impossible (and no typo of the other), however well the rest agrees', () => {
    const e = explain(person({ birthDate: '2000-12-32' }), person({ id: 'y' }));
    assert.equal(e.classification, 'possible');
    assert.equal(e.reviewReason, 'invalid birth date');
    assert.equal(explain(person({}), person({ id: 'y' })).classification, 'match');
    // One keystroke from the other's date (month 18 for 08): a typo of that date, linked.
    assert.equal(explain(person({ birthDate: '1960-18-20' }), person({ id: 'y' })).classification, 'match');
  });

  it('two different SSNs are two people (a non-match, with the reason), unless one keystroke apart with the same first name (review); other numbers keep typo tolerance', () => {
    // One digit apart, same first name: a mistyped number, to review.
    const typo = explain(person({ ssn: '069-78-3908' }), person({ id: 'y' }));
    assert.equal(level(typo, 'ssn'), 'one digit or transposition');
    assert.equal(typo.classification, 'possible');
    assert.equal(typo.reviewReason, 'conflicting ssn');
    // One digit apart, another first name (twins and siblings get near numbers): two people.
    const twin = explain(person({ ssn: '069-78-3908', given: ['Mark'] }), person({ id: 'y' }));
    assert.equal(twin.classification, 'non-match');
    assert.equal(twin.reviewReason, 'conflicting ssn');
    // Two digits apart, everything else the same: two people.
    const other = explain(person({ ssn: '069-78-3118' }), person({ id: 'y' }));
    assert.equal(level(other, 'ssn'), 'different');
    assert.ok(other.probability > 0.95, 'the rest agrees');
    assert.equal(other.classification, 'non-match');
    // Configured as review: never auto-linked, queued.
    const review = { ...config, comparisons: config.comparisons.map((c) => (c.kind === 'ssn' ? { ...c, onConflict: 'review' as const } : c)) };
    const r = explainPair(prepare(person({ ssn: '069-78-3118' }), review, today), prepare(person({ id: 'y' }), review, today), params, review);
    assert.equal(r.classification, 'possible');
    // Not an SSA number (7 digits): a typo is a typo.
    assert.equal(explain(person({ ssn: '7535316' }), person({ id: 'y', ssn: '7535317' })).classification, 'match');
    assert.equal(isUsSsn('069783909'), true);
    assert.equal(isUsSsn('000123456'), false);
    assert.equal(isUsSsn('912345678'), false);
  });

  it('an SSN given as its last four digits agrees with the full number', () => {
    const e = explain(person({ ssn: '3909' }), person({ id: 'y' }));
    assert.equal(level(e, 'ssn'), 'last four digits (one side partial)');
    assert.equal(e.classification, 'match');
  });

  it("a maiden name counts when it is the other record's current name, not when both merely share one", () => {
    const married = explain(person({ family: 'Nash', previousFamily: ['Ayala'] }), person({ id: 'y' }));
    assert.match(level(married, 'family'), /^similar/);
    const shared = explain(person({ family: 'Bell', previousFamily: ['Collins'] }), person({ id: 'y', family: 'Gibson', previousFamily: ['Collins'] }));
    assert.equal(level(shared, 'family'), 'different');
  });

  it('finds the street line behind a care-of or organisation line', () => {
    const a = person({ address: { line: 'c/o Emergency Mail Program,22401 Christine Island Apt. 660', city: 'Lake Brian', postcode: '11296' } });
    const b = person({ id: 'y', address: { line: 'c/o Emergency Mail Program\n22401 Christine Island Apt. 660', city: 'Lake Brian', postcode: '11296' } });
    assert.equal(level(explain(a, b), 'street'), 'exact');
  });
});
