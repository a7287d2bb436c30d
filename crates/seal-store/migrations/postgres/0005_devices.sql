-- Devices: organisation grant-signing keys, enrolment tokens, devices with their binding,
-- parameters and last telemetry, request nonces, unlock attempts, stamps (presses and
-- print jobs), commands and alarms. Positions are stored in 1e-7 degrees.

CREATE TABLE org_keys (
    kid             TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organisations(id),
    public_key      TEXT NOT NULL,
    secret_key      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    retired_at      BIGINT
);
CREATE INDEX org_keys_org ON org_keys(org_id, created_at);

CREATE TABLE device_enrolment_tokens (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organisations(id),
    kind            TEXT NOT NULL CHECK (kind IN ('seal_box', 'seal_printer', 'scanner', 'id_kiosk')),
    note            TEXT NOT NULL,
    digest          TEXT NOT NULL UNIQUE,
    created_by      TEXT NOT NULL REFERENCES people(id),
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT,
    device_id       TEXT
);
CREATE INDEX device_enrolment_tokens_org ON device_enrolment_tokens(org_id, created_at);

CREATE TABLE devices (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES organisations(id),
    kind                TEXT NOT NULL CHECK (kind IN ('seal_box', 'seal_printer', 'scanner', 'id_kiosk')),
    status              TEXT NOT NULL CHECK (status IN ('pending', 'active', 'revoked')),
    public_key          TEXT NOT NULL UNIQUE,
    serial              TEXT NOT NULL,
    mac                 TEXT NOT NULL,
    firmware            TEXT NOT NULL,
    seal_id             TEXT REFERENCES seals(id),
    terminal            TEXT,
    fence_lat_e7        BIGINT,
    fence_lon_e7        BIGINT,
    fence_radius_m      BIGINT,
    heartbeat_seconds   BIGINT NOT NULL,
    press_max_ms        BIGINT NOT NULL,
    low_battery_pct     BIGINT NOT NULL,
    enrolled_at         BIGINT NOT NULL,
    status_changed_at   BIGINT NOT NULL,
    status_changed_by   TEXT,
    last_seen_at        BIGINT,
    online              BIGINT NOT NULL DEFAULT 0,
    battery_pct         BIGINT,
    lat_e7              BIGINT,
    lon_e7              BIGINT,
    accuracy_m          BIGINT,
    on_base             BIGINT,
    tamper              BIGINT,
    locked              BIGINT,
    buffered_events     BIGINT,
    CHECK (kind IN ('seal_box', 'seal_printer') OR seal_id IS NULL)
);
CREATE INDEX devices_org ON devices(org_id, enrolled_at);
CREATE UNIQUE INDEX devices_serial ON devices(org_id, serial) WHERE status <> 'revoked';
CREATE UNIQUE INDEX devices_mac ON devices(org_id, mac) WHERE status <> 'revoked';
CREATE UNIQUE INDEX devices_seal ON devices(seal_id) WHERE seal_id IS NOT NULL AND status <> 'revoked';
CREATE UNIQUE INDEX devices_terminal ON devices(org_id, terminal) WHERE terminal IS NOT NULL AND status <> 'revoked';

-- Nonces seen in signed device requests, kept for twice the clock window.
CREATE TABLE device_nonces (
    key_id          TEXT NOT NULL,
    nonce           TEXT NOT NULL,
    seen_at         BIGINT NOT NULL,
    PRIMARY KEY (key_id, nonce)
);
CREATE INDEX device_nonces_seen ON device_nonces(seen_at);

CREATE TABLE unlock_attempts (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organisations(id),
    device_id       TEXT NOT NULL REFERENCES devices(id),
    order_text      TEXT NOT NULL,
    application_id  TEXT REFERENCES applications(id),
    outcome         TEXT NOT NULL,
    at              BIGINT NOT NULL
);
CREATE INDEX unlock_attempts_device ON unlock_attempts(device_id, at);
CREATE INDEX unlock_attempts_application ON unlock_attempts(application_id, at);

-- A stamp is written once and never updated.
CREATE TABLE stamps (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organisations(id),
    device_id       TEXT NOT NULL REFERENCES devices(id),
    seq             BIGINT,
    kind            TEXT NOT NULL CHECK (kind IN ('press', 'print')),
    grant_id        TEXT REFERENCES grants(id),
    application_id  TEXT REFERENCES applications(id),
    seal_id         TEXT REFERENCES seals(id),
    device_time     BIGINT NOT NULL,
    received_at     BIGINT NOT NULL,
    lat_e7          BIGINT,
    lon_e7          BIGINT,
    accuracy_m      BIGINT,
    press_ms        BIGINT NOT NULL,
    factors         TEXT NOT NULL,
    photo_key       TEXT,
    photo_sha256    TEXT,
    beyond_grant    BIGINT NOT NULL
);
CREATE UNIQUE INDEX stamps_device_seq ON stamps(device_id, seq) WHERE seq IS NOT NULL;
CREATE INDEX stamps_application ON stamps(application_id, device_time);
CREATE INDEX stamps_org ON stamps(org_id, received_at);

CREATE TABLE device_commands (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organisations(id),
    device_id       TEXT NOT NULL REFERENCES devices(id),
    kind            TEXT NOT NULL CHECK (kind IN ('lock', 'cancel_grant', 'update_parameters')),
    grant_id        TEXT,
    parameters      TEXT,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    created_at      BIGINT NOT NULL,
    created_by      TEXT NOT NULL,
    sent_count      BIGINT NOT NULL DEFAULT 0,
    acked_at        BIGINT,
    note            TEXT NOT NULL DEFAULT ''
);
CREATE INDEX device_commands_device ON device_commands(device_id, status, created_at);

CREATE TABLE alarms (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organisations(id),
    kind            TEXT NOT NULL,
    severity        TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    status          TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    device_id       TEXT REFERENCES devices(id),
    seal_id         TEXT REFERENCES seals(id),
    application_id  TEXT REFERENCES applications(id),
    details         TEXT NOT NULL,
    occurrences     BIGINT NOT NULL,
    raised_at       BIGINT NOT NULL,
    last_at         BIGINT NOT NULL,
    acknowledged_at BIGINT,
    acknowledged_by TEXT,
    acknowledge_note TEXT NOT NULL DEFAULT '',
    resolved_at     BIGINT,
    resolved_by     TEXT,
    resolve_note    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alarms_org ON alarms(org_id, status, raised_at);
-- At most one standing alarm of a kind per device.
CREATE UNIQUE INDEX alarms_standing ON alarms(device_id, kind) WHERE device_id IS NOT NULL AND status <> 'resolved';
