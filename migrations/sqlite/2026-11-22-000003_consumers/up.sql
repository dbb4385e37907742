-- Sessions remember the consumer (app) that created them: its call limits apply to every
-- call made with the session, and disabling it ends them. '' for sessions of no consumer.
ALTER TABLE sessions ADD COLUMN consumer_id TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_consumer_id ON sessions (consumer_id);

ALTER TABLE consumers ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE consumers ADD COLUMN developer_email TEXT NOT NULL DEFAULT '';
ALTER TABLE consumers ADD COLUMN redirect_url TEXT NOT NULL DEFAULT '';
ALTER TABLE consumers ADD COLUMN created_by_user_id TEXT NOT NULL DEFAULT '';
-- Call limits per period; -1 is unlimited.
ALTER TABLE consumers ADD COLUMN per_second_call_limit BIGINT NOT NULL DEFAULT -1;
ALTER TABLE consumers ADD COLUMN per_minute_call_limit BIGINT NOT NULL DEFAULT -1;
ALTER TABLE consumers ADD COLUMN per_hour_call_limit BIGINT NOT NULL DEFAULT -1;
ALTER TABLE consumers ADD COLUMN per_day_call_limit BIGINT NOT NULL DEFAULT -1;
ALTER TABLE consumers ADD COLUMN per_week_call_limit BIGINT NOT NULL DEFAULT -1;
ALTER TABLE consumers ADD COLUMN per_month_call_limit BIGINT NOT NULL DEFAULT -1;
