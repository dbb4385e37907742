-- Always empty. On SQLite every transaction first runs `UPDATE write_gate SET id = id`,
-- which takes the write lock at once (waiting politely for it), instead of reading first and
-- then failing with "database is locked" when another writer got there in between (SQLite
-- cannot upgrade a reader that may have seen an old snapshot). PostgreSQL does not use it.
CREATE TABLE write_gate (id INTEGER);
