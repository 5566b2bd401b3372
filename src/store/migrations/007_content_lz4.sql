-- Resource JSON compressed with lz4 instead of pglz where the server has it (PostgreSQL 14+ built
-- with lz4, as Debian's and the official images are; PGlite is not, and keeps pglz). lz4 compresses
-- several times faster for a slightly larger result, and every write of a large resource compresses
-- its JSON twice (the current row and its history row): about an eighth of the server's time in a
-- bulk import of Synthea went to pglz. Only values written from now on use it; older ones stay readable as they are.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
    ALTER TABLE resource ALTER COLUMN content SET COMPRESSION lz4;
    ALTER TABLE resource_history ALTER COLUMN content SET COMPRESSION lz4;
  END IF;
END $$;
