//! Stories of roles: built-in and custom roles, their order, names and permissions, and
//! who holds them.

use seal_core::permission::{Permission, PermissionSet};
use seal_core::person::PersonStatus;
use seal_core::role::{BuiltinRole, RoleKind};
use seal_store::{RoleRecord, Store, StoreError};

use crate::contract::fixtures::{at, builtin_role, custom_role, org, person, role_name, world};

pub async fn roles_round_trip_and_order(store: Store) {
    let world = world(&store, "acme").await;
    let org_id = world.org.id;
    // The custom role is older than every built-in one, yet listed after them.
    let reviewers = custom_role(
        org_id,
        "Contract reviewers",
        PermissionSet::of(&[
            Permission::SealsRead,
            Permission::ApplicationsCreate,
            Permission::AuditRead,
        ]),
        1,
    );
    let nobody = custom_role(org_id, "Observers", PermissionSet::EMPTY, 2);
    let builtins: Vec<RoleRecord> = BuiltinRole::ALL
        .iter()
        .zip(10..)
        .map(|(role, seconds)| builtin_role(org_id, *role, seconds))
        .collect();

    let mut tx = store.write().await.unwrap();
    tx.insert_role(&reviewers).await.unwrap();
    tx.insert_role(&nobody).await.unwrap();
    for role in &builtins {
        tx.insert_role(role).await.unwrap();
    }
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let mut expected = builtins.clone();
    expected.push(reviewers.clone());
    expected.push(nobody.clone());
    assert_eq!(
        tx.roles(org_id).await.unwrap(),
        expected,
        "built-in roles first"
    );
    assert_eq!(
        tx.role(org_id, reviewers.id).await.unwrap(),
        Some(reviewers.clone())
    );
    assert_eq!(
        tx.role(org_id, nobody.id).await.unwrap(),
        Some(nobody.clone())
    );
    let admin = &builtins[0];
    assert_eq!(admin.kind, RoleKind::Builtin(BuiltinRole::OrgAdmin));
    assert_eq!(
        tx.role(org_id, admin.id).await.unwrap(),
        Some(admin.clone())
    );

    assert!(
        tx.role_name_taken(org_id, &role_name("Contract reviewers"), None)
            .await
            .unwrap()
    );
    assert!(
        tx.role_name_taken(org_id, &role_name("管理员"), None)
            .await
            .unwrap()
    );
    assert!(
        !tx.role_name_taken(org_id, &role_name("Contract reviewers"), Some(reviewers.id))
            .await
            .unwrap(),
        "a role's own name does not count"
    );
    assert!(
        tx.role_name_taken(org_id, &role_name("Contract reviewers"), Some(nobody.id))
            .await
            .unwrap()
    );
    assert!(
        !tx.role_name_taken(org_id, &role_name("Treasurers"), None)
            .await
            .unwrap()
    );
    drop(tx);

    // Rename the reviewers and change what they may do.
    let changed = RoleRecord {
        name: role_name("Senior reviewers"),
        kind: RoleKind::Custom(PermissionSet::of(&[
            Permission::ApplicationsApprove,
            Permission::PeopleRead,
        ])),
        ..reviewers.clone()
    };
    let mut tx = store.write().await.unwrap();
    tx.update_role(org_id, &changed).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.role(org_id, reviewers.id).await.unwrap(),
        Some(changed.clone())
    );
    assert!(
        !tx.role_name_taken(org_id, &role_name("Contract reviewers"), None)
            .await
            .unwrap()
    );
    drop(tx);

    // Renaming a built-in role keeps it built-in.
    let renamed_admin = RoleRecord {
        name: role_name("Administrators"),
        ..admin.clone()
    };
    let mut tx = store.write().await.unwrap();
    tx.update_role(org_id, &renamed_admin).await.unwrap();
    tx.delete_role(org_id, nobody.id).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.role(org_id, admin.id).await.unwrap(),
        Some(renamed_admin.clone())
    );
    assert_eq!(tx.role(org_id, nobody.id).await.unwrap(), None);
    let listed = tx.roles(org_id).await.unwrap();
    assert_eq!(listed.len(), 7);
    assert!(!listed.iter().any(|role| role.id == nobody.id));
    drop(tx);

    // Names and built-in keys are unique within the organisation.
    let mut tx = store.write().await.unwrap();
    let result = tx
        .insert_role(&custom_role(
            org_id,
            "Senior reviewers",
            PermissionSet::EMPTY,
            50,
        ))
        .await;
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "got {result:?}"
    );
    drop(tx);
    let mut tx = store.write().await.unwrap();
    let mut second_auditor = builtin_role(org_id, BuiltinRole::Auditor, 51);
    second_auditor.name = role_name("Second auditors");
    let result = tx.insert_role(&second_auditor).await;
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "got {result:?}"
    );
    drop(tx);

    // Another organisation may use the same names and built-in roles.
    let other = org("other", "Other");
    let mut tx = store.write().await.unwrap();
    tx.insert_org(&other).await.unwrap();
    tx.insert_role(&builtin_role(other.id, BuiltinRole::OrgAdmin, 1))
        .await
        .unwrap();
    tx.insert_role(&custom_role(
        other.id,
        "Senior reviewers",
        PermissionSet::EMPTY,
        2,
    ))
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// The documented order of [`seal_store::Tx::roles`]: built-in roles first, "then custom
/// ones by name".
pub async fn custom_roles_are_listed_by_name(store: Store) {
    let world = world(&store, "acme").await;
    let zeta = custom_role(world.org.id, "Zeta", PermissionSet::EMPTY, 1);
    let alpha = custom_role(world.org.id, "Alpha", PermissionSet::EMPTY, 2);
    let mut tx = store.write().await.unwrap();
    tx.insert_role(&zeta).await.unwrap();
    tx.insert_role(&alpha).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.roles(world.org.id).await.unwrap(), vec![alpha, zeta]);
}

pub async fn role_holders(store: Store) {
    let world = world(&store, "acme").await;
    let org_id = world.org.id;
    let keeper = &world.person;
    let deputy = person(org_id, "Deputy", Some("13900139009"), None, None);
    let admin = builtin_role(org_id, BuiltinRole::OrgAdmin, 1);
    let auditor = builtin_role(org_id, BuiltinRole::Auditor, 2);
    let clerks = custom_role(
        org_id,
        "Clerks",
        PermissionSet::of(&[Permission::SealsRead]),
        3,
    );
    let other = org("other", "Other");
    let other_admin = builtin_role(other.id, BuiltinRole::OrgAdmin, 1);

    let mut tx = store.write().await.unwrap();
    tx.insert_person(&deputy).await.unwrap();
    for role in [&admin, &auditor, &clerks] {
        tx.insert_role(role).await.unwrap();
    }
    tx.insert_org(&other).await.unwrap();
    tx.insert_role(&other_admin).await.unwrap();
    tx.set_person_roles(org_id, keeper.id, &[clerks.id, admin.id])
        .await
        .unwrap();
    tx.set_person_roles(org_id, deputy.id, &[admin.id])
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.person_roles(org_id, keeper.id).await.unwrap(),
        vec![admin.clone(), clerks.clone()],
        "built-in roles first"
    );
    assert_eq!(
        tx.person_roles(org_id, deputy.id).await.unwrap(),
        vec![admin.clone()]
    );
    let mut both = vec![keeper.id, deputy.id];
    both.sort_by_key(ToString::to_string);
    assert_eq!(tx.role_holders(org_id, admin.id).await.unwrap(), both);
    assert_eq!(
        tx.role_holders(org_id, clerks.id).await.unwrap(),
        vec![keeper.id]
    );
    assert!(
        tx.role_holders(org_id, auditor.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        tx.active_holders_of(org_id, BuiltinRole::OrgAdmin)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        tx.active_holders_of(org_id, BuiltinRole::Auditor)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        tx.active_holders_of(other.id, BuiltinRole::OrgAdmin)
            .await
            .unwrap(),
        0
    );
    let (_, roles) = store
        .person_with_roles(org_id, keeper.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(roles, vec![admin.clone(), clerks.clone()]);
    drop(tx);

    // A disabled admin is not counted as an active one, but still holds the role.
    let mut tx = store.write().await.unwrap();
    tx.set_person_status(org_id, deputy.id, PersonStatus::Disabled, at(40))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.active_holders_of(org_id, BuiltinRole::OrgAdmin)
            .await
            .unwrap(),
        1
    );
    assert_eq!(tx.role_holders(org_id, admin.id).await.unwrap(), both);
    drop(tx);

    // Setting roles replaces them; an empty list removes them all.
    let mut tx = store.write().await.unwrap();
    tx.set_person_roles(org_id, keeper.id, &[auditor.id])
        .await
        .unwrap();
    tx.set_person_roles(org_id, deputy.id, &[]).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.person_roles(org_id, keeper.id).await.unwrap(),
        vec![auditor.clone()]
    );
    assert!(tx.person_roles(org_id, deputy.id).await.unwrap().is_empty());
    assert!(tx.role_holders(org_id, admin.id).await.unwrap().is_empty());
    assert_eq!(
        tx.role_holders(org_id, auditor.id).await.unwrap(),
        vec![keeper.id]
    );
    assert_eq!(
        tx.active_holders_of(org_id, BuiltinRole::OrgAdmin)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        tx.active_holders_of(org_id, BuiltinRole::Auditor)
            .await
            .unwrap(),
        1
    );
    drop(tx);

    // A role somebody holds is not deleted (the foreign key refuses, on SQLite too).
    let mut tx = store.write().await.unwrap();
    let result = tx.delete_role(org_id, auditor.id).await;
    assert!(result.is_err(), "a held role is kept, got {result:?}");
    drop(tx);

    // A role nobody holds can be deleted.
    let mut tx = store.write().await.unwrap();
    tx.delete_role(org_id, clerks.id).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.role(org_id, clerks.id).await.unwrap(), None);
    assert_eq!(
        tx.roles(org_id).await.unwrap(),
        vec![admin.clone(), auditor.clone()]
    );
}

pub async fn roles_of_another_organisation_are_never_attached(store: Store) {
    let world = world(&store, "acme").await;
    let org_id = world.org.id;
    let keeper = &world.person;
    let own_admin = builtin_role(org_id, BuiltinRole::OrgAdmin, 1);
    let other = org("other", "Other");
    let other_admin = builtin_role(other.id, BuiltinRole::OrgAdmin, 1);
    let other_clerks = custom_role(
        other.id,
        "Clerks",
        PermissionSet::of(&[Permission::OrgManage]),
        2,
    );

    let mut tx = store.write().await.unwrap();
    tx.insert_role(&own_admin).await.unwrap();
    tx.insert_org(&other).await.unwrap();
    tx.insert_role(&other_admin).await.unwrap();
    tx.insert_role(&other_clerks).await.unwrap();
    tx.set_person_roles(
        org_id,
        keeper.id,
        &[other_admin.id, own_admin.id, other_clerks.id],
    )
    .await
    .unwrap();
    // Naming the person under the other organisation attaches nothing either.
    tx.set_person_roles(other.id, keeper.id, &[other_admin.id])
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.person_roles(org_id, keeper.id).await.unwrap(),
        vec![own_admin.clone()]
    );
    assert!(
        tx.person_roles(other.id, keeper.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        tx.role_holders(other.id, other_admin.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        tx.role_holders(org_id, other_admin.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        tx.role_holders(other.id, other_clerks.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        tx.active_holders_of(other.id, BuiltinRole::OrgAdmin)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        tx.active_holders_of(org_id, BuiltinRole::OrgAdmin)
            .await
            .unwrap(),
        1
    );
    drop(tx);

    // And clearing roles under the wrong organisation leaves the real ones alone.
    let mut tx = store.write().await.unwrap();
    tx.set_person_roles(other.id, keeper.id, &[]).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.person_roles(org_id, keeper.id).await.unwrap(),
        vec![own_admin]
    );
}
