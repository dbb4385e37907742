-- One-time-code challenges. The code is stored only as a keyed hash (hex). Every change is a
-- conditional update on (state, failures, resends), so parallel answers cannot lose a count.
CREATE TABLE challenges (
    challenge_id TEXT PRIMARY KEY NOT NULL,
    purpose TEXT NOT NULL,
    user_id TEXT REFERENCES users (user_id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    code_length INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    last_sent_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    failures INTEGER NOT NULL,
    resends INTEGER NOT NULL,
    max_failures INTEGER NOT NULL,
    max_resends INTEGER NOT NULL,
    validity_secs BIGINT NOT NULL,
    resend_cooldown_secs BIGINT NOT NULL
);
CREATE INDEX challenges_user_id ON challenges (user_id);
