-- Webhooks and filing targets (SQLite): endpoints, the event outbox, one delivery per
-- event and endpoint, and every attempt. Integers are INTEGER (64-bit); booleans are
-- 0/1 integers; ids are UUID text, event ids are Standard Webhooks message ids.

CREATE TABLE webhook_endpoints (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organisations(id),
    url            TEXT NOT NULL,
    secret         TEXT NOT NULL,
    kinds          TEXT NOT NULL,
    filing_target  TEXT CHECK (filing_target IN ('public_security', 'third_party', 'own_unit')),
    enabled        INTEGER NOT NULL DEFAULT 1,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints(org_id, created_at);

-- The outbox: written in the same transaction as the change it reports.
CREATE TABLE webhook_events (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organisations(id),
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX webhook_events_org ON webhook_events(org_id, created_at);

CREATE TABLE webhook_deliveries (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES organisations(id),
    event_id          TEXT NOT NULL REFERENCES webhook_events(id),
    endpoint_id       TEXT NOT NULL REFERENCES webhook_endpoints(id),
    status            TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'given_up')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER NOT NULL,
    last_status_code  INTEGER,
    last_error        TEXT,
    delivered_at      INTEGER,
    replay            INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    UNIQUE (event_id, endpoint_id)
);
-- The worker's query: due deliveries of every organisation.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_org ON webhook_deliveries(org_id, created_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id);

CREATE TABLE webhook_attempts (
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries(id),
    n            INTEGER NOT NULL,
    org_id       TEXT NOT NULL REFERENCES organisations(id),
    at           INTEGER NOT NULL,
    status_code  INTEGER,
    error        TEXT NOT NULL DEFAULT '',
    duration_ms  INTEGER NOT NULL,
    replay       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (delivery_id, n)
);
