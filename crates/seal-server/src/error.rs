//! The one mapping from errors to HTTP: a status, a stable code, a message in Chinese and
//! English, and for field errors the field. Unexpected errors are logged with their
//! cause and answered opaquely.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use seal_app::AppError;
use seal_app::error::{Conflict, DeviceAuthError, DocumentProblem, Entity, Invalid};
use seal_app::password::PasswordProblem;
use seal_core::application::{ApplicationStatus, LifecycleError, WindowError};
use seal_core::department::TreeError;
use seal_core::flow::{DecisionError, FlowError, ResolveError};
use seal_core::org::{OrgCodeError, UsccError};
use seal_core::seal::{FactorRuleError, SealStatus, ShapeError};
use seal_core::text::TextError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::i18n::{Text, password_feedback};

/// An error ready to be answered: built from an [`AppError`] or a request problem, and
/// rendered in the language of the request being answered (see [`crate::i18n::current`]).
/// Boxed: errors travel through every `Result` of the handlers and should stay small.
#[derive(Debug)]
pub struct ApiError(pub Box<ApiErrorData>);

/// The parts of an [`ApiError`].
#[derive(Debug)]
pub struct ApiErrorData {
    pub status: StatusCode,
    pub code: String,
    pub message: Text,
    pub field: Option<String>,
    /// Extra explanations (password feedback) in both languages.
    pub details: Vec<Text>,
    pub retry_after: Option<u64>,
}

/// The JSON body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `invalid.uscc.check_character`.
    pub code: String,
    /// The message in the language of `Accept-Language` (Chinese unless English comes first).
    pub message: String,
    /// The message in both languages.
    pub messages: Messages,
    /// The request field the error is about, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Further explanations in the reader's language (e.g. how to make a password stronger).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Messages {
    #[serde(rename = "zh-CN")]
    pub zh_cn: String,
    pub en: String,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: impl Into<String>,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> ApiError {
        ApiError(Box::new(ApiErrorData {
            status,
            code: code.into(),
            message: Text::new(zh, en),
            field: None,
            details: vec![],
            retry_after: None,
        }))
    }

    pub fn with_field(mut self, field: impl Into<String>) -> ApiError {
        self.0.field = Some(field.into());
        self
    }

    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    pub fn code(&self) -> &str {
        &self.0.code
    }

    pub fn not_found_route() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found.route",
            "没有这个地址。",
            "There is no such address.",
        )
    }

    pub fn bad_id() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found.id",
            "找不到该记录：标识无效。",
            "Not found: the identifier is not valid.",
        )
    }

    pub fn csrf() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "请求缺少有效的 CSRF 令牌，或来自其他网站。请刷新页面后重试。",
            "The request lacks a valid CSRF token or comes from another site. Reload the page and try again.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let lang = crate::i18n::current();
        let error = *self.0;
        let body = ErrorBody {
            error: ErrorDetail {
                code: error.code.clone(),
                message: error.message.get(lang).to_owned(),
                messages: Messages {
                    zh_cn: error.message.zh.clone(),
                    en: error.message.en.clone(),
                },
                field: error.field.clone(),
                details: error
                    .details
                    .iter()
                    .map(|d| d.get(lang).to_owned())
                    .collect(),
            },
        };
        let mut response = (error.status, Json(body)).into_response();
        if let Some(seconds) = error.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if error.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sealkeeper\""),
            );
        }
        response
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        use StatusCode as S;
        match error {
            AppError::Unauthenticated => ApiError::new(
                S::UNAUTHORIZED,
                "unauthenticated",
                "请先登录（会话不存在或已过期）。",
                "Please sign in (no session, or it has expired).",
            ),
            AppError::MfaRequired => ApiError::new(
                S::UNAUTHORIZED,
                "mfa_required",
                "请输入动态验证码完成登录。",
                "Enter your one-time code to finish signing in.",
            ),
            AppError::Forbidden => ApiError::new(
                S::FORBIDDEN,
                "forbidden",
                "您没有执行此操作的权限。",
                "You are not allowed to do this.",
            ),
            AppError::PasswordChangeRequired => ApiError::new(
                S::FORBIDDEN,
                "password_change_required",
                "您正在使用临时密码，请先修改密码（POST /api/v1/me/password）。",
                "You signed in with a temporary password: change it first (POST /api/v1/me/password).",
            ),
            AppError::SessionRequired => ApiError::new(
                S::FORBIDDEN,
                "session_required",
                "API 令牌不能执行此操作，请登录后操作。",
                "An API token cannot do this; sign in to do it.",
            ),
            AppError::Escalation(permission) => ApiError::new(
                S::FORBIDDEN,
                "escalation",
                format!("不能授予您自己没有的管理权限：{permission}。"),
                format!(
                    "You cannot grant an administrative permission you do not hold: {permission}."
                ),
            ),
            AppError::NotFound(entity) => not_found(entity),
            AppError::Invalid { field, reason } => invalid(field, reason),
            AppError::Conflict(conflict) => self::conflict(conflict),
            AppError::SeparationOfDuties(violation) => {
                let seal_core::sod::SodViolation::AuditorWithWriteRole { permission } = violation;
                ApiError::new(
                    S::CONFLICT,
                    "separation_of_duties.auditor_writes",
                    format!("职责分离：审计员不能同时持有可修改数据的角色（该角色含权限 {permission}）。"),
                    format!("Separation of duties: an auditor cannot also hold a role that changes data (it grants {permission})."),
                )
                .with_field("roles")
            }
            AppError::BadCredentials => ApiError::new(
                S::UNAUTHORIZED,
                "bad_credentials",
                "组织编码、账号或密码错误。",
                "Wrong organisation code, login or password.",
            ),
            AppError::BadSecondFactor => ApiError::new(
                S::UNAUTHORIZED,
                "bad_second_factor",
                "验证码错误或已使用过。",
                "The code is wrong or was already used.",
            ),
            AppError::AccountDisabled => ApiError::new(
                S::FORBIDDEN,
                "account_disabled",
                "该账号已停用，请联系管理员。",
                "This account is disabled; contact your administrator.",
            ),
            AppError::RateLimited {
                retry_after_seconds,
            } => {
                let mut error = ApiError::new(
                    S::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("尝试次数过多，请在 {retry_after_seconds} 秒后重试。"),
                    format!("Too many attempts; try again in {retry_after_seconds} seconds."),
                );
                error.0.retry_after = Some(retry_after_seconds);
                error
            }
            AppError::DeviceAuth(e) => {
                let (zh, en) = match e {
                    DeviceAuthError::Missing => (
                        "缺少签名头（Content-Digest、Signature-Input、Signature）。",
                        "Signature headers missing (Content-Digest, Signature-Input, Signature).",
                    ),
                    DeviceAuthError::Malformed => (
                        "签名头格式不符合设备协议。",
                        "The signature headers do not follow the device protocol.",
                    ),
                    DeviceAuthError::Digest => (
                        "Content-Digest 与请求体不符。",
                        "Content-Digest does not match the body.",
                    ),
                    DeviceAuthError::UnknownKey => (
                        "签名的 keyid 不是已注册的设备。",
                        "The signature's keyid names no enrolled device.",
                    ),
                    DeviceAuthError::BadSignature => {
                        ("签名验证失败。", "The signature does not verify.")
                    }
                    DeviceAuthError::Clock => (
                        "请求时间超出允许的时钟偏差，请校准设备时钟。",
                        "The request time is outside the allowed clock skew; set the device clock.",
                    ),
                    DeviceAuthError::Replay => (
                        "该请求的 nonce 已使用过（重放的请求）。",
                        "This request's nonce was used before (a replayed request).",
                    ),
                };
                ApiError::new(
                    S::UNAUTHORIZED,
                    format!("device.signature.{}", e.key()),
                    zh,
                    en,
                )
            }
            AppError::DeviceNotActive => ApiError::new(
                S::FORBIDDEN,
                "device.not_active",
                "设备尚未获批准或已被吊销。",
                "The device is not approved, or it was revoked.",
            ),
            AppError::UnlockRefused(reason) => {
                use seal_core::device::UnlockRefusal as R;
                let (zh, en) = match reason {
                    R::DeviceNotActive => (
                        "设备尚未获批准或已被吊销。",
                        "The device is not approved, or it was revoked.",
                    ),
                    R::UnknownOrder => {
                        ("找不到该工单号。", "No application has this order number.")
                    }
                    R::NotApproved => ("该申请尚未批准。", "The application is not approved."),
                    R::WrongSeal => (
                        "该设备未绑定此申请的印章。",
                        "This device is not bound to the application's seal.",
                    ),
                    R::OutsideWindow => (
                        "当前不在批准的用印时间段内。",
                        "Now is outside the approved time window.",
                    ),
                    R::NoUsesLeft => (
                        "批准的用印次数已用完。",
                        "Every approved use has been made.",
                    ),
                    R::GrantNotActive => (
                        "用印授权已撤销、用完或过期。",
                        "The grant was revoked, consumed or has expired.",
                    ),
                };
                ApiError::new(S::FORBIDDEN, format!("unlock.{}", reason.key()), zh, en)
            }
            AppError::ContentMismatch { blank: true, .. } => ApiError::new(
                S::CONFLICT,
                "scan.blank_page",
                "扫描的页面是空白页，已拒绝打印并告警。",
                "The scanned page is blank; nothing is printed and an alarm was raised.",
            ),
            AppError::ContentMismatch { .. } => ApiError::new(
                S::CONFLICT,
                "scan.content_mismatch",
                "扫描的页面与批准的文件不一致，已拒绝打印并告警。",
                "The scanned page does not match the approved document; nothing is printed and an alarm was raised.",
            ),
            AppError::ComparisonUncertain { .. } => ApiError::new(
                S::CONFLICT,
                "scan.uncertain",
                "无法可靠地比对扫描的页面（模糊、过暗或不完整），未打印。请平放页面重新扫描。",
                "The scanned page could not be compared with confidence (blurred, dark or partial); nothing is printed. Lay the page flat and scan again.",
            ),
            AppError::ComparisonUnavailable(cause) => {
                tracing::error!(%cause, "document comparison unavailable");
                ApiError::new(
                    S::SERVICE_UNAVAILABLE,
                    "comparison.unavailable",
                    "文件比对暂不可用，请联系管理员。",
                    "Document comparison is unavailable at the moment; contact the administrator.",
                )
            }
            AppError::Store(seal_store::StoreError::Busy(cause)) => {
                tracing::error!(error = %cause, "database busy or unreachable");
                ApiError::new(
                    S::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "服务暂时不可用，请稍后重试。",
                    "The service is briefly unavailable; try again shortly.",
                )
            }
            AppError::Store(store_error) => internal(&store_error),
            AppError::Internal(message) => internal(&message),
        }
    }
}

fn internal(cause: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %cause, "internal error");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "服务器内部错误，已记录，请稍后重试。",
        "Internal server error; it was logged. Please try again later.",
    )
}

fn not_found(entity: Entity) -> ApiError {
    let (code, zh, en) = match entity {
        Entity::Organisation => (
            "not_found.organisation",
            "找不到该组织。",
            "Organisation not found.",
        ),
        Entity::Department => (
            "not_found.department",
            "找不到该部门。",
            "Department not found.",
        ),
        Entity::Person => ("not_found.person", "找不到该人员。", "Person not found."),
        Entity::Role => ("not_found.role", "找不到该角色。", "Role not found."),
        Entity::ApiToken => (
            "not_found.api_token",
            "找不到该 API 令牌。",
            "API token not found.",
        ),
        Entity::Webhook => (
            "not_found.webhook",
            "找不到该 Webhook 端点。",
            "Webhook endpoint not found.",
        ),
        Entity::WebhookDelivery => (
            "not_found.webhook_delivery",
            "找不到该 Webhook 投递记录。",
            "Webhook delivery not found.",
        ),
        Entity::Seal => ("not_found.seal", "找不到该印章。", "Seal not found."),
        Entity::Flow => (
            "not_found.flow",
            "找不到该审批流程。",
            "Approval flow not found.",
        ),
        Entity::Application => (
            "not_found.application",
            "找不到该用印申请。",
            "Application not found.",
        ),
        Entity::Document => (
            "not_found.document",
            "找不到该文件。",
            "Document not found.",
        ),
        Entity::Grant => (
            "not_found.grant",
            "该申请没有用印授权。",
            "This application has no grant.",
        ),
        Entity::Device => ("not_found.device", "找不到该设备。", "Device not found."),
        Entity::EnrolmentToken => (
            "not_found.enrolment_token",
            "找不到该注册令牌。",
            "Enrolment token not found.",
        ),
        Entity::Alarm => ("not_found.alarm", "找不到该告警。", "Alarm not found."),
        Entity::Command => ("not_found.command", "找不到该指令。", "Command not found."),
        Entity::Stamp => (
            "not_found.stamp",
            "找不到该用印记录。",
            "Stamp record not found.",
        ),
        Entity::Comparison => (
            "not_found.comparison",
            "找不到该比对记录。",
            "Comparison not found.",
        ),
    };
    ApiError::new(StatusCode::NOT_FOUND, code, zh, en)
}

fn conflict(conflict: Conflict) -> ApiError {
    let (code, zh, en) = match conflict {
        Conflict::OrgCodeTaken => (
            "conflict.org_code_taken",
            "该组织编码已被使用，请换一个。".to_owned(),
            "This organisation code is already taken; choose another.".to_owned(),
        ),
        Conflict::UsccTaken => (
            "conflict.uscc_taken",
            "该统一社会信用代码已被其他组织登记。".to_owned(),
            "Another organisation already registered this unified social credit code.".to_owned(),
        ),
        Conflict::LoginTaken => (
            "conflict.login_taken",
            "本组织已有人使用该手机号或邮箱。".to_owned(),
            "Someone in this organisation already uses this phone number or e-mail.".to_owned(),
        ),
        Conflict::RoleNameTaken => (
            "conflict.role_name_taken",
            "已有同名角色。".to_owned(),
            "A role with this name already exists.".to_owned(),
        ),
        Conflict::DepartmentNameTaken => (
            "conflict.department_name_taken",
            "同一上级部门下已有同名部门。".to_owned(),
            "A department with this name already exists under the same parent.".to_owned(),
        ),
        Conflict::DepartmentNotEmpty { people, children } => (
            "conflict.department_not_empty",
            format!("部门不为空（{people} 人，{children} 个下级部门），请先移走后再删除。"),
            format!(
                "The department is not empty ({people} people, {children} sub-departments); move them out first."
            ),
        ),
        Conflict::LastAdmin => (
            "conflict.last_admin",
            "不能停用或撤销最后一位在职管理员。".to_owned(),
            "You cannot disable or demote the last active org admin.".to_owned(),
        ),
        Conflict::BuiltinRoleFixed => (
            "conflict.builtin_role_fixed",
            "内置角色不能修改或删除。".to_owned(),
            "Built-in roles cannot be changed or deleted.".to_owned(),
        ),
        Conflict::RoleInUse { holders } => (
            "conflict.role_in_use",
            format!("仍有 {holders} 人持有该角色，请先撤销后再删除。"),
            format!("{holders} people still hold this role; remove it from them first."),
        ),
        Conflict::TotpAlreadyEnabled => (
            "conflict.totp_already_enabled",
            "已启用动态验证码。".to_owned(),
            "Two-factor authentication is already on.".to_owned(),
        ),
        Conflict::TotpNotEnrolling => (
            "conflict.totp_not_enrolling",
            "请先开始绑定动态验证码。".to_owned(),
            "Start two-factor enrolment first.".to_owned(),
        ),
        Conflict::TotpNotEnabled => (
            "conflict.totp_not_enabled",
            "尚未启用动态验证码。".to_owned(),
            "Two-factor authentication is not on.".to_owned(),
        ),
        Conflict::Duplicate => (
            "conflict.duplicate",
            "已存在相同的记录。".to_owned(),
            "The same record already exists.".to_owned(),
        ),
        Conflict::WebhookDisabled => (
            "conflict.webhook_disabled",
            "该 Webhook 端点已停用，不会收到任何事件（包括测试事件）。请先启用。".to_owned(),
            "This webhook endpoint is disabled and receives no events, test events included; enable it first.".to_owned(),
        ),
        Conflict::FlowNameTaken => ("conflict.flow_name_taken", "已有同名的审批流程。".to_owned(), "An approval flow with this name exists.".to_owned()),
        Conflict::FlowInUse { seals } => ("conflict.flow_in_use", format!("有 {seals} 枚印章使用该流程，请先为它们改用其他流程。"), format!("{seals} seal(s) use this flow; give them another flow first.")),
        Conflict::SealNotUsable(status) => ("conflict.seal_not_usable", format!("该印章当前状态为 {}，不能申请或使用。", seal_status_zh(status)), format!("The seal is {}; it cannot be applied for or used.", status.key().replace('_', " "))),
        Conflict::SealStatusChange(e) => ("conflict.seal_status_change", format!("印章状态不能从 {} 变为 {}。", seal_status_zh(e.from), seal_status_zh(e.to)), format!("A seal cannot go from {} to {}.", e.from.key().replace('_', " "), e.to.key().replace('_', " "))),
        Conflict::Lifecycle(e) => lifecycle_conflict(e),
        Conflict::Decision(DecisionError::Finished) => ("conflict.review_finished", "审批已结束。".to_owned(), "The review is over.".to_owned()),
        Conflict::Decision(DecisionError::NotAnApprover) => ("conflict.not_an_approver", "您不是当前审批步骤的审批人（申请人不能审批自己的申请）。".to_owned(), "You are not an approver of the current step (nobody approves their own application).".to_owned()),
        Conflict::Decision(DecisionError::AlreadyDecided) => ("conflict.already_decided", "您已审批过这一步。".to_owned(), "You have already decided this step.".to_owned()),
        Conflict::Resolve(ResolveError::NobodyToApprove { name }) => ("conflict.nobody_to_approve", format!("审批步骤“{name}”没有可审批的人（申请人本人除外；审批人须在职并具有审批权限）。"), format!("Step \"{name}\" has nobody who may approve it (the applicant excluded; approvers must be active and hold applications.approve).")),
        Conflict::Resolve(ResolveError::KeeperOnlyApprover) => ("conflict.keeper_only_approver", "职责分离：印章保管人不能是该申请唯一的审批人，请在流程中加入其他审批人。".to_owned(), "Separation of duties: the seal's keeper cannot be the only approver; add another approver to the flow.".to_owned()),
        Conflict::NoFlow => ("conflict.no_flow", "该印章没有审批流程，组织也没有默认流程。请管理员先设置审批流程。".to_owned(), "Neither the seal nor the organisation has an approval flow; an admin must set one up first.".to_owned()),
        Conflict::NoDocuments => ("conflict.no_documents", "提交前请至少上传一份待盖章文件。".to_owned(), "Upload at least one document to be stamped before submitting.".to_owned()),
        Conflict::GrantNotActive => ("conflict.grant_not_active", "该用印授权已失效。".to_owned(), "The grant is no longer active.".to_owned()),
        Conflict::DeviceStatus(e) => ("conflict.device_status", format!("设备状态不能从 {} 变为 {}。", e.from.key(), e.to.key()), format!("A {} device cannot become {}.", e.from.key(), e.to.key())),
        Conflict::DeviceDuplicate => ("conflict.device_duplicate", "已有使用该序列号、MAC 地址或公钥的设备。".to_owned(), "A device with this serial number, MAC address or key is already enrolled.".to_owned()),
        Conflict::SealAlreadyBound => ("conflict.seal_already_bound", "该印章已绑定其他设备，请先解绑。".to_owned(), "The seal is already bound to another device; unbind it first.".to_owned()),
        Conflict::TerminalTaken => ("conflict.terminal_taken", "该终端已绑定其他设备。".to_owned(), "The terminal is already bound to another device.".to_owned()),
        Conflict::Alarm(e) => ("conflict.alarm_status", format!("告警当前为 {}，不能执行 {}。", e.status.key(), e.action.key()), format!("An alarm that is {} cannot be {}d.", e.status.key(), e.action.key())),
        Conflict::CommandNotPending => ("conflict.command_not_pending", "该指令已确认过。".to_owned(), "The command was already acknowledged.".to_owned()),
        Conflict::StampStatusChange { from, to } => ("conflict.stamp_status", format!("印章记录的状态不能从 {} 变为 {}（已撤销的不能再改）。", from.key(), to.key()), format!("A {} stamp cannot become {} (a revoked stamp stays revoked).", from.key(), to.key())),
    };
    ApiError::new(StatusCode::CONFLICT, code, zh, en)
}

fn document_problem(problem: DocumentProblem) -> (String, String, String) {
    match problem {
        DocumentProblem::Empty => (
            "document.empty".into(),
            "文件为空。".into(),
            "The file is empty.".into(),
        ),
        DocumentProblem::TooLarge { max_bytes } => (
            "document.too_large".into(),
            format!("文件过大（最大 {} MB）。", max_bytes / (1024 * 1024)),
            format!(
                "The file is too large (at most {} MB).",
                max_bytes / (1024 * 1024)
            ),
        ),
        DocumentProblem::UnsupportedType => (
            "document.unsupported_type".into(),
            "只接受 PDF、PNG 或 JPEG 文件（按文件内容判断，而非文件名）。".into(),
            "Only PDF, PNG or JPEG files are accepted (judged by content, not by name).".into(),
        ),
        DocumentProblem::Malformed => (
            "document.malformed".into(),
            "文件已损坏或无法解析。".into(),
            "The file is damaged or cannot be read.".into(),
        ),
        DocumentProblem::TooManyPages { pages, max } => (
            "document.too_many_pages".into(),
            format!("文件有 {pages} 页，最多 {max} 页。"),
            format!("The file has {pages} pages; at most {max} are accepted."),
        ),
        DocumentProblem::Encrypted => (
            "document.encrypted".into(),
            "文件有密码保护，请上传未加密的文件。".into(),
            "The file is password-protected; upload it unencrypted.".into(),
        ),
        DocumentProblem::ImageTooLarge => (
            "document.image_too_large".into(),
            "图片尺寸过大。".into(),
            "The image's dimensions are too large.".into(),
        ),
        DocumentProblem::TooManyDocuments { max } => (
            "document.too_many".into(),
            format!("每个申请最多 {max} 份文件。"),
            format!("An application holds at most {max} documents."),
        ),
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn seal_status_zh(status: SealStatus) -> &'static str {
    match status {
        SealStatus::Active => "在用",
        SealStatus::Suspended => "停用",
        SealStatus::ReportedLost => "挂失",
        SealStatus::Revoked => "注销",
        SealStatus::Destroyed => "销毁",
    }
}

fn application_status_zh(status: ApplicationStatus) -> &'static str {
    match status {
        ApplicationStatus::Draft => "草稿",
        ApplicationStatus::Submitted => "已提交",
        ApplicationStatus::InReview => "审批中",
        ApplicationStatus::Approved => "已批准",
        ApplicationStatus::Rejected => "已驳回",
        ApplicationStatus::Withdrawn => "已撤回",
        ApplicationStatus::InUse => "用印中",
        ApplicationStatus::Completed => "已完成",
        ApplicationStatus::Expired => "已过期",
        ApplicationStatus::Revoked => "已撤销",
    }
}

fn lifecycle_conflict(error: LifecycleError) -> (&'static str, String, String) {
    match error {
        LifecycleError::WrongStatus(status) => (
            "conflict.application_status",
            format!(
                "申请当前为“{}”，不能进行此操作。",
                application_status_zh(status)
            ),
            format!(
                "Not possible while the application is {}.",
                status.key().replace('_', " ")
            ),
        ),
        LifecycleError::OutsideWindow => (
            "conflict.outside_window",
            "不在批准的用印时间内。".to_owned(),
            "Outside the approved time window.".to_owned(),
        ),
        LifecycleError::NoUsesLeft { remaining } => (
            "conflict.no_uses_left",
            format!("剩余用印次数不足（剩余 {remaining} 次）。"),
            format!("Not enough stampings left ({remaining} remain)."),
        ),
        LifecycleError::NotEnded => (
            "conflict.window_not_ended",
            "用印时间尚未结束。".to_owned(),
            "The time window has not ended.".to_owned(),
        ),
    }
}

fn text_error(error: &TextError) -> (String, String, String) {
    match error {
        TextError::Empty => (
            "text.empty".into(),
            "不能为空。".into(),
            "must not be empty.".into(),
        ),
        TextError::TooLong { max } => (
            "text.too_long".into(),
            format!("最多 {max} 个字符。"),
            format!("must be at most {max} characters."),
        ),
        TextError::ControlCharacter => (
            "text.control_character".into(),
            "不能包含控制字符。".into(),
            "must not contain control characters.".into(),
        ),
    }
}

fn field_label(field: &str) -> (&'static str, &'static str) {
    match field {
        "name" => ("名称", "Name"),
        "org_name" => ("组织名称", "Organisation name"),
        "org_code" => ("组织编码", "Organisation code"),
        "uscc" => ("统一社会信用代码", "Unified social credit code"),
        "admin_name" => ("管理员姓名", "Admin name"),
        "admin_phone" | "phone" => ("手机号", "Phone"),
        "admin_email" | "email" => ("邮箱", "E-mail"),
        "admin_password" | "password" => ("密码", "Password"),
        "new_password" => ("新密码", "New password"),
        "current_password" => ("当前密码", "Current password"),
        "login" => ("账号", "Login"),
        "parent" => ("上级部门", "Parent department"),
        "department" => ("部门", "Department"),
        "head" => ("部门负责人", "Head"),
        "keeper" => ("保管人", "Keeper"),
        "kind" => ("印章类别", "Kind"),
        "seal_type" => ("印章类型", "Seal type"),
        "shape" => ("形状", "Shape"),
        "status" => ("状态", "Status"),
        "reason" => ("事由", "Reason"),
        "title" => ("标题", "Title"),
        "seal" => ("印章", "Seal"),
        "stamp_kind" => ("用印类型", "Stamp kind"),
        "from" => ("开始时间", "From"),
        "until" => ("结束时间", "Until"),
        "steps" => ("审批步骤", "Steps"),
        "verdict" => ("审批结果", "Verdict"),
        "comment" => ("意见", "Comment"),
        "file" => ("文件", "File"),
        "dpi" => ("分辨率", "Resolution"),
        "level1" => ("一级印章验证方式", "Level 1 factors"),
        "level2" => ("二级印章验证方式", "Level 2 factors"),
        "level3" => ("三级印章验证方式", "Level 3 factors"),
        "roles" => ("角色", "Roles"),
        "permissions" => ("权限", "Permissions"),
        "scopes" => ("权限范围", "Scopes"),
        "code" => ("验证码", "Code"),
        "url" => ("端点地址", "Endpoint URL"),
        "kinds" => ("事件类型", "Event kinds"),
        "filing_target" => ("备案对象", "Filing target"),
        "secret" => ("签名密钥", "Signing secret"),
        _ => ("字段", "Field"),
    }
}

fn webhook_url_error(error: seal_core::webhook::UrlError) -> (String, String, String) {
    use seal_core::webhook::UrlError as U;
    let (code, zh, en): (&str, String, String) = match error {
        U::Empty => (
            "webhook_url.empty",
            "请填写端点地址。".into(),
            "Enter the endpoint URL.".into(),
        ),
        U::TooLong { max } => (
            "webhook_url.too_long",
            format!("地址最多 {max} 个字符。"),
            format!("The URL must be at most {max} characters."),
        ),
        U::Scheme => (
            "webhook_url.scheme",
            "地址须以 https:// 开头（仅在允许内网目标时可用 http://）。".into(),
            "The URL must start with https:// (http:// only where private targets are allowed)."
                .into(),
        ),
        U::Host => (
            "webhook_url.host",
            "地址中的主机名无效。".into(),
            "The URL's host name is not valid.".into(),
        ),
        U::Port => (
            "webhook_url.port",
            "端口须为 1 至 65535 的数字。".into(),
            "The port must be a number from 1 to 65535.".into(),
        ),
        U::Credentials => (
            "webhook_url.credentials",
            "地址中不能包含用户名或密码。".into(),
            "The URL must not carry a user name or password.".into(),
        ),
        U::Characters => (
            "webhook_url.characters",
            "地址中不能包含空格、控制字符或 # 片段。".into(),
            "The URL must not contain spaces, control characters or a # fragment.".into(),
        ),
        U::PrivateHost => (
            "webhook_url.private",
            "不允许发送到本机、内网或链路本地地址。".into(),
            "Loopback, private and link-local addresses are not allowed as targets.".into(),
        ),
    };
    (code.to_owned(), zh, en)
}

fn device_value(e: seal_core::device::DeviceValueError) -> (String, String, String) {
    use seal_core::device::DeviceValueError as E;
    let (code, zh) = match e {
        E::Serial => ("device.serial", "序列号须为 1 至 64 个字母、数字或 - _ .。"),
        E::Mac => (
            "device.mac",
            "MAC 地址应为 6 组十六进制数，如 02:00:5e:10:00:01。",
        ),
        E::Firmware => ("device.firmware", "固件版本须为 1 至 32 个可打印字符。"),
        E::Terminal => ("device.terminal", "终端标识须为 1 至 64 个可打印字符。"),
        E::Position => (
            "device.position",
            "位置无效：纬度 -90 至 90，经度 -180 至 180。",
        ),
        E::Radius => ("device.radius", "电子围栏半径须为 10 米至 100 公里。"),
        E::Battery => ("device.battery", "电量须为 0 至 100%。"),
        E::Parameters => (
            "device.parameters",
            "参数超出范围：心跳 5–3600 秒，按压上限 100–60000 毫秒，低电量 1–90%。",
        ),
    };
    (
        code.into(),
        zh.into(),
        format!("{}.", e.to_string().trim_end_matches('.')),
    )
}

fn invalid(field: &'static str, reason: Invalid) -> ApiError {
    let (label_zh, label_en) = field_label(field);
    let mut details = vec![];
    let (code, zh, en): (String, String, String) = match reason {
        Invalid::Text(error) => {
            let (code, zh, en) = text_error(&error);
            (code, format!("{label_zh}{zh}"), format!("{label_en} {en}"))
        }
        Invalid::OrgCode(OrgCodeError::Length) => ("org_code.length".into(), "组织编码须为 2 到 32 个字符。".into(), "The organisation code must be 2 to 32 characters.".into()),
        Invalid::OrgCode(OrgCodeError::Characters) => ("org_code.characters".into(), "组织编码只能包含字母、数字和连字符，且以字母或数字开头。".into(), "The organisation code may contain only letters, digits and hyphens, starting with a letter or digit.".into()),
        Invalid::Uscc(UsccError::Length) => ("uscc.length".into(), "统一社会信用代码须为 18 位。".into(), "The unified social credit code must be 18 characters.".into()),
        Invalid::Uscc(UsccError::Character) => ("uscc.character".into(), "统一社会信用代码含有不允许的字符（不使用 I、O、S、V、Z）。".into(), "The unified social credit code contains a character outside its alphabet (I, O, S, V and Z are never used).".into()),
        Invalid::Uscc(UsccError::Division) => ("uscc.division".into(), "统一社会信用代码第 3 至 8 位须为行政区划代码（数字）。".into(), "Characters 3 to 8 of the unified social credit code must be digits (the administrative division code).".into()),
        Invalid::Uscc(UsccError::CheckCharacter) => ("uscc.check_character".into(), "统一社会信用代码的校验位（第 18 位）不正确，请检查是否输错。".into(), "The check character (the 18th) of the unified social credit code is wrong; please check for a typo.".into()),
        Invalid::Phone => ("phone".into(), "手机号无效：应为 13 至 19 开头的 11 位数字。".into(), "Not a valid mobile number: 11 digits starting with 13 to 19.".into()),
        Invalid::Email => ("email".into(), "邮箱地址无效。".into(), "Not a valid e-mail address.".into()),
        Invalid::Login => ("login".into(), "请输入手机号或邮箱。".into(), "Enter a mobile number or an e-mail address.".into()),
        Invalid::NoLogin => ("no_login".into(), "手机号和邮箱至少填写一项，用于登录。".into(), "Give a phone number or an e-mail address (or both) to sign in with.".into()),
        Invalid::Id => ("id".into(), "标识无效。".into(), "Not a valid identifier.".into()),
        Invalid::Tree(TreeError::Cycle) => ("department.cycle".into(), "不能把部门移到它自己或它的下级部门之下。".into(), "A department cannot be moved under itself or one of its sub-departments.".into()),
        Invalid::Tree(TreeError::TooDeep) => ("department.too_deep".into(), format!("部门层级最多 {} 层。", seal_core::department::MAX_DEPTH), format!("Departments can be nested at most {} levels deep.", seal_core::department::MAX_DEPTH)),
        Invalid::Password(PasswordProblem::TooShort { min }) => ("password.too_short".into(), format!("密码至少需要 {min} 个字符。"), format!("The password must be at least {min} characters.")),
        Invalid::Password(PasswordProblem::TooLong { max }) => ("password.too_long".into(), format!("密码最多 {max} 个字符。"), format!("The password must be at most {max} characters.")),
        Invalid::Password(PasswordProblem::Weak { score, feedback }) => {
            details = feedback.iter().map(|key| password_feedback(key)).collect();
            ("password.weak".into(), format!("密码太容易被猜到（强度 {score}/4，至少需要 3）。"), format!("The password is too easy to guess (strength {score}/4, at least 3 needed)."))
        }
        Invalid::WrongPassword => ("password.wrong".into(), "当前密码不正确。".into(), "The current password is wrong.".into()),
        Invalid::SameAsCurrent => ("password.same".into(), "新密码不能与当前密码相同。".into(), "The new password must differ from the current one.".into()),
        Invalid::UnknownPermission(key) => ("permission.unknown".into(), format!("没有名为 “{key}” 的权限。"), format!("There is no permission named \"{key}\".")),
        Invalid::NoPermissions => ("permission.none".into(), "至少选择一项权限。".into(), "Choose at least one permission.".into()),
        Invalid::ScopeNotHeld(permission) => ("scope.not_held".into(), format!("令牌不能包含您没有的权限：{permission}。"), format!("A token cannot carry a permission you do not hold: {permission}.")),
        Invalid::UnknownRole => ("role.unknown".into(), "所选角色不存在。".into(), "A chosen role does not exist.".into()),
        Invalid::UnknownDepartment => ("department.unknown".into(), "所选部门不存在。".into(), "The chosen department does not exist.".into()),
        Invalid::UnknownPerson => ("person.unknown".into(), format!("{label_zh}：所选人员不存在或已停用。"), format!("{label_en}: the chosen person does not exist or is disabled.")),
        Invalid::NotAKeeper => ("keeper.not_keeper".into(), "保管人须持有印章保管权限（印章管理员角色）。".into(), "The keeper must hold the seal-keeping permission (the seal keeper role).".into()),
        Invalid::UnknownKey(key) => ("unknown_value".into(), format!("{label_zh}：不支持的取值“{key}”。"), format!("{label_en}: \"{key}\" is not an allowed value.")),
        Invalid::Shape(e) => ("seal.shape".into(), match e {
            ShapeError::UnknownShape => "形状须为圆形、椭圆形或方形。".into(),
            ShapeError::RoundDiameter => "圆形印章直径须为 38、40、42 或 45 毫米。".into(),
            ShapeError::OvalSize => "椭圆印章宽 30–60 毫米、高 20–45 毫米，且宽大于高。".into(),
            ShapeError::SquareSide => "方形印章边长须为 10–40 毫米。".into(),
        }, format!("{}.", capitalise(&e.to_string()))),
        Invalid::Level => ("seal.level".into(), "印章级别须为 1、2 或 3。".into(), "The seal level is 1, 2 or 3.".into()),
        Invalid::FilingCode => ("seal.filing_code".into(), "备案编码须为 6–32 位数字或大写字母。".into(), "A filing code is 6–32 digits or capital letters.".into()),
        Invalid::Factors(FactorRuleError::Empty) => ("factors.empty".into(), format!("{label_zh}：至少需要一种验证方式。"), format!("{label_en}: at least one factor is needed.")),
        Invalid::Factors(FactorRuleError::Unknown(key)) => ("factors.unknown".into(), format!("{label_zh}：未知的验证方式“{key}”（可用：fingerprint、face、pin、id_code）。"), format!("{label_en}: unknown factor \"{key}\" (fingerprint, face, pin, id_code).")),
        Invalid::Count => ("count".into(), format!("用印次数须为 1 到 {} 之间的整数。", seal_core::application::StampCount::MAX), format!("The number of stampings is a whole number from 1 to {}.", seal_core::application::StampCount::MAX)),
        Invalid::Date => ("date".into(), format!("{label_zh}：日期格式应为 2026-11-22 或 2026-11-22T08:30:00Z。"), format!("{label_en}: write dates as 2026-11-22 or 2026-11-22T08:30:00Z.")),
        Invalid::Window(WindowError::Empty) => ("window.empty".into(), "结束时间须晚于开始时间。".into(), "The window must end after it starts.".into()),
        Invalid::Window(WindowError::TooLong { max_days }) => ("window.too_long".into(), format!("用印时间最长 {max_days} 天。"), format!("The window may last at most {max_days} days.")),
        Invalid::Window(WindowError::InThePast) => ("window.past".into(), "结束时间已过。".into(), "The window has already ended.".into()),
        Invalid::Flow(FlowError::NoUnconditionalStep) => ("flow.no_unconditional_step".into(), "流程至少需要一个无条件的审批步骤。".into(), "A flow needs at least one step that always applies.".into()),
        Invalid::Flow(FlowError::TooManySteps) => ("flow.too_many_steps".into(), format!("流程最多 {} 个步骤。", seal_core::flow::Flow::MAX_STEPS), format!("A flow has at most {} steps.", seal_core::flow::Flow::MAX_STEPS)),
        Invalid::Flow(FlowError::NoApprovers { step }) => ("flow.no_approvers".into(), format!("第 {step} 步没有指定审批人。"), format!("Step {step} names no approver.")),
        Invalid::Flow(FlowError::TooManyPeople { step }) => ("flow.too_many_people".into(), format!("第 {step} 步指定的审批人过多（最多 {} 人）。", seal_core::flow::Flow::MAX_PEOPLE), format!("Step {step} names too many people (at most {}).", seal_core::flow::Flow::MAX_PEOPLE)),
        Invalid::UnknownSeal => ("seal.unknown".into(), "所选印章不存在。".into(), "The chosen seal does not exist.".into()),
        Invalid::UnknownFlow => ("flow.unknown".into(), "所选审批流程不存在。".into(), "The chosen approval flow does not exist.".into()),
        Invalid::CommentRequired => ("comment.required".into(), "驳回时请填写意见，说明原因。".into(), "Say why in a comment when rejecting.".into()),
        Invalid::Document(problem) => document_problem(problem),
        Invalid::NotEngravable(detail) => ("seal.not_engravable".into(), format!("无法生成印章图片（名称过长，或含有字体中没有的字符）：{detail}"), format!("The seal image cannot be drawn (a text is too long or has characters the font lacks): {detail}")),
        Invalid::WebhookUrl(error) => webhook_url_error(error),
        Invalid::UnknownEventKind(key) => ("webhook.kind.unknown".into(), format!("没有可订阅的事件类型 “{key}”。"), format!("There is no event kind \"{key}\" to subscribe to.")),
        Invalid::NoEventKinds => ("webhook.kind.none".into(), "至少选择一种事件类型。".into(), "Choose at least one event kind.".into()),
        Invalid::UnknownFilingTarget(key) => ("webhook.filing_target.unknown".into(), format!("没有名为 “{key}” 的备案对象类型（可选：public_security 公安备案、third_party 第三方、own_unit 本单位）。"), format!("There is no filing target \"{key}\" (choose public_security, third_party or own_unit).")),
        Invalid::WebhookSecret => ("webhook.secret".into(), "签名密钥须为 whsec_ 加 Base64 编码的 24 至 64 字节。".into(), "The signing secret must be whsec_ followed by 24 to 64 bytes in base64.".into()),
        Invalid::UnknownDeliveryStatus(key) => ("webhook.delivery_status.unknown".into(), format!("没有名为 “{key}” 的投递状态（可选：pending、delivered、failed、given_up）。"), format!("There is no delivery status \"{key}\" (choose pending, delivered, failed or given_up).")),
        Invalid::Device(e) => device_value(e),
        Invalid::EnrolmentToken => ("device.enrolment_token".into(), "注册令牌无效、已过期、已使用，或不是为该类设备签发的。".into(), "The enrolment token is unknown, expired, already used, or for another kind of device.".into()),
        Invalid::PublicKey => ("device.public_key".into(), "公钥无效：应为 Ed25519 公钥（32 字节）的 base64。".into(), "Not a valid public key: base64 of a 32-byte Ed25519 key.".into()),
        Invalid::NotASealHolder => ("device.not_a_seal_holder".into(), "只有智能章筒和印章打印机可以绑定印章。".into(), "Only seal boxes and seal printers can be bound to a seal.".into()),
        Invalid::Image => ("device.image".into(), "图片无效：须为 base64 编码的 PNG 或 JPEG，且不超过大小上限。".into(), "Not a valid image: base64 of a PNG or JPEG within the size limit.".into()),
        Invalid::Events => ("device.events".into(), format!("事件批次须含 1 至 {} 个事件，序号从 1 起。", seal_proof::wire::MAX_EVENTS_PER_BATCH), format!("An event batch holds 1 to {} events with sequence numbers from 1.", seal_proof::wire::MAX_EVENTS_PER_BATCH)),
        Invalid::WrongDeviceKind(kind) => ("device.wrong_kind".into(), format!("此操作仅适用于 {} 类设备。", kind.key()), format!("This call is for {} devices only.", kind.key())),
        Invalid::UnknownDevice => ("device.unknown".into(), "本组织没有该设备。".into(), "There is no such device in this organisation.".into()),
        Invalid::StampCode(seal_core::stamp::NumericCodeError::CheckDigit) => ("stamp_code.check_digit".into(), "数字码的校验位不符：有数字输错了，请再核对一遍。".into(), "The check digit does not match: a digit was mistyped; please check the code again.".into()),
        Invalid::StampCode(_) => ("stamp_code".into(), "这不是印章验证码：请输入二维码下方的 26 位码，或 20 位数字码。".into(), "Not a stamp code: enter the 26-character code under the QR code, or the 20-digit numeric code.".into()),
        Invalid::LogRange => ("log.range".into(), "日志没有这么多条目：序号须小于大小，大小不超过当前日志大小。".into(), "The log does not have these entries: the index must be below the size, and the size at most the log's current size.".into()),
        Invalid::NoToken => ("stamp.no_token".into(), "该印章记录没有签名令牌（早于令牌功能），只能使用短网址二维码。".into(), "This stamp has no signed token (it predates tokens): only the short-URL QR code exists.".into()),
        Invalid::Dpi => ("dpi".into(), format!("分辨率须在 {} 至 {} dpi 之间，且图片不超过 6400 万像素。", seal_app::marks::DPI_RANGE.0, seal_app::marks::DPI_RANGE.1), format!("The resolution must be {} to {} dpi, and the image at most 64 million pixels.", seal_app::marks::DPI_RANGE.0, seal_app::marks::DPI_RANGE.1)),
        Invalid::ApprovedDocument(why) => ("comparison.approved".into(), format!("无法分析批准的文件：{why}"), format!("The approved document cannot be analysed: {why}")),
        Invalid::Capture => ("comparison.capture".into(), "现场页面须为 PNG 或 JPEG 图片，且不超过大小上限。".into(), "The capture must be a PNG or JPEG image within the size limit.".into()),
        Invalid::NothingToCompare => ("comparison.missing".into(), "请同时上传批准的文件和现场页面的照片或扫描件。".into(), "Upload both the approved document and a photo or scan of the page on site.".into()),
        Invalid::Thresholds(why) => ("comparison.thresholds".into(), format!("比对阈值无效：{why}"), format!("Invalid comparison thresholds: {why}")),
        Invalid::StampStatus => ("stamp_status".into(), "状态须为 valid、revoked 或 disputed。".into(), "The status must be valid, revoked or disputed.".into()),
    };
    let mut error = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        format!("invalid.{code}"),
        zh,
        en,
    )
    .with_field(field);
    error.0.details = details;
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_has_both_languages() {
        let errors = vec![
            AppError::Unauthenticated,
            AppError::Forbidden,
            AppError::invalid("uscc", Invalid::Uscc(UsccError::CheckCharacter)),
            AppError::invalid("name", Invalid::Text(TextError::TooLong { max: 5 })),
            AppError::invalid(
                "password",
                Invalid::Password(PasswordProblem::Weak {
                    score: 1,
                    feedback: vec!["warning.ThisIsACommonPassword".into()],
                }),
            ),
            AppError::Conflict(Conflict::LastAdmin),
            AppError::Conflict(Conflict::WebhookDisabled),
            AppError::NotFound(Entity::Webhook),
            AppError::NotFound(Entity::WebhookDelivery),
            AppError::invalid(
                "url",
                Invalid::WebhookUrl(seal_core::webhook::UrlError::PrivateHost),
            ),
            AppError::invalid("kinds", Invalid::UnknownEventKind("x".into())),
            AppError::invalid("kinds", Invalid::NoEventKinds),
            AppError::invalid("filing_target", Invalid::UnknownFilingTarget("x".into())),
            AppError::invalid("secret", Invalid::WebhookSecret),
            AppError::invalid("status", Invalid::UnknownDeliveryStatus("x".into())),
            AppError::RateLimited {
                retry_after_seconds: 7,
            },
        ];
        for error in errors {
            let api = *ApiError::from(error).0;
            assert!(
                !api.message.zh.is_empty() && !api.message.en.is_empty(),
                "{}",
                api.code
            );
            assert_ne!(api.message.zh, api.message.en, "{}", api.code);
            for detail in &api.details {
                assert_ne!(detail.zh, detail.en);
            }
        }
    }
}
