//! Stories of sign-in state: sessions, API tokens and recovery codes.

use seal_core::ids::ApiTokenId;
use seal_core::permission::{Permission, PermissionSet};
use seal_store::{ApiTokenRecord, SessionRecord, Store, StoreError};

use crate::contract::fixtures::{api_token, at, fresh_uuid, person, session, world};

pub async fn sessions(store: Store) {
    let world = world(&store, "acme").await;
    let org_id = world.org.id;
    let keeper = &world.person;
    let other_person = person(org_id, "Other", Some("13900139111"), None, None);
    let first = session(org_id, keeper.id, "hash-first");
    let second = SessionRecord {
        mfa_pending: false,
        ..session(org_id, keeper.id, "hash-second")
    };
    let theirs = session(org_id, other_person.id, "hash-theirs");

    let mut tx = store.write().await.unwrap();
    tx.insert_person(&other_person).await.unwrap();
    for record in [&first, &second, &theirs] {
        tx.insert_session(record).await.unwrap();
    }
    tx.commit().await.unwrap();

    assert_eq!(
        store.session("hash-first").await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.session("hash-second").await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(store.session("hash-unknown").await.unwrap(), None);
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.session("hash-theirs").await.unwrap(),
        Some(theirs.clone())
    );
    drop(tx);

    store.touch_session("hash-first", at(300)).await.unwrap();
    assert_eq!(
        store.session("hash-first").await.unwrap(),
        Some(SessionRecord {
            last_seen_at: at(300),
            ..first.clone()
        })
    );
    assert_eq!(
        store.session("hash-second").await.unwrap(),
        Some(second.clone()),
        "only the touched session changes"
    );

    // The same token hash cannot start two sessions.
    let mut tx = store.write().await.unwrap();
    let result = tx
        .insert_session(&session(org_id, other_person.id, "hash-first"))
        .await;
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "got {result:?}"
    );
    drop(tx);

    store.delete_session("hash-first").await.unwrap();
    assert_eq!(store.session("hash-first").await.unwrap(), None);
    store.delete_session("hash-first").await.unwrap();

    let mut tx = store.write().await.unwrap();
    tx.insert_session(&first).await.unwrap();
    assert_eq!(tx.delete_sessions_of(org_id, keeper.id).await.unwrap(), 2);
    assert_eq!(tx.delete_sessions_of(org_id, keeper.id).await.unwrap(), 0);
    tx.commit().await.unwrap();
    assert_eq!(store.session("hash-first").await.unwrap(), None);
    assert_eq!(store.session("hash-second").await.unwrap(), None);
    assert_eq!(
        store.session("hash-theirs").await.unwrap(),
        Some(theirs.clone())
    );

    let mut tx = store.write().await.unwrap();
    tx.delete_session("hash-theirs").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.session("hash-theirs").await.unwrap(), None);
}

pub async fn api_tokens(store: Store) {
    let world = world(&store, "acme").await;
    let org_id = world.org.id;
    let keeper = world.person.id;
    let ci = api_token(
        org_id,
        keeper,
        "CI pipeline",
        PermissionSet::of(&[Permission::DevicesManage, Permission::PeopleRead]),
        10,
    );
    let export = api_token(
        org_id,
        keeper,
        "审计导出",
        PermissionSet::of(&[Permission::AuditRead]),
        20,
    );
    let empty = api_token(org_id, keeper, "No scopes", PermissionSet::EMPTY, 5);

    let mut tx = store.write().await.unwrap();
    tx.insert_api_token(&ci, "sha256-ci").await.unwrap();
    tx.insert_api_token(&export, "sha256-export").await.unwrap();
    tx.insert_api_token(&empty, "sha256-empty").await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.api_tokens(org_id).await.unwrap(),
        vec![export.clone(), ci.clone(), empty.clone()],
        "newest first"
    );
    assert_eq!(tx.api_token(org_id, ci.id).await.unwrap(), Some(ci.clone()));
    assert_eq!(
        tx.api_token(org_id, empty.id).await.unwrap(),
        Some(empty.clone())
    );
    assert_eq!(
        tx.api_token(org_id, ApiTokenId::from_uuid(fresh_uuid()))
            .await
            .unwrap(),
        None
    );
    drop(tx);
    assert_eq!(
        store.api_token_by_hash("sha256-ci").await.unwrap(),
        Some(ci.clone())
    );
    assert_eq!(
        store.api_token_by_hash("sha256-export").await.unwrap(),
        Some(export.clone())
    );
    assert_eq!(
        store.api_token_by_hash("sha256-unknown").await.unwrap(),
        None
    );

    store.touch_api_token(ci.id, at(300)).await.unwrap();
    let touched = ApiTokenRecord {
        last_used_at: Some(at(300)),
        ..ci.clone()
    };
    assert_eq!(
        store.api_token_by_hash("sha256-ci").await.unwrap(),
        Some(touched.clone())
    );

    let mut tx = store.write().await.unwrap();
    tx.revoke_api_token(org_id, ci.id, at(400)).await.unwrap();
    tx.commit().await.unwrap();
    let revoked = ApiTokenRecord {
        revoked_at: Some(at(400)),
        ..touched.clone()
    };
    assert_eq!(
        store.api_token_by_hash("sha256-ci").await.unwrap(),
        Some(revoked.clone())
    );

    // Revoking again keeps the first revocation time.
    let mut tx = store.write().await.unwrap();
    tx.revoke_api_token(org_id, ci.id, at(500)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.api_token(org_id, ci.id).await.unwrap(),
        Some(revoked.clone())
    );
    assert_eq!(
        tx.api_token(org_id, export.id).await.unwrap(),
        Some(export.clone()),
        "the other tokens are untouched"
    );
    drop(tx);

    // One secret, one token.
    let mut tx = store.write().await.unwrap();
    let duplicate = api_token(org_id, keeper, "Copy", PermissionSet::EMPTY, 30);
    let result = tx.insert_api_token(&duplicate, "sha256-ci").await;
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "got {result:?}"
    );
}

pub async fn recovery_codes(store: Store) {
    let world = world(&store, "acme").await;
    let keeper = world.person.id;
    let colleague = person(world.org.id, "Colleague", Some("13900139222"), None, None);
    let codes: Vec<String> = ["rc-1", "rc-2", "rc-3"].map(str::to_owned).to_vec();

    let mut tx = store.write().await.unwrap();
    tx.insert_person(&colleague).await.unwrap();
    assert_eq!(tx.unused_recovery_codes(keeper).await.unwrap(), 0);
    tx.replace_recovery_codes(keeper, &codes).await.unwrap();
    tx.replace_recovery_codes(colleague.id, &["rc-1".to_owned()])
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.write().await.unwrap();
    assert_eq!(tx.unused_recovery_codes(keeper).await.unwrap(), 3);
    assert!(tx.use_recovery_code(keeper, "rc-2", at(100)).await.unwrap());
    assert!(
        !tx.use_recovery_code(keeper, "rc-2", at(101)).await.unwrap(),
        "a code works once"
    );
    assert!(
        !tx.use_recovery_code(keeper, "rc-unknown", at(102))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();

    let mut tx = store.write().await.unwrap();
    assert_eq!(tx.unused_recovery_codes(keeper).await.unwrap(), 2);
    assert!(!tx.use_recovery_code(keeper, "rc-2", at(103)).await.unwrap());
    assert_eq!(
        tx.unused_recovery_codes(colleague.id).await.unwrap(),
        1,
        "another person's code of the same hash is separate"
    );
    assert!(
        tx.use_recovery_code(colleague.id, "rc-1", at(104))
            .await
            .unwrap()
    );
    assert_eq!(tx.unused_recovery_codes(keeper).await.unwrap(), 2);

    // New codes replace every old one, used or not.
    tx.replace_recovery_codes(keeper, &["rc-4".to_owned(), "rc-5".to_owned()])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.write().await.unwrap();
    assert_eq!(tx.unused_recovery_codes(keeper).await.unwrap(), 2);
    assert!(!tx.use_recovery_code(keeper, "rc-1", at(105)).await.unwrap());
    assert!(tx.use_recovery_code(keeper, "rc-5", at(106)).await.unwrap());
    assert_eq!(tx.unused_recovery_codes(keeper).await.unwrap(), 1);
    tx.commit().await.unwrap();
}
