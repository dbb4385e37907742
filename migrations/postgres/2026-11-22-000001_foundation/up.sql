-- Timestamps are BIGINT microseconds since the Unix epoch (UTC) on both backends.
-- Ids are TEXT (UUIDs in canonical form, session ids in hex) on both backends.
CREATE TABLE users (
    user_id TEXT PRIMARY KEY NOT NULL,
    provider TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    username TEXT NOT NULL,
    username_key TEXT NOT NULL,
    email TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT users_provider_username_key UNIQUE (provider, username_key)
);

CREATE TABLE consumers (
    consumer_id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    enabled BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    session_id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_activity_at BIGINT NOT NULL,
    idle_timeout_secs BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    terminated_at BIGINT
);
CREATE INDEX sessions_user_id ON sessions (user_id);

-- bank_id is '' for system-wide roles, so the unique constraint holds for them too.
CREATE TABLE entitlements (
    entitlement_id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    role_name TEXT NOT NULL,
    bank_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT entitlements_user_role_bank UNIQUE (user_id, role_name, bank_id)
);

CREATE TABLE audit_events (
    event_id TEXT PRIMARY KEY NOT NULL,
    occurred_at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    user_id TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_events_occurred_at ON audit_events (occurred_at);
CREATE INDEX audit_events_user_id ON audit_events (user_id);
