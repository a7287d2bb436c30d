//! The one mapping from errors to HTTP: a status, a stable code, a message in Chinese and
//! English, and for field errors the field. Unexpected errors are logged with their
//! cause and answered opaquely.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use seal_app::AppError;
use seal_app::error::{Conflict, Entity, Invalid};
use seal_app::password::PasswordProblem;
use seal_core::department::TreeError;
use seal_core::org::{OrgCodeError, UsccError};
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
    };
    ApiError::new(StatusCode::CONFLICT, code, zh, en)
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
        "roles" => ("角色", "Roles"),
        "permissions" => ("权限", "Permissions"),
        "scopes" => ("权限范围", "Scopes"),
        "code" => ("验证码", "Code"),
        _ => ("字段", "Field"),
    }
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
