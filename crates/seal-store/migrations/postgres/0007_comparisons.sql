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
    page            BIGINT CHECK (page >= 0),
    verdict         TEXT NOT NULL CHECK (verdict IN ('match', 'mismatch', 'uncertain')),
    score           DOUBLE PRECISION NOT NULL,
    blank           BIGINT NOT NULL,
    differences     TEXT NOT NULL,
    capture_key     TEXT,
    capture_sha256  TEXT,
    diff_key        TEXT,
    engine          TEXT NOT NULL,
    millis          BIGINT NOT NULL,
    created_by      TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX comparisons_application ON comparisons(org_id, application_id, created_at, id);
CREATE INDEX comparisons_org ON comparisons(org_id, created_at, id);
CREATE UNIQUE INDEX comparisons_stamp ON comparisons(stamp_id) WHERE stamp_id IS NOT NULL;

CREATE TABLE comparison_thresholds (
    org_id              TEXT PRIMARY KEY REFERENCES organisations(id),
    other_page_below    DOUBLE PRECISION NOT NULL,
    match_at_least      DOUBLE PRECISION NOT NULL,
    minor_per_100       DOUBLE PRECISION NOT NULL,
    blank_chars_below   BIGINT NOT NULL,
    press_check         TEXT NOT NULL CHECK (press_check IN ('off', 'alarm', 'alarm_and_lock')),
    updated_at          BIGINT NOT NULL,
    updated_by          TEXT NOT NULL,
    CHECK (other_page_below >= 0 AND other_page_below <= match_at_least AND match_at_least <= 1),
    CHECK (minor_per_100 >= 0 AND minor_per_100 <= 100),
    CHECK (blank_chars_below >= 0 AND blank_chars_below <= 10000)
);

-- The press-photo queue: press stamps with a photo and an application, in arrival order.
CREATE INDEX stamps_press_photos ON stamps(received_at, id)
    WHERE kind = 'press' AND photo_key IS NOT NULL AND application_id IS NOT NULL;

CREATE TRIGGER comparisons_no_change BEFORE UPDATE OR DELETE ON comparisons
FOR EACH ROW EXECUTE FUNCTION proofs_append_only();
CREATE TRIGGER comparisons_no_truncate BEFORE TRUNCATE ON comparisons
FOR EACH STATEMENT EXECUTE FUNCTION proofs_append_only();

-- The log's kinds gain 'comparison' (a schema change: no row trigger fires).
ALTER TABLE log_entries DROP CONSTRAINT log_entries_kind_check;
ALTER TABLE log_entries ADD CONSTRAINT log_entries_kind_check
    CHECK (kind IN ('audit', 'stamp', 'stamp_status', 'comparison'));
