-- API keys of trusted system callers (the bank's own front-end servers, Apiture family).
-- Stored as HMAC-SHA256 under the server pepper; the key itself is shown once.
CREATE TABLE system_keys (
    key_id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
