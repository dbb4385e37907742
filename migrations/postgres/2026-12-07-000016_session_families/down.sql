DROP INDEX sessions_family_id;
ALTER TABLE sessions DROP COLUMN family_id;
