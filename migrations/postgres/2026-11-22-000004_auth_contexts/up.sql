-- Key/value pairs that map a user to the bank's own customer records. One value per key.
CREATE TABLE user_auth_contexts (
    user_auth_context_id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    context_key TEXT NOT NULL,
    context_value TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT user_auth_contexts_user_key UNIQUE (user_id, context_key)
);
