//! The demo organisation: a few departments and one person in every built-in role, all
//! created through the ordinary use cases (so they are audited like any other change).

use seal_core::role::{BuiltinRole, RoleKind};

use crate::directory::PersonInput;
use crate::orgs::Registration;
use crate::{App, AppError, RequestContext};

/// A person the demo created, with how to sign in.
#[derive(Clone, Debug)]
pub struct DemoLogin {
    pub role: BuiltinRole,
    pub name: String,
    pub login: String,
    pub password: String,
}

/// What the demo created.
#[derive(Clone, Debug)]
pub struct Demo {
    pub org_code: String,
    pub logins: Vec<DemoLogin>,
}

pub const DEMO_ORG_CODE: &str = "demo";
/// Shared by every demo account; demo data only.
pub const DEMO_PASSWORD: &str = "Demo-印章-Keeper-2026";

/// Creates the demo organisation, or reports the existing one when it is already there.
pub async fn seed(app: &App) -> Result<Demo, AppError> {
    let context = RequestContext {
        source: "demo".to_owned(),
        user_agent: "sealkeeper demo".to_owned(),
    };
    let people: [(BuiltinRole, &str, &str, Option<usize>); 6] = [
        (BuiltinRole::OrgAdmin, "王管理", "13800000001", None),
        (BuiltinRole::SealKeeper, "李管章", "13800000002", Some(0)),
        (BuiltinRole::Approver, "张审批", "13800000003", Some(0)),
        (BuiltinRole::Auditor, "赵审计", "13800000004", Some(2)),
        (BuiltinRole::Employee, "陈员工", "13800000005", Some(1)),
        (BuiltinRole::It, "刘信息", "13800000006", Some(3)),
    ];
    let logins: Vec<DemoLogin> = people
        .iter()
        .map(|(role, name, phone, _)| DemoLogin {
            role: *role,
            name: (*name).to_owned(),
            login: (*phone).to_owned(),
            password: DEMO_PASSWORD.to_owned(),
        })
        .collect();
    let existing = {
        let mut tx = app.store().read().await?;
        let code = seal_core::org::OrgCode::parse(DEMO_ORG_CODE)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let found = tx.org_by_code(&code).await?;
        tx.commit().await?;
        found
    };
    if existing.is_some() {
        return Ok(Demo {
            org_code: DEMO_ORG_CODE.to_owned(),
            logins,
        });
    }
    let registered = app
        .register_org(
            &Registration {
                org_name: "示范印章管理有限公司".to_owned(),
                org_code: DEMO_ORG_CODE.to_owned(),
                uscc: Some("91350100M000100Y43".to_owned()),
                admin_name: people[0].1.to_owned(),
                admin_phone: Some(people[0].2.to_owned()),
                admin_email: Some("admin@demo.example".to_owned()),
                admin_password: DEMO_PASSWORD.to_owned(),
            },
            &context,
        )
        .await?;
    let admin = app.authenticate_session(&registered.session.token).await?;
    let office = app
        .create_department(&admin, "综合办公室", None, &context)
        .await?;
    let sales = app
        .create_department(&admin, "销售部", None, &context)
        .await?;
    let finance = app
        .create_department(&admin, "财务部", None, &context)
        .await?;
    let it = app
        .create_department(&admin, "信息技术部", Some(office.id), &context)
        .await?;
    let departments = [office.id, sales.id, finance.id, it.id];
    let roles = app.list_roles(&admin).await?;
    for (role, name, phone, department) in people.iter().skip(1) {
        let role_id = roles
            .iter()
            .find(|r| r.kind == RoleKind::Builtin(*role))
            .map(|r| r.id)
            .ok_or_else(|| AppError::Internal(format!("missing built-in role {role}")))?;
        app.create_person(
            &admin,
            &PersonInput {
                name: (*name).to_owned(),
                phone: Some((*phone).to_owned()),
                email: None,
                department: department.map(|d| departments[d]),
                roles: vec![role_id],
                password: Some(DEMO_PASSWORD.to_owned()),
            },
            &context,
        )
        .await?;
    }
    Ok(Demo {
        org_code: DEMO_ORG_CODE.to_owned(),
        logins,
    })
}
