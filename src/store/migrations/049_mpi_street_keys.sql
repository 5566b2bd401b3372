-- House numbers are compared without their leading zeros (00709 Hoover Prairie is 709 Hoover
-- Prairie; mpi/prepare.ts). The street blocking keys of Patients keyed before kept them, so a query
-- written without the zeros would not find them under that rule: those Patients are keyed again by
-- the next syncKeys (it rereads every Patient whose keyed version is missing; the watermark goes so
-- that it looks at all of them once). A store with no such key keeps its watermark.
DELETE FROM mpi_model
 WHERE id = 'sync' AND EXISTS (SELECT 1 FROM mpi_key WHERE key ~ E'[:\\x01]0[0-9]+[a-z]? ');
DELETE FROM mpi_indexed
 WHERE patient_id IN (SELECT patient_id FROM mpi_key WHERE key ~ E'[:\\x01]0[0-9]+[a-z]? ');
