//! Stories of webhooks: endpoints round-trip and stay in their organisation; the outbox
//! event and its deliveries; the worker's claim (a lease, never twice), its recorded
//! attempts (never counted twice), replays; deleting an endpoint takes its deliveries.

use seal_core::ids::{OrgId, WebhookDeliveryId, WebhookId};
use seal_core::webhook::{EndpointUrl, EventKind, FilingTarget, message_id};
use seal_store::{
    AttemptOutcome, DeliveryFilter, DeliveryStatus, Store, WebhookEndpointRecord,
    WebhookEventRecord,
};

use crate::contract::fixtures::{at, fresh_uuid, world};

fn endpoint(org: OrgId, url: &str, kinds: &[EventKind]) -> WebhookEndpointRecord {
    WebhookEndpointRecord {
        id: WebhookId::from_uuid(fresh_uuid()),
        org_id: org,
        url: EndpointUrl::parse(url, false).expect("valid url"),
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
        kinds: kinds.to_vec(),
        filing_target: None,
        enabled: true,
        created_at: at(10),
        updated_at: at(10),
    }
}

fn event(org: OrgId, kind: EventKind, seconds: i64) -> WebhookEventRecord {
    WebhookEventRecord {
        id: message_id(*fresh_uuid().as_bytes()),
        org_id: org,
        kind,
        payload: format!(r#"{{"type":"{kind}","timestamp":"x","data":{{"n":{seconds}}}}}"#),
        created_at: at(seconds),
    }
}

fn all() -> DeliveryFilter {
    DeliveryFilter {
        limit: 100,
        ..DeliveryFilter::default()
    }
}

fn outcome(
    due: &seal_store::DueDelivery,
    seconds: i64,
    status: DeliveryStatus,
    code: Option<i64>,
) -> AttemptOutcome {
    AttemptOutcome {
        delivery_id: due.delivery.id,
        org_id: due.delivery.org_id,
        attempts_before: due.delivery.attempts,
        at: at(seconds),
        status_code: code,
        error: if status == DeliveryStatus::Delivered {
            String::new()
        } else {
            "HTTP 500".to_owned()
        },
        duration_ms: 12,
        replay: due.delivery.replay,
        status,
        next_attempt_at: at(seconds + 30),
    }
}

pub async fn endpoints_round_trip_and_stay_in_their_organisation(store: Store) {
    let a = world(&store, "hooks-a").await;
    let b = world(&store, "hooks-b").await;
    let mut first = endpoint(
        a.org.id,
        "https://registry.example.gov.cn/filing?unit=1",
        &[EventKind::SealCreated, EventKind::SealStatusChanged],
    );
    first.filing_target = Some(FilingTarget::PublicSecurity);
    let second = WebhookEndpointRecord {
        created_at: at(20),
        updated_at: at(20),
        enabled: false,
        ..endpoint(
            a.org.id,
            "https://hooks.example.com/in",
            &[EventKind::GrantIssued],
        )
    };
    let mut tx = store.write().await.unwrap();
    tx.insert_webhook_endpoint(&first).await.unwrap();
    tx.insert_webhook_endpoint(&second).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.webhook_endpoints(a.org.id).await.unwrap(),
        vec![first.clone(), second.clone()]
    );
    assert_eq!(
        tx.webhook_endpoint(a.org.id, first.id).await.unwrap(),
        Some(first.clone())
    );
    assert!(tx.webhook_endpoints(b.org.id).await.unwrap().is_empty());
    assert_eq!(tx.webhook_endpoint(b.org.id, first.id).await.unwrap(), None);
    drop(tx);

    // An update through another organisation changes nothing.
    let mut tx = store.write().await.unwrap();
    let hijack = WebhookEndpointRecord {
        org_id: b.org.id,
        url: EndpointUrl::parse("https://evil.example.com/", false).unwrap(),
        ..first.clone()
    };
    tx.update_webhook_endpoint(&hijack).await.unwrap();
    assert_eq!(
        tx.delete_webhook_endpoint(b.org.id, first.id)
            .await
            .unwrap(),
        0
    );
    let changed = WebhookEndpointRecord {
        url: EndpointUrl::parse("https://registry.example.gov.cn/v2", false).unwrap(),
        secret: "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        kinds: vec![EventKind::SealCreated],
        filing_target: Some(FilingTarget::OwnUnit),
        enabled: false,
        updated_at: at(30),
        ..first.clone()
    };
    tx.update_webhook_endpoint(&changed).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.webhook_endpoint(a.org.id, first.id).await.unwrap(),
        Some(changed)
    );
    drop(tx);
    assert!(
        !format!("{first:?}").contains("whsec_"),
        "Debug hides the secret"
    );
}

pub async fn outbox_claims_attempts_and_replays(store: Store) {
    let a = world(&store, "outbox-a").await;
    let b = world(&store, "outbox-b").await;
    let hook_a = endpoint(
        a.org.id,
        "https://a.example.com/hook",
        &[EventKind::GrantIssued],
    );
    let hook_b = endpoint(
        b.org.id,
        "https://b.example.com/hook",
        &[EventKind::GrantIssued],
    );
    let event_a = event(a.org.id, EventKind::GrantIssued, 100);
    let event_b = event(b.org.id, EventKind::GrantIssued, 101);
    let delivery_a = WebhookDeliveryId::from_uuid(fresh_uuid());
    let delivery_b = WebhookDeliveryId::from_uuid(fresh_uuid());
    let mut tx = store.write().await.unwrap();
    tx.insert_webhook_endpoint(&hook_a).await.unwrap();
    tx.insert_webhook_endpoint(&hook_b).await.unwrap();
    tx.insert_webhook_event(&event_a).await.unwrap();
    tx.insert_webhook_event(&event_b).await.unwrap();
    tx.insert_webhook_delivery(a.org.id, delivery_a, &event_a.id, hook_a.id, at(100))
        .await
        .unwrap();
    tx.insert_webhook_delivery(b.org.id, delivery_b, &event_b.id, hook_b.id, at(101))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Scoped reads.
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.webhook_event(a.org.id, &event_a.id).await.unwrap(),
        Some(event_a.clone())
    );
    assert_eq!(tx.webhook_event(b.org.id, &event_a.id).await.unwrap(), None);
    let (list, total) = tx.webhook_deliveries(a.org.id, &all()).await.unwrap();
    assert_eq!(total, 1);
    assert_eq!(list[0].id, delivery_a);
    assert_eq!(list[0].kind, EventKind::GrantIssued);
    assert_eq!(list[0].status, DeliveryStatus::Pending);
    assert_eq!(list[0].attempts, 0);
    assert_eq!(
        tx.webhook_delivery(b.org.id, delivery_a).await.unwrap(),
        None
    );
    drop(tx);

    // Nothing is due before its time; then the worker claims both organisations'.
    let mut tx = store.write().await.unwrap();
    assert!(
        tx.claim_due_deliveries(at(99), at(159), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let claimed = tx.claim_due_deliveries(at(101), at(161), 10).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert_eq!(claimed[0].delivery.id, delivery_a, "oldest due first");
    assert_eq!(claimed[0].payload, event_a.payload);
    assert_eq!(claimed[0].url.as_str(), "https://a.example.com/hook");
    assert!(claimed[0].secret.starts_with("whsec_"));
    assert_eq!(claimed[0].delivery.next_attempt_at, at(161));

    // Leased: a second worker finds nothing until the lease ends.
    let mut tx = store.write().await.unwrap();
    assert!(
        tx.claim_due_deliveries(at(150), at(210), 10)
            .await
            .unwrap()
            .is_empty()
    );
    drop(tx);

    // A failed attempt on A, a success on B.
    let mut tx = store.write().await.unwrap();
    let recorded = tx
        .record_attempts(&[
            outcome(&claimed[0], 102, DeliveryStatus::Failed, Some(500)),
            outcome(&claimed[1], 102, DeliveryStatus::Delivered, Some(204)),
        ])
        .await
        .unwrap();
    assert_eq!(recorded, 2);
    // The same outcome again (a worker whose lease was taken over) is not counted.
    assert_eq!(
        tx.record_attempts(&[outcome(&claimed[0], 103, DeliveryStatus::Failed, None)])
            .await
            .unwrap(),
        0
    );
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let failed = tx
        .webhook_delivery(a.org.id, delivery_a)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failed.status, DeliveryStatus::Failed);
    assert_eq!(failed.attempts, 1);
    assert_eq!(failed.last_status_code, Some(500));
    assert_eq!(failed.last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(failed.next_attempt_at, at(132));
    assert_eq!(failed.delivered_at, None);
    let attempts = tx.webhook_attempts(a.org.id, delivery_a).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].n, 1);
    assert_eq!(attempts[0].status_code, Some(500));
    assert_eq!(attempts[0].duration_ms, 12);
    assert!(!attempts[0].replay);
    assert!(
        tx.webhook_attempts(b.org.id, delivery_a)
            .await
            .unwrap()
            .is_empty()
    );
    let delivered = tx
        .webhook_delivery(b.org.id, delivery_b)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivered.status, DeliveryStatus::Delivered);
    assert_eq!(delivered.delivered_at, Some(at(102)));
    assert_eq!(delivered.last_error, None);
    let filter = DeliveryFilter {
        status: Some(DeliveryStatus::Failed),
        ..all()
    };
    assert_eq!(tx.webhook_deliveries(a.org.id, &filter).await.unwrap().1, 1);
    assert_eq!(tx.webhook_deliveries(b.org.id, &filter).await.unwrap().1, 0);
    let filter = DeliveryFilter {
        endpoint: Some(hook_b.id),
        ..all()
    };
    assert_eq!(tx.webhook_deliveries(a.org.id, &filter).await.unwrap().1, 0);
    drop(tx);

    // Replay: only within the organisation; due at once, marked, same event.
    let mut tx = store.write().await.unwrap();
    assert!(
        !tx.replay_webhook_delivery(a.org.id, delivery_b, at(200))
            .await
            .unwrap()
    );
    assert!(
        tx.replay_webhook_delivery(b.org.id, delivery_b, at(200))
            .await
            .unwrap()
    );
    let claimed = tx.claim_due_deliveries(at(200), at(260), 10).await.unwrap();
    assert_eq!(
        claimed.len(),
        2,
        "the replayed and the retry that became due"
    );
    let replayed = claimed
        .iter()
        .find(|d| d.delivery.id == delivery_b)
        .unwrap();
    assert!(replayed.delivery.replay);
    assert_eq!(replayed.delivery.event_id, event_b.id);
    assert_eq!(replayed.delivery.status, DeliveryStatus::Pending);
    tx.record_attempts(&[outcome(replayed, 201, DeliveryStatus::Delivered, Some(200))])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let attempts = tx.webhook_attempts(b.org.id, delivery_b).await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert!(attempts[1].replay);
    assert_eq!(attempts[1].n, 2);
    assert!(
        !tx.webhook_delivery(b.org.id, delivery_b)
            .await
            .unwrap()
            .unwrap()
            .replay
    );
    drop(tx);

    // A disabled endpoint's deliveries wait; deleting it takes them and their attempts.
    let mut tx = store.write().await.unwrap();
    tx.update_webhook_endpoint(&WebhookEndpointRecord {
        enabled: false,
        ..hook_a.clone()
    })
    .await
    .unwrap();
    assert!(
        tx.claim_due_deliveries(at(10_000), at(10_060), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        tx.delete_webhook_endpoint(a.org.id, hook_a.id)
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.webhook_delivery(a.org.id, delivery_a).await.unwrap(),
        None
    );
    assert!(
        tx.webhook_attempts(a.org.id, delivery_a)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(tx.webhook_endpoints(a.org.id).await.unwrap().is_empty());
    assert!(
        tx.webhook_event(a.org.id, &event_a.id)
            .await
            .unwrap()
            .is_some(),
        "events stay"
    );
}

pub async fn one_delivery_per_event_and_endpoint(store: Store) {
    let a = world(&store, "unique-a").await;
    let hook = endpoint(
        a.org.id,
        "https://a.example.com/hook",
        &[EventKind::SealCreated],
    );
    let first = event(a.org.id, EventKind::SealCreated, 5);
    let mut tx = store.write().await.unwrap();
    tx.insert_webhook_endpoint(&hook).await.unwrap();
    tx.insert_webhook_event(&first).await.unwrap();
    tx.insert_webhook_delivery(
        a.org.id,
        WebhookDeliveryId::from_uuid(fresh_uuid()),
        &first.id,
        hook.id,
        at(5),
    )
    .await
    .unwrap();
    let again = tx
        .insert_webhook_delivery(
            a.org.id,
            WebhookDeliveryId::from_uuid(fresh_uuid()),
            &first.id,
            hook.id,
            at(5),
        )
        .await;
    assert!(
        matches!(again, Err(seal_store::StoreError::Conflict)),
        "{again:?}"
    );
}
