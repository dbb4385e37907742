-- The keys that sign and verify tokens, shared by every replica. A key signs from `signs_from`
-- until the next key's `signs_from`; its private half (sealed under a key derived from the
-- pepper) is wiped once it no longer signs, and the row is deleted once every token it could
-- have signed has expired.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    public_x TEXT NOT NULL,
    public_y TEXT NOT NULL,
    sealed_private_key TEXT,
    signs_from BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
