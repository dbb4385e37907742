-- Who granted each view (NULL: the account's opening, or a grant from before this was kept),
-- so that what a delegate gave themselves can be taken back with their power.
ALTER TABLE account_access ADD COLUMN granted_by TEXT;
-- Users named by provider and provider id (OBP's account permission routes).
CREATE INDEX users_provider_id ON users (provider, provider_id);
