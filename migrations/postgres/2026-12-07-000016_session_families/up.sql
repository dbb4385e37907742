-- A session and the sessions that replaced it (and theirs, ...) are one family, named by its
-- first session's id: terminating any member ends the whole family at once.
ALTER TABLE sessions ADD COLUMN family_id TEXT NOT NULL DEFAULT '';
-- Existing chains: each session that no other replaced starts a family; its replacements
-- follow it along replaced_by (indexed for the backfill, so that it stays linear).
CREATE INDEX sessions_replaced_by ON sessions (replaced_by);
WITH RECURSIVE family (session_id, family_id) AS (
    SELECT s.session_id, s.session_id FROM sessions s
    WHERE NOT EXISTS (SELECT 1 FROM sessions p WHERE p.replaced_by = s.session_id)
    UNION ALL
    SELECT s.replaced_by, family.family_id FROM sessions s
    JOIN family ON s.session_id = family.session_id
    WHERE s.replaced_by IS NOT NULL
)
UPDATE sessions SET family_id = (
    SELECT family.family_id FROM family WHERE family.session_id = sessions.session_id
)
WHERE EXISTS (SELECT 1 FROM family WHERE family.session_id = sessions.session_id);
DROP INDEX sessions_replaced_by;
CREATE INDEX sessions_family_id ON sessions (family_id);
