//! The values the store reads and writes for webhooks: endpoints (with their signing
//! secret, which only the worker and the creating use case ever see), events (the
//! outbox), deliveries and attempts. Rows are converted to these in `sql/webhooks.rs`.

use seal_core::ids::{OrgId, WebhookDeliveryId, WebhookId};
use seal_core::time::Timestamp;
use seal_core::webhook::{EndpointUrl, EventKind, FilingTarget};

/// A webhook endpoint. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookEndpointRecord {
    pub id: WebhookId,
    pub org_id: OrgId,
    pub url: EndpointUrl,
    /// `whsec_` and base64; needed in clear to sign, never shown after creation or rotation.
    pub secret: String,
    /// The subscribed kinds, normalised (`seal_core::webhook::normalise_kinds`).
    pub kinds: Vec<EventKind>,
    pub filing_target: Option<FilingTarget>,
    pub enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl std::fmt::Debug for WebhookEndpointRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEndpointRecord")
            .field("id", &self.id)
            .field("org_id", &self.org_id)
            .field("url", &self.url)
            .field("secret", &"[redacted]")
            .field("kinds", &self.kinds)
            .field("filing_target", &self.filing_target)
            .field("enabled", &self.enabled)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// An event in the outbox: the exact body every delivery of it sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookEventRecord {
    /// The Standard Webhooks message id (`msg_…`), sent as `webhook-id`.
    pub id: String,
    pub org_id: OrgId,
    pub kind: EventKind,
    /// The JSON body, stored as sent.
    pub payload: String,
    pub created_at: Timestamp,
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Waiting for its first attempt (or for the attempt a replay asked for).
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// The last attempt failed; another is scheduled.
    Failed,
    /// Every attempt of the schedule failed; no more are made unless replayed.
    GivenUp,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 4] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Delivered,
        DeliveryStatus::Failed,
        DeliveryStatus::GivenUp,
    ];

    pub const fn key(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::GivenUp => "given_up",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }

    /// Whether the worker still makes attempts in this state.
    pub const fn is_open(self) -> bool {
        matches!(self, DeliveryStatus::Pending | DeliveryStatus::Failed)
    }
}

/// One event's delivery to one endpoint, with the event's kind for lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookDeliveryRecord {
    pub id: WebhookDeliveryId,
    pub org_id: OrgId,
    pub event_id: String,
    pub endpoint_id: WebhookId,
    pub kind: EventKind,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<Timestamp>,
    /// A replay was asked for and its attempt has not been made yet.
    pub replay: bool,
    pub created_at: Timestamp,
}

/// One attempt to deliver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookAttemptRecord {
    pub delivery_id: WebhookDeliveryId,
    /// 1 for the first attempt.
    pub n: i64,
    pub at: Timestamp,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<i64>,
    /// What went wrong (empty on success), truncated.
    pub error: String,
    pub duration_ms: i64,
    /// Made because someone asked for a replay.
    pub replay: bool,
}

/// A delivery the worker has claimed, with what it needs to send it.
#[derive(Clone, PartialEq, Eq)]
pub struct DueDelivery {
    pub delivery: WebhookDeliveryRecord,
    pub url: EndpointUrl,
    pub secret: String,
    pub payload: String,
}

impl std::fmt::Debug for DueDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DueDelivery")
            .field("delivery", &self.delivery)
            .field("url", &self.url)
            .field("secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// The outcome of one attempt, as the worker records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptOutcome {
    pub delivery_id: WebhookDeliveryId,
    pub org_id: OrgId,
    /// The attempts count the delivery had when it was claimed; the record is written
    /// only when it still has it (another worker did not take over meanwhile).
    pub attempts_before: i64,
    pub at: Timestamp,
    pub status_code: Option<i64>,
    pub error: String,
    pub duration_ms: i64,
    pub replay: bool,
    /// The state after this attempt, and when the next one is due (for `Failed`).
    pub status: DeliveryStatus,
    pub next_attempt_at: Timestamp,
}

/// Filter for [`crate::Tx::webhook_deliveries`].
#[derive(Clone, Debug, Default)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub endpoint: Option<WebhookId>,
    pub offset: i64,
    pub limit: i64,
}
