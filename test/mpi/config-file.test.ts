import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_CONFIG } from '../../src/mpi/default-config.js';
import { matcherConfigFrom } from '../../src/mpi/config-file.js';
import { explainPair } from '../../src/mpi/model.js';
import { prepare } from '../../src/mpi/prepare.js';
import { evaluateFile } from '../../src/cli/mpi-command.js';
import type { MatcherConfig, ModelParameters, PersonRecord } from '../../src/mpi/types.js';

const fx = (f: string): string => path.join(import.meta.dirname, 'fixtures', f);
const refused = (json: unknown, message: RegExp): void => assert.throws(() => matcherConfigFrom(json), message);

describe('mpi configuration as data', () => {
  it('lays a file over the defaults: what it leaves out keeps its default', () => {
    assert.deepEqual(matcherConfigFrom({}), DEFAULT_CONFIG);
    const c = matcherConfigFrom({ thresholds: { match: 0.99 }, comparisons: [{ kind: 'ssn', onConflict: 'review' }, { kind: 'email', remove: true }], blocking: [['ssn'], { keys: ['birthDate'], maxBlockSize: 10 }] });
    assert.deepEqual(c.thresholds, { match: 0.99, possible: DEFAULT_CONFIG.thresholds.possible });
    const ssn = c.comparisons.find((x) => x.kind === 'ssn')!;
    assert.equal(ssn.onConflict, 'review');
    assert.deepEqual(ssn.m, DEFAULT_CONFIG.comparisons.find((x) => x.kind === 'ssn')!.m, 'the rest of the ssn comparison is the default');
    assert.equal(c.comparisons.some((x) => x.kind === 'email'), false);
    assert.equal(c.comparisons.length, DEFAULT_CONFIG.comparisons.length - 1);
    assert.deepEqual(c.blocking, [['ssn'], { keys: ['birthDate'], maxBlockSize: 10 }]);
    assert.equal(DEFAULT_CONFIG.thresholds.match, 0.95, 'the defaults themselves are untouched');
    assert.equal(DEFAULT_CONFIG.comparisons.find((x) => x.kind === 'ssn')!.onConflict, 'typo-review');
  });

  it('refuses what it cannot use, naming the setting and why', () => {
    refused([], /^MatcherConfigError: configuration: must be a JSON object/);
    refused({ treshold: 0.9 }, /configuration\.treshold: unknown setting/);
    refused({ thresholds: { match: 0.3 } }, /thresholds: need 0 < possible < match <= 1 \(now possible 0\.5, match 0\.3\)/);
    refused({ comparisons: [{ kind: 'ssn', m: [0.9, 0.1] }] }, /comparisons\[0\]: levels, m and u must be lists of the same length/);
    refused({ comparisons: [{ kind: 'ssn', u: [0.5, 1, 0.2, 0.1] }] }, /comparisons\[0\]\.u\[1\]: must be a probability/);
    refused({ comparisons: [{ kind: 'shoeSize' }] }, /comparisons\[0\]\.kind: must be one of/);
    refused({ comparisons: [{ kind: 'birthDate', remove: true }] }, /comparisons \(ssn\): its corroboration names birthDate, which the configuration no longer compares/);
    refused({ comparisons: [{ kind: 'address' }] }, /comparisons\[0\]: a new address comparison needs its levels, m and u/);
    refused({ comparisons: [{ kind: 'ssn', onConflict: 'ignore' }] }, /comparisons\[0\]\.onConflict: must be review, non-match or typo-review/);
    refused({ blocking: [['zip']] }, /blocking\[0\]\[0\]: unknown blocking key "zip"/);
    refused({ blocking: [{ keys: ['ssn'], maxBlockSize: 1 }] }, /blocking\[0\]\.maxBlockSize: must be a whole number of at least 2/);
    refused({ similarity: { low: 0.95 } }, /similarity: need 0 < low < high <= 1/);
  });

  it('changes what the matcher decides: an SSN conflict configured as review is queued, not dismissed', () => {
    const params = (config: MatcherConfig): ModelParameters => ({ m: config.comparisons.map((c) => c.m.slice()), u: config.comparisons.map((c) => c.u.slice()), lambda: 1e-4, tf: {}, source: { m: 'default', u: 'default', iterations: 0, pairs: 0 } });
    const child: PersonRecord = { id: 'a', given: ['Karen'], family: 'Lloyd', birthDate: '1962-09-10', sex: 'F', address: { line: 'PO BOX 2425', city: 'New Gregorymouth', postcode: '27333' }, ssn: '669-78-8106' };
    const parent: PersonRecord = { ...child, id: 'b', birthDate: '1942-09-10', ssn: '669-78-0106' };
    const classify = (config: MatcherConfig): string => explainPair(prepare(child, config), prepare(parent, config), params(config), config).classification;
    assert.equal(classify(DEFAULT_CONFIG), 'non-match');
    assert.equal(classify(matcherConfigFrom({ comparisons: [{ kind: 'ssn', onConflict: 'review' }] })), 'possible');
  });

  it('custodian mpi evaluate --config: the same suite under another configuration; a refused file stops it with the setting named', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'custodian-mpi-config-'));
    const strict = path.join(dir, 'ssn-strict.json');
    writeFileSync(strict, JSON.stringify({ comparisons: [{ kind: 'ssn', onConflict: 'non-match' }] }));
    const predicted = (config?: string): string | undefined => ((evaluateFile(fx('cdc-nbs_test.csv.gz'), { format: 'cdc', config }) as { results: { caseId: string; predicted: string }[] }).results.find((c) => c.caseId === '22')?.predicted);
    // nbs 22: an SSN one keystroke off, everything else the same. Review by default; two people when every conflict is.
    assert.equal(predicted(), 'possible_match');
    assert.equal(predicted(strict), 'no_match');
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ thresholds: { match: 2 } }));
    const r = spawnSync(process.execPath, [path.join(import.meta.dirname, '../../bin/custodian.js'), 'mpi', 'evaluate', fx('cdc-nbs_test.csv.gz'), '--format', 'cdc', '--config', bad], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Matcher configuration .*bad\.json: thresholds: need 0 < possible < match <= 1 \(now possible 0\.5, match 2\)/);
    assert.equal(r.stdout, '');
  });
});
