import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CONFIG as config } from '../../src/mpi/default-config.js';
import { explainPair, isUsSsn, type Explanation } from '../../src/mpi/model.js';
import { dayFirstReading, parseBirthDate, prepare } from '../../src/mpi/prepare.js';
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
    // One keystroke from the other's date (month 18 for 10; day first, month 20 is no date either):
    // a typo of that date, linked.
    assert.equal(explain(person({ birthDate: '1960-18-20' }), person({ id: 'y' })).classification, 'match');
  });

  it('an impossible date that reads as another possible date written day first is not taken for a typo', () => {
    assert.equal(dayFirstReading('19501810'), '19501018');
    assert.equal(dayFirstReading('19502010'), '19501020');
    assert.equal(dayFirstReading('19503102'), undefined, '31 February');
    assert.equal(dayFirstReading('19501310'.slice(0, 6)), undefined);
    assert.equal(dayFirstReading('19500810'), undefined, 'a possible date as written');
    // 1950-18-10: one keystroke from 1950-08-10, or 18 October 1950 day first. Review, not a link.
    const twoReadings = explain(person({ birthDate: '1950-18-10' }), person({ id: 'y', birthDate: '1950-08-10' }));
    assert.equal(level(twoReadings, 'birthDate'), 'one digit or day/month swapped');
    assert.equal(twoReadings.classification, 'possible');
    assert.equal(twoReadings.reviewReason, 'invalid birth date');
    // Its day-first reading is the other record's date: one reading left, linked.
    assert.equal(explain(person({ birthDate: '1950-18-10' }), person({ id: 'y', birthDate: '1950-10-18' })).classification, 'match');
  });

  it('two different SSNs are two people (a non-match, with the reason), unless one keystroke apart with the same first name, or the whole identity the same (review); other numbers keep typo tolerance', () => {
    // One digit apart, same first name: a mistyped number, to review.
    const typo = explain(person({ ssn: '069-78-3908' }), person({ id: 'y' }));
    assert.equal(level(typo, 'ssn'), 'one digit or transposition');
    assert.equal(typo.classification, 'possible');
    assert.equal(typo.reviewReason, 'conflicting ssn');
    // One digit apart, another first name (twins and siblings get near numbers): two people.
    const twin = explain(person({ ssn: '069-78-3908', given: ['Mark'] }), person({ id: 'y' }));
    assert.equal(twin.classification, 'non-match');
    assert.equal(twin.reviewReason, 'conflicting ssn');
    // Two digits apart with another birth date (a parent and child of one name, at one address): two people.
    const other = explain(person({ ssn: '069-78-3118', birthDate: '1985-10-20' }), person({ id: 'y' }));
    assert.equal(level(other, 'ssn'), 'different');
    assert.ok(other.probability > 0.95, 'the rest agrees');
    assert.equal(other.classification, 'non-match');
    assert.equal(other.reviewReason, 'conflicting ssn');
    // Any two numbers, with first and family name, birth date and street address all the same: no
    // two people share those; one record carries another's number (a guarantor's SSN). Review.
    const sameIdentity = explain(person({ ssn: '069-78-3118' }), person({ id: 'y' }));
    assert.equal(sameIdentity.classification, 'possible');
    assert.equal(sameIdentity.reviewReason, 'conflicting ssn');
    assert.equal(explain(person({ ssn: '412-55-1234' }), person({ id: 'y' })).classification, 'possible');
    // ... but not when one of them differs or is not recorded: a twin's first name, another street,
    // or no address to compare.
    assert.equal(explain(person({ ssn: '069-78-3118', given: ['Dana'] }), person({ id: 'y' })).classification, 'non-match');
    assert.equal(explain(person({ ssn: '069-78-3118', address: { line: '12 Oak Street', city: 'Moralesstad', postcode: '47592' } }), person({ id: 'y' })).classification, 'non-match');
    assert.equal(explain(person({ ssn: '069-78-3118', address: undefined }), person({ id: 'y' })).classification, 'non-match');
    // Configured as review: never auto-linked, queued.
    const review = { ...config, comparisons: config.comparisons.map((c) => (c.kind === 'ssn' ? { ...c, onConflict: 'review' as const } : c)) };
    const r = explainPair(prepare(person({ ssn: '069-78-3118', birthDate: '1985-10-20' }), review, today), prepare(person({ id: 'y' }), review, today), params, review);
    assert.equal(r.classification, 'possible');
    // Not an SSA number (7 digits): a typo is a typo.
    assert.equal(explain(person({ ssn: '7535316' }), person({ id: 'y', ssn: '7535317' })).classification, 'match');
    assert.equal(isUsSsn('069783909'), true);
    assert.equal(isUsSsn('000123456'), false);
    assert.equal(isUsSsn('912345678'), false);
  });

  it('an SSN one keystroke off is a mistyped number only when nothing else of the identity disagrees', () => {
    const other = (over: Partial<PersonRecord>): Explanation => explain(person({ ssn: '069-78-3908', ...over }), person({ id: 'y' }));
    // The birth date one digit off as well (a parent and child of the same name, 1942 and 1962):
    // two errors in one record, or two people. Two people, though the rest scores a match.
    const dob = other({ birthDate: '1940-10-20' });
    assert.equal(level(dob, 'birthDate'), 'one digit or day/month swapped');
    assert.ok(dob.probability > 0.95, 'the rest agrees');
    assert.equal(dob.classification, 'non-match');
    assert.equal(dob.reviewReason, 'conflicting ssn');
    // Another family name as well (Bell and Gibson at one address): two people.
    const family = other({ family: 'Bell' });
    assert.equal(level(family, 'family'), 'different');
    assert.equal(family.classification, 'non-match');
    // A similar family name (a typo, a previous name, a part of a double-barrelled name) is no
    // disagreement: review.
    assert.equal(other({ family: 'Ayalla' }).classification, 'possible');
    assert.equal(other({ family: 'Nash', previousFamily: ['Ayala'] }).classification, 'possible');
    assert.equal(other({ family: 'Ayala-Reyes' }).classification, 'possible');
    // A longer name that only begins like it (Smithsonia and Smith) is another name: two people.
    const longer = other({ family: 'Ayalamonte' });
    assert.equal(level(longer, 'family'), 'fuzzy (weak similarity or initial)');
    assert.equal(longer.classification, 'non-match');
    // A birth date or family name not recorded (or a placeholder) is no evidence against the typo: review.
    assert.equal(other({ birthDate: undefined }).classification, 'possible');
    assert.equal(other({ family: 'Unknown' }).classification, 'possible');
    // A first name not recorded cannot tell the person from a twin: two people.
    assert.equal(other({ given: ['Unknown'] }).classification, 'non-match');
    // Without typoCorroboration in the configuration, only the first names are asked (as before).
    const firstOnly = { ...config, comparisons: config.comparisons.map((c) => (c.kind === 'ssn' ? { ...c, typoCorroboration: undefined } : c)) };
    const r = explainPair(prepare(person({ ssn: '069-78-3908', birthDate: '1940-10-20' }), firstOnly, today), prepare(person({ id: 'y' }), firstOnly, today), params, firstOnly);
    assert.equal(r.classification, 'possible');
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

  it('a part of a double-barrelled family name is the same family name; a name that merely contains another is not', () => {
    const fam = (a: string, b: string): string => level(explain(person({ family: a }), person({ id: 'y', family: b })), 'family');
    assert.match(fam('Garcia-Lopez', 'Garcia'), /^similar/);
    assert.match(fam('Lopez', 'Garcia Lopez'), /^similar/);
    assert.match(fam('Van Dyke', 'Dyke'), /^similar/);
    assert.equal(fam('Law-rence', 'Lawrence'), 'exact');
    assert.equal(fam('Smithsonia', 'Smith'), 'fuzzy (weak similarity or initial)');
  });

  it('reads sex as male or female; anything else (other, unknown, a garbled value) is no evidence, not a disagreement', () => {
    const sex = (a: string, b: string): string => level(explain(person({ sex: a }), person({ id: 'y', sex: b })), 'sex');
    assert.equal(sex('female', 'F'), 'same');
    assert.equal(sex('M', 'F'), 'different');
    assert.equal(sex('sZF', 'F'), 'missing');
    assert.equal(sex('U', 'F'), 'missing');
    assert.equal(sex('other', 'male'), 'missing');
  });

  it('reads house numbers with leading zeros as the same number', () => {
    const e = explain(person({ address: { line: '00709 Hoover Prairie', city: 'East Dylan', postcode: '59332' } }), person({ id: 'y', address: { line: '709 Hoover Prairie', city: 'East Dylan', postcode: '59332' } }));
    assert.equal(level(e, 'street'), 'exact');
    const f = explain(person({ address: { line: '0709 Hoover Prairie', city: 'East Dylan', postcode: '59332' } }), person({ id: 'y', address: { line: '7090 Hoover Prairie', city: 'East Dylan', postcode: '59332' } }));
    assert.notEqual(level(f, 'street'), 'exact');
  });

  it('finds the street line behind a care-of or organisation line', () => {
    const a = person({ address: { line: 'c/o Emergency Mail Program,22401 Christine Island Apt. 660', city: 'Lake Brian', postcode: '11296' } });
    const b = person({ id: 'y', address: { line: 'c/o Emergency Mail Program\n22401 Christine Island Apt. 660', city: 'Lake Brian', postcode: '11296' } });
    assert.equal(level(explain(a, b), 'street'), 'exact');
  });
});
