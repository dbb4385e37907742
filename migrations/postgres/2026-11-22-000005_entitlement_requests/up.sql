-- A user asking to be granted a role; an administrator grants it (as an entitlement) or
-- deletes the request. bank_id is '' for system roles.
CREATE TABLE entitlement_requests (
    entitlement_request_id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    role_name TEXT NOT NULL,
    bank_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT entitlement_requests_user_role_bank UNIQUE (user_id, role_name, bank_id)
);
