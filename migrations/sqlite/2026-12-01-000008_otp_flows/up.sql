-- Contact number for one-time codes (E.164), optional.
ALTER TABLE users ADD COLUMN phone_number TEXT;

-- When a challenge was answered correctly; redeeming it needs a fresh verification.
ALTER TABLE challenges ADD COLUMN verified_at BIGINT;

-- Where a challenge's codes go, one row per channel, so a resend reaches the same places.
-- Contact details, not secrets: the codes themselves are never stored.
CREATE TABLE challenge_destinations (
    challenge_id TEXT NOT NULL REFERENCES challenges (challenge_id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    destination TEXT NOT NULL,
    PRIMARY KEY (challenge_id, channel)
);

-- Fixed-window counters for abuse limits (codes per destination per day, pre-login requests
-- per client address per hour). The subject is a keyed hash, so the table holds no phone
-- numbers or addresses. A use is one conditional increment, exact under concurrency.
CREATE TABLE quota_counters (
    scope TEXT NOT NULL,
    subject TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    used INTEGER NOT NULL,
    PRIMARY KEY (scope, subject, window_start)
);

-- A user's security-question answers, Argon2id-hashed after normalisation.
CREATE TABLE security_answers (
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    question_id TEXT NOT NULL,
    answer_hash TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, question_id)
);

-- Requests to add an auth context, confirmed by a one-time code (status INITIATED, ACCEPTED,
-- REJECTED).
CREATE TABLE auth_context_updates (
    update_id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    bank_id TEXT NOT NULL,
    context_key TEXT NOT NULL,
    context_value TEXT NOT NULL,
    status TEXT NOT NULL,
    challenge_id TEXT NOT NULL REFERENCES challenges (challenge_id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX auth_context_updates_user_id ON auth_context_updates (user_id);
