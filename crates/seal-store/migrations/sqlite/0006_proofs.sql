-- Stamp proofs: the server's append-only Merkle log (RFC 6962) — its head (size and the
-- roots of the perfect subtrees on its right edge), its entries with their leaf hashes,
-- the hashes of every larger perfect subtree (levels 1 and up), signed checkpoints, the
-- log's signing key — stamp identity (numeric code, signed token, document fingerprint) and stamp
-- status changes. Everything but the head is append-only.

CREATE TABLE log_head (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    size        INTEGER NOT NULL,
    frontier    BLOB NOT NULL
);
INSERT INTO log_head (id, size, frontier) VALUES (1, 0, x'');

CREATE TABLE log_entries (
    idx         INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('audit', 'stamp', 'stamp_status')),
    subject     TEXT NOT NULL,
    org_id      TEXT,
    entry       BLOB NOT NULL,
    leaf_hash   BLOB NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX log_entries_subject ON log_entries(subject, idx);

CREATE TABLE log_nodes (
    level       INTEGER NOT NULL,
    idx         INTEGER NOT NULL,
    hash        BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

CREATE TABLE log_checkpoints (
    size        INTEGER PRIMARY KEY,
    root        BLOB NOT NULL,
    note        TEXT NOT NULL,
    at          INTEGER NOT NULL
);

CREATE TABLE log_keys (
    name        TEXT PRIMARY KEY,
    public_key  TEXT NOT NULL,
    secret_key  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

ALTER TABLE stamps ADD COLUMN numeric_code TEXT;
ALTER TABLE stamps ADD COLUMN token BLOB;
ALTER TABLE stamps ADD COLUMN document_sha256 TEXT;
ALTER TABLE stamps ADD COLUMN page INTEGER;
CREATE INDEX stamps_numeric_code ON stamps(numeric_code);

CREATE TABLE stamp_events (
    id          TEXT PRIMARY KEY,
    stamp_id    TEXT NOT NULL REFERENCES stamps(id),
    org_id      TEXT NOT NULL REFERENCES organisations(id),
    status      TEXT NOT NULL CHECK (status IN ('valid', 'revoked', 'disputed')),
    actor       TEXT NOT NULL,
    note        TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX stamp_events_stamp ON stamp_events(stamp_id, at);

ALTER TABLE organisations ADD COLUMN verify_thumbnail INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER log_entries_no_update BEFORE UPDATE ON log_entries
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_entries_no_delete BEFORE DELETE ON log_entries
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_nodes_no_update BEFORE UPDATE ON log_nodes
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_nodes_no_delete BEFORE DELETE ON log_nodes
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_checkpoints_no_update BEFORE UPDATE ON log_checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER log_checkpoints_no_delete BEFORE DELETE ON log_checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER stamps_no_update BEFORE UPDATE ON stamps
BEGIN SELECT RAISE(ABORT, 'stamps are written once'); END;
CREATE TRIGGER stamps_no_delete BEFORE DELETE ON stamps
BEGIN SELECT RAISE(ABORT, 'stamps are written once'); END;
CREATE TRIGGER stamp_events_no_update BEFORE UPDATE ON stamp_events
BEGIN SELECT RAISE(ABORT, 'stamp events are append-only'); END;
CREATE TRIGGER stamp_events_no_delete BEFORE DELETE ON stamp_events
BEGIN SELECT RAISE(ABORT, 'stamp events are append-only'); END;
