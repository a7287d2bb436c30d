//! Webhook endpoints, the event outbox, deliveries and attempts. Every method filters by
//! the organisation id it is given, except the worker's [`Tx::claim_due_deliveries`]
//! and [`Tx::record_attempts`], which work across organisations by design: the worker
//! serves every organisation, and its outcomes name the delivery it claimed (each row
//! keeps its `org_id`, written into every attempt).

use seal_core::ids::{OrgId, WebhookDeliveryId, WebhookId};
use seal_core::time::Timestamp;
use seal_core::webhook::{EndpointUrl, EventKind, FilingTarget};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::{Tx, corrupt, parse_id};
use crate::StoreError;
use crate::webhook_records::{
    AttemptOutcome, DeliveryFilter, DeliveryStatus, DueDelivery, WebhookAttemptRecord,
    WebhookDeliveryRecord, WebhookEndpointRecord, WebhookEventRecord,
};

const ENDPOINT_COLUMNS: &str =
    "id, org_id, url, secret, kinds, filing_target, enabled, created_at, updated_at";

const DELIVERY_COLUMNS: &str = "d.id, d.org_id, d.event_id, d.endpoint_id, e.kind, d.status, \
     d.attempts, d.next_attempt_at, d.last_status_code, d.last_error, d.delivered_at, d.replay, \
     d.created_at";

/// The most rows one page may hold.
const MAX_PAGE: i64 = 1000;

impl Tx {
    // ----- endpoints -----------------------------------------------------------------

    pub async fn insert_webhook_endpoint(
        &mut self,
        endpoint: &WebhookEndpointRecord,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, org_id, url, secret, kinds, filing_target, enabled, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(endpoint.id.to_string())
        .bind(endpoint.org_id.to_string())
        .bind(endpoint.url.as_str().to_owned())
        .bind(endpoint.secret.clone())
        .bind(kinds_text(&endpoint.kinds))
        .bind(endpoint.filing_target.map(|t| t.key().to_owned()))
        .bind(i64::from(endpoint.enabled))
        .bind(endpoint.created_at.as_millis())
        .bind(endpoint.updated_at.as_millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// The organisation's endpoints, oldest first.
    pub async fn webhook_endpoints(
        &mut self,
        org: OrgId,
    ) -> Result<Vec<WebhookEndpointRecord>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE org_id = $1 ORDER BY created_at, id"
        )))
        .bind(org.to_string())
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(endpoint_from_row).collect()
    }

    pub async fn webhook_endpoint(
        &mut self,
        org: OrgId,
        id: WebhookId,
    ) -> Result<Option<WebhookEndpointRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE org_id = $1 AND id = $2"
        )))
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(endpoint_from_row).transpose()
    }

    /// Writes the endpoint's URL, kinds, filing target, enabled flag, secret and
    /// `updated_at` (the id and organisation select the row).
    pub async fn update_webhook_endpoint(
        &mut self,
        endpoint: &WebhookEndpointRecord,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE webhook_endpoints SET url = $1, secret = $2, kinds = $3, filing_target = $4, \
             enabled = $5, updated_at = $6 WHERE org_id = $7 AND id = $8",
        )
        .bind(endpoint.url.as_str().to_owned())
        .bind(endpoint.secret.clone())
        .bind(kinds_text(&endpoint.kinds))
        .bind(endpoint.filing_target.map(|t| t.key().to_owned()))
        .bind(i64::from(endpoint.enabled))
        .bind(endpoint.updated_at.as_millis())
        .bind(endpoint.org_id.to_string())
        .bind(endpoint.id.to_string())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Deletes an endpoint with its deliveries and their attempts (the events stay);
    /// returns how many deliveries went with it.
    pub async fn delete_webhook_endpoint(
        &mut self,
        org: OrgId,
        id: WebhookId,
    ) -> Result<u64, StoreError> {
        sqlx::query(
            "DELETE FROM webhook_attempts WHERE org_id = $1 AND delivery_id IN \
             (SELECT id FROM webhook_deliveries WHERE org_id = $1 AND endpoint_id = $2)",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .execute(self.conn())
        .await?;
        let deliveries =
            sqlx::query("DELETE FROM webhook_deliveries WHERE org_id = $1 AND endpoint_id = $2")
                .bind(org.to_string())
                .bind(id.to_string())
                .execute(self.conn())
                .await?
                .rows_affected();
        sqlx::query("DELETE FROM webhook_endpoints WHERE org_id = $1 AND id = $2")
            .bind(org.to_string())
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(deliveries)
    }

    // ----- events and deliveries -----------------------------------------------------

    pub async fn insert_webhook_event(
        &mut self,
        event: &WebhookEventRecord,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO webhook_events (id, org_id, kind, payload, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(event.id.clone())
        .bind(event.org_id.to_string())
        .bind(event.kind.key().to_owned())
        .bind(event.payload.clone())
        .bind(event.created_at.as_millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn webhook_event(
        &mut self,
        org: OrgId,
        id: &str,
    ) -> Result<Option<WebhookEventRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, org_id, kind, payload, created_at FROM webhook_events WHERE org_id = $1 AND id = $2",
        )
        .bind(org.to_string())
        .bind(id.to_owned())
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(event_from_row).transpose()
    }

    /// Adds a pending delivery of `event_id` to `endpoint`, due at `due`. The endpoint and
    /// the event must belong to `org` (the use case read them under its permit).
    pub async fn insert_webhook_delivery(
        &mut self,
        org: OrgId,
        id: WebhookDeliveryId,
        event_id: &str,
        endpoint: WebhookId,
        due: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, org_id, event_id, endpoint_id, status, attempts, \
             next_attempt_at, replay, created_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5, 0, $5)",
        )
        .bind(id.to_string())
        .bind(org.to_string())
        .bind(event_id.to_owned())
        .bind(endpoint.to_string())
        .bind(due.as_millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn webhook_delivery(
        &mut self,
        org: OrgId,
        id: WebhookDeliveryId,
    ) -> Result<Option<WebhookDeliveryRecord>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id \
             WHERE d.org_id = $1 AND d.id = $2"
        )))
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(delivery_from_row).transpose()
    }

    /// One page of the organisation's deliveries, newest first, and the total.
    pub async fn webhook_deliveries(
        &mut self,
        org: OrgId,
        filter: &DeliveryFilter,
    ) -> Result<(Vec<WebhookDeliveryRecord>, i64), StoreError> {
        let conditions =
            "d.org_id = $1 AND ($2 = '' OR d.status = $2) AND ($3 = '' OR d.endpoint_id = $3)";
        let status = filter
            .status
            .map(|s| s.key().to_owned())
            .unwrap_or_default();
        let endpoint = filter.endpoint.map(|e| e.to_string()).unwrap_or_default();
        let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM webhook_deliveries d WHERE {conditions}"
        )))
        .bind(org.to_string())
        .bind(status.clone())
        .bind(endpoint.clone())
        .fetch_one(self.conn())
        .await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id \
             WHERE {conditions} ORDER BY d.created_at DESC, d.id LIMIT $4 OFFSET $5"
        )))
        .bind(org.to_string())
        .bind(status)
        .bind(endpoint)
        .bind(filter.limit.clamp(0, MAX_PAGE))
        .bind(filter.offset.max(0))
        .fetch_all(self.conn())
        .await?;
        let deliveries = rows
            .iter()
            .map(delivery_from_row)
            .collect::<Result<_, _>>()?;
        Ok((deliveries, total))
    }

    /// The attempts of a delivery of the organisation, first first.
    pub async fn webhook_attempts(
        &mut self,
        org: OrgId,
        delivery: WebhookDeliveryId,
    ) -> Result<Vec<WebhookAttemptRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT delivery_id, n, at, status_code, error, duration_ms, replay FROM webhook_attempts \
             WHERE org_id = $1 AND delivery_id = $2 ORDER BY n",
        )
        .bind(org.to_string())
        .bind(delivery.to_string())
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(attempt_from_row).collect()
    }

    /// Makes a delivery of the organisation due at `now` again (whatever its state),
    /// marking its next attempt as a replay. The event, and so the `webhook-id`, stay.
    pub async fn replay_webhook_delivery(
        &mut self,
        org: OrgId,
        id: WebhookDeliveryId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE webhook_deliveries SET status = CASE WHEN status = 'failed' THEN 'failed' ELSE 'pending' END, \
             next_attempt_at = $1, replay = 1 WHERE org_id = $2 AND id = $3",
        )
        .bind(now.as_millis())
        .bind(org.to_string())
        .bind(id.to_string())
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    // ----- the worker (across organisations) -----------------------------------------

    /// Claims up to `limit` deliveries of any organisation that are due at `now` (open,
    /// `next_attempt_at <= now`, endpoint enabled), oldest due first, by moving their
    /// `next_attempt_at` to `lease_until`: another worker will not pick them until then,
    /// and if this one dies they become due again at that time.
    ///
    /// Cross-organisation by design: the delivery worker serves every organisation and
    /// is the only reader that does. Each claim is a conditional update on the value just
    /// read, so two workers racing on PostgreSQL (where this transaction is not exclusive)
    /// never both win the same row; on SQLite the write transaction is exclusive anyway.
    pub async fn claim_due_deliveries(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS}, w.url, w.secret, e.payload FROM webhook_deliveries d \
             JOIN webhook_events e ON e.id = d.event_id \
             JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.org_id = d.org_id \
             WHERE d.status IN ('pending', 'failed') AND d.next_attempt_at <= $1 AND w.enabled = 1 \
             ORDER BY d.next_attempt_at, d.id LIMIT $2"
        )))
        .bind(now.as_millis())
        .bind(limit.clamp(0, MAX_PAGE))
        .fetch_all(self.conn())
        .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let delivery = delivery_from_row(row)?;
            let won = sqlx::query(
                "UPDATE webhook_deliveries SET next_attempt_at = $1 \
                 WHERE id = $2 AND next_attempt_at = $3 AND attempts = $4 AND status IN ('pending', 'failed')",
            )
            .bind(lease_until.as_millis())
            .bind(delivery.id.to_string())
            .bind(delivery.next_attempt_at.as_millis())
            .bind(delivery.attempts)
            .execute(self.conn())
            .await?
            .rows_affected()
                == 1;
            if !won {
                continue;
            }
            let url: String = row.try_get("url")?;
            claimed.push(DueDelivery {
                url: EndpointUrl::parse(&url, true).map_err(|e| corrupt("webhook url", e))?,
                secret: row.try_get("secret")?,
                payload: row.try_get("payload")?,
                delivery: WebhookDeliveryRecord {
                    next_attempt_at: lease_until,
                    ..delivery
                },
            });
        }
        Ok(claimed)
    }

    /// Records attempts made by the worker: each updates its delivery (only when the
    /// delivery still has the attempts count it was claimed with, so an attempt by a
    /// worker whose lease expired and was taken over is not counted twice) and appends
    /// the attempt. Returns how many were recorded.
    pub async fn record_attempts(
        &mut self,
        outcomes: &[AttemptOutcome],
    ) -> Result<u64, StoreError> {
        let mut recorded = 0;
        for outcome in outcomes {
            let delivered = outcome.status == DeliveryStatus::Delivered;
            let updated = sqlx::query(
                "UPDATE webhook_deliveries SET status = $1, attempts = attempts + 1, next_attempt_at = $2, \
                 last_status_code = $3, last_error = $4, \
                 delivered_at = CASE WHEN $5 = 1 THEN $6 ELSE delivered_at END, replay = 0 \
                 WHERE org_id = $7 AND id = $8 AND attempts = $9",
            )
            .bind(outcome.status.key().to_owned())
            .bind(outcome.next_attempt_at.as_millis())
            .bind(outcome.status_code)
            .bind(Some(outcome.error.clone()).filter(|e| !e.is_empty()))
            .bind(i64::from(delivered))
            .bind(outcome.at.as_millis())
            .bind(outcome.org_id.to_string())
            .bind(outcome.delivery_id.to_string())
            .bind(outcome.attempts_before)
            .execute(self.conn())
            .await?
            .rows_affected();
            if updated != 1 {
                continue;
            }
            sqlx::query(
                "INSERT INTO webhook_attempts (delivery_id, n, org_id, at, status_code, error, duration_ms, replay) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(outcome.delivery_id.to_string())
            .bind(outcome.attempts_before + 1)
            .bind(outcome.org_id.to_string())
            .bind(outcome.at.as_millis())
            .bind(outcome.status_code)
            .bind(outcome.error.clone())
            .bind(outcome.duration_ms)
            .bind(i64::from(outcome.replay))
            .execute(self.conn())
            .await?;
            recorded += 1;
        }
        Ok(recorded)
    }
}

fn kinds_text(kinds: &[EventKind]) -> String {
    kinds.iter().map(|k| k.key()).collect::<Vec<_>>().join(" ")
}

fn kinds_from_text(text: &str) -> Result<Vec<EventKind>, StoreError> {
    text.split_whitespace()
        .map(|key| EventKind::parse(key).ok_or_else(|| corrupt("event kind", key)))
        .collect()
}

fn endpoint_from_row(row: &AnyRow) -> Result<WebhookEndpointRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let org: String = row.try_get("org_id")?;
    let url: String = row.try_get("url")?;
    let kinds: String = row.try_get("kinds")?;
    let filing: Option<String> = row.try_get("filing_target")?;
    Ok(WebhookEndpointRecord {
        id: parse_id(&id, WebhookId::parse)?,
        org_id: parse_id(&org, OrgId::parse)?,
        url: EndpointUrl::parse(&url, true).map_err(|e| corrupt("webhook url", e))?,
        secret: row.try_get("secret")?,
        kinds: kinds_from_text(&kinds)?,
        filing_target: filing
            .as_deref()
            .map(|f| FilingTarget::parse(f).ok_or_else(|| corrupt("filing target", f)))
            .transpose()?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

fn event_from_row(row: &AnyRow) -> Result<WebhookEventRecord, StoreError> {
    let org: String = row.try_get("org_id")?;
    let kind: String = row.try_get("kind")?;
    Ok(WebhookEventRecord {
        id: row.try_get("id")?,
        org_id: parse_id(&org, OrgId::parse)?,
        kind: EventKind::parse(&kind).ok_or_else(|| corrupt("event kind", &kind))?,
        payload: row.try_get("payload")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
    })
}

fn delivery_from_row(row: &AnyRow) -> Result<WebhookDeliveryRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let org: String = row.try_get("org_id")?;
    let endpoint: String = row.try_get("endpoint_id")?;
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    Ok(WebhookDeliveryRecord {
        id: parse_id(&id, WebhookDeliveryId::parse)?,
        org_id: parse_id(&org, OrgId::parse)?,
        event_id: row.try_get("event_id")?,
        endpoint_id: parse_id(&endpoint, WebhookId::parse)?,
        kind: EventKind::parse(&kind).ok_or_else(|| corrupt("event kind", &kind))?,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| corrupt("delivery status", &status))?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: Timestamp::from_millis(row.try_get("next_attempt_at")?),
        last_status_code: row.try_get("last_status_code")?,
        last_error: row.try_get("last_error")?,
        delivered_at: row
            .try_get::<Option<i64>, _>("delivered_at")?
            .map(Timestamp::from_millis),
        replay: row.try_get::<i64, _>("replay")? != 0,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
    })
}

fn attempt_from_row(row: &AnyRow) -> Result<WebhookAttemptRecord, StoreError> {
    let id: String = row.try_get("delivery_id")?;
    Ok(WebhookAttemptRecord {
        delivery_id: parse_id(&id, WebhookDeliveryId::parse)?,
        n: row.try_get("n")?,
        at: Timestamp::from_millis(row.try_get("at")?),
        status_code: row.try_get("status_code")?,
        error: row.try_get("error")?,
        duration_ms: row.try_get("duration_ms")?,
        replay: row.try_get::<i64, _>("replay")? != 0,
    })
}
