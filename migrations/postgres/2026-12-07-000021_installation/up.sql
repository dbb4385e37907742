-- What the server keeps for the command line to read, so that `assentd admin` writes what the
-- server will recognise (the provider of the users it creates) whatever its own environment.
CREATE TABLE installation (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
