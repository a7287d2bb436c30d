//! The device protocol's message bodies (`/device/v1`, see `docs/device-protocol.md`),
//! shared by the server and the device side so both read and write the same JSON.
//!
//! These are plain data: the server parses every field into domain types before use.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// The most events one `POST /device/v1/events` may carry.
pub const MAX_EVENTS_PER_BATCH: usize = 100;

/// The longest a long-poll for commands may wait, in seconds.
pub const MAX_COMMAND_WAIT_SECONDS: u64 = 30;

/// A position in WGS 84 degrees.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Position {
    pub lat: f64,
    pub lon: f64,
    /// Estimated accuracy radius in metres.
    #[serde(default)]
    pub accuracy_m: f32,
}

/// `POST /device/v1/enrol`: a new device presents its one-time token and public key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EnrolRequest {
    /// The one-time enrolment token (`sket_…`).
    pub token: String,
    /// `seal_box`, `seal_printer`, `scanner` or `id_kiosk`.
    pub kind: String,
    /// The device's Ed25519 public key, standard base64 of the 32 bytes.
    pub public_key: String,
    pub serial: String,
    /// `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
    pub firmware: String,
}

/// The answer to an enrolment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EnrolResponse {
    pub device_id: String,
    /// Always `pending`: an admin approves the device.
    pub status: String,
}

/// An organisation key that signs unlock grants.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct OrgKey {
    pub kid: String,
    /// Ed25519 public key, standard base64 of the 32 bytes.
    pub public_key: String,
}

/// Settings the server gives a device (changed by `update_parameters`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Parameters {
    /// Seconds between heartbeats.
    pub heartbeat_seconds: u32,
    /// A press held longer than this raises an alarm.
    pub press_max_ms: u32,
    /// Below this the device reports a low battery.
    pub low_battery_pct: u8,
}

/// `GET /device/v1/me`: what the server knows of the calling device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DeviceState {
    pub device_id: String,
    pub kind: String,
    /// `pending`, `active` or `revoked`.
    pub status: String,
    /// The seal this device is bound to, if any.
    pub seal_id: Option<String>,
    pub seal_name: Option<String>,
    pub org_keys: Vec<OrgKey>,
    pub parameters: Parameters,
    pub server_time: i64,
}

/// `POST /device/v1/unlock`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UnlockRequest {
    /// The application (work-order) number, e.g. `ACME-2026-000042`.
    pub order: String,
    /// The device's clock, Unix milliseconds.
    pub device_time: i64,
    /// A fresh random string, echoed in the grant.
    pub nonce: String,
}

/// What an unlock allows; signed by the organisation as the `token`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UnlockGrant {
    pub grant_id: String,
    pub order: String,
    pub device_id: String,
    pub seal_id: String,
    /// Presses left.
    pub uses: u32,
    pub not_before: i64,
    pub expires_at: i64,
    /// The factor rule: `fingerprint+face`, `fingerprint`, `pin|id_code` …
    pub factors: String,
    /// The nonce of the unlock request.
    pub nonce: String,
    pub issued_at: i64,
}

/// The answer to an unlock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct UnlockResponse {
    /// JWS compact serialization (EdDSA) of `grant`.
    pub token: String,
    pub grant: UnlockGrant,
}

/// One press of the seal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct StampEvent {
    /// The device's sequence number, from 1, never reused.
    pub seq: u64,
    pub grant_id: String,
    /// Device time of the press, Unix milliseconds.
    pub at: i64,
    pub position: Option<Position>,
    /// How long the seal was held down.
    pub press_ms: u32,
    /// The factors that were checked before the unlock (`fingerprint`, `face`, `pin`, `id_code`).
    #[serde(default)]
    pub factors: Vec<String>,
    /// The photo of the stamped page: standard base64 of a JPEG or PNG.
    #[serde(default)]
    pub photo: Option<String>,
}

/// `POST /device/v1/events`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EventBatch {
    pub events: Vec<StampEvent>,
}

/// How one event of a batch was taken.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EventResult {
    pub seq: u64,
    /// `stored` or `duplicate`.
    pub result: String,
}

/// The answer to an event batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EventBatchResult {
    pub results: Vec<EventResult>,
}

/// `POST /device/v1/heartbeat`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Heartbeat {
    pub at: i64,
    pub battery_pct: u8,
    pub position: Option<Position>,
    /// The base-position sensor: `false` when lifted from its base.
    pub on_base: bool,
    /// The tamper sensor.
    pub tamper: bool,
    pub locked: bool,
    pub firmware: String,
    /// Events waiting on the device's disk.
    pub buffered_events: u32,
}

/// The answer to a heartbeat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct HeartbeatResponse {
    pub server_time: i64,
    pub commands_pending: u32,
}

/// A server-to-device command.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Command {
    pub id: String,
    /// `lock`, `cancel_grant` or `update_parameters`.
    pub kind: String,
    #[serde(default)]
    pub grant_id: Option<String>,
    #[serde(default)]
    pub parameters: Option<Parameters>,
    pub created_at: i64,
}

/// The answer to `GET /device/v1/commands`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CommandList {
    pub commands: Vec<Command>,
}

/// `POST /device/v1/commands/{id}/ack`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CommandAck {
    /// `done` or `failed`.
    pub result: String,
    #[serde(default)]
    pub note: String,
}

/// `POST /device/v1/scan`: a seal printer's scan of the page about to be stamped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ScanRequest {
    pub order: String,
    /// The scanned page: standard base64 of a PNG or JPEG.
    pub page: String,
}

/// What a seal printer prints after a matching scan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PrintJob {
    /// The stamp's identifier.
    pub job_id: String,
    pub order: String,
    /// The seal image at true size (SVG with millimetre units).
    pub seal_svg: String,
    pub width_mm: f32,
    pub height_mm: f32,
    pub uses_left: u32,
    /// What to print: the seal with this stamp's QR code (short verification URL) and
    /// numeric code beside it, at true size (SVG with millimetre units).
    #[serde(default)]
    pub mark_svg: String,
    /// The stamp's 26-character code (what the QR code's URL ends with).
    #[serde(default)]
    pub code: String,
    /// The stamp's 20-digit numeric code (数列密押).
    #[serde(default)]
    pub numeric_code: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_optional_fields_default() {
        let json = r#"{"events":[{"seq":1,"grant_id":"g","at":5,"position":null,"press_ms":300}]}"#;
        let batch: EventBatch = serde_json::from_str(json).unwrap();
        assert_eq!(batch.events[0].photo, None);
        assert!(batch.events[0].factors.is_empty());
        let again: EventBatch =
            serde_json::from_str(&serde_json::to_string(&batch).unwrap()).unwrap();
        assert_eq!(again, batch);
    }
}
