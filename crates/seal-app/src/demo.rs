//! The demo organisation: a few departments and one person in every built-in role, a
//! default approval flow, a contract seal in a seal box and a finance seal in a seal
//! printer, an approved application ready to stamp, and fresh enrolment tokens for the
//! simulated devices — all created through the ordinary use cases (so they are audited
//! like any other change).

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

/// A device the demo simulates, and the seal to bind it to.
#[derive(Clone, Debug)]
pub struct DemoDevice {
    /// `seal_box` or `seal_printer`.
    pub kind: String,
    /// Its state folder's name.
    pub label: String,
    pub seal: seal_core::ids::SealId,
}

/// What the demo created.
#[derive(Clone, Debug)]
pub struct Demo {
    pub org_code: String,
    pub logins: Vec<DemoLogin>,
    /// The approved application's number, ready to stamp at the seal box.
    pub order: Option<String>,
    /// Devices to simulate.
    pub devices: Vec<DemoDevice>,
}

/// Signs a demo account in (for the demo's own use cases, such as approving devices).
pub async fn sign_in(app: &App, phone: &str) -> Result<crate::policy::Principal, AppError> {
    let context = RequestContext {
        source: "demo".to_owned(),
        user_agent: "sealkeeper demo".to_owned(),
    };
    let session = app
        .login(
            &crate::auth::LoginRequest {
                org_code: DEMO_ORG_CODE.to_owned(),
                login: phone.to_owned(),
                password: DEMO_PASSWORD.to_owned(),
            },
            &context,
            None,
        )
        .await?;
    app.authenticate_session(&session.token).await
}

/// A one-page "contract" as a PNG: a white page with lines of grey "text".
fn demo_page() -> Result<bytes::Bytes, AppError> {
    let mut page = image::RgbImage::from_pixel(620, 877, image::Rgb([255, 255, 255]));
    for line in 0..28u32 {
        let y0 = 90 + line * 26;
        let width = if line % 7 == 6 { 260 } else { 500 };
        for y in y0..y0 + 9 {
            for x in 60..60 + width {
                if (x / 11) % 5 != 4 {
                    page.put_pixel(x, y, image::Rgb([70, 70, 70]));
                }
            }
        }
    }
    let mut out = std::io::Cursor::new(Vec::new());
    page.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| AppError::Internal(format!("demo page: {e}")))?;
    Ok(bytes::Bytes::from(out.into_inner()))
}

/// The demo's two devices and the seals they hold.
async fn demo_devices(
    app: &App,
    admin: &crate::policy::Principal,
) -> Result<Vec<DemoDevice>, AppError> {
    let seals = app.seals(admin).await?;
    Ok([
        ("seal_box", "demo-seal-box"),
        ("seal_printer", "demo-printer"),
    ]
    .into_iter()
    .filter_map(|(kind, label)| {
        seals
            .iter()
            .find(|s| s.kind.key() == kind)
            .map(|seal| DemoDevice {
                kind: kind.to_owned(),
                label: label.to_owned(),
                seal: seal.id,
            })
    })
    .collect())
}

/// The approved application of the demo, if it still has uses left.
async fn demo_order(
    app: &App,
    employee: &crate::policy::Principal,
) -> Result<Option<String>, AppError> {
    let (mine, _) = app
        .applications(
            employee,
            crate::applications::Scope::Mine,
            &Default::default(),
        )
        .await?;
    Ok(mine
        .into_iter()
        .find(|a| a.lifecycle.status().is_live() && a.lifecycle.remaining() > 0)
        .map(|a| a.number.as_str().to_owned()))
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
        let admin = sign_in(app, people[0].2).await?;
        let employee = sign_in(app, people[4].2).await?;
        return Ok(Demo {
            org_code: DEMO_ORG_CODE.to_owned(),
            logins,
            order: demo_order(app, &employee).await?,
            devices: demo_devices(app, &admin).await?,
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

    // A default flow decided by the approver role, two seals, an approved application.
    let approver_role = roles
        .iter()
        .find(|r| r.kind == RoleKind::Builtin(BuiltinRole::Approver))
        .map(|r| r.id.to_string())
        .unwrap_or_default();
    app.create_flow(
        &admin,
        &crate::flows::FlowInput {
            name: "默认审批流程".to_owned(),
            is_default: true,
            steps: vec![crate::flows::StepInput {
                name: "部门审批".to_owned(),
                approvers: "role".to_owned(),
                people: Vec::new(),
                role: approver_role,
                rule: "any".to_owned(),
                condition: String::new(),
                condition_value: String::new(),
            }],
        },
        &context,
    )
    .await?;
    let people_list = app
        .list_people(
            &admin,
            &seal_store::PeopleFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await?
        .0;
    let keeper = people_list
        .iter()
        .find(|p| p.phone.as_ref().map(|x| x.as_str()) == Some(people[1].2))
        .map(|p| p.id.to_string())
        .unwrap_or_default();
    let mut contract_seal = None;
    for (name, kind, seal_type) in [
        ("合同专用章", "seal_box", "contract"),
        ("财务专用章", "seal_printer", "finance"),
    ] {
        let seal = app
            .create_seal(
                &admin,
                &crate::seals::SealInput {
                    name: name.to_owned(),
                    kind: kind.to_owned(),
                    seal_type: seal_type.to_owned(),
                    shape: String::new(),
                    width_mm: None,
                    height_mm: None,
                    level: 2,
                    keeper: keeper.clone(),
                    filing_code: String::new(),
                    flow: String::new(),
                },
                &context,
            )
            .await?;
        if kind == "seal_box" {
            contract_seal = Some(seal.id);
        }
    }
    let employee = sign_in(app, people[4].2).await?;
    let approver = sign_in(app, people[2].2).await?;
    if let Some(seal) = contract_seal {
        let now = app.now();
        let application = app
            .create_application(
                &employee,
                &crate::applications::ApplicationInput {
                    seal: seal.to_string(),
                    stamp_kind: "ordinary".to_owned(),
                    title: "年度采购框架合同".to_owned(),
                    reason: "与供应商签订年度采购框架合同（示范数据）".to_owned(),
                    count: 5,
                    from: now.plus_seconds(-60).to_string(),
                    until: now.plus_seconds(30 * 24 * 3600).to_string(),
                },
                &context,
            )
            .await?;
        app.add_document(
            &employee,
            application.id,
            crate::applications::Upload {
                name: "采购框架合同.png".to_owned(),
                bytes: demo_page()?,
            },
            &context,
        )
        .await?;
        app.submit_application(&employee, application.id, &context)
            .await?;
        app.decide_application(
            &approver,
            application.id,
            "approve",
            "同意（示范）",
            &context,
        )
        .await?;
    }
    Ok(Demo {
        org_code: DEMO_ORG_CODE.to_owned(),
        logins,
        order: demo_order(app, &employee).await?,
        devices: demo_devices(app, &admin).await?,
    })
}
