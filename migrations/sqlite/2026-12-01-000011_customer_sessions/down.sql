DROP INDEX users_customer_number;
ALTER TABLE users DROP COLUMN customer_number;
DROP INDEX sessions_terminated_at;
DROP INDEX sessions_expires_at;
ALTER TABLE sessions DROP COLUMN user_agent;
ALTER TABLE sessions DROP COLUMN client_ip;
ALTER TABLE sessions DROP COLUMN termination_reason;
ALTER TABLE sessions DROP COLUMN last_strong_auth_at;
ALTER TABLE sessions DROP COLUMN institution_id;
