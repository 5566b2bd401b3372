-- Search index sets come out of the index sorted by resource id, and membership is one index probe.
--
-- * Token and reference equality (the bulk of HIM searches: status=active, class=AMB, patient=123)
--   now ends its index key with the resource id, so the matching ids stream in id order: a page
--   sorted by id reads only its own rows, duplicates collapse without hashing, and two sets merge.
-- * "Does resource X have a value of parameter P satisfying C?" is an index-only probe on
--   (resource_type, id, code) with the values included, so an intersection can be driven by its
--   smallest set (a patient's 200 observations probe "category = vital-signs" 200 times instead of
--   hashing 300,000 vital signs).
-- * Extended statistics: the planner's estimate of (resource_type, code, value) was off by 50x
--   (independent columns), which sent large sets to disk-spilling hash aggregates.
DROP INDEX sp_token_value;
CREATE INDEX sp_token_value ON sp_token (resource_type, code, value, id) INCLUDE (system);
DROP INDEX sp_token_res;
CREATE INDEX sp_token_res ON sp_token (resource_type, id, code) INCLUDE (value, system);
DROP INDEX sp_reference_target;
CREATE INDEX sp_reference_target ON sp_reference (target_id, target_type, code, resource_type, id);
DROP INDEX sp_reference_res;
CREATE INDEX sp_reference_res ON sp_reference (resource_type, id, code) INCLUDE (target_type, target_id);
DROP INDEX sp_date_res;
CREATE INDEX sp_date_res ON sp_date (resource_type, id, code) INCLUDE (lo, hi);
DROP INDEX sp_quantity_res;
CREATE INDEX sp_quantity_res ON sp_quantity (resource_type, id, code) INCLUDE (value, system, unit);
DROP INDEX sp_number_res;
CREATE INDEX sp_number_res ON sp_number (resource_type, id, code) INCLUDE (value);
DROP INDEX sp_string_res;
CREATE INDEX sp_string_res ON sp_string (resource_type, id, code);
DROP INDEX sp_uri_res;
CREATE INDEX sp_uri_res ON sp_uri (resource_type, id, code) INCLUDE (value);

CREATE STATISTICS sp_token_type_code_value (mcv, dependencies) ON resource_type, code, value FROM sp_token;
ALTER STATISTICS sp_token_type_code_value SET STATISTICS 1000;
CREATE STATISTICS sp_reference_type_code (mcv, dependencies) ON resource_type, code, target_type FROM sp_reference;
CREATE STATISTICS sp_date_type_code (mcv, dependencies) ON resource_type, code FROM sp_date;
CREATE STATISTICS sp_quantity_type_code (mcv, dependencies) ON resource_type, code, system, unit FROM sp_quantity;
