//! Webhooks and filing targets (备案): endpoints an organisation registers, the
//! transactional outbox other use cases write to ([`enqueue`]), and the delivery worker
//! ([`App::deliver_due_webhooks`]) that signs each message the Standard Webhooks way and
//! retries on the schedule of [`seal_core::webhook`].
//!
//! The outbox invariant: an event row and its deliveries are written by [`enqueue`] in
//! the transaction of the change they report, so a committed change always has its
//! deliveries and a rolled-back one never sends anything. The worker is the only reader
//! across organisations.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::StreamExt;
use hmac::{Hmac, Mac};
use rand::RngCore;
use seal_core::ids::{OrgId, WebhookDeliveryId, WebhookId};
use seal_core::permission::Permission;
use seal_core::time::Timestamp;
use seal_core::webhook::{
    EndpointUrl, EventKind, FilingTarget, Host, is_private_ip, message_id, normalise_kinds,
    retry_delay_millis,
};
use seal_store::{
    AttemptOutcome, DeliveryFilter, DeliveryStatus, DueDelivery, Tx, WebhookAttemptRecord,
    WebhookDeliveryRecord, WebhookEndpointRecord, WebhookEventRecord,
};
use sha2::Sha256;

use crate::audit::record_by;
use crate::directory::Page;
use crate::error::{Conflict, Entity, Invalid};
use crate::policy::{self, Principal};
use crate::{App, AppError, RequestContext, secrets};

/// Prefix of webhook signing secrets (Standard Webhooks).
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a generated secret.
pub const SECRET_BYTES: usize = 24;
/// Longest error text kept with an attempt.
pub const ERROR_MAX_CHARS: usize = 500;
/// How long a claimed delivery is reserved for the worker that claimed it, at least.
const MIN_LEASE_SECONDS: i64 = 60;

// ----- the outbox ------------------------------------------------------------------------

/// Writes a webhook event of `org` and, in the same transaction, one pending delivery to
/// every enabled endpoint of `org` subscribed to `kind`. Call it from a use case inside
/// its own transaction, before `tx.commit()`; after the commit, call
/// [`App::wake_webhook_worker`] so the worker sends at once rather than at its next poll.
///
/// The body is the Standard Webhooks payload `{"type": kind, "timestamp": now (RFC 3339),
/// "data": data}`, stored as sent; its message id (`msg_…`) is the `webhook-id` of every
/// delivery and retry.
pub(crate) async fn enqueue(
    tx: &mut Tx,
    org: OrgId,
    kind: EventKind,
    data: serde_json::Value,
    now: Timestamp,
) -> Result<(), AppError> {
    let endpoints = tx.webhook_endpoints(org).await?;
    let targets: Vec<WebhookId> = endpoints
        .iter()
        .filter(|e| e.enabled && e.kinds.contains(&kind))
        .map(|e| e.id)
        .collect();
    write_event(tx, org, kind, data, now, &targets).await?;
    Ok(())
}

/// The endpoints of `org` subscribed to `kind`, read once per `cache` (a group commit
/// writes many events of few organisations in one transaction).
pub(crate) async fn targets(
    tx: &mut Tx,
    org: OrgId,
    kind: EventKind,
    cache: &mut std::collections::HashMap<OrgId, Vec<WebhookEndpointRecord>>,
) -> Result<Vec<WebhookId>, AppError> {
    let endpoints = match cache.entry(org) {
        std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
        std::collections::hash_map::Entry::Vacant(entry) => {
            entry.insert(tx.webhook_endpoints(org).await?)
        }
    };
    Ok(endpoints
        .iter()
        .filter(|e| e.enabled && e.kinds.contains(&kind))
        .map(|e| e.id)
        .collect())
}

/// An outbox event as stored: the Standard Webhooks payload and a new message id.
pub(crate) fn event_record(
    org: OrgId,
    kind: EventKind,
    data: serde_json::Value,
    now: Timestamp,
) -> WebhookEventRecord {
    let payload = serde_json::json!({
        "type": kind.key(),
        "timestamp": now.to_string(),
        "data": data,
    });
    WebhookEventRecord {
        id: message_id(secrets::id_bytes()),
        org_id: org,
        kind,
        payload: payload.to_string(),
        created_at: now,
    }
}

/// Writes the event and its deliveries to `endpoints`; returns the event and the
/// delivery ids in the order of `endpoints`.
async fn write_event(
    tx: &mut Tx,
    org: OrgId,
    kind: EventKind,
    data: serde_json::Value,
    now: Timestamp,
    endpoints: &[WebhookId],
) -> Result<(WebhookEventRecord, Vec<WebhookDeliveryId>), AppError> {
    let event = event_record(org, kind, data, now);
    tx.insert_webhook_event(&event).await?;
    let mut ids = Vec::with_capacity(endpoints.len());
    for endpoint in endpoints {
        let id = WebhookDeliveryId::from_bytes(secrets::id_bytes());
        tx.insert_webhook_delivery(org, id, &event.id, *endpoint, now)
            .await?;
        ids.push(id);
    }
    Ok((event, ids))
}

// ----- secrets and signatures ------------------------------------------------------------

/// A new signing secret: `whsec_` and the base64 of 24 random bytes.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The key bytes of a secret in the Standard Webhooks format (`whsec_` and standard
/// base64 of 24 to 64 bytes); `None` when it is not one.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    let encoded = secret.strip_prefix(SECRET_PREFIX)?;
    let bytes = STANDARD.decode(encoded).ok()?;
    (SECRET_BYTES..=64).contains(&bytes.len()).then_some(bytes)
}

/// The `webhook-signature` header value: `v1,` and the base64 of
/// HMAC-SHA256(key, "{id}.{timestamp}.{body}").
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> Result<String, AppError> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .map_err(|e| AppError::Internal(format!("hmac key: {e}")))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

// ----- use cases -------------------------------------------------------------------------

/// What a person asks for when creating an endpoint.
#[derive(Clone, Debug, Default)]
pub struct WebhookInput {
    pub url: String,
    /// Event kind keys, e.g. `seal.created`.
    pub kinds: Vec<String>,
    /// A filing-target key (`public_security`, `third_party`, `own_unit`), or none.
    pub filing_target: Option<String>,
    pub enabled: bool,
    /// A secret in the `whsec_` format to use instead of a generated one.
    pub secret: Option<String>,
}

/// Changes to an endpoint; `None` keeps the field.
#[derive(Clone, Debug, Default)]
pub struct WebhookChanges {
    pub url: Option<String>,
    pub kinds: Option<Vec<String>>,
    /// `Some(None)` clears the filing-target marker.
    pub filing_target: Option<Option<String>>,
    pub enabled: Option<bool>,
}

/// An endpoint with its secret, right after creation or rotation: the only time the
/// secret is shown. `Debug` hides it.
pub struct WebhookWithSecret {
    pub endpoint: WebhookEndpointRecord,
    pub secret: String,
}

impl std::fmt::Debug for WebhookWithSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookWithSecret")
            .field("endpoint", &self.endpoint)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// Which deliveries to list.
#[derive(Clone, Debug, Default)]
pub struct DeliveryQuery {
    /// A status key (`pending`, `delivered`, `failed`, `given_up`), or none for all.
    pub status: Option<String>,
    pub endpoint: Option<WebhookId>,
    pub page: Page,
}

/// A delivery with its event and every attempt.
#[derive(Clone, Debug)]
pub struct DeliveryDetail {
    pub delivery: WebhookDeliveryRecord,
    pub event: WebhookEventRecord,
    pub endpoint_url: String,
    pub attempts: Vec<WebhookAttemptRecord>,
}

fn parse_kinds(keys: &[String]) -> Result<Vec<EventKind>, AppError> {
    keys.iter()
        .map(|key| {
            EventKind::parse_subscribable(key.trim())
                .ok_or_else(|| AppError::invalid("kinds", Invalid::UnknownEventKind(key.clone())))
        })
        .collect()
}

fn parse_filing(key: Option<&str>) -> Result<Option<FilingTarget>, AppError> {
    match key.map(str::trim).filter(|k| !k.is_empty()) {
        None => Ok(None),
        Some(key) => FilingTarget::parse(key).map(Some).ok_or_else(|| {
            AppError::invalid(
                "filing_target",
                Invalid::UnknownFilingTarget(key.to_owned()),
            )
        }),
    }
}

fn checked_kinds(
    kinds: &[EventKind],
    filing: Option<FilingTarget>,
) -> Result<Vec<EventKind>, AppError> {
    let kinds = normalise_kinds(kinds, filing);
    if kinds.is_empty() {
        return Err(AppError::invalid("kinds", Invalid::NoEventKinds));
    }
    Ok(kinds)
}

fn chosen_secret(secret: Option<&str>) -> Result<String, AppError> {
    match secret.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(generate_secret()),
        Some(secret) if secret_key(secret).is_some() => Ok(secret.to_owned()),
        Some(_) => Err(AppError::invalid("secret", Invalid::WebhookSecret)),
    }
}

/// The record as lists and pages get it: without the secret.
fn without_secret(mut endpoint: WebhookEndpointRecord) -> WebhookEndpointRecord {
    endpoint.secret.clear();
    endpoint
}

fn kinds_detail(kinds: &[EventKind]) -> String {
    kinds.iter().map(|k| k.key()).collect::<Vec<_>>().join(" ")
}

impl App {
    fn endpoint_url(&self, text: &str) -> Result<EndpointUrl, AppError> {
        EndpointUrl::parse(text, self.settings().webhooks_allow_private_targets)
            .map_err(|e| AppError::invalid("url", Invalid::WebhookUrl(e)))
    }

    /// Registers an endpoint (`webhooks.manage`). The secret is generated unless one in
    /// the `whsec_` format is given; it is returned this once.
    pub async fn create_webhook(
        &self,
        principal: &Principal,
        input: &WebhookInput,
        context: &RequestContext,
    ) -> Result<WebhookWithSecret, AppError> {
        let permit = policy::authorize(principal, Permission::WebhooksManage)?;
        let url = self.endpoint_url(&input.url)?;
        let filing = parse_filing(input.filing_target.as_deref())?;
        let kinds = checked_kinds(&parse_kinds(&input.kinds)?, filing)?;
        let secret = chosen_secret(input.secret.as_deref())?;
        let now = self.now();
        let endpoint = WebhookEndpointRecord {
            id: WebhookId::from_bytes(secrets::id_bytes()),
            org_id: permit.org(),
            url,
            secret: secret.clone(),
            kinds,
            filing_target: filing,
            enabled: input.enabled,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store().write().await?;
        tx.insert_webhook_endpoint(&endpoint).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "webhook.created",
            format!("webhook:{}", endpoint.id),
            vec![
                ("url", endpoint.url.to_string()),
                ("kinds", kinds_detail(&endpoint.kinds)),
                (
                    "filing_target",
                    filing.map(|f| f.key().to_owned()).unwrap_or_default(),
                ),
                ("enabled", endpoint.enabled.to_string()),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(WebhookWithSecret {
            endpoint: without_secret(endpoint),
            secret,
        })
    }

    /// The organisation's endpoints, without their secrets (`webhooks.manage`).
    pub async fn list_webhooks(
        &self,
        principal: &Principal,
    ) -> Result<Vec<WebhookEndpointRecord>, AppError> {
        let permit = policy::authorize(principal, Permission::WebhooksManage)?;
        let mut tx = self.store().read().await?;
        let endpoints = tx.webhook_endpoints(permit.org()).await?;
        tx.commit().await?;
        Ok(endpoints.into_iter().map(without_secret).collect())
    }

    /// One endpoint, without its secret (`webhooks.manage`).
    pub async fn webhook(
        &self,
        principal: &Principal,
        id: WebhookId,
    ) -> Result<WebhookEndpointRecord, AppError> {
        let permit = policy::authorize(principal, Permission::WebhooksManage)?;
        let mut tx = self.store().read().await?;
        let endpoint = tx
            .webhook_endpoint(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Webhook))?;
        tx.commit().await?;
        Ok(without_secret(endpoint))
    }

    /// Changes an endpoint's URL, kinds, filing target or enabled flag (`webhooks.manage`).
    pub async fn update_webhook(
        &self,
        principal: &Principal,
        id: WebhookId,
        changes: &WebhookChanges,
        context: &RequestContext,
    ) -> Result<WebhookEndpointRecord, AppError> {
        let permit = policy::authorize(principal, Permission::WebhooksManage)?;
        let url = changes
            .url
            .as_deref()
            .map(|u| self.endpoint_url(u))
            .transpose()?;
        let filing = changes
            .filing_target
            .as_ref()
            .map(|f| parse_filing(f.as_deref()))
            .transpose()?;
        let kinds = changes.kinds.as_deref().map(parse_kinds).transpose()?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let old = tx
            .webhook_endpoint(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Webhook))?;
        let mut endpoint = old.clone();
        if let Some(url) = url {
            endpoint.url = url;
        }
        if let Some(filing) = filing {
            endpoint.filing_target = filing;
        }
        let kinds = kinds.unwrap_or_else(|| old.kinds.clone());
        endpoint.kinds = checked_kinds(&kinds, endpoint.filing_target)?;
        if let Some(enabled) = changes.enabled {
            endpoint.enabled = enabled;
        }
        endpoint.updated_at = now;
        tx.update_webhook_endpoint(&endpoint).await?;
        let mut details = vec![];
        if endpoint.url != old.url {
            details.push(("url", endpoint.url.to_string()));
            details.push(("old_url", old.url.to_string()));
        }
        if endpoint.kinds != old.kinds {
            details.push(("kinds", kinds_detail(&endpoint.kinds)));
        }
        if endpoint.filing_target != old.filing_target {
            details.push((
                "filing_target",
                endpoint
                    .filing_target
                    .map(|f| f.key().to_owned())
                    .unwrap_or_default(),
            ));
        }
        if endpoint.enabled != old.enabled {
            details.push(("enabled", endpoint.enabled.to_string()));
        }
        if !details.is_empty() {
            record_by(
                &mut tx,
                &permit,
                now,
                context,
                "webhook.updated",
                format!("webhook:{id}"),
                details,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(without_secret(endpoint))
    }

    /// Replaces an endpoint's secret with a new one (generated, or given in the `whsec_`
    /// format) and returns it this once (`webhooks.manage`). Deliveries not yet sent are
    /// signed with the new secret.
    pub async fn rotate_webhook_secret(
        &self,
        principal: &Principal,
        id: WebhookId,
        secret: Option<&str>,
        context: &RequestContext,
    ) -> Result<WebhookWithSecret, AppError> {
        let permit = policy::authorize(principal, Permission::WebhooksManage)?;
        let secret = chosen_secret(secret)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let mut endpoint = tx
            .webhook_endpoint(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Webhook))?;
        endpoint.secret = secret.clone();
        endpoint.updated_at = now;
        tx.update_webhook_endpoint(&endpoint).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "webhook.secret_rotated",
            format!("webhook:{id}"),
            vec![("url", endpoint.url.to_string())],
        )
        .await?;
        tx.commit().await?;
        Ok(WebhookWithSecret {
            endpoint: without_secret(endpoint),
            secret,
        })
    }

    /// Deletes an endpoint with its deliveries and their attempts (`webhooks.manage`);
    /// the audit event keeps what it was. To stop sending but keep the history, disable it.
    pub async fn delete_webhook(
        &self,
        principal: &Principal,
        id: WebhookId,
        context: &RequestContext,
    ) -> Result<(), AppError> {
        let permit = policy::authorize(principal, Permission::WebhooksManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let endpoint = tx
            .webhook_endpoint(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Webhook))?;
        let deliveries = tx.delete_webhook_endpoint(permit.org(), id).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "webhook.deleted",
            format!("webhook:{id}"),
            vec![
                ("url", endpoint.url.to_string()),
                ("deliveries", deliveries.to_string()),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sends a `webhook.test` event to this endpoint only (`webhooks.manage`); returns its
    /// delivery, which the worker sends at once.
    pub async fn send_test_webhook(
        &self,
        principal: &Principal,
        id: WebhookId,
        context: &RequestContext,
    ) -> Result<WebhookDeliveryRecord, AppError> {
        let permit = policy::authorize(principal, Permission::WebhooksManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let endpoint = tx
            .webhook_endpoint(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Webhook))?;
        if !endpoint.enabled {
            return Err(AppError::Conflict(Conflict::WebhookDisabled));
        }
        let data = serde_json::json!({
            "endpoint_id": id.to_string(),
            "organisation": principal.org.code.as_str(),
            "message": "Sealkeeper webhook test / 测试事件",
        });
        let (_, deliveries) =
            write_event(&mut tx, permit.org(), EventKind::Test, data, now, &[id]).await?;
        let delivery_id = deliveries
            .first()
            .copied()
            .ok_or_else(|| AppError::Internal("test delivery not written".to_owned()))?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "webhook.tested",
            format!("webhook:{id}"),
            vec![("delivery", delivery_id.to_string())],
        )
        .await?;
        let delivery = tx
            .webhook_delivery(permit.org(), delivery_id)
            .await?
            .ok_or(AppError::NotFound(Entity::WebhookDelivery))?;
        tx.commit().await?;
        self.wake_webhook_worker();
        Ok(delivery)
    }

    /// A page of the organisation's deliveries, newest first, and the total
    /// (`webhooks.manage`).
    pub async fn list_webhook_deliveries(
        &self,
        principal: &Principal,
        query: &DeliveryQuery,
    ) -> Result<(Vec<WebhookDeliveryRecord>, i64), AppError> {
        let permit = policy::authorize(principal, Permission::WebhooksManage)?;
        let status = match query.status.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(key) => Some(DeliveryStatus::parse(key).ok_or_else(|| {
                AppError::invalid("status", Invalid::UnknownDeliveryStatus(key.to_owned()))
            })?),
        };
        let filter = DeliveryFilter {
            status,
            endpoint: query.endpoint,
            offset: query.page.offset(),
            limit: query.page.limit(),
        };
        let mut tx = self.store().read().await?;
        let result = tx.webhook_deliveries(permit.org(), &filter).await?;
        tx.commit().await?;
        Ok(result)
    }

    /// One delivery with its event and attempts (`webhooks.manage`).
    pub async fn webhook_delivery(
        &self,
        principal: &Principal,
        id: WebhookDeliveryId,
    ) -> Result<DeliveryDetail, AppError> {
        let permit = policy::authorize(principal, Permission::WebhooksManage)?;
        let mut tx = self.store().read().await?;
        let delivery = tx
            .webhook_delivery(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::WebhookDelivery))?;
        let event = tx
            .webhook_event(permit.org(), &delivery.event_id)
            .await?
            .ok_or(AppError::NotFound(Entity::WebhookDelivery))?;
        let endpoint_url = tx
            .webhook_endpoint(permit.org(), delivery.endpoint_id)
            .await?
            .map(|e| e.url.to_string())
            .unwrap_or_default();
        let attempts = tx.webhook_attempts(permit.org(), id).await?;
        tx.commit().await?;
        Ok(DeliveryDetail {
            delivery,
            event,
            endpoint_url,
            attempts,
        })
    }

    /// Makes a delivery due now again, whatever its state (`webhooks.manage`): the same
    /// event is sent with the same `webhook-id`, freshly timestamped and signed.
    pub async fn replay_webhook_delivery(
        &self,
        principal: &Principal,
        id: WebhookDeliveryId,
        context: &RequestContext,
    ) -> Result<WebhookDeliveryRecord, AppError> {
        let permit = policy::authorize(principal, Permission::WebhooksManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let before = tx
            .webhook_delivery(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::WebhookDelivery))?;
        tx.replay_webhook_delivery(permit.org(), id, now).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "webhook.delivery_replayed",
            format!("webhook_delivery:{id}"),
            vec![
                ("event", before.event_id.clone()),
                ("status", before.status.key().to_owned()),
            ],
        )
        .await?;
        let delivery = tx
            .webhook_delivery(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::WebhookDelivery))?;
        tx.commit().await?;
        self.wake_webhook_worker();
        Ok(delivery)
    }
}

// ----- the worker ------------------------------------------------------------------------

/// How the worker sends.
#[derive(Clone, Debug)]
pub struct WebhookClientOptions {
    /// Time allowed for one attempt (connect, send, answer).
    pub timeout: Duration,
    /// Deliveries sent at the same time.
    pub concurrency: usize,
    /// Whether loopback, private and link-local targets may be reached.
    pub allow_private_targets: bool,
}

impl Default for WebhookClientOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            concurrency: 16,
            allow_private_targets: false,
        }
    }
}

/// The HTTP client of the delivery worker: a timeout, no redirects, no proxy, and (unless
/// private targets are allowed) a resolver that refuses names resolving to loopback,
/// private or link-local addresses, so what was checked is what is connected to.
#[derive(Clone, Debug)]
pub struct WebhookClient {
    http: reqwest::Client,
    options: WebhookClientOptions,
}

impl WebhookClient {
    pub fn new(options: WebhookClientOptions) -> Result<WebhookClient, AppError> {
        let mut builder = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("Sealkeeper-Webhooks/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(options.concurrency.max(1));
        if !options.allow_private_targets {
            builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
        }
        let http = builder
            .build()
            .map_err(|e| AppError::Internal(format!("webhook client: {e}")))?;
        Ok(WebhookClient { http, options })
    }

    pub fn options(&self) -> &WebhookClientOptions {
        &self.options
    }
}

/// A name resolved to an address webhooks may not reach.
#[derive(Debug, thiserror::Error)]
#[error(
    "refused: {name} resolves to {address}, a loopback, private or link-local address (webhooks.allow_private_targets is off)"
)]
pub struct PrivateTarget {
    name: String,
    address: std::net::IpAddr,
}

/// Resolves through the system resolver and refuses a name when any of its addresses is
/// private.
#[derive(Debug)]
struct PublicOnlyResolver;

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if let Some(private) = addrs.iter().find(|a| is_private_ip(a.ip())) {
                return Err(Box::new(PrivateTarget {
                    name,
                    address: private.ip(),
                })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// What one round of the worker did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryRound {
    /// Deliveries claimed (and attempted).
    pub claimed: usize,
    pub delivered: usize,
    /// Failed attempts that will be retried.
    pub failed: usize,
    /// Failed attempts that ended their delivery's schedule.
    pub given_up: usize,
}

/// The result of sending once.
struct Sent {
    at: Timestamp,
    status_code: Option<i64>,
    error: String,
    duration_ms: i64,
}

impl App {
    /// Wakes the delivery worker: call after committing a transaction in which
    /// [`enqueue`] wrote deliveries. Without it they go out at the worker's next poll.
    pub fn wake_webhook_worker(&self) {
        self.webhook_wake().notify_one();
    }

    /// One round of the delivery worker, across every organisation: claims up to `limit`
    /// due deliveries (leasing them, so other workers skip them and a crash only delays
    /// them), sends them concurrently, and records every attempt; failed ones are
    /// scheduled again by [`retry_delay_millis`] with random jitter, or given up when the
    /// schedule is exhausted.
    pub async fn deliver_due_webhooks(
        &self,
        client: &WebhookClient,
        limit: usize,
    ) -> Result<DeliveryRound, AppError> {
        let now = self.now();
        let lease = MIN_LEASE_SECONDS
            .max(3 * i64::try_from(client.options.timeout.as_secs()).unwrap_or(i64::MAX / 4));
        let mut tx = self.store().write().await?;
        let due = tx
            .claim_due_deliveries(
                now,
                now.plus_seconds(lease),
                i64::try_from(limit).unwrap_or(i64::MAX),
            )
            .await?;
        tx.commit().await?;
        let mut round = DeliveryRound {
            claimed: due.len(),
            ..DeliveryRound::default()
        };
        if due.is_empty() {
            return Ok(round);
        }
        let sent: Vec<(DueDelivery, Sent)> = futures::stream::iter(due)
            .map(|delivery| async move {
                let sent = self.send_once(client, &delivery).await;
                (delivery, sent)
            })
            .buffer_unordered(client.options.concurrency.max(1))
            .collect()
            .await;
        let mut outcomes = Vec::with_capacity(sent.len());
        for (due, sent) in sent {
            let ok = sent.status_code.is_some_and(|c| (200..300).contains(&c));
            let (status, next_attempt_at) = if ok {
                round.delivered += 1;
                (DeliveryStatus::Delivered, sent.at)
            } else {
                let failed = u32::try_from(due.delivery.attempts + 1).unwrap_or(u32::MAX);
                match retry_delay_millis(failed, rand::random::<f64>()) {
                    Some(delay) => {
                        round.failed += 1;
                        (
                            DeliveryStatus::Failed,
                            Timestamp::from_millis(sent.at.as_millis().saturating_add(delay)),
                        )
                    }
                    None => {
                        round.given_up += 1;
                        (DeliveryStatus::GivenUp, sent.at)
                    }
                }
            };
            outcomes.push(AttemptOutcome {
                delivery_id: due.delivery.id,
                org_id: due.delivery.org_id,
                attempts_before: due.delivery.attempts,
                at: sent.at,
                status_code: sent.status_code,
                error: sent.error,
                duration_ms: sent.duration_ms,
                replay: due.delivery.replay,
                status,
                next_attempt_at,
            });
        }
        let mut tx = self.store().write().await?;
        tx.record_attempts(&outcomes).await?;
        tx.commit().await?;
        Ok(round)
    }

    /// Sends one delivery once and says what happened.
    async fn send_once(&self, client: &WebhookClient, due: &DueDelivery) -> Sent {
        let at = self.now();
        let started = Instant::now();
        let result = attempt(client, due, at).await;
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (status_code, error) = match result {
            Ok((code, error)) => (Some(code), error),
            Err(error) => (None, error),
        };
        Sent {
            at,
            status_code,
            error: truncate(&error, ERROR_MAX_CHARS),
            duration_ms,
        }
    }
}

/// Sends once: `Ok((status, error text for non-2xx))`, or `Err(why nothing was answered)`.
async fn attempt(
    client: &WebhookClient,
    due: &DueDelivery,
    at: Timestamp,
) -> Result<(i64, String), String> {
    if !client.options.allow_private_targets
        && let Host::Ip(ip) = due.url.host()
        && is_private_ip(*ip)
    {
        return Err(format!(
            "refused: {ip} is a loopback, private or link-local address (webhooks.allow_private_targets is off)"
        ));
    }
    let key =
        secret_key(&due.secret).ok_or_else(|| "the endpoint's secret is not valid".to_owned())?;
    let timestamp = at.as_millis().div_euclid(1000);
    let body = due.payload.as_bytes();
    let signature =
        sign(&key, &due.delivery.event_id, timestamp, body).map_err(|e| e.to_string())?;
    let response = client
        .http
        .post(due.url.as_str())
        .header("content-type", "application/json")
        .header("webhook-id", due.delivery.event_id.as_str())
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(due.payload.clone())
        .send()
        .await
        .map_err(|e| describe_error(&e))?;
    let status = response.status();
    // Read a little of the answer (so the connection can be reused, and to show why a
    // receiver refused), never all of it.
    let mut response = response;
    let mut snippet = Vec::new();
    while snippet.len() < 1024 {
        match response.chunk().await {
            Ok(Some(chunk)) => snippet.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    let code = i64::from(status.as_u16());
    if status.is_success() {
        Ok((code, String::new()))
    } else {
        let text = String::from_utf8_lossy(&snippet);
        let text = text.trim();
        let error = if text.is_empty() {
            format!("HTTP {code}")
        } else {
            format!("HTTP {code}: {}", truncate(text, 200))
        };
        Ok((code, error))
    }
}

/// An error and its causes, one line, naming a refused private target plainly.
fn describe_error(error: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    let mut parts = Vec::new();
    while let Some(current) = source {
        if let Some(private) = current.downcast_ref::<PrivateTarget>() {
            return private.to_string();
        }
        let text = current.to_string();
        if !parts.iter().any(|p: &String| p.contains(&text)) {
            parts.push(text);
        }
        source = current.source();
    }
    if error.is_timeout() {
        parts.insert(0, "timed out".to_owned());
    }
    parts.join(": ")
}

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published Standard Webhooks test vector (also in the Svix libraries' tests).
    #[test]
    fn signature_matches_the_standard_webhooks_vector() {
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = sign(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets() {
        let secret = generate_secret();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(secret_key(&secret).map(|k| k.len()), Some(SECRET_BYTES));
        assert_ne!(generate_secret(), secret);
        for bad in ["", "whsec_", "skt_abc", "whsec_not base64!", "whsec_AAAA"] {
            assert_eq!(secret_key(bad), None, "{bad}");
        }
        assert!(chosen_secret(Some("whsec_nope")).is_err());
        assert_eq!(
            chosen_secret(Some(" whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ")).unwrap(),
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        );
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("印章印章", 10), "印章印章");
        assert_eq!(truncate("印章印章", 3), "印章…");
    }

    async fn app_in(folder: &std::path::Path) -> App {
        let store = seal_store::Store::connect(
            &format!("sqlite://{}", folder.join("app.db").display()),
            &seal_store::StoreOptions::default(),
        )
        .await
        .unwrap();
        let blobs = seal_store::blobs::Blobs::open(&seal_store::blobs::BlobConfig::Local {
            root: folder.join("blobs"),
        })
        .unwrap();
        let clock = std::sync::Arc::new(crate::clock::ManualClock::new(Timestamp::from_millis(
            1_795_336_200_000,
        )));
        App::new(store, blobs, clock, crate::AppSettings::default()).unwrap()
    }

    fn endpoint(org: OrgId, kinds: &[EventKind], enabled: bool) -> WebhookEndpointRecord {
        WebhookEndpointRecord {
            id: WebhookId::from_bytes(secrets::id_bytes()),
            org_id: org,
            url: EndpointUrl::parse("https://hooks.example.com/in", false).unwrap(),
            secret: generate_secret(),
            kinds: kinds.to_vec(),
            filing_target: None,
            enabled,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    /// The outbox writes in the caller's transaction: nothing after a rollback; after a
    /// commit, one delivery per enabled endpoint subscribed to the kind.
    #[tokio::test]
    async fn enqueue_fans_out_in_the_callers_transaction() {
        let folder = tempfile::tempdir().unwrap();
        let app = app_in(folder.path()).await;
        let org = seal_store::OrgRecord {
            id: OrgId::from_bytes(secrets::id_bytes()),
            code: seal_core::org::OrgCode::parse("hooks").unwrap(),
            name: seal_core::org::OrgName::parse("Hooks").unwrap(),
            uscc: None,
            created_at: Timestamp::from_millis(0),
        };
        let other = seal_store::OrgRecord {
            id: OrgId::from_bytes(secrets::id_bytes()),
            code: seal_core::org::OrgCode::parse("other").unwrap(),
            ..org.clone()
        };
        let subscribed = endpoint(org.id, &[EventKind::SealCreated], true);
        let disabled = endpoint(org.id, &[EventKind::SealCreated], false);
        let elsewhere = endpoint(org.id, &[EventKind::GrantIssued], true);
        let other_org = endpoint(other.id, &[EventKind::SealCreated], true);
        let mut tx = app.store().write().await.unwrap();
        tx.insert_org(&org).await.unwrap();
        tx.insert_org(&other).await.unwrap();
        for e in [&subscribed, &disabled, &elsewhere, &other_org] {
            tx.insert_webhook_endpoint(e).await.unwrap();
        }
        tx.commit().await.unwrap();
        let now = Timestamp::from_millis(1_795_336_200_000);
        let all = DeliveryFilter {
            limit: 100,
            ..DeliveryFilter::default()
        };

        let mut tx = app.store().write().await.unwrap();
        enqueue(
            &mut tx,
            org.id,
            EventKind::SealCreated,
            serde_json::json!({"n": 1}),
            now,
        )
        .await
        .unwrap();
        drop(tx);
        let mut tx = app.store().read().await.unwrap();
        assert_eq!(tx.webhook_deliveries(org.id, &all).await.unwrap().1, 0);
        drop(tx);

        let mut tx = app.store().write().await.unwrap();
        enqueue(
            &mut tx,
            org.id,
            EventKind::SealCreated,
            serde_json::json!({"n": 2}),
            now,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let mut tx = app.store().read().await.unwrap();
        let (deliveries, total) = tx.webhook_deliveries(org.id, &all).await.unwrap();
        assert_eq!(total, 1);
        assert_eq!(deliveries[0].endpoint_id, subscribed.id);
        assert_eq!(deliveries[0].status, DeliveryStatus::Pending);
        assert_eq!(deliveries[0].next_attempt_at, now);
        assert!(seal_core::webhook::is_message_id(&deliveries[0].event_id));
        let event = tx
            .webhook_event(org.id, &deliveries[0].event_id)
            .await
            .unwrap()
            .unwrap();
        let payload: serde_json::Value = serde_json::from_str(&event.payload).unwrap();
        assert_eq!(
            payload,
            serde_json::json!({"type": "seal.created", "timestamp": "2026-11-22T08:30:00.000Z", "data": {"n": 2}})
        );
        assert_eq!(tx.webhook_deliveries(other.id, &all).await.unwrap().1, 0);
        drop(tx);
        app.store().close().await;
    }

    #[tokio::test]
    async fn the_resolver_refuses_private_names() {
        use reqwest::dns::Resolve;
        use std::str::FromStr;
        let name = reqwest::dns::Name::from_str("localhost").unwrap();
        let error = PublicOnlyResolver.resolve(name).await.err().unwrap();
        assert!(error.to_string().contains("refused: localhost"), "{error}");
    }
}
