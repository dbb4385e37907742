-- Customer sessions (Apiture): the institution a session belongs to, the customer's last strong
-- authentication, why a session ended, and where it was started (shown to the customer).
ALTER TABLE sessions ADD COLUMN institution_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN last_strong_auth_at BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET last_strong_auth_at = created_at;
ALTER TABLE sessions ADD COLUMN termination_reason TEXT;
-- The session that replaced this one (when it expired), so terminating either ends both.
ALTER TABLE sessions ADD COLUMN replaced_by TEXT;
ALTER TABLE sessions ADD COLUMN client_ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
-- Housekeeping deletes by these.
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_terminated_at ON sessions (terminated_at);

-- Customers' numeric ids (Apiture customerId). New users get 16 random digits, the first not
-- 0; users from before this migration are numbered in order of registration, zero-padded to
-- 12 digits (so they start with 0 and never meet a random one).
ALTER TABLE users ADD COLUMN customer_number TEXT;
UPDATE users SET customer_number = printf('%012d', rowid);
CREATE UNIQUE INDEX users_customer_number ON users (customer_number);
