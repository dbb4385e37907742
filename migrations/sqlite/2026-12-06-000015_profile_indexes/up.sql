-- A user's entitlements and views are read on every `GET /users/current`, in a fixed order.
-- Indexes in that order let the database read them in order, without a sort per request; the
-- views' index also holds every column read, so no table lookup is needed either.
CREATE INDEX entitlements_user_created ON entitlements (user_id, created_at, entitlement_id);
DROP INDEX account_access_user_id;
CREATE INDEX account_access_user_views ON account_access (user_id, bank_id, account_id, view_id, is_system);
