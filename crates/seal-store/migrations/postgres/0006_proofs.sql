-- Stamp proofs: the server's append-only Merkle log (RFC 6962) — its head (size and the
-- roots of the perfect subtrees on its right edge), its entries with their leaf hashes,
-- the hashes of every larger perfect subtree (levels 1 and up), signed checkpoints, the
-- log's signing key — stamp identity (numeric code, signed token, document fingerprint) and stamp
-- status changes. Everything but the head is append-only.

CREATE TABLE log_head (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    size        BIGINT NOT NULL,
    frontier    BYTEA NOT NULL
);
INSERT INTO log_head (id, size, frontier) VALUES (1, 0, '\x'::bytea);

CREATE TABLE log_entries (
    idx         BIGINT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('audit', 'stamp', 'stamp_status')),
    subject     TEXT NOT NULL,
    org_id      TEXT,
    entry       BYTEA NOT NULL,
    leaf_hash   BYTEA NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX log_entries_subject ON log_entries(subject, idx);

CREATE TABLE log_nodes (
    level       BIGINT NOT NULL,
    idx         BIGINT NOT NULL,
    hash        BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TABLE log_checkpoints (
    size        BIGINT PRIMARY KEY,
    root        BYTEA NOT NULL,
    note        TEXT NOT NULL,
    at          BIGINT NOT NULL
);

CREATE TABLE log_keys (
    name        TEXT PRIMARY KEY,
    public_key  TEXT NOT NULL,
    secret_key  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

ALTER TABLE stamps ADD COLUMN numeric_code TEXT;
ALTER TABLE stamps ADD COLUMN token BYTEA;
ALTER TABLE stamps ADD COLUMN document_sha256 TEXT;
ALTER TABLE stamps ADD COLUMN page BIGINT;
CREATE INDEX stamps_numeric_code ON stamps(numeric_code);

CREATE TABLE stamp_events (
    id          TEXT PRIMARY KEY,
    stamp_id    TEXT NOT NULL REFERENCES stamps(id),
    org_id      TEXT NOT NULL REFERENCES organisations(id),
    status      TEXT NOT NULL CHECK (status IN ('valid', 'revoked', 'disputed')),
    actor       TEXT NOT NULL,
    note        TEXT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX stamp_events_stamp ON stamp_events(stamp_id, at);

ALTER TABLE organisations ADD COLUMN verify_thumbnail BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION proofs_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER log_entries_no_change BEFORE UPDATE OR DELETE ON log_entries
FOR EACH ROW EXECUTE FUNCTION proofs_append_only();
CREATE TRIGGER log_entries_no_truncate BEFORE TRUNCATE ON log_entries
FOR EACH STATEMENT EXECUTE FUNCTION proofs_append_only();
CREATE TRIGGER log_nodes_no_change BEFORE UPDATE OR DELETE ON log_nodes
FOR EACH ROW EXECUTE FUNCTION proofs_append_only();
CREATE TRIGGER log_nodes_no_truncate BEFORE TRUNCATE ON log_nodes
FOR EACH STATEMENT EXECUTE FUNCTION proofs_append_only();
CREATE TRIGGER log_checkpoints_no_change BEFORE UPDATE OR DELETE ON log_checkpoints
FOR EACH ROW EXECUTE FUNCTION proofs_append_only();
CREATE TRIGGER log_checkpoints_no_truncate BEFORE TRUNCATE ON log_checkpoints
FOR EACH STATEMENT EXECUTE FUNCTION proofs_append_only();
CREATE TRIGGER stamps_no_change BEFORE UPDATE OR DELETE ON stamps
FOR EACH ROW EXECUTE FUNCTION proofs_append_only();
CREATE TRIGGER stamps_no_truncate BEFORE TRUNCATE ON stamps
FOR EACH STATEMENT EXECUTE FUNCTION proofs_append_only();
CREATE TRIGGER stamp_events_no_change BEFORE UPDATE OR DELETE ON stamp_events
FOR EACH ROW EXECUTE FUNCTION proofs_append_only();
CREATE TRIGGER stamp_events_no_truncate BEFORE TRUNCATE ON stamp_events
FOR EACH STATEMENT EXECUTE FUNCTION proofs_append_only();
