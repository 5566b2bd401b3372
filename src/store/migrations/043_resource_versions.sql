-- Every version's JSON, read through one view. From this migration on, the history row of a
-- resource's current version holds no JSON (content NULL): its JSON is the resource row's, and it
-- moves into the history row when a later version replaces it (the write that updates or deletes
-- the resource copies it, in the same statement). Stored once instead of twice, a load writes,
-- compresses and logs half the JSON it did. A NULL content on a deleted version still means the
-- deletion itself. Rows written before this migration keep their copy; both read the same here.
CREATE VIEW resource_version AS
SELECT h.resource_type, h.id, h.version_id, h.last_updated, h.deleted, h.method,
       coalesce(h.content, cur.content) AS content
  FROM resource_history h
  LEFT JOIN resource cur
    ON cur.resource_type = h.resource_type AND cur.id = h.id AND cur.version_id = h.version_id
   AND h.content IS NULL AND NOT h.deleted AND NOT cur.deleted;
