//! Stories of the directory: organisations, departments and people, their lookups,
//! filters, pagination and sign-in data.

use seal_core::ids::{OrgId, PersonId};
use seal_core::org::OrgName;
use seal_core::person::{Login, PersonStatus};
use seal_core::role::BuiltinRole;
use seal_store::{PeopleFilter, PersonRecord, Store, StoreError};

use crate::contract::fixtures::{
    at, builtin_role, department, department_name, email, expected_person, fresh_uuid, org,
    org_code, person, person_name, phone, uscc, world,
};

pub async fn organisations(store: Store) {
    let mut acme = org("acme", "Acme 印章有限公司");
    acme.uscc = Some(uscc(1));
    let other = org("other-co", "Other Co");

    let mut tx = store.write().await.unwrap();
    tx.insert_org(&acme).await.unwrap();
    tx.insert_org(&other).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.org_by_code(&org_code("ACME")).await.unwrap(),
        Some(acme.clone())
    );
    assert_eq!(tx.org(acme.id).await.unwrap(), Some(acme.clone()));
    assert_eq!(tx.org(other.id).await.unwrap(), Some(other.clone()));
    assert_eq!(tx.org_by_code(&org_code("nobody")).await.unwrap(), None);
    assert_eq!(tx.org(OrgId::from_uuid(fresh_uuid())).await.unwrap(), None);

    assert!(tx.uscc_taken(&uscc(1), None).await.unwrap());
    assert!(tx.uscc_taken(&uscc(1), Some(other.id)).await.unwrap());
    assert!(
        !tx.uscc_taken(&uscc(1), Some(acme.id)).await.unwrap(),
        "an organisation's own code does not count"
    );
    assert!(!tx.uscc_taken(&uscc(2), None).await.unwrap());
    drop(tx);

    let new_name = OrgName::parse("Acme 集团").unwrap();
    let mut tx = store.write().await.unwrap();
    tx.update_org(acme.id, &new_name, Some(&uscc(2)))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let updated = tx.org(acme.id).await.unwrap().unwrap();
    assert_eq!(updated.name, new_name);
    assert_eq!(updated.uscc, Some(uscc(2)));
    assert_eq!(updated.code, acme.code, "the code never changes");
    assert_eq!(updated.created_at, acme.created_at);
    assert!(
        !tx.uscc_taken(&uscc(1), None).await.unwrap(),
        "old code released"
    );
    assert!(tx.uscc_taken(&uscc(2), None).await.unwrap());
    assert_eq!(
        tx.org(other.id).await.unwrap(),
        Some(other.clone()),
        "the other organisation is untouched"
    );
    drop(tx);

    let mut tx = store.write().await.unwrap();
    tx.update_org(acme.id, &new_name, None).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.org(acme.id).await.unwrap().unwrap().uscc, None);
}

pub async fn duplicate_org_code_is_a_conflict(store: Store) {
    let first = org("acme", "Acme");
    let mut tx = store.write().await.unwrap();
    tx.insert_org(&first).await.unwrap();
    tx.commit().await.unwrap();

    let same_code = org("ACME", "Another Acme");
    let mut tx = store.write().await.unwrap();
    let result = tx.insert_org(&same_code).await;
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "expected Conflict, got {result:?}"
    );
    drop(tx);

    // A second organisation with the credit code of the first is a conflict too.
    let mut with_uscc = org("first-uscc", "First");
    with_uscc.uscc = Some(uscc(7));
    let mut same_uscc = org("second-uscc", "Second");
    same_uscc.uscc = Some(uscc(7));
    let mut tx = store.write().await.unwrap();
    tx.insert_org(&with_uscc).await.unwrap();
    let result = tx.insert_org(&same_uscc).await;
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "expected Conflict, got {result:?}"
    );
    drop(tx);

    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.org_by_code(&org_code("acme")).await.unwrap(),
        Some(first)
    );
    assert_eq!(tx.org(same_code.id).await.unwrap(), None);
    assert_eq!(tx.org(with_uscc.id).await.unwrap(), None, "rolled back");
}

pub async fn departments(store: Store) {
    let acme = org("acme", "Acme");
    let finance = department(acme.id, "Finance", None);
    let admin = department(acme.id, "Admin", None);
    let cashiers = department(acme.id, "Cashiers", Some(finance.id));
    let mut tx = store.write().await.unwrap();
    tx.insert_org(&acme).await.unwrap();
    for record in [&finance, &admin, &cashiers] {
        tx.insert_department(record).await.unwrap();
    }
    let clerk = person(
        acme.id,
        "Clerk",
        Some("13900139001"),
        None,
        Some(finance.id),
    );
    let teller = person(
        acme.id,
        "Teller",
        Some("13900139002"),
        None,
        Some(finance.id),
    );
    tx.insert_person(&clerk).await.unwrap();
    tx.insert_person(&teller).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.departments(acme.id).await.unwrap(),
        vec![admin.clone(), cashiers.clone(), finance.clone()],
        "ordered by name"
    );
    assert_eq!(
        tx.department(acme.id, cashiers.id).await.unwrap(),
        Some(cashiers.clone())
    );
    assert_eq!(
        tx.department_contents(acme.id, finance.id).await.unwrap(),
        (2, 1)
    );
    assert_eq!(
        tx.department_contents(acme.id, admin.id).await.unwrap(),
        (0, 0)
    );
    assert_eq!(
        tx.department_contents(acme.id, cashiers.id).await.unwrap(),
        (0, 0)
    );
    drop(tx);

    // Rename the cashiers and move them from Finance to Admin.
    let treasury = department_name("Treasury");
    let mut tx = store.write().await.unwrap();
    tx.update_department(acme.id, cashiers.id, &treasury, Some(admin.id), None)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let moved = tx.department(acme.id, cashiers.id).await.unwrap().unwrap();
    assert_eq!(moved.name, treasury);
    assert_eq!(moved.parent, Some(admin.id));
    assert_eq!(moved.created_at, cashiers.created_at);
    assert_eq!(
        tx.department_contents(acme.id, finance.id).await.unwrap(),
        (2, 0)
    );
    assert_eq!(
        tx.department_contents(acme.id, admin.id).await.unwrap(),
        (0, 1)
    );
    let names: Vec<String> = tx
        .departments(acme.id)
        .await
        .unwrap()
        .iter()
        .map(|d| d.name.as_str().to_owned())
        .collect();
    assert_eq!(names, ["Admin", "Finance", "Treasury"]);
    drop(tx);

    // A department that still has people or sub-departments is not deleted (the
    // foreign keys refuse it, on SQLite too).
    for (id, what) in [(finance.id, "people"), (admin.id, "a sub-department")] {
        let mut tx = store.write().await.unwrap();
        let result = tx.delete_department(acme.id, id).await;
        assert!(
            result.is_err(),
            "a department with {what} is kept, got {result:?}"
        );
    }

    // Move it back to the top level, then delete it.
    let mut tx = store.write().await.unwrap();
    tx.update_department(acme.id, cashiers.id, &treasury, None, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.write().await.unwrap();
    assert_eq!(
        tx.department(acme.id, cashiers.id)
            .await
            .unwrap()
            .unwrap()
            .parent,
        None
    );
    assert_eq!(
        tx.department_contents(acme.id, admin.id).await.unwrap(),
        (0, 0)
    );
    tx.delete_department(acme.id, cashiers.id).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.department(acme.id, cashiers.id).await.unwrap(), None);
    assert_eq!(
        tx.departments(acme.id).await.unwrap(),
        vec![admin.clone(), finance.clone()]
    );
}

pub async fn people_records(store: Store) {
    let world = world(&store, "acme").await;
    let org_id = world.org.id;
    let legal = department(org_id, "Legal", None);
    let email_only = person(
        org_id,
        "Mail Only",
        None,
        Some("Mail.Only@Example.COM"),
        None,
    );
    let mut tx = store.write().await.unwrap();
    tx.insert_department(&legal).await.unwrap();
    tx.insert_person(&email_only).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.person(org_id, world.person.id).await.unwrap(),
        Some(expected_person(&world.person))
    );
    let stored = tx.person(org_id, email_only.id).await.unwrap().unwrap();
    assert_eq!(stored, expected_person(&email_only));
    assert_eq!(
        stored.email.as_ref().map(|e| e.as_str().to_owned()),
        Some("mail.only@example.com".to_owned())
    );
    assert_eq!(
        tx.person(org_id, PersonId::from_uuid(fresh_uuid()))
            .await
            .unwrap(),
        None
    );
    let (person_found, roles) = store
        .person_with_roles(org_id, world.person.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(person_found, expected_person(&world.person));
    assert!(roles.is_empty());
    drop(tx);

    // Edit every field, then disable, then change the password.
    let mut tx = store.write().await.unwrap();
    let mut renamed = person_found.clone();
    renamed.name = person_name("Renamed Keeper");
    renamed.phone = None;
    renamed.email = Some(email("renamed@example.com"));
    renamed.department = Some(legal.id);
    tx.update_person(&renamed, at(500)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let edited = tx.person(org_id, world.person.id).await.unwrap().unwrap();
    assert_eq!(
        edited,
        PersonRecord {
            name: person_name("Renamed Keeper"),
            phone: None,
            email: Some(email("renamed@example.com")),
            department: Some(legal.id),
            updated_at: at(500),
            ..expected_person(&world.person)
        }
    );
    drop(tx);

    let mut tx = store.write().await.unwrap();
    tx.set_person_status(org_id, world.person.id, PersonStatus::Disabled, at(600))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let disabled = tx.person(org_id, world.person.id).await.unwrap().unwrap();
    assert_eq!(disabled.status, PersonStatus::Disabled);
    assert_eq!(disabled.updated_at, at(600));
    drop(tx);

    let mut tx = store.write().await.unwrap();
    tx.set_person_status(org_id, world.person.id, PersonStatus::Active, at(650))
        .await
        .unwrap();
    tx.set_password(
        org_id,
        world.person.id,
        "$argon2id$new-hash",
        false,
        at(700),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let reset = tx.person(org_id, world.person.id).await.unwrap().unwrap();
    assert_eq!(reset.status, PersonStatus::Active);
    assert!(!reset.must_change_password);
    assert_eq!(reset.updated_at, at(700));
    let credentials = tx
        .credentials(org_id, world.person.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(credentials.password_hash, "$argon2id$new-hash");
    assert_eq!(credentials.status, PersonStatus::Active);
    assert_eq!(
        tx.person(org_id, email_only.id).await.unwrap(),
        Some(expected_person(&email_only)),
        "nobody else changed"
    );
    drop(tx);

    let mut tx = store.write().await.unwrap();
    tx.set_password(
        org_id,
        world.person.id,
        "$argon2id$temporary",
        true,
        at(800),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert!(
        tx.person(org_id, world.person.id)
            .await
            .unwrap()
            .unwrap()
            .must_change_password
    );
}

pub async fn duplicate_logins_are_conflicts(store: Store) {
    let world = world(&store, "acme").await;
    let same_phone = person(world.org.id, "Twin", Some("138 0013 8000"), None, None);
    let mut tx = store.write().await.unwrap();
    let result = tx.insert_person(&same_phone).await;
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "expected Conflict, got {result:?}"
    );
    drop(tx);

    let same_email = person(world.org.id, "Twin", None, Some("keeper@EXAMPLE.com"), None);
    let mut tx = store.write().await.unwrap();
    let result = tx.insert_person(&same_email).await;
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "expected Conflict, got {result:?}"
    );
    drop(tx);

    // The same phone in another organisation is someone else, and allowed.
    let other = org("other", "Other");
    let namesake = person(other.id, "Namesake", Some("13800138000"), None, None);
    let mut tx = store.write().await.unwrap();
    tx.insert_org(&other).await.unwrap();
    tx.insert_person(&namesake).await.unwrap();
    tx.commit().await.unwrap();

    // A person in a department that does not exist is refused (foreign keys are on).
    let mut ghost = person(world.org.id, "Ghost", Some("13700137000"), None, None);
    ghost.department = Some(department(world.org.id, "Nowhere", None).id);
    let mut tx = store.write().await.unwrap();
    assert!(tx.insert_person(&ghost).await.is_err());
}

pub async fn people_filters_and_pages(store: Store) {
    let acme = org("acme", "Acme");
    let finance = department(acme.id, "Finance", None);
    let legal = department(acme.id, "Legal", None);
    let alice = person(
        acme.id,
        "Alice Wang",
        Some("13900000001"),
        Some("alice@corp.example"),
        Some(finance.id),
    );
    let bob = person(
        acme.id,
        "Bob Li",
        Some("13900000002"),
        Some("bob@mail.example"),
        Some(finance.id),
    );
    let carol = person(
        acme.id,
        "Carol Zhang",
        Some("13711112222"),
        None,
        Some(legal.id),
    );
    let dave = person(acme.id, "Dave Zhao", None, Some("dave@corp.example"), None);
    let erin = person(
        acme.id,
        "Erin Wu",
        Some("13600000005"),
        Some("erin@mail.example"),
        Some(legal.id),
    );
    let approver = builtin_role(acme.id, BuiltinRole::Approver, 1);
    let other = org("other", "Other");
    let outsider = person(other.id, "Alice Outsider", Some("13900000001"), None, None);

    let mut tx = store.write().await.unwrap();
    tx.insert_org(&acme).await.unwrap();
    tx.insert_org(&other).await.unwrap();
    tx.insert_department(&finance).await.unwrap();
    tx.insert_department(&legal).await.unwrap();
    for new in [&alice, &bob, &carol, &dave, &erin, &outsider] {
        tx.insert_person(new).await.unwrap();
    }
    tx.insert_role(&approver).await.unwrap();
    tx.set_person_roles(acme.id, bob.id, &[approver.id])
        .await
        .unwrap();
    tx.set_person_roles(acme.id, erin.id, &[approver.id])
        .await
        .unwrap();
    tx.set_person_status(acme.id, dave.id, PersonStatus::Disabled, at(30))
        .await
        .unwrap();
    tx.set_person_status(acme.id, erin.id, PersonStatus::Disabled, at(30))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let mut page = async |filter: PeopleFilter| -> (Vec<String>, i64) {
        let (people, total) = tx.people(acme.id, &filter).await.unwrap();
        for found in &people {
            assert_eq!(found.org_id, acme.id);
        }
        let names = people.iter().map(|p| p.name.as_str().to_owned()).collect();
        (names, total)
    };
    let all = |limit: i64| PeopleFilter {
        limit,
        ..PeopleFilter::default()
    };

    assert_eq!(
        page(all(100)).await,
        (
            vec![
                "Alice Wang".to_owned(),
                "Bob Li".to_owned(),
                "Carol Zhang".to_owned(),
                "Dave Zhao".to_owned(),
                "Erin Wu".to_owned(),
            ],
            5
        ),
        "everyone, by name, and nobody from another organisation"
    );

    let query = |text: &str| PeopleFilter {
        query: Some(text.to_owned()),
        ..all(100)
    };
    assert_eq!(
        page(query("Zha")).await,
        (strings(&["Carol Zhang", "Dave Zhao"]), 2),
        "name"
    );
    assert_eq!(
        page(query("Wang")).await,
        (strings(&["Alice Wang"]), 1),
        "name"
    );
    assert_eq!(
        page(query("1111")).await,
        (strings(&["Carol Zhang"]), 1),
        "phone"
    );
    assert_eq!(
        page(query("1390000")).await,
        (strings(&["Alice Wang", "Bob Li"]), 2),
        "phone prefix"
    );
    assert_eq!(
        page(query("@corp.example")).await,
        (strings(&["Alice Wang", "Dave Zhao"]), 2),
        "email"
    );
    assert_eq!(page(query("nobody-matches")).await, (strings(&[]), 0));

    let in_department = |id| PeopleFilter {
        department: Some(id),
        ..all(100)
    };
    assert_eq!(
        page(in_department(finance.id)).await,
        (strings(&["Alice Wang", "Bob Li"]), 2)
    );
    assert_eq!(
        page(in_department(legal.id)).await,
        (strings(&["Carol Zhang", "Erin Wu"]), 2)
    );

    let with_role = PeopleFilter {
        role: Some(approver.id),
        ..all(100)
    };
    assert_eq!(page(with_role).await, (strings(&["Bob Li", "Erin Wu"]), 2));

    let with_status = |status| PeopleFilter {
        status: Some(status),
        ..all(100)
    };
    assert_eq!(
        page(with_status(PersonStatus::Active)).await,
        (strings(&["Alice Wang", "Bob Li", "Carol Zhang"]), 3)
    );
    assert_eq!(
        page(with_status(PersonStatus::Disabled)).await,
        (strings(&["Dave Zhao", "Erin Wu"]), 2)
    );

    // Filters combine.
    let combined = PeopleFilter {
        query: Some("example".to_owned()),
        department: Some(legal.id),
        role: Some(approver.id),
        status: Some(PersonStatus::Disabled),
        ..all(100)
    };
    assert_eq!(page(combined).await, (strings(&["Erin Wu"]), 1));
    let nothing = PeopleFilter {
        department: Some(finance.id),
        status: Some(PersonStatus::Disabled),
        ..all(100)
    };
    assert_eq!(page(nothing).await, (strings(&[]), 0));

    // Pages: the total counts every match, the page only its slice.
    let window = |offset, limit| PeopleFilter {
        offset,
        limit,
        ..PeopleFilter::default()
    };
    assert_eq!(
        page(window(0, 2)).await,
        (strings(&["Alice Wang", "Bob Li"]), 5)
    );
    assert_eq!(
        page(window(2, 2)).await,
        (strings(&["Carol Zhang", "Dave Zhao"]), 5)
    );
    assert_eq!(page(window(4, 2)).await, (strings(&["Erin Wu"]), 5));
    assert_eq!(page(window(5, 2)).await, (strings(&[]), 5));
    assert_eq!(page(window(0, 0)).await, (strings(&[]), 5));
    let filtered_window = PeopleFilter {
        status: Some(PersonStatus::Active),
        offset: 1,
        limit: 1,
        ..PeopleFilter::default()
    };
    assert_eq!(page(filtered_window).await, (strings(&["Bob Li"]), 3));
}

/// Whether the free-text query finds text containing `_` or `%` (common in e-mail
/// addresses) when the query contains them too.
pub async fn people_query_keeps_wildcard_characters(store: Store) {
    let world = world(&store, "acme").await;
    let zhang = person(
        world.org.id,
        "Zhang San",
        None,
        Some("zhang_san@corp.example"),
        None,
    );
    let percent = person(
        world.org.id,
        "Full 100% Name",
        None,
        Some("full@corp.example"),
        None,
    );
    let mut tx = store.write().await.unwrap();
    tx.insert_person(&zhang).await.unwrap();
    tx.insert_person(&percent).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    for (text, expected) in [("zhang_san", "Zhang San"), ("100%", "Full 100% Name")] {
        let filter = PeopleFilter {
            query: Some(text.to_owned()),
            limit: 10,
            ..PeopleFilter::default()
        };
        let (people, total) = tx.people(world.org.id, &filter).await.unwrap();
        let names: Vec<&str> = people.iter().map(|p| p.name.as_str()).collect();
        assert_eq!((names, total), (vec![expected], 1), "query {text:?}");
    }
    // Only the literal characters match: `_` is not a one-character wildcard.
    let filter = PeopleFilter {
        query: Some("zhang_s_n".to_owned()),
        limit: 10,
        ..PeopleFilter::default()
    };
    assert_eq!(tx.people(world.org.id, &filter).await.unwrap().1, 0);
}

/// Whether the free-text query ignores the case of ASCII letters the same way on every
/// backend (SQLite's `LIKE` does, PostgreSQL's does not).
pub async fn people_query_ignores_ascii_case(store: Store) {
    let world = world(&store, "acme").await;
    let mut tx = store.read().await.unwrap();
    for text in ["ACME KEEPER", "acme keeper", "KEEPER@EXAMPLE"] {
        let filter = PeopleFilter {
            query: Some(text.to_owned()),
            limit: 10,
            ..PeopleFilter::default()
        };
        let (people, total) = tx.people(world.org.id, &filter).await.unwrap();
        assert_eq!(
            (people.len(), total),
            (1, 1),
            "query {text:?} should find {:?}",
            world.person.name
        );
    }
}

pub async fn logins_and_credentials(store: Store) {
    let world = world(&store, "acme").await;
    let org_id = world.org.id;
    let keeper = &world.person;
    let colleague = person(org_id, "Colleague", Some("13500135000"), None, None);
    let mut tx = store.write().await.unwrap();
    tx.insert_person(&colleague).await.unwrap();
    tx.commit().await.unwrap();

    let keeper_phone = Login::parse("+86 138-0013-8000").unwrap();
    let keeper_email = Login::parse("keeper@EXAMPLE.com").unwrap();
    let free_phone = Login::parse("13312345678").unwrap();
    let free_email = Login::parse("free@example.com").unwrap();

    let mut tx = store.read().await.unwrap();
    assert!(tx.login_taken(org_id, &keeper_phone, None).await.unwrap());
    assert!(tx.login_taken(org_id, &keeper_email, None).await.unwrap());
    assert!(
        tx.login_taken(org_id, &keeper_phone, Some(colleague.id))
            .await
            .unwrap()
    );
    assert!(
        !tx.login_taken(org_id, &keeper_phone, Some(keeper.id))
            .await
            .unwrap()
    );
    assert!(
        !tx.login_taken(org_id, &keeper_email, Some(keeper.id))
            .await
            .unwrap()
    );
    assert!(!tx.login_taken(org_id, &free_phone, None).await.unwrap());
    assert!(!tx.login_taken(org_id, &free_email, None).await.unwrap());

    for login in [&keeper_phone, &keeper_email] {
        let credentials = tx
            .credentials_by_login(org_id, login)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(credentials.person_id, keeper.id);
        assert_eq!(credentials.org_id, org_id);
        assert_eq!(credentials.status, PersonStatus::Active);
        assert_eq!(credentials.password_hash, keeper.password_hash);
        assert_eq!(credentials.totp_secret, None);
        assert!(!credentials.totp_enabled);
        assert_eq!(credentials.totp_last_step, 0);
    }
    let by_phone = tx
        .credentials_by_login(org_id, &Login::Phone(phone("13500135000")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_phone.person_id, colleague.id);
    assert!(
        tx.credentials_by_login(org_id, &free_phone)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        tx.credentials_by_login(org_id, &free_email)
            .await
            .unwrap()
            .is_none()
    );
    let by_id = tx.credentials(org_id, keeper.id).await.unwrap().unwrap();
    assert_eq!(by_id.person_id, keeper.id);
    assert_eq!(by_id.password_hash, keeper.password_hash);
    drop(tx);

    // A disabled person's credentials say so.
    let mut tx = store.write().await.unwrap();
    tx.set_person_status(org_id, keeper.id, PersonStatus::Disabled, at(60))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let credentials = tx
        .credentials_by_login(org_id, &keeper_email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(credentials.status, PersonStatus::Disabled);
}

pub async fn totp_steps_only_move_forward(store: Store) {
    let world = world(&store, "acme").await;
    let org_id = world.org.id;
    let id = world.person.id;
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

    // Enrolling: the secret is stored but not yet in force.
    let mut tx = store.write().await.unwrap();
    tx.set_totp(org_id, id, Some(secret), false).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let credentials = tx.credentials(org_id, id).await.unwrap().unwrap();
    assert_eq!(credentials.totp_secret.as_deref(), Some(secret));
    assert!(!credentials.totp_enabled);
    assert!(!tx.person(org_id, id).await.unwrap().unwrap().totp_enabled);
    drop(tx);

    let mut tx = store.write().await.unwrap();
    tx.set_totp(org_id, id, Some(secret), true).await.unwrap();
    assert!(tx.advance_totp_step(org_id, id, 59_330_880).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let credentials = tx.credentials(org_id, id).await.unwrap().unwrap();
    assert!(credentials.totp_enabled);
    assert_eq!(credentials.totp_last_step, 59_330_880);
    assert!(tx.person(org_id, id).await.unwrap().unwrap().totp_enabled);
    drop(tx);

    let mut tx = store.write().await.unwrap();
    assert!(
        !tx.advance_totp_step(org_id, id, 59_330_880).await.unwrap(),
        "the same step twice is a replay"
    );
    assert!(
        !tx.advance_totp_step(org_id, id, 59_330_879).await.unwrap(),
        "an older step is refused"
    );
    assert!(tx.advance_totp_step(org_id, id, 59_330_881).await.unwrap());
    assert!(!tx.advance_totp_step(org_id, id, 59_330_881).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.credentials(org_id, id)
            .await
            .unwrap()
            .unwrap()
            .totp_last_step,
        59_330_881
    );
    drop(tx);

    // An unknown person has no step to advance.
    let mut tx = store.write().await.unwrap();
    assert!(
        !tx.advance_totp_step(org_id, PersonId::from_uuid(fresh_uuid()), 1)
            .await
            .unwrap()
    );
    tx.set_totp(org_id, id, None, false).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let credentials = tx.credentials(org_id, id).await.unwrap().unwrap();
    assert_eq!(credentials.totp_secret, None);
    assert!(!credentials.totp_enabled);
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}
