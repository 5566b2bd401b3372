/**
 * The default matcher configuration: comparisons and their levels, starting m/u probabilities (EM
 * re-estimates them from the data), blocking rules, thresholds and placeholder values. Data only.
 */
import type { MatcherConfig } from './types.js';

const NAME_LEVELS = ['exact', 'similar (typo, phonetic, nickname, previous name)', 'fuzzy (weak similarity or initial)', 'different'];

export const DEFAULT_CONFIG: MatcherConfig = {
  comparisons: [
    { kind: 'given', levels: NAME_LEVELS, m: [0.85, 0.08, 0.04, 0.03], u: [0.005, 0.01, 0.05, 0.935], termFrequency: true },
    { kind: 'family', levels: NAME_LEVELS, m: [0.85, 0.08, 0.04, 0.03], u: [0.002, 0.008, 0.04, 0.95], termFrequency: true },
    { kind: 'birthDate', levels: ['exact', 'one digit or day/month swapped', 'two of year, month, day', 'different'], m: [0.9, 0.06, 0.02, 0.02], u: [0.0001, 0.002, 0.01, 0.9879] },
    { kind: 'sex', levels: ['same', 'different'], m: [0.97, 0.03], u: [0.5, 0.5] },
    { kind: 'street', levels: ['exact', 'same number, similar street', 'similar street', 'different'], m: [0.75, 0.1, 0.05, 0.1], u: [0.0005, 0.001, 0.01, 0.9885] },
    { kind: 'city', levels: ['exact', 'similar', 'different'], m: [0.85, 0.07, 0.08], u: [0.02, 0.01, 0.97] },
    { kind: 'state', levels: ['same', 'different'], m: [0.95, 0.05], u: [0.2, 0.8] },
    { kind: 'postcode', levels: ['exact', 'one digit', 'different'], m: [0.85, 0.08, 0.07], u: [0.005, 0.02, 0.975] },
    // Two different SSNs as the SSA issues them (one per person) are two people, except where the
    // rest of the identity says one person has a wrong number on one record (review):
    // - one keystroke apart (a mistyped number) when nothing else of the identity disagrees: the
    //   first names agree (twins and siblings get near numbers and their own first names), and the
    //   family names and birth dates agree or are not recorded. Another disagreement would need a
    //   second, independent error, where a relative needs none;
    // - any two numbers when first name, family name, birth date and street address are all the
    //   same: no two people share those, while a parent's or guarantor's SSN keyed as the
    //   patient's is a known registration error.
    {
      kind: 'ssn',
      levels: ['exact', 'last four digits (one side partial)', 'one digit or transposition', 'different'],
      m: [0.88, 0.02, 0.07, 0.03],
      u: [0.0001, 0.0003, 0.0005, 0.9991],
      conflictFrom: 2,
      onConflict: 'typo-review',
      typoCorroboration: [
        { kind: 'given', maxLevel: 1 },
        { kind: 'family', maxLevel: 1, missing: true },
        { kind: 'birthDate', maxLevel: 0, missing: true },
      ],
      sameIdentity: [
        { kind: 'given', maxLevel: 0 },
        { kind: 'family', maxLevel: 0 },
        { kind: 'birthDate', maxLevel: 0 },
        { kind: 'sex', maxLevel: 0, missing: true },
        { kind: 'street', maxLevel: 0 },
        { kind: 'city', maxLevel: 0, missing: true },
        { kind: 'postcode', maxLevel: 0, missing: true },
      ],
    },
    { kind: 'identifier', levels: ['same identifier', 'different identifier, same system'], m: [0.9, 0.1], u: [0.0001, 0.9999] },
    { kind: 'phone', levels: ['exact', 'one digit', 'different'], m: [0.8, 0.05, 0.15], u: [0.0005, 0.001, 0.9985] },
    { kind: 'email', levels: ['exact', 'same mailbox name or similar', 'fuzzy', 'different'], m: [0.8, 0.1, 0.05, 0.05], u: [0.0005, 0.002, 0.01, 0.9875] },
  ],
  blocking: [
    ['nameCodes'],
    ['familyCode', 'birthDate'],
    ['givenCode', 'birthDate'],
    // Birth date alone finds pairs whose names both changed; in a large population every date is
    // shared by dozens, so its blocks are capped (and left to the compound rules beyond the cap).
    { keys: ['birthDate'], maxBlockSize: 20 },
    ['birthYear', 'familyCode'],
    ['birthYear', 'givenCode'],
    ['ssn'],
    ['email'],
    ['phone'],
    ['postcode', 'street'],
    ['familyCode', 'givenInitial', 'postcode'],
    ['givenCode', 'familyInitial', 'postcode'],
    { keys: ['family', 'givenInitial'], maxBlockSize: 50 },
  ],
  maxBlockSize: 1000,
  thresholds: { match: 0.95, possible: 0.5 },
  prior: 0.05,
  skipValues: {
    given: ['anon', 'anonymous', 'baby', 'unnamed', 'nfn'],
    family: ['anon', 'anonymous', 'doe', 'unnamed', 'nln'],
    fullName: ['john doe', 'jane doe', 'baby boy', 'baby girl'],
    any: ['unk', 'unknown', 'null', 'none', 'na', 'n a'],
  },
  similarity: { high: 0.92, low: 0.8 },
  em: { maxIterations: 40, uSamplePairs: 100000, minMatches: 20 },
};
