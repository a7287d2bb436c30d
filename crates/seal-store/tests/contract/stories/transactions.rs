//! Stories of transactions and the pool: rollback on drop, queued writers, readiness.

use std::time::Duration;

use seal_core::permission::PermissionSet;
use seal_core::role::BuiltinRole;
use seal_store::{Backend, PeopleFilter, Store};

use crate::contract::fixtures::{
    all_audit, api_token, audit_event, audit_page, builtin_role, department, org, org_code, person,
    session,
};

pub async fn dropped_transaction_leaves_nothing(store: Store) {
    let acme = org("acme", "Acme");
    let finance = department(acme.id, "Finance", None);
    let keeper = person(
        acme.id,
        "Keeper",
        Some("13800138000"),
        None,
        Some(finance.id),
    );
    let admin = builtin_role(acme.id, BuiltinRole::OrgAdmin, 1);
    let token = api_token(acme.id, keeper.id, "token", PermissionSet::EMPTY, 2);

    let mut tx = store.write().await.unwrap();
    tx.insert_org(&acme).await.unwrap();
    tx.insert_department(&finance).await.unwrap();
    tx.insert_person(&keeper).await.unwrap();
    tx.insert_role(&admin).await.unwrap();
    tx.set_person_roles(acme.id, keeper.id, &[admin.id])
        .await
        .unwrap();
    tx.insert_session(&session(acme.id, keeper.id, "session-hash"))
        .await
        .unwrap();
    tx.insert_api_token(&token, "token-hash").await.unwrap();
    tx.replace_recovery_codes(keeper.id, &["rc".to_owned()])
        .await
        .unwrap();
    tx.append_audit(&audit_event(Some(acme.id), 1, "system", "org.created", ""))
        .await
        .unwrap();
    // Inside the transaction, its own writes are visible.
    assert!(tx.org(acme.id).await.unwrap().is_some());
    assert_eq!(
        tx.person_roles(acme.id, keeper.id).await.unwrap(),
        vec![admin.clone()]
    );
    drop(tx);

    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.org(acme.id).await.unwrap(), None);
    assert_eq!(tx.org_by_code(&org_code("acme")).await.unwrap(), None);
    assert!(tx.departments(acme.id).await.unwrap().is_empty());
    assert_eq!(tx.person(acme.id, keeper.id).await.unwrap(), None);
    let everyone = PeopleFilter {
        limit: 10,
        ..PeopleFilter::default()
    };
    assert_eq!(tx.people(acme.id, &everyone).await.unwrap(), (vec![], 0));
    assert!(tx.roles(acme.id).await.unwrap().is_empty());
    assert!(tx.api_tokens(acme.id).await.unwrap().is_empty());
    assert_eq!(tx.unused_recovery_codes(keeper.id).await.unwrap(), 0);
    assert_eq!(
        audit_page(&mut tx, acme.id, &all_audit()).await,
        (vec![], 0)
    );
    drop(tx);
    assert_eq!(store.session("session-hash").await.unwrap(), None);
    assert_eq!(store.api_token_by_hash("token-hash").await.unwrap(), None);

    // The same records commit cleanly afterwards: nothing half-written is in the way.
    let mut tx = store.write().await.unwrap();
    tx.insert_org(&acme).await.unwrap();
    tx.insert_department(&finance).await.unwrap();
    tx.insert_person(&keeper).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.org(acme.id).await.unwrap(), Some(acme));
}

pub async fn concurrent_writers_queue(store: Store) {
    let first_org = org("first", "First");
    let second_org = org("second", "Second");

    let mut first = store.write().await.unwrap();
    first.insert_org(&first_org).await.unwrap();

    let second = tokio::spawn({
        let store = store.clone();
        let second_org = second_org.clone();
        async move {
            let mut tx = store.write().await?;
            tx.insert_org(&second_org).await?;
            tx.commit().await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    if store.backend() == Backend::Sqlite {
        assert!(
            !second.is_finished(),
            "on SQLite the second writer waits for the first to finish"
        );
    }
    first.commit().await.unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(20), second)
        .await
        .expect("the second writer finishes once the first commits")
        .expect("the writer task does not panic");
    assert!(outcome.is_ok(), "the second writer succeeds: {outcome:?}");

    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.org(first_org.id).await.unwrap(), Some(first_org));
    assert_eq!(tx.org(second_org.id).await.unwrap(), Some(second_org));
}

pub async fn many_concurrent_writers_all_succeed(store: Store) {
    let tasks: Vec<_> = (0..12)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let record = org(&format!("org-{n}"), &format!("Org {n}"));
                let mut tx = store.write().await?;
                tx.insert_org(&record).await?;
                tokio::time::sleep(Duration::from_millis(10)).await;
                tx.commit().await?;
                Ok::<_, seal_store::StoreError>(record)
            })
        })
        .collect();
    let mut written = Vec::new();
    for task in tasks {
        written.push(task.await.unwrap().unwrap());
    }
    let mut tx = store.read().await.unwrap();
    for record in written {
        assert_eq!(tx.org(record.id).await.unwrap(), Some(record));
    }
}

pub async fn ping(store: Store) {
    store.ping().await.unwrap();
    let copy = store.clone();
    copy.ping().await.unwrap();
}
