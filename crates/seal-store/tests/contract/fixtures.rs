//! Builders for the records the stories write: valid domain values with fixed times and
//! fresh ids, so each story states only what it cares about.

use seal_core::audit::AuditEvent;
use seal_core::department::DepartmentName;
use seal_core::ids::{ApiTokenId, DepartmentId, OrgId, PersonId, RoleId};
use seal_core::org::{OrgCode, OrgName, Uscc, uscc_check_character};
use seal_core::permission::PermissionSet;
use seal_core::person::{Email, PersonName, PersonStatus, Phone};
use seal_core::role::{BuiltinRole, RoleKind, RoleName};
use seal_core::time::Timestamp;
use seal_store::{
    ApiTokenRecord, AuditFilter, AuditRecord, DepartmentRecord, NewPerson, OrgRecord, PersonRecord,
    RoleRecord, SessionRecord, Store, Tx,
};
use uuid::Uuid;

/// A fixed moment (2026-05-28T00:00:00Z) plus `seconds`: stories never read the clock.
pub fn at(seconds: i64) -> Timestamp {
    Timestamp::from_millis(1_779_926_400_000 + seconds * 1000)
}

pub fn fresh_uuid() -> Uuid {
    Uuid::new_v4()
}

pub fn org_code(text: &str) -> OrgCode {
    OrgCode::parse(text).expect("valid org code")
}

/// A valid unified social credit code, different for each `serial`.
pub fn uscc(serial: u32) -> Uscc {
    let body = format!("9111010{serial:010}");
    let check = uscc_check_character(&body).expect("body in the USCC alphabet");
    Uscc::parse(&format!("{body}{check}")).expect("valid USCC")
}

pub fn org(code: &str, name: &str) -> OrgRecord {
    OrgRecord {
        id: OrgId::from_uuid(fresh_uuid()),
        code: org_code(code),
        name: OrgName::parse(name).expect("valid org name"),
        uscc: None,
        created_at: at(0),
    }
}

pub fn department(org: OrgId, name: &str, parent: Option<DepartmentId>) -> DepartmentRecord {
    DepartmentRecord {
        id: DepartmentId::from_uuid(fresh_uuid()),
        org_id: org,
        parent,
        name: department_name(name),
        head: None,
        created_at: at(10),
    }
}

pub fn department_name(name: &str) -> DepartmentName {
    DepartmentName::parse(name).expect("valid department name")
}

pub fn person_name(name: &str) -> PersonName {
    PersonName::parse(name).expect("valid person name")
}

pub fn phone(text: &str) -> Phone {
    Phone::parse(text).expect("valid phone")
}

pub fn email(text: &str) -> Email {
    Email::parse(text).expect("valid email")
}

/// A person who signs in with `phone` and/or `email` (at least one must be given).
pub fn person(
    org: OrgId,
    name: &str,
    phone_text: Option<&str>,
    email_text: Option<&str>,
    department: Option<DepartmentId>,
) -> NewPerson {
    NewPerson {
        id: PersonId::from_uuid(fresh_uuid()),
        org_id: org,
        name: person_name(name),
        phone: phone_text.map(phone),
        email: email_text.map(email),
        department,
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$salt${name}"),
        must_change_password: true,
        created_at: at(20),
    }
}

/// What the store should hand back for a person just inserted from `new`.
pub fn expected_person(new: &NewPerson) -> PersonRecord {
    PersonRecord {
        id: new.id,
        org_id: new.org_id,
        name: new.name.clone(),
        phone: new.phone.clone(),
        email: new.email.clone(),
        department: new.department,
        status: PersonStatus::Active,
        must_change_password: new.must_change_password,
        totp_enabled: false,
        created_at: new.created_at,
        updated_at: new.created_at,
    }
}

pub fn role_name(name: &str) -> RoleName {
    RoleName::parse(name).expect("valid role name")
}

pub fn builtin_role(org: OrgId, role: BuiltinRole, created_seconds: i64) -> RoleRecord {
    RoleRecord {
        id: RoleId::from_uuid(fresh_uuid()),
        org_id: org,
        kind: RoleKind::Builtin(role),
        name: role_name(role.default_name()),
        created_at: at(created_seconds),
    }
}

pub fn custom_role(
    org: OrgId,
    name: &str,
    permissions: PermissionSet,
    created_seconds: i64,
) -> RoleRecord {
    RoleRecord {
        id: RoleId::from_uuid(fresh_uuid()),
        org_id: org,
        kind: RoleKind::Custom(permissions),
        name: role_name(name),
        created_at: at(created_seconds),
    }
}

pub fn session(org: OrgId, person: PersonId, token_hash: &str) -> SessionRecord {
    SessionRecord {
        token_hash: token_hash.to_owned(),
        org_id: org,
        person_id: person,
        csrf_token: format!("csrf-{token_hash}"),
        mfa_pending: true,
        created_at: at(100),
        last_seen_at: at(100),
        source: "192.0.2.7".to_owned(),
        user_agent: "Mozilla/5.0 (contract test)".to_owned(),
    }
}

pub fn api_token(
    org: OrgId,
    person: PersonId,
    name: &str,
    scopes: PermissionSet,
    created_seconds: i64,
) -> ApiTokenRecord {
    ApiTokenRecord {
        id: ApiTokenId::from_uuid(fresh_uuid()),
        org_id: org,
        person_id: person,
        name: name.to_owned(),
        scopes,
        created_at: at(created_seconds),
        last_used_at: None,
        revoked_at: None,
    }
}

pub fn audit_event(
    org: Option<OrgId>,
    seconds: i64,
    actor: &str,
    action: &str,
    subject: &str,
) -> AuditEvent {
    AuditEvent {
        at: at(seconds),
        org,
        actor: actor.to_owned(),
        source: "198.51.100.4".to_owned(),
        action: action.to_owned(),
        subject: subject.to_owned(),
        details: vec![
            ("reason".to_owned(), format!("{action} by {actor}")),
            ("名称".to_owned(), "财务部".to_owned()),
        ],
    }
}

/// One organisation with a department and a person in it, committed: the starting point
/// of most stories.
pub struct World {
    pub org: OrgRecord,
    pub department: DepartmentRecord,
    pub person: NewPerson,
}

pub async fn world(store: &Store, code: &str) -> World {
    let org = org(code, &format!("{code} 有限公司"));
    let department = department(org.id, "财务部", None);
    let person = person(
        org.id,
        &format!("{code} keeper"),
        Some("13800138000"),
        Some("keeper@example.com"),
        Some(department.id),
    );
    let mut tx = store.write().await.expect("begin");
    tx.insert_org(&org).await.expect("insert org");
    tx.insert_department(&department)
        .await
        .expect("insert department");
    tx.insert_person(&person).await.expect("insert person");
    tx.commit().await.expect("commit");
    World {
        org,
        department,
        person,
    }
}

/// An audit filter matching every event of the organisation, one page of up to 100.
pub fn all_audit() -> AuditFilter {
    AuditFilter {
        limit: 100,
        ..AuditFilter::default()
    }
}

pub async fn audit_page(tx: &mut Tx, org: OrgId, filter: &AuditFilter) -> (Vec<AuditRecord>, i64) {
    tx.audit_events(org, filter).await.expect("audit events")
}
