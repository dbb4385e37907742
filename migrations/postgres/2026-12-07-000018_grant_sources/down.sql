DROP INDEX users_provider_id;
ALTER TABLE account_access DROP COLUMN granted_by;
