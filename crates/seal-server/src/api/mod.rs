//! The JSON API under `/api/v1`, health at `/healthz` and readiness at `/readyz`. Every
//! route is registered through `utoipa_axum::routes!`, so the OpenAPI document served at
//! `/api/v1/openapi.json` lists every route the server answers; the route-permission
//! test walks that list.

pub mod applications;
pub mod auth;
pub mod comparisons;
pub mod device;
pub mod devices;
pub mod directory;
pub mod dto;
pub mod health;
pub mod org;
pub mod proofs;
pub mod seals;
pub mod tokens;
pub mod webhooks;

use axum::Router;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sealkeeper API",
        description = "Seal control: organisations, people, roles, seals, applications, devices and stamp proofs. \
            Errors share one shape: `{\"error\": {\"code\", \"message\", \"messages\": {\"zh-CN\", \"en\"}, \"field\", \"details\"}}`. \
            Authenticate with the `sk_session` cookie (then send `X-CSRF-Token` with writes) or `Authorization: Bearer skt_...`."
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Sign-in, sessions, second factor, own account"),
        (name = "org", description = "Organisation registration and settings"),
        (name = "directory", description = "Departments, people and roles"),
        (name = "tokens", description = "API tokens for integrations"),
        (name = "audit", description = "Audit events"),
        (name = "seals", description = "The seal registry, seal images, factor policy and approval flows"),
        (name = "applications", description = "Seal-use applications (用印申请), documents, review, grants and the approver's inbox"),
        (name = "comparisons", description = "Document comparison: is the page on site the approved page? Uploads, stored decisions with their diff images, thresholds"),
        (name = "devices", description = "Devices (seal boxes, seal printers, scanners, kiosks): enrolment tokens, approval, binding, geofence, parameters, commands; alarms"),
        (name = "device", description = "The device protocol (`/device/v1`): every request signed by the device's Ed25519 key as an RFC 9421 HTTP message signature (see docs/device-protocol.md)"),
        (name = "proofs", description = "Stamp proofs: public verification, the tamper-evident log's checkpoints and proofs (RFC 6962, C2SP tlog-checkpoint), the published key set, stamp status changes"),
        (name = "webhooks", description = "Webhook endpoints and filing targets (备案), deliveries and replays"),
        (name = "web", description = "The web console's HTML pages and form posts (session cookie, `_csrf` form field)"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::extract::SESSION_COOKIE,
            ))),
        );
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every route with its handler, and the OpenAPI document describing exactly them.
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::openapi_json))
        .routes(routes!(seals::list_seals, seals::create_seal))
        .routes(routes!(seals::get_seal, seals::update_seal))
        .routes(routes!(seals::change_seal_status))
        .routes(routes!(seals::seal_image))
        .routes(routes!(seals::get_factor_policy, seals::set_factor_policy))
        .routes(routes!(seals::list_flows, seals::create_flow))
        .routes(routes!(
            seals::get_flow,
            seals::update_flow,
            seals::delete_flow
        ))
        .routes(routes!(
            applications::list_applications,
            applications::create_application
        ))
        .routes(routes!(
            applications::get_application,
            applications::update_application
        ))
        .routes(routes!(applications::add_document))
        .routes(routes!(
            applications::get_document,
            applications::delete_document
        ))
        .routes(routes!(applications::get_thumbnail))
        .routes(routes!(applications::submit_application))
        .routes(routes!(applications::withdraw_application))
        .routes(routes!(applications::decide_application))
        .routes(routes!(applications::revoke_grant))
        .routes(routes!(applications::inbox))
        .routes(routes!(org::register))
        .routes(routes!(org::get_org, org::update_org))
        .routes(routes!(auth::login))
        .routes(routes!(auth::mfa))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(auth::start_totp, auth::remove_totp))
        .routes(routes!(auth::confirm_totp))
        .routes(routes!(auth::regenerate_recovery_codes))
        .routes(routes!(
            directory::list_departments,
            directory::create_department
        ))
        .routes(routes!(
            directory::update_department,
            directory::delete_department
        ))
        .routes(routes!(directory::list_people, directory::create_person))
        .routes(routes!(directory::get_person, directory::update_person))
        .routes(routes!(directory::set_roles))
        .routes(routes!(directory::disable_person))
        .routes(routes!(directory::enable_person))
        .routes(routes!(directory::reset_password))
        .routes(routes!(directory::list_roles, directory::create_role))
        .routes(routes!(directory::update_role, directory::delete_role))
        .routes(routes!(directory::list_permissions))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(tokens::list_audit_events))
        .routes(routes!(webhooks::list_webhooks, webhooks::create_webhook))
        .routes(routes!(
            webhooks::get_webhook,
            webhooks::update_webhook,
            webhooks::delete_webhook
        ))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::test_webhook))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(webhooks::get_delivery))
        .routes(routes!(webhooks::replay_delivery))
        .merge(web_routes())
        .merge(seal_web_routes())
        .merge(crate::web::devices::routes())
        .merge(crate::web::comparisons::routes())
        .merge(device_routes())
        .merge(proof_routes())
        .split_for_parts()
}

/// Public verification and the log (no sign-in), and the organisation's stamp-status,
/// key and verification-settings routes.
fn proof_routes() -> OpenApiRouter<AppState> {
    use crate::web::verify;
    OpenApiRouter::new()
        .routes(routes!(proofs::checkpoint))
        .routes(routes!(proofs::inclusion))
        .routes(routes!(proofs::consistency))
        .routes(routes!(proofs::key_set))
        .routes(routes!(proofs::verify))
        .routes(routes!(proofs::change_stamp_status))
        .routes(routes!(proofs::stamp_events))
        .routes(routes!(proofs::stamp_mark))
        .routes(routes!(proofs::org_keys))
        .routes(routes!(proofs::rotate_org_key))
        .routes(routes!(
            proofs::get_verification_settings,
            proofs::set_verification_settings
        ))
        .routes(routes!(verify::verify_form))
        .routes(routes!(verify::verify_page))
        .routes(routes!(verify::verify_upper))
        .routes(routes!(verify::verify_seal))
        .routes(routes!(verify::verify_thumbnail))
}

/// The device protocol and the people's device, alarm and stamp-record routes. Device
/// requests carry photos, so they read their own bodies up to their own limit.
fn device_routes() -> OpenApiRouter<AppState> {
    let protocol = OpenApiRouter::new()
        .routes(routes!(device::enrol))
        .routes(routes!(device::me))
        .routes(routes!(device::unlock))
        .routes(routes!(device::events))
        .routes(routes!(device::heartbeat))
        .routes(routes!(device::commands))
        .routes(routes!(device::ack_command))
        .routes(routes!(device::scan))
        .routes(routes!(device::stream))
        .layer(axum::extract::DefaultBodyLimit::disable());
    OpenApiRouter::new()
        .routes(routes!(
            devices::list_enrolment_tokens,
            devices::create_enrolment_token
        ))
        .routes(routes!(devices::list_devices))
        .routes(routes!(devices::get_device, devices::update_device))
        .routes(routes!(devices::approve_device))
        .routes(routes!(devices::revoke_device))
        .routes(routes!(devices::send_command))
        .routes(routes!(devices::list_alarms))
        .routes(routes!(devices::get_alarm))
        .routes(routes!(devices::acknowledge_alarm))
        .routes(routes!(devices::resolve_alarm))
        .routes(routes!(devices::application_stamps))
        .routes(routes!(devices::stamp_photo))
        .merge(
            // Two uploads: the handler holds each to the document size itself.
            OpenApiRouter::new()
                .routes(routes!(comparisons::create_comparison))
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .routes(routes!(comparisons::get_comparison))
        .routes(routes!(comparisons::comparison_diff))
        .routes(routes!(comparisons::application_comparisons))
        .routes(routes!(
            comparisons::get_thresholds,
            comparisons::set_thresholds
        ))
        .merge(protocol)
}

/// The console's pages, registered the same way so the route matrix covers them.
fn web_routes() -> OpenApiRouter<AppState> {
    use crate::web::webhooks as webhook_pages;
    use crate::web::{account, admin, assets, directory, home};
    OpenApiRouter::new()
        .routes(routes!(assets::asset))
        .routes(routes!(account::root))
        .routes(routes!(account::login_form, account::login))
        .routes(routes!(account::mfa_form, account::mfa))
        .routes(routes!(account::logout))
        .routes(routes!(account::register_form, account::register))
        .routes(routes!(account::switch_language))
        .routes(routes!(account::account))
        .routes(routes!(account::change_password))
        .routes(routes!(account::start_totp))
        .routes(routes!(account::confirm_totp))
        .routes(routes!(account::remove_totp))
        .routes(routes!(account::regenerate_recovery_codes))
        .routes(routes!(home::home))
        .routes(routes!(
            directory::departments,
            directory::create_department
        ))
        .routes(routes!(
            directory::edit_department,
            directory::update_department
        ))
        .routes(routes!(directory::delete_department))
        .routes(routes!(directory::people, directory::create_person))
        .routes(routes!(directory::new_person))
        .routes(routes!(directory::edit_person, directory::update_person))
        .routes(routes!(directory::disable_person))
        .routes(routes!(directory::enable_person))
        .routes(routes!(directory::reset_password))
        .routes(routes!(directory::roles, directory::create_role))
        .routes(routes!(directory::edit_role, directory::update_role))
        .routes(routes!(directory::delete_role))
        .routes(routes!(admin::tokens, admin::create_token))
        .routes(routes!(admin::revoke_token))
        .routes(routes!(admin::audit))
        .routes(routes!(
            webhook_pages::webhooks,
            webhook_pages::create_webhook
        ))
        .routes(routes!(
            webhook_pages::edit_webhook,
            webhook_pages::update_webhook
        ))
        .routes(routes!(webhook_pages::rotate_secret))
        .routes(routes!(webhook_pages::test_webhook))
        .routes(routes!(webhook_pages::delete_webhook))
        .routes(routes!(webhook_pages::deliveries))
        .routes(routes!(webhook_pages::delivery))
        .routes(routes!(webhook_pages::replay_delivery))
}

/// The seal, flow and application pages. Uploads stream past the global body limit; the
/// handlers hold each file to the configured document size themselves.
fn seal_web_routes() -> OpenApiRouter<AppState> {
    use crate::web::{applications, seals};
    let uploads = OpenApiRouter::new()
        .routes(routes!(
            applications::my_applications,
            applications::create_application
        ))
        .routes(routes!(applications::add_documents))
        .layer(axum::extract::DefaultBodyLimit::disable());
    OpenApiRouter::new()
        .routes(routes!(seals::seals, seals::create_seal))
        .routes(routes!(seals::seal, seals::update_seal))
        .routes(routes!(seals::change_seal_status))
        .routes(routes!(seals::seal_image_svg))
        .routes(routes!(seals::seal_image_png))
        .routes(routes!(seals::flows, seals::create_flow))
        .routes(routes!(seals::new_flow))
        .routes(routes!(seals::edit_flow, seals::update_flow))
        .routes(routes!(seals::delete_flow))
        .routes(routes!(applications::new_application))
        .routes(routes!(applications::all_applications))
        .routes(routes!(applications::application))
        .routes(routes!(applications::remove_document))
        .routes(routes!(applications::document))
        .routes(routes!(applications::thumbnail))
        .routes(routes!(applications::submit))
        .routes(routes!(applications::withdraw))
        .routes(routes!(applications::decide))
        .routes(routes!(applications::revoke))
        .routes(routes!(applications::inbox))
        .merge(uploads)
}

/// Parses an id from a path or body; a malformed one is simply not found.
pub(crate) fn parse_path_id<T, E>(
    text: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<T, ApiError> {
    parse(text).map_err(|_| ApiError::bad_id())
}

/// Parses an id given in a request body; a malformed one is a field error.
pub(crate) fn parse_body_id<T, E>(
    field: &'static str,
    text: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<T, ApiError> {
    parse(text).map_err(|_| {
        ApiError::from(seal_app::AppError::invalid(
            field,
            seal_app::error::Invalid::Id,
        ))
    })
}
