-- Foundation schema (SQLite): organisations, departments, people, roles, sessions,
-- API tokens, recovery codes and the append-only audit table.
-- Integers are INTEGER (64-bit); booleans are 0/1 integers; ids are UUID text.

CREATE TABLE organisations (
    id          TEXT PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    uscc        TEXT UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE departments (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organisations(id),
    parent_id   TEXT REFERENCES departments(id),
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX departments_org ON departments(org_id, parent_id);

CREATE TABLE people (
    id                    TEXT PRIMARY KEY,
    org_id                TEXT NOT NULL REFERENCES organisations(id),
    name                  TEXT NOT NULL,
    phone                 TEXT,
    email                 TEXT,
    department_id         TEXT REFERENCES departments(id),
    status                TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    password_hash         TEXT NOT NULL,
    must_change_password  INTEGER NOT NULL DEFAULT 0,
    totp_secret           TEXT,
    totp_enabled          INTEGER NOT NULL DEFAULT 0,
    totp_last_step        INTEGER NOT NULL DEFAULT 0,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    CHECK (phone IS NOT NULL OR email IS NOT NULL),
    UNIQUE (org_id, phone),
    UNIQUE (org_id, email)
);
CREATE INDEX people_org_department ON people(org_id, department_id);

CREATE TABLE roles (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organisations(id),
    builtin      TEXT,
    name         TEXT NOT NULL,
    permissions  TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    UNIQUE (org_id, name),
    UNIQUE (org_id, builtin)
);

CREATE TABLE person_roles (
    person_id  TEXT NOT NULL REFERENCES people(id),
    role_id    TEXT NOT NULL REFERENCES roles(id),
    PRIMARY KEY (person_id, role_id)
);
CREATE INDEX person_roles_role ON person_roles(role_id);

CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organisations(id),
    person_id     TEXT NOT NULL REFERENCES people(id),
    csrf_token    TEXT NOT NULL,
    mfa_pending   INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    source        TEXT NOT NULL,
    user_agent    TEXT NOT NULL
);
CREATE INDEX sessions_person ON sessions(person_id);

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organisations(id),
    person_id     TEXT NOT NULL REFERENCES people(id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    scopes        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);
CREATE INDEX api_tokens_org ON api_tokens(org_id);

CREATE TABLE recovery_codes (
    person_id  TEXT NOT NULL REFERENCES people(id),
    code_hash  TEXT NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (person_id, code_hash)
);

CREATE TABLE audit_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id     TEXT,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    source     TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    canonical  BLOB NOT NULL
);
CREATE INDEX audit_events_org ON audit_events(org_id, seq);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
