-- Failed logins per username, for unknown usernames too (so answers never reveal which
-- accounts exist). Incremented with one conditional statement per failure.
CREATE TABLE login_attempts (
    provider TEXT NOT NULL,
    username_key TEXT NOT NULL,
    bad_attempts INTEGER NOT NULL,
    last_failure_at BIGINT,
    PRIMARY KEY (provider, username_key)
);

-- Administrative locks.
CREATE TABLE user_locks (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    type_of_lock TEXT NOT NULL,
    locked_at BIGINT NOT NULL
);

CREATE TABLE banks (
    bank_id TEXT PRIMARY KEY NOT NULL,
    short_name TEXT NOT NULL,
    full_name TEXT NOT NULL,
    logo TEXT NOT NULL,
    website TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
