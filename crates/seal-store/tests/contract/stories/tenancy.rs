//! Stories of tenant scoping: with another organisation's id, no read finds anything of
//! this one, and no write changes anything of this one.

use seal_core::permission::{Permission, PermissionSet};
use seal_core::person::{Login, PersonStatus};
use seal_core::role::{BuiltinRole, RoleKind};
use seal_store::{ApiTokenRecord, DepartmentRecord, PeopleFilter, PersonRecord, RoleRecord, Store};

use crate::contract::fixtures::{
    World, all_audit, api_token, at, audit_event, audit_page, builtin_role, custom_role,
    department, department_name, email, expected_person, person, person_name, role_name, session,
    world,
};

/// What org A has besides its [`World`].
struct Holdings {
    admin: RoleRecord,
    clerks: RoleRecord,
    token: ApiTokenRecord,
    child: DepartmentRecord,
    a_only_login: Login,
}

async fn two_organisations(store: &Store) -> (World, World, Holdings) {
    // Both have a person with the same phone and e-mail: logins are per organisation.
    let a = world(store, "org-a").await;
    let b = world(store, "org-b").await;
    let admin = builtin_role(a.org.id, BuiltinRole::OrgAdmin, 1);
    let clerks = custom_role(
        a.org.id,
        "Clerks",
        PermissionSet::of(&[Permission::SealsRead]),
        2,
    );
    let token = api_token(
        a.org.id,
        a.person.id,
        "A's token",
        PermissionSet::of(&[Permission::AuditRead]),
        3,
    );
    let child = department(a.org.id, "Cashiers", Some(a.department.id));
    let a_only = person(
        a.org.id,
        "Only in A",
        Some("13711117777"),
        Some("only@a.example"),
        None,
    );
    let b_admin = builtin_role(b.org.id, BuiltinRole::OrgAdmin, 1);

    let mut tx = store.write().await.unwrap();
    tx.insert_role(&admin).await.unwrap();
    tx.insert_role(&clerks).await.unwrap();
    tx.insert_role(&b_admin).await.unwrap();
    tx.insert_department(&child).await.unwrap();
    tx.insert_person(&a_only).await.unwrap();
    tx.set_person_roles(a.org.id, a.person.id, &[admin.id, clerks.id])
        .await
        .unwrap();
    tx.set_person_roles(b.org.id, b.person.id, &[b_admin.id])
        .await
        .unwrap();
    tx.insert_api_token(&token, "hash-a").await.unwrap();
    tx.insert_session(&session(a.org.id, a.person.id, "session-a"))
        .await
        .unwrap();
    tx.set_totp(a.org.id, a.person.id, Some("SECRETA"), true)
        .await
        .unwrap();
    assert!(
        tx.advance_totp_step(a.org.id, a.person.id, 100)
            .await
            .unwrap()
    );
    tx.replace_recovery_codes(a.person.id, &["rc-a".to_owned()])
        .await
        .unwrap();
    for seconds in [1, 2, 3] {
        tx.append_audit(&audit_event(
            Some(a.org.id),
            seconds,
            "system",
            "org.created",
            "x",
        ))
        .await
        .unwrap();
    }
    tx.append_audit(&audit_event(
        Some(b.org.id),
        4,
        "system",
        "org.created",
        "y",
    ))
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let holdings = Holdings {
        admin,
        clerks,
        token,
        child,
        a_only_login: Login::parse("only@a.example").unwrap(),
    };
    (a, b, holdings)
}

pub async fn reads_are_scoped_by_organisation(store: Store) {
    let (a, b, held) = two_organisations(&store).await;
    let b_id = b.org.id;
    let mut tx = store.read().await.unwrap();

    assert_eq!(tx.person(b_id, a.person.id).await.unwrap(), None);
    assert!(
        store
            .person_with_roles(b_id, a.person.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(tx.credentials(b_id, a.person.id).await.unwrap().is_none());
    assert!(
        tx.credentials_by_login(b_id, &held.a_only_login)
            .await
            .unwrap()
            .is_none()
    );
    let shared_login = Login::parse("keeper@example.com").unwrap();
    let found = tx
        .credentials_by_login(b_id, &shared_login)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        found.person_id, b.person.id,
        "the same login names B's own person"
    );
    assert!(
        !tx.login_taken(b_id, &held.a_only_login, None)
            .await
            .unwrap()
    );

    assert_eq!(tx.department(b_id, a.department.id).await.unwrap(), None);
    assert_eq!(tx.department(b_id, held.child.id).await.unwrap(), None);
    assert_eq!(
        tx.departments(b_id).await.unwrap(),
        vec![b.department.clone()]
    );
    assert_eq!(
        tx.department_contents(b_id, a.department.id).await.unwrap(),
        (0, 0)
    );

    assert_eq!(tx.role(b_id, held.admin.id).await.unwrap(), None);
    assert_eq!(tx.role(b_id, held.clerks.id).await.unwrap(), None);
    let b_roles = tx.roles(b_id).await.unwrap();
    assert_eq!(b_roles.len(), 1);
    assert_eq!(b_roles[0].org_id, b_id);
    assert!(tx.person_roles(b_id, a.person.id).await.unwrap().is_empty());
    assert!(
        tx.role_holders(b_id, held.admin.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        tx.role_holders(b_id, held.clerks.id)
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(tx.api_token(b_id, held.token.id).await.unwrap(), None);
    assert!(tx.api_tokens(b_id).await.unwrap().is_empty());

    let everyone = PeopleFilter {
        limit: 100,
        ..PeopleFilter::default()
    };
    let (people, total) = tx.people(b_id, &everyone).await.unwrap();
    assert_eq!(total, 1);
    assert_eq!(people, vec![expected_person(&b.person)]);
    for filter in [
        PeopleFilter {
            department: Some(a.department.id),
            ..everyone.clone()
        },
        PeopleFilter {
            role: Some(held.admin.id),
            ..everyone.clone()
        },
        PeopleFilter {
            query: Some("Only in A".to_owned()),
            ..everyone.clone()
        },
    ] {
        assert_eq!(
            tx.people(b_id, &filter).await.unwrap(),
            (vec![], 0),
            "{filter:?}"
        );
    }

    let (events, total) = audit_page(&mut tx, b_id, &all_audit()).await;
    assert_eq!(total, 1);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event.org, Some(b_id));

    // A's own reads still see everything (the scoping is not hiding too much).
    let a_id = a.org.id;
    assert!(tx.person(a_id, a.person.id).await.unwrap().is_some());
    assert_eq!(tx.person_roles(a_id, a.person.id).await.unwrap().len(), 2);
    assert_eq!(tx.api_tokens(a_id).await.unwrap(), vec![held.token.clone()]);
    assert_eq!(tx.departments(a_id).await.unwrap().len(), 2);
    assert_eq!(tx.people(a_id, &everyone).await.unwrap().1, 2);
    assert_eq!(audit_page(&mut tx, a_id, &all_audit()).await.1, 3);
}

pub async fn writes_are_scoped_by_organisation(store: Store) {
    let (a, b, held) = two_organisations(&store).await;
    let a_id = a.org.id;
    let b_id = b.org.id;
    let before_person = expected_person(&a.person);

    let mut tx = store.write().await.unwrap();
    let mut hijacked = expected_person(&a.person);
    hijacked.org_id = b_id;
    hijacked.name = person_name("Hijacked");
    hijacked.phone = None;
    hijacked.email = Some(email("evil@b.example"));
    tx.update_person(&hijacked, at(900)).await.unwrap();
    tx.set_person_status(b_id, a.person.id, PersonStatus::Disabled, at(901))
        .await
        .unwrap();
    tx.set_password(b_id, a.person.id, "$argon2id$evil", false, at(902))
        .await
        .unwrap();
    tx.set_totp(b_id, a.person.id, Some("EVIL"), false)
        .await
        .unwrap();
    assert!(
        !tx.advance_totp_step(b_id, a.person.id, 1_000)
            .await
            .unwrap()
    );
    tx.set_person_roles(b_id, a.person.id, &[]).await.unwrap();
    tx.update_department(
        b_id,
        a.department.id,
        &department_name("Hijacked"),
        None,
        None,
    )
    .await
    .unwrap();
    tx.delete_department(b_id, held.child.id).await.unwrap();
    tx.update_role(
        b_id,
        &RoleRecord {
            name: role_name("Hijacked"),
            kind: RoleKind::Custom(PermissionSet::EMPTY),
            ..held.clerks.clone()
        },
    )
    .await
    .unwrap();
    tx.delete_role(b_id, held.clerks.id).await.unwrap();
    tx.revoke_api_token(b_id, held.token.id, at(903))
        .await
        .unwrap();
    assert_eq!(tx.delete_sessions_of(b_id, a.person.id).await.unwrap(), 0);
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.person(a_id, a.person.id).await.unwrap(),
        Some(PersonRecord {
            totp_enabled: true,
            ..before_person
        }),
        "unchanged but for the TOTP enrolment of the setup"
    );
    let credentials = tx.credentials(a_id, a.person.id).await.unwrap().unwrap();
    assert_eq!(credentials.password_hash, a.person.password_hash);
    assert_eq!(credentials.totp_secret.as_deref(), Some("SECRETA"));
    assert!(credentials.totp_enabled);
    assert_eq!(credentials.totp_last_step, 100);
    assert_eq!(
        tx.person_roles(a_id, a.person.id).await.unwrap(),
        vec![held.admin.clone(), held.clerks.clone()]
    );
    assert_eq!(
        tx.department(a_id, a.department.id).await.unwrap(),
        Some(a.department.clone())
    );
    assert_eq!(
        tx.department(a_id, held.child.id).await.unwrap(),
        Some(held.child.clone())
    );
    assert_eq!(
        tx.role(a_id, held.clerks.id).await.unwrap(),
        Some(held.clerks.clone())
    );
    assert_eq!(
        tx.api_token(a_id, held.token.id).await.unwrap(),
        Some(held.token.clone())
    );
    assert!(store.session("session-a").await.unwrap().is_some());
}
