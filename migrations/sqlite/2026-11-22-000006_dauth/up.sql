-- DAuth request ids seen within the timestamp window: a second use is a replay, refused on
-- every replica. Rows older than the window are purged as new ones arrive.
CREATE TABLE dauth_requests (
    request_id TEXT PRIMARY KEY NOT NULL,
    seen_at BIGINT NOT NULL
);
CREATE INDEX dauth_requests_seen_at ON dauth_requests (seen_at);
