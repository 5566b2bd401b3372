// Long test (CUSTODIAN_LONG_TESTS=1): the importer on the reference files in ../shared/data/terminology.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readReleases } from '../../src/store/terminology-files.js';

const DIR = new URL('../../../shared/data/terminology/', import.meta.url).pathname;
test('importer on the full reference folder: counts equal the source files', () => {
  const { files } = readReleases(DIR);
  const find = (src: string) => files.find((f) => f.file === src)!.release;
  const fy21 = find('icd10cm-order-Jan-2021.txt');
  assert.equal(fy21.concepts!.length, 95358);
  assert.equal(fy21.concepts!.filter((c) => c.billable).length, 72621);
  const fy22 = find('icd10cm_order_fy2022_with_poa_exempt.csv');
  assert.equal(fy22.concepts!.filter((c) => c.billable).length, 72748);
  assert.equal(fy22.concepts!.filter((c) => c.poaExempt).length, 37297);
  assert.equal(find('icd10pcs_order_fy2022.csv').concepts!.filter((c) => c.billable).length, 78220);
  const hcpcs = find('HCPC2020_ANWEB_w_disclaimer.txt').concepts!;
  assert.equal(hcpcs.filter((c) => c.kind === 'procedure').length, 6710);
  assert.equal(hcpcs.filter((c) => c.kind === 'modifier').length, 369);
  assert.equal(find('rarc_wpc_snapshot_2016-03-07.csv').concepts!.length, 1048);
  assert.equal(find('POAexemptCodes2020.txt').poaExempt!.length, 37075);
  assert.deepEqual(['v35', 'v36', 'v37'].every((v) => files.some((f) => f.release.kind === 'mce' && f.release.version === v)), true);
});
