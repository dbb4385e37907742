DROP INDEX account_access_user_views;
CREATE INDEX account_access_user_id ON account_access (user_id);
DROP INDEX entitlements_user_created;
