//! Stories of the audit table: append, read back exactly, filter, page, and refuse any
//! change in place.

use seal_core::audit::AuditEvent;
use seal_store::{AuditFilter, AuditRecord, Store};

use crate::contract::fixtures::{all_audit, at, audit_event, audit_page, org};

pub async fn audit_append_filter_and_page(store: Store) {
    let acme = org("acme", "Acme");
    let other = org("other", "Other");
    let alice = "person:00000000-0000-4000-8000-00000000000a";
    let bob = "person:00000000-0000-4000-8000-00000000000b";
    let created = audit_event(Some(acme.id), 10, alice, "person.created", "person:1");
    let disabled_by_bob = audit_event(Some(acme.id), 20, bob, "person.disabled", "person:1");
    let disabled_by_alice = audit_event(Some(acme.id), 30, alice, "person.disabled", "person:2");
    let mut by_system = audit_event(Some(acme.id), 40, "system", "org.updated", "");
    by_system.details.clear();
    let elsewhere = audit_event(Some(other.id), 25, alice, "person.created", "person:9");
    let outside = audit_event(None, 26, "anonymous", "signin.failed", "");

    let mut tx = store.write().await.unwrap();
    tx.insert_org(&acme).await.unwrap();
    tx.insert_org(&other).await.unwrap();
    let mut seqs = Vec::new();
    for event in [
        &created,
        &disabled_by_bob,
        &elsewhere,
        &outside,
        &disabled_by_alice,
        &by_system,
    ] {
        seqs.push(tx.append_audit(event).await.unwrap());
    }
    tx.commit().await.unwrap();
    assert!(
        seqs.windows(2).all(|pair| pair[0] < pair[1]),
        "sequence numbers increase: {seqs:?}"
    );
    let later = {
        let mut tx = store.write().await.unwrap();
        let seq = tx
            .append_audit(&audit_event(
                Some(other.id),
                50,
                bob,
                "role.created",
                "role:1",
            ))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        seq
    };
    assert!(
        later > seqs[5],
        "a later transaction appends after: {later} vs {seqs:?}"
    );

    let record = |seq: i64, event: &AuditEvent| AuditRecord {
        seq,
        event: event.clone(),
    };
    let r_created = record(seqs[0], &created);
    let r_by_bob = record(seqs[1], &disabled_by_bob);
    let r_by_alice = record(seqs[4], &disabled_by_alice);
    let r_system = record(seqs[5], &by_system);

    let mut tx = store.read().await.unwrap();
    let (events, total) = audit_page(&mut tx, acme.id, &all_audit()).await;
    assert_eq!(total, 4);
    assert_eq!(
        events,
        vec![
            r_system.clone(),
            r_by_alice.clone(),
            r_by_bob.clone(),
            r_created.clone()
        ],
        "newest first, decoded to exactly what was appended"
    );
    assert_eq!(events[3].event.canonical_bytes(), created.canonical_bytes());

    let (events, total) = audit_page(&mut tx, other.id, &all_audit()).await;
    assert_eq!(total, 2);
    assert_eq!(events[1], record(seqs[2], &elsewhere));

    let by_actor = AuditFilter {
        actor: Some(alice.to_owned()),
        ..all_audit()
    };
    assert_eq!(
        audit_page(&mut tx, acme.id, &by_actor).await,
        (vec![r_by_alice.clone(), r_created.clone()], 2)
    );
    let by_action = AuditFilter {
        action: Some("person.disabled".to_owned()),
        ..all_audit()
    };
    assert_eq!(
        audit_page(&mut tx, acme.id, &by_action).await,
        (vec![r_by_alice.clone(), r_by_bob.clone()], 2)
    );
    let by_both = AuditFilter {
        actor: Some(alice.to_owned()),
        action: Some("person.disabled".to_owned()),
        ..all_audit()
    };
    assert_eq!(
        audit_page(&mut tx, acme.id, &by_both).await,
        (vec![r_by_alice.clone()], 1)
    );
    let unknown_action = AuditFilter {
        action: Some("seal.created".to_owned()),
        ..all_audit()
    };
    assert_eq!(
        audit_page(&mut tx, acme.id, &unknown_action).await,
        (vec![], 0)
    );

    // `from` is inclusive, `until` exclusive.
    let from = AuditFilter {
        from: Some(at(20)),
        ..all_audit()
    };
    assert_eq!(
        audit_page(&mut tx, acme.id, &from).await,
        (
            vec![r_system.clone(), r_by_alice.clone(), r_by_bob.clone()],
            3
        )
    );
    let until = AuditFilter {
        until: Some(at(30)),
        ..all_audit()
    };
    assert_eq!(
        audit_page(&mut tx, acme.id, &until).await,
        (vec![r_by_bob.clone(), r_created.clone()], 2)
    );
    let window = AuditFilter {
        from: Some(at(20)),
        until: Some(at(40)),
        ..all_audit()
    };
    assert_eq!(
        audit_page(&mut tx, acme.id, &window).await,
        (vec![r_by_alice.clone(), r_by_bob.clone()], 2)
    );
    let window_and_actor = AuditFilter {
        actor: Some(bob.to_owned()),
        from: Some(at(11)),
        until: Some(at(41)),
        ..all_audit()
    };
    assert_eq!(
        audit_page(&mut tx, acme.id, &window_and_actor).await,
        (vec![r_by_bob.clone()], 1)
    );

    // Pages of two.
    let page = |offset| AuditFilter {
        offset,
        limit: 2,
        ..all_audit()
    };
    assert_eq!(
        audit_page(&mut tx, acme.id, &page(0)).await,
        (vec![r_system.clone(), r_by_alice.clone()], 4)
    );
    assert_eq!(
        audit_page(&mut tx, acme.id, &page(2)).await,
        (vec![r_by_bob.clone(), r_created.clone()], 4)
    );
    assert_eq!(audit_page(&mut tx, acme.id, &page(4)).await, (vec![], 4));
    let filtered_page = AuditFilter {
        action: Some("person.disabled".to_owned()),
        offset: 1,
        limit: 1,
        ..all_audit()
    };
    assert_eq!(
        audit_page(&mut tx, acme.id, &filtered_page).await,
        (vec![r_by_bob.clone()], 2)
    );
}

pub async fn audit_is_append_only(store: Store) {
    let acme = org("acme", "Acme");
    let event = audit_event(Some(acme.id), 10, "system", "org.created", "org:acme");
    let mut tx = store.write().await.unwrap();
    tx.insert_org(&acme).await.unwrap();
    let seq = tx.append_audit(&event).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.write().await.unwrap();
    let result = tx.try_tamper_with_audit(seq).await;
    assert!(
        result.is_err(),
        "changing an audit event must fail, got {result:?}"
    );
    let message = result.unwrap_err().to_string();
    assert!(
        message.contains("append-only"),
        "the refusal comes from the append-only trigger: {message}"
    );
    // Even committing what is left of the transaction does not change the event.
    drop(tx.commit().await);

    let mut tx = store.write().await.unwrap();
    assert!(
        tx.try_tamper_with_audit(seq).await.is_err(),
        "again, in a fresh transaction"
    );
    drop(tx);

    let mut tx = store.read().await.unwrap();
    let (events, total) = audit_page(&mut tx, acme.id, &all_audit()).await;
    assert_eq!(total, 1);
    assert_eq!(events, vec![AuditRecord { seq, event }]);
}
