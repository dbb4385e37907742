-- Consents a customer gave a third-party app (consumer). The scope is JSON (views and roles);
-- the status follows the transition table of assent-consent, changed only by conditional
-- updates from the status that was read. The SCA challenge confirms it.
CREATE TABLE consents (
    consent_id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    consumer_id TEXT NOT NULL,
    bank_id TEXT NOT NULL,
    everything BOOLEAN NOT NULL,
    scope TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    sca_method TEXT NOT NULL,
    status TEXT NOT NULL,
    challenge_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status_changed_at BIGINT NOT NULL
);
CREATE INDEX consents_user_bank ON consents (user_id, bank_id);
CREATE INDEX consents_expires_at ON consents (expires_at);
