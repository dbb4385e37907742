-- Each audit event's place in the hash chain and its link (see the repository's audit module).
-- Events from before the chain are linked by the server at its next start.
ALTER TABLE audit_events ADD COLUMN chain_seq BIGINT;
ALTER TABLE audit_events ADD COLUMN chain_hash TEXT;
CREATE UNIQUE INDEX audit_events_chain_seq ON audit_events (chain_seq);
CREATE INDEX audit_events_unlinked ON audit_events (occurred_at) WHERE chain_seq IS NULL;
-- The chain's head: the last event's number and link, locked by each writer in turn.
CREATE TABLE audit_chain (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_chain (id, last_seq, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
