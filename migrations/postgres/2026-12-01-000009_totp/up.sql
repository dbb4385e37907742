-- A user's authenticator app (RFC 6238). The secret is sealed (XChaCha20-Poly1305, a key
-- derived from the server pepper, the user id as associated data), never stored in clear.
-- last_used_step makes every accepted code single use; failed_confirmations bounds guessing
-- during enrolment.
CREATE TABLE totp_authenticators (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    secret_sealed TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    digits INTEGER NOT NULL,
    confirmed_at BIGINT,
    last_used_step BIGINT,
    failed_confirmations INTEGER NOT NULL,
    created_at BIGINT NOT NULL
);
