-- A date window (Encounter?date=ge2012-01-01&date=lt2012-02-01) is one index scan.
--
-- A date index row is the range [lo, hi] a value denotes. A window asks for rows with hi >= from AND
-- lo < to; a B-tree on lo (or on hi) can bound only one side, so it reads every row before the end of
-- the window (or after its start): all of a hospital's encounters up to 2012 to find one month's.
-- A GiST index over the span answers "overlaps the window" directly.
--
-- The span is an int8range of whole seconds (rounded outward, clamped to ±2^33 s: years 1698-2242)
-- in a band of the key space of its own per (resource type, parameter): the band is a 28-bit hash of
-- both (28 bits, so a range's exclusive upper bound never overflows int8). So one index serves every
-- date parameter without the btree_gist extension (an extension lives in one schema, and tests and
-- benchmarks create and drop schemas side by side). The span is a superset of the row's range, and
-- two parameters may share a band, so the search SQL uses it only next to the exact conditions on lo
-- and hi (search-sql.ts, dateCond).
CREATE FUNCTION sp_date_band(resource_type text, code text) RETURNS int8
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN (hashtext(resource_type || '|' || code)::int8 & 268435455) << 34;

-- Seconds since 1970 as an offset in a band: floor for a lower bound, ceil for an upper one.
CREATE FUNCTION sp_date_offset(t timestamptz, upper boolean) RETURNS int8
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN (least(greatest(CASE WHEN upper THEN ceil(extract(epoch FROM t)) ELSE floor(extract(epoch FROM t)) END,
                          -8589934592), 8589934591)::int8 + 8589934592);

-- The span of an index row, whichever way round lo and hi were stored.
CREATE FUNCTION sp_date_span(resource_type text, code text, lo timestamptz, hi timestamptz) RETURNS int8range
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN int8range(sp_date_band(resource_type, code) + sp_date_offset(least(lo, hi), false),
                   sp_date_band(resource_type, code) + sp_date_offset(greatest(lo, hi), true), '[]');

-- A search window: NULL for an open end.
CREATE FUNCTION sp_date_window(resource_type text, code text, from_t timestamptz, to_t timestamptz) RETURNS int8range
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN int8range(sp_date_band(resource_type, code) + CASE WHEN from_t IS NULL THEN 0 ELSE sp_date_offset(from_t, false) END,
                   sp_date_band(resource_type, code) + CASE WHEN to_t IS NULL THEN 17179869183 ELSE sp_date_offset(to_t, true) END, '[]');

-- The row's columns are included so a window is answered from the index alone (no heap visits).
CREATE INDEX sp_date_span ON sp_date USING gist (sp_date_span(resource_type, code, lo, hi)) INCLUDE (resource_type, code, id, lo, hi);
