-- Search index lookups return ids straight from the index (index-only scans): a search matching
-- 100,000 resources no longer visits 60,000 heap pages of the index table.
DROP INDEX sp_token_value;
CREATE INDEX sp_token_value ON sp_token (resource_type, code, value, system) INCLUDE (id);
DROP INDEX sp_string_norm;
CREATE INDEX sp_string_norm ON sp_string (resource_type, code, norm text_pattern_ops) INCLUDE (id);
DROP INDEX sp_date_lo;
CREATE INDEX sp_date_lo ON sp_date (resource_type, code, lo) INCLUDE (id, hi);
DROP INDEX sp_date_hi;
CREATE INDEX sp_date_hi ON sp_date (resource_type, code, hi) INCLUDE (id, lo);
DROP INDEX sp_quantity_value;
CREATE INDEX sp_quantity_value ON sp_quantity (resource_type, code, value) INCLUDE (id, system, unit);
DROP INDEX sp_number_value;
CREATE INDEX sp_number_value ON sp_number (resource_type, code, value) INCLUDE (id);
DROP INDEX sp_uri_value;
CREATE INDEX sp_uri_value ON sp_uri (resource_type, code, value) INCLUDE (id);
DROP INDEX sp_reference_target;
CREATE INDEX sp_reference_target ON sp_reference (target_id, target_type, code, resource_type) INCLUDE (id);
