-- Document comparison: every comparison of a captured page (a seal printer's scan, a seal
-- box's press photo, a manual upload) with the approved document — written once, never
-- updated, at most one per stamp — and each organisation's thresholds (no row: the
-- defaults of seal_core::comparison::ComparisonThresholds). Each comparison is a leaf of
-- the tamper-evident log, a fourth kind of entry. Pending press photos need no table: they
-- are the press stamps with a photo and an application and no comparison yet.

CREATE TABLE comparisons (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organisations(id),
    subject         TEXT NOT NULL CHECK (subject IN ('print_scan', 'press_photo', 'manual')),
    application_id  TEXT REFERENCES applications(id),
    stamp_id        TEXT REFERENCES stamps(id),
    device_id       TEXT REFERENCES devices(id),
    document_id     TEXT REFERENCES application_documents(id),
    page            INTEGER CHECK (page >= 0),
    verdict         TEXT NOT NULL CHECK (verdict IN ('match', 'mismatch', 'uncertain')),
    score           REAL NOT NULL,
    blank           INTEGER NOT NULL,
    differences     TEXT NOT NULL,
    capture_key     TEXT,
    capture_sha256  TEXT,
    diff_key        TEXT,
    engine          TEXT NOT NULL,
    millis          INTEGER NOT NULL,
    created_by      TEXT,
    created_at      INTEGER NOT NULL
);
CREATE INDEX comparisons_application ON comparisons(org_id, application_id, created_at, id);
CREATE INDEX comparisons_org ON comparisons(org_id, created_at, id);
CREATE UNIQUE INDEX comparisons_stamp ON comparisons(stamp_id) WHERE stamp_id IS NOT NULL;

CREATE TABLE comparison_thresholds (
    org_id              TEXT PRIMARY KEY REFERENCES organisations(id),
    other_page_below    REAL NOT NULL,
    match_at_least      REAL NOT NULL,
    minor_per_100       REAL NOT NULL,
    blank_chars_below   INTEGER NOT NULL,
    press_check         TEXT NOT NULL CHECK (press_check IN ('off', 'alarm', 'alarm_and_lock')),
    updated_at          INTEGER NOT NULL,
    updated_by          TEXT NOT NULL,
    CHECK (other_page_below >= 0 AND other_page_below <= match_at_least AND match_at_least <= 1),
    CHECK (minor_per_100 >= 0 AND minor_per_100 <= 100),
    CHECK (blank_chars_below >= 0 AND blank_chars_below <= 10000)
);

-- The press-photo queue: press stamps with a photo and an application, in arrival order.
CREATE INDEX stamps_press_photos ON stamps(received_at, id)
    WHERE kind = 'press' AND photo_key IS NOT NULL AND application_id IS NOT NULL;

CREATE TRIGGER comparisons_no_update BEFORE UPDATE ON comparisons
BEGIN SELECT RAISE(ABORT, 'comparisons are append-only'); END;
CREATE TRIGGER comparisons_no_delete BEFORE DELETE ON comparisons
BEGIN SELECT RAISE(ABORT, 'comparisons are append-only'); END;

-- The log's kinds gain 'comparison'. SQLite cannot change a CHECK in place: the entries
-- move to a new table (DROP TABLE drops the append-only triggers before its implicit
-- delete, so none fires), which takes the old name, index and triggers.
CREATE TABLE log_entries_0007 (
    idx         INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('audit', 'stamp', 'stamp_status', 'comparison')),
    subject     TEXT NOT NULL,
    org_id      TEXT,
    entry       BLOB NOT NULL,
    leaf_hash   BLOB NOT NULL,
    at          INTEGER NOT NULL
);
INSERT INTO log_entries_0007 (idx, kind, subject, org_id, entry, leaf_hash, at)
    SELECT idx, kind, subject, org_id, entry, leaf_hash, at FROM log_entries ORDER BY idx;
DROP TABLE log_entries;
ALTER TABLE log_entries_0007 RENAME TO log_entries;
CREATE INDEX log_entries_subject ON log_entries(subject, idx);
CREATE TRIGGER log_entries_no_update BEFORE UPDATE ON log_entries
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
CREATE TRIGGER log_entries_no_delete BEFORE DELETE ON log_entries
BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END;
