/** The matcher's vocabulary: a person record as the matcher sees it, and its configuration. */

/** A person as read from a Patient or a benchmark CSV; every field optional. */
export interface PersonRecord {
  id: string;
  /** Given names in order (first, middle...). */
  given?: string[];
  family?: string;
  /** Maiden and other previous family names. */
  previousFamily?: string[];
  suffix?: string;
  /** YYYY-MM-DD, YYYY-MM or YYYY; invalid dates are kept as written. */
  birthDate?: string;
  sex?: string;
  address?: { number?: string; street?: string; line?: string; city?: string; state?: string; postcode?: string };
  phone?: string[];
  email?: string[];
  ssn?: string;
  /** Other identifiers (MRN...), as system|value. */
  identifiers?: string[];
}

export type ComparisonKind = 'given' | 'family' | 'birthDate' | 'sex' | 'address' | 'street' | 'city' | 'state' | 'postcode' | 'ssn' | 'identifier' | 'phone' | 'email';

export interface ComparisonConfig {
  kind: ComparisonKind;
  /** Level labels, best first; the last is "else" (disagreement). */
  levels: string[];
  /** Default m probabilities per level (used when the data cannot estimate them). */
  m: number[];
  /** Default u probabilities per level (used before u is estimated from the data). */
  u: number[];
  /** Term-frequency adjustment on the exact level. */
  termFrequency?: boolean;
  /**
   * For identifiers: levels from this index on are a conflict (two different values of an identifier
   * that belongs to one person); see onConflict.
   */
  conflictFrom?: number;
  /**
   * What a conflict means: 'review' (never auto-linked; queued when the score reaches the possible
   * threshold), 'non-match' (two people: neither linked nor queued), or 'typo-review': a conflict at
   * the first conflict level (one keystroke) that the rest of the identity corroborates
   * (typoCorroboration; by default the first names agree) is a mistyped number (review), any other
   * conflict two people (twins and siblings get near numbers and their own first names). Default
   * 'review'.
   */
  onConflict?: 'review' | 'non-match' | 'typo-review';
  /**
   * 'typo-review': what the rest of the identity must show for a one-keystroke conflict to be read
   * as a mistyped number. Each entry names a comparison and the worst level at which it still
   * agrees; `missing: true` lets a value absent on either side pass (no evidence against the
   * typo), otherwise it must be present. Default: the first names agree (exact or similar).
   */
  typoCorroboration?: TypoCorroboration[];
  /**
   * 'typo-review': any conflict, however far apart the numbers, is review too when the rest of the
   * identity agrees as this says (typically first and family name, birth date and address, each
   * exactly): two people do not share all of those, while one person's record can carry another's
   * number (a parent's or the guarantor's SSN keyed as the patient's). Default: none.
   */
  sameIdentity?: TypoCorroboration[];
}

export interface TypoCorroboration {
  kind: ComparisonKind;
  /** The worst level (index into the comparison's levels) that still counts as agreeing. */
  maxLevel: number;
  /** Whether a value missing on either side passes. Default false. */
  missing?: boolean;
}

export interface BlockingRule {
  keys: string[];
  /** A cap for this rule's blocks, below maxBlockSize: a key shared by many records (a birth date
   * in a large population) costs size^2/2 comparisons for little evidence. */
  maxBlockSize: number;
}

export interface MatcherConfig {
  comparisons: ComparisonConfig[];
  /**
   * Blocking rules: each a list of derived keys that must all be equal (optionally with its own block
   * size cap). A pair is compared when any rule holds.
   */
  blocking: (string[] | BlockingRule)[];
  /** Blocks larger than this are skipped (too common a key to be informative). */
  maxBlockSize: number;
  /** Posterior probability thresholds. */
  thresholds: { match: number; possible: number };
  /** Prior probability that a candidate pair is a match, used before EM. */
  prior: number;
  /** Placeholder values treated as missing (case-insensitive). */
  skipValues: { given: string[]; family: string[]; fullName: string[]; any: string[] };
  /** Jaro-Winkler cut-offs for similar / fuzzy string levels. */
  similarity: { high: number; low: number };
  em: { maxIterations: number; uSamplePairs: number; minMatches: number };
}

export interface ModelParameters {
  /** Per comparison, per level. */
  m: number[][];
  u: number[][];
  /** Probability that a compared (blocked) pair is a match. */
  lambda: number;
  /** Term frequencies per comparison index (value -> relative frequency) for TF-adjusted comparisons. */
  tf: Record<number, Map<string, number>>;
  /** How the parameters were obtained. */
  source: { m: 'em' | 'default'; u: 'sample' | 'default'; iterations: number; pairs: number };
}

export interface FieldExplanation {
  comparison: ComparisonKind;
  level: string;
  /** log2 Bayes factor; 0 for a missing value. */
  weight: number;
  left?: string;
  right?: string;
}

export type MatchGrade = 'certain' | 'probable' | 'possible' | 'certainly-not';

export interface PairScore {
  a: number;
  b: number;
  /** Total match weight: log2 prior odds plus the field weights. */
  weight: number;
  probability: number;
  classification: 'match' | 'possible' | 'non-match';
}
