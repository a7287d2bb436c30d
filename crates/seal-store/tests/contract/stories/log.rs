//! Stories of the tamper-evident log: a change and the leaves that record it commit
//! together (a rolled-back transaction leaves no leaf, indexes stay dense); proofs built
//! from the stored perfect subtrees verify against the stored head; stamps and their
//! status changes are logged and found by id or numeric code, across organisations; the
//! evidence tables refuse changes in place; concurrent appenders keep the log dense.

use seal_core::ids::{StampEventId, StampId};
use seal_core::stamp::{EntryKind, NumericCode, StampEntry, StampStatus, StatusEntry};
use seal_proof::merkle::{
    self, Frontier, consistency_plan, inclusion_plan, leaf_hash, root_at, verify_consistency,
    verify_inclusion,
};
use seal_store::{CheckpointRecord, Evidence, StampEventRecord, Store, stamp_subject};

use crate::contract::fixtures::{at, audit_event, fresh_uuid, world};
use crate::contract::stories::devices::{device, stamp};

async fn head(store: &Store) -> Frontier {
    let mut tx = store.read().await.unwrap();
    tx.log_head().await.unwrap()
}

pub async fn changes_and_their_leaves_commit_together(store: Store) {
    let w = world(&store, "log-a").await;
    let before = head(&store).await.size();

    let mut tx = store.write().await.unwrap();
    for i in 0..5 {
        tx.append_audit(&audit_event(
            Some(w.org.id),
            i,
            "system",
            "x.done",
            "thing:1",
        ))
        .await
        .unwrap();
    }
    drop(tx); // rolled back
    assert_eq!(
        head(&store).await.size(),
        before,
        "no leaf without its change"
    );

    let mut tx = store.write().await.unwrap();
    let events: Vec<_> = (0..3)
        .map(|i| audit_event(Some(w.org.id), 10 + i, "system", "y.done", "thing:2"))
        .collect();
    tx.append_audit(&events[0]).await.unwrap();
    tx.append_audits(&events[1..]).await.unwrap();
    tx.commit().await.unwrap();

    let after = head(&store).await;
    assert_eq!(after.size(), before + 3);
    let mut tx = store.read().await.unwrap();
    let entries = tx.log_entries(0, 1000).await.unwrap();
    assert_eq!(entries.len() as u64, after.size());
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.index, i as u64, "dense indexes");
    }
    let mine = tx.log_entries_about("thing:2").await.unwrap();
    assert_eq!(mine.len(), 3);
    for (record, event) in mine.iter().zip(&events) {
        assert_eq!(record.kind, EntryKind::Audit);
        assert_eq!(record.entry, event.canonical_bytes());
        assert_eq!(record.org, Some(w.org.id));
    }
    // The head's root is the root of every stored entry.
    let mut tree = merkle::MemoryTree::new();
    for e in &entries {
        tree.append_entry(&e.entry).unwrap();
    }
    assert_eq!(tree.root(), after.root());
}

pub async fn proofs_from_stored_nodes_verify(store: Store) {
    let w = world(&store, "log-b").await;
    // Several commits of uneven sizes, so that the tree has ragged edges.
    for (n, batch) in [1usize, 2, 7, 1, 13, 4].into_iter().enumerate() {
        let mut tx = store.write().await.unwrap();
        let events: Vec<_> = (0..batch)
            .map(|i| {
                audit_event(
                    Some(w.org.id),
                    (n * 100 + i) as i64,
                    "system",
                    "z",
                    &format!("n{n}"),
                )
            })
            .collect();
        tx.append_audits(&events).await.unwrap();
        tx.commit().await.unwrap();
    }
    let head = head(&store).await;
    let size = head.size();
    let mut tx = store.read().await.unwrap();
    let entries = tx.log_entries(0, 1000).await.unwrap();
    for old in 1..=size {
        let plan = inclusion_plan(old - 1, size).unwrap();
        let nodes = tx.log_nodes(plan.nodes()).await.unwrap();
        let proof = plan.assemble_from_map(&nodes).unwrap();
        let leaf = leaf_hash(&entries[(old - 1) as usize].entry);
        verify_inclusion(&leaf, old - 1, size, &proof, &head.root()).unwrap();

        let ids = merkle::root_nodes(old);
        let found = tx.log_nodes(&ids).await.unwrap();
        let old_root = root_at(old, |id| found.get(&id).copied()).unwrap();
        let plan = consistency_plan(old, size).unwrap();
        let nodes = tx.log_nodes(plan.nodes()).await.unwrap();
        let proof = plan.assemble_from_map(&nodes).unwrap();
        verify_consistency(old, size, &proof, &old_root, &head.root()).unwrap();
    }

    // Checkpoints are stored once per size.
    let mut tx = store.write().await.unwrap();
    let cp = CheckpointRecord {
        size,
        root: head.root(),
        note: "example\n1\nroot\n\n— example sig\n".to_owned(),
        at: at(1),
    };
    assert!(tx.insert_checkpoint(&cp).await.unwrap());
    assert!(!tx.insert_checkpoint(&cp).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.latest_checkpoint().await.unwrap(), Some(cp.clone()));
    assert_eq!(tx.checkpoints(0, 10).await.unwrap(), vec![cp]);
}

pub async fn stamps_and_status_changes_are_logged_and_found(store: Store) {
    let a = world(&store, "log-c").await;
    let d = device(a.org.id, "SB-0101", "02:00:5e:10:01:01");
    let s1 = stamp(&d, 1);
    let s2 = stamp(&d, 2);
    let mut tx = store.write().await.unwrap();
    tx.insert_device(&d).await.unwrap();
    assert!(tx.insert_stamp(&s1).await.unwrap());
    assert!(
        !tx.insert_stamp(&stamp(&d, 1)).await.unwrap(),
        "a retried seq"
    );
    tx.insert_stamps(std::slice::from_ref(&s2)).await.unwrap();
    let event = StampEventRecord {
        id: StampEventId::from_uuid(fresh_uuid()),
        stamp: s1.id,
        org: a.org.id,
        status: StampStatus::Revoked,
        actor: "person:x".to_owned(),
        note: "signed in error".to_owned(),
        at: at(9),
    };
    tx.insert_stamp_events(std::slice::from_ref(&event))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let about = tx.log_entries_about(&stamp_subject(s1.id)).await.unwrap();
    let kinds: Vec<_> = about.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![EntryKind::Stamp, EntryKind::StampStatus],
        "one leaf per fact, none for the retry"
    );
    let logged = StampEntry::decode(&about[0].entry).unwrap();
    assert_eq!(logged, s1.log_entry());
    assert_eq!(logged.document_sha256, Some([0xab; 32]));
    assert_eq!(logged.issuer, format!("device:{}", d.id));
    assert_eq!(
        StatusEntry::decode(&about[1].entry).unwrap(),
        event.log_entry()
    );
    assert_eq!(
        tx.log_entries_about(&stamp_subject(s2.id))
            .await
            .unwrap()
            .len(),
        1
    );

    assert_eq!(
        tx.stamp_for_verification(s1.id).await.unwrap(),
        Some(s1.clone())
    );
    assert_eq!(
        tx.stamp_for_verification(StampId::from_uuid(fresh_uuid()))
            .await
            .unwrap(),
        None
    );
    let by_code = tx
        .stamps_by_numeric_code(&NumericCode::of(s2.id))
        .await
        .unwrap();
    assert_eq!(by_code, vec![s2.clone()]);
    assert_eq!(tx.stamp_events(a.org.id, s1.id).await.unwrap(), vec![event]);
    let other = world(&store, "log-d").await;
    let mut tx = store.read().await.unwrap();
    assert!(
        tx.stamp_events(other.org.id, s1.id)
            .await
            .unwrap()
            .is_empty()
    );
    // The details digest changes with any private detail.
    let mut moved = s1.clone();
    moved.press_ms += 1;
    assert_ne!(moved.details_digest(), s1.details_digest());
}

pub async fn log_tables_refuse_changes_in_place(store: Store) {
    let a = world(&store, "log-e").await;
    let d = device(a.org.id, "SB-0102", "02:00:5e:10:01:02");
    let s = stamp(&d, 1);
    let mut tx = store.write().await.unwrap();
    tx.insert_device(&d).await.unwrap();
    tx.insert_stamp(&s).await.unwrap();
    tx.insert_stamp_events(&[StampEventRecord {
        id: StampEventId::from_uuid(fresh_uuid()),
        stamp: s.id,
        org: a.org.id,
        status: StampStatus::Disputed,
        actor: "system".to_owned(),
        note: "beyond_grant".to_owned(),
        at: at(2),
    }])
    .await
    .unwrap();
    let head = tx.log_head().await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.write().await.unwrap();
    tx.insert_checkpoint(&CheckpointRecord {
        size: 1,
        root: head.root(),
        note: "n".to_owned(),
        at: at(3),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    for target in [
        Evidence::LogEntry,
        Evidence::LogEntryDeleted,
        Evidence::LogNode,
        Evidence::Checkpoint,
        Evidence::Stamp,
        Evidence::StampDeleted,
        Evidence::StampEvent,
    ] {
        let mut tx = store.write().await.unwrap();
        let result = tx.try_tamper_with_evidence(target).await;
        let message = result
            .expect_err(&format!("{target:?} must be refused"))
            .to_string();
        assert!(
            message.contains("append-only") || message.contains("written once"),
            "{target:?}: {message}"
        );
    }
}

pub async fn concurrent_appenders_keep_the_log_dense(store: Store) {
    let w = world(&store, "log-f").await;
    let before = head(&store).await.size();
    let mut tasks = Vec::new();
    for t in 0..8 {
        let store = store.clone();
        let org = w.org.id;
        tasks.push(tokio::spawn(async move {
            for i in 0..5 {
                let mut tx = store.write().await.unwrap();
                tx.append_audit(&audit_event(Some(org), t * 10 + i, "system", "c", "c"))
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let after = head(&store).await;
    assert_eq!(after.size(), before + 40);
    let mut tx = store.read().await.unwrap();
    let entries = tx.log_entries(0, 10_000).await.unwrap();
    assert_eq!(entries.len() as u64, after.size());
    let mut tree = merkle::MemoryTree::new();
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.index, i as u64);
        tree.append_entry(&e.entry).unwrap();
    }
    assert_eq!(
        tree.root(),
        after.root(),
        "the stored head is the root of the stored entries"
    );
}
