-- Seals, approval flows, seal-use applications, their documents, reviews and grants
-- (SQLite). Integers are INTEGER (64-bit); booleans are 0/1 integers; ids are UUID text.

-- A department may name its head (an approver kind in flows).
ALTER TABLE departments ADD COLUMN head_id TEXT REFERENCES people(id);

-- The verification factors each seal level demands, per organisation ("a+b|c" text;
-- NULL: the default policy).
ALTER TABLE organisations ADD COLUMN factors_level1 TEXT;
ALTER TABLE organisations ADD COLUMN factors_level2 TEXT;
ALTER TABLE organisations ADD COLUMN factors_level3 TEXT;

CREATE TABLE flows (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organisations(id),
    name        TEXT NOT NULL,
    is_default  INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (org_id, name)
);
-- At most one default flow per organisation.
CREATE UNIQUE INDEX flows_one_default ON flows(org_id) WHERE is_default = 1;

CREATE TABLE flow_steps (
    flow_id          TEXT NOT NULL REFERENCES flows(id),
    position         INTEGER NOT NULL,
    name             TEXT NOT NULL,
    approvers_kind   TEXT NOT NULL CHECK (approvers_kind IN ('people', 'role', 'department_head', 'seal_keeper')),
    approvers_ref    TEXT NOT NULL DEFAULT '',
    rule             TEXT NOT NULL CHECK (rule IN ('any', 'all')),
    condition_kind   TEXT CHECK (condition_kind IN ('count_above', 'seal_level1', 'stamp_kind')),
    condition_value  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (flow_id, position)
);

CREATE TABLE seals (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organisations(id),
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    seal_type      TEXT NOT NULL,
    shape          TEXT NOT NULL CHECK (shape IN ('round', 'oval', 'square')),
    width_mm       INTEGER NOT NULL,
    height_mm      INTEGER NOT NULL,
    level          INTEGER NOT NULL CHECK (level BETWEEN 1 AND 3),
    keeper_id      TEXT REFERENCES people(id),
    status         TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'reported_lost', 'revoked', 'destroyed')),
    status_reason  TEXT NOT NULL DEFAULT '',
    filing_code    TEXT,
    flow_id        TEXT REFERENCES flows(id),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX seals_org ON seals(org_id, status);

CREATE TABLE seal_status_changes (
    seal_id      TEXT NOT NULL REFERENCES seals(id),
    org_id       TEXT NOT NULL REFERENCES organisations(id),
    -- 1, 2, … per seal: the order of changes, even within one millisecond.
    seq          INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    reason       TEXT NOT NULL,
    actor        TEXT NOT NULL
);
CREATE UNIQUE INDEX seal_status_changes_seal ON seal_status_changes(seal_id, seq);

-- The next application sequence number per organisation and year.
CREATE TABLE application_sequences (
    org_id  TEXT NOT NULL REFERENCES organisations(id),
    year    INTEGER NOT NULL,
    next    INTEGER NOT NULL,
    PRIMARY KEY (org_id, year)
);

CREATE TABLE applications (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organisations(id),
    number         TEXT NOT NULL UNIQUE,
    applicant_id   TEXT NOT NULL REFERENCES people(id),
    department_id  TEXT REFERENCES departments(id),
    seal_id        TEXT NOT NULL REFERENCES seals(id),
    stamp_kind     TEXT NOT NULL,
    title          TEXT NOT NULL,
    reason         TEXT NOT NULL,
    stamp_count    INTEGER NOT NULL CHECK (stamp_count BETWEEN 1 AND 999),
    window_from    INTEGER NOT NULL,
    window_until   INTEGER NOT NULL,
    status         TEXT NOT NULL,
    uses_done      INTEGER NOT NULL DEFAULT 0,
    submitted_at   INTEGER,
    decided_at     INTEGER,
    step_since     INTEGER,
    reminded_at    INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    CHECK (window_until > window_from),
    CHECK (uses_done BETWEEN 0 AND stamp_count)
);
CREATE INDEX applications_org_status ON applications(org_id, status, created_at);
CREATE INDEX applications_applicant ON applications(org_id, applicant_id, created_at);

CREATE TABLE application_documents (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organisations(id),
    application_id  TEXT NOT NULL REFERENCES applications(id),
    position        INTEGER NOT NULL,
    name            TEXT NOT NULL,
    media_type      TEXT NOT NULL CHECK (media_type IN ('application/pdf', 'image/png', 'image/jpeg')),
    size_bytes      INTEGER NOT NULL,
    sha256          TEXT NOT NULL,
    pages           INTEGER NOT NULL,
    blob_key        TEXT NOT NULL,
    thumbnail_key   TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX application_documents_app ON application_documents(application_id, position);

-- The flow resolved to people when the application was submitted.
CREATE TABLE application_steps (
    application_id  TEXT NOT NULL REFERENCES applications(id),
    org_id          TEXT NOT NULL REFERENCES organisations(id),
    position        INTEGER NOT NULL,
    name            TEXT NOT NULL,
    rule            TEXT NOT NULL CHECK (rule IN ('any', 'all')),
    approvers       TEXT NOT NULL,
    PRIMARY KEY (application_id, position)
);

CREATE TABLE application_decisions (
    application_id  TEXT NOT NULL REFERENCES applications(id),
    org_id          TEXT NOT NULL REFERENCES organisations(id),
    seq             INTEGER NOT NULL,
    step            INTEGER NOT NULL,
    person_id       TEXT NOT NULL REFERENCES people(id),
    verdict         TEXT NOT NULL CHECK (verdict IN ('approve', 'reject')),
    comment         TEXT NOT NULL,
    at              INTEGER NOT NULL,
    PRIMARY KEY (application_id, seq),
    UNIQUE (application_id, step, person_id)
);

CREATE TABLE grants (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organisations(id),
    application_id  TEXT NOT NULL UNIQUE REFERENCES applications(id),
    seal_id         TEXT NOT NULL REFERENCES seals(id),
    uses_allowed    INTEGER NOT NULL,
    window_from     INTEGER NOT NULL,
    window_until    INTEGER NOT NULL,
    factors         TEXT NOT NULL,
    device_id       TEXT,
    status          TEXT NOT NULL CHECK (status IN ('active', 'consumed', 'expired', 'revoked')),
    issued_at       INTEGER NOT NULL,
    ended_at        INTEGER,
    ended_by        TEXT,
    end_reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX grants_org_status ON grants(org_id, status);
