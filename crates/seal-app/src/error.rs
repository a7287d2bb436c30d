//! Errors of the use cases, named by meaning. The server maps each to one HTTP status
//! and a stable code, with messages in Chinese and English.

use seal_core::application::{LifecycleError, WindowError};
use seal_core::department::TreeError;
use seal_core::flow::{DecisionError, FlowError, ResolveError};
use seal_core::org::{OrgCodeError, UsccError};
use seal_core::permission::Permission;
use seal_core::seal::{FactorRuleError, SealStatus, ShapeError, StatusChangeError};
use seal_core::sod::SodViolation;
use seal_core::text::TextError;
use seal_store::StoreError;

use crate::password::PasswordProblem;

/// A field of the request that was refused, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invalid {
    Text(TextError),
    OrgCode(OrgCodeError),
    Uscc(UsccError),
    Phone,
    Email,
    Login,
    /// Neither phone nor e-mail given: a person needs one to sign in.
    NoLogin,
    Id,
    Tree(TreeError),
    Password(PasswordProblem),
    /// The current password given to confirm a change is wrong.
    WrongPassword,
    /// The new password equals the current one.
    SameAsCurrent,
    UnknownPermission(String),
    /// A custom role or token needs at least one permission.
    NoPermissions,
    /// A token cannot carry a permission its creator does not hold.
    ScopeNotHeld(Permission),
    /// An unknown role id in a role assignment.
    UnknownRole,
    /// An unknown department id.
    UnknownDepartment,
    /// An unknown or disabled person named in a field (a head, a keeper, an approver).
    UnknownPerson,
    /// A seal's keeper must hold the seal-keeper permission (`seals.keep`).
    NotAKeeper,
    /// A key that is not one of the allowed values (seal kind, type, stamp kind …).
    UnknownKey(String),
    Shape(ShapeError),
    Level,
    FilingCode,
    Factors(FactorRuleError),
    Count,
    /// Not a date or date-time.
    Date,
    Window(WindowError),
    Flow(FlowError),
    /// An unknown seal (in this organisation).
    UnknownSeal,
    /// An unknown flow (in this organisation).
    UnknownFlow,
    /// An uploaded document was refused.
    Document(DocumentProblem),
    /// A rejection needs a comment saying why.
    CommentRequired,
    /// The seal's texts cannot be drawn (too long, or characters the font lacks).
    NotEngravable(String),
    /// A webhook endpoint URL that is not acceptable.
    WebhookUrl(seal_core::webhook::UrlError),
    /// An event kind that does not exist or cannot be subscribed to.
    UnknownEventKind(String),
    /// A webhook endpoint needs at least one event kind.
    NoEventKinds,
    /// A filing-target kind that does not exist.
    UnknownFilingTarget(String),
    /// A webhook secret not in the `whsec_` + base64 (24 to 64 bytes) format.
    WebhookSecret,
    /// A delivery status that does not exist.
    UnknownDeliveryStatus(String),
    /// A device field (serial, MAC, firmware, terminal, position, parameters …).
    Device(seal_core::device::DeviceValueError),
    /// An unknown, expired or spent enrolment token, or one for another kind of device.
    EnrolmentToken,
    /// A public key that is not a valid Ed25519 key.
    PublicKey,
    /// Only seal boxes and seal printers hold a seal.
    NotASealHolder,
    /// A photo or page image that is not a PNG or JPEG within the size limit.
    Image,
    /// An event batch that is empty, too large, or has a bad sequence number.
    Events,
    /// An unknown device (in this organisation).
    UnknownDevice,
    /// This call is for another kind of device (unlock: seal boxes; scan: seal printers).
    WrongDeviceKind(seal_core::device::DeviceKind),
    /// Not a stamp code: neither the 26-character code of the QR code nor a 20-digit
    /// numeric code (or its check digit is wrong: a digit was mistyped).
    StampCode(seal_core::stamp::NumericCodeError),
    /// A proof asked for sizes or an index the log does not have.
    LogRange,
    /// A stamp status that does not exist.
    StampStatus,
    /// The stamp has no signed token (it was made before tokens), so it has no offline
    /// QR code.
    NoToken,
    /// A resolution outside what the image can be drawn at.
    Dpi,
    /// An approved document the comparison engine cannot analyse.
    ApprovedDocument(String),
    /// A capture (scan or photo of a page) that is not a PNG or JPEG within the limit.
    Capture,
    /// Nothing was uploaded to compare with.
    NothingToCompare,
    /// Comparison thresholds that do not make sense.
    Thresholds(String),
}

/// Why an uploaded document was refused (from its content, never its name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DocumentProblem {
    Empty,
    TooLarge {
        max_bytes: usize,
    },
    /// Not a PDF, PNG or JPEG.
    UnsupportedType,
    /// Looks like a PDF, PNG or JPEG but does not parse.
    Malformed,
    TooManyPages {
        pages: u32,
        max: u32,
    },
    Encrypted,
    ImageTooLarge,
    /// The application already holds the most documents allowed.
    TooManyDocuments {
        max: usize,
    },
}

/// What already exists or still depends on the thing being changed, or a state that
/// does not allow the change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Conflict {
    OrgCodeTaken,
    UsccTaken,
    LoginTaken,
    RoleNameTaken,
    DepartmentNameTaken,
    DepartmentNotEmpty {
        people: i64,
        children: i64,
    },
    /// The organisation would be left without an active admin.
    LastAdmin,
    BuiltinRoleFixed,
    RoleInUse {
        holders: i64,
    },
    TotpAlreadyEnabled,
    TotpNotEnrolling,
    TotpNotEnabled,
    /// A concurrent request wrote the same unique value first.
    Duplicate,
    /// A disabled webhook endpoint receives no events, test events included.
    WebhookDisabled,
    FlowNameTaken,
    /// The flow is the own flow of this many seals.
    FlowInUse {
        seals: i64,
    },
    /// The seal's status does not allow applications or use.
    SealNotUsable(SealStatus),
    SealStatusChange(StatusChangeError),
    /// The application's status does not allow this.
    Lifecycle(LifecycleError),
    /// The review does not accept this decision.
    Decision(DecisionError),
    /// The flow cannot decide this application.
    Resolve(ResolveError),
    /// Neither the seal nor the organisation has an approval flow.
    NoFlow,
    /// Submitting needs at least one document.
    NoDocuments,
    /// The grant is no longer active.
    GrantNotActive,
    DeviceStatus(seal_core::device::DeviceStatusError),
    /// A device with this serial number, MAC address or key is already enrolled.
    DeviceDuplicate,
    /// The seal already has a device bound to it.
    SealAlreadyBound,
    /// The terminal already has a device bound to it.
    TerminalTaken,
    Alarm(seal_core::alarm::AlarmActionError),
    /// The command was already acknowledged.
    CommandNotPending,
    /// The stamp's status cannot change this way (a revoked stamp stays revoked).
    StampStatusChange {
        from: seal_core::stamp::StampStatus,
        to: seal_core::stamp::StampStatus,
    },
}

/// The kind of thing that was not found (in the caller's organisation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entity {
    Organisation,
    Department,
    Person,
    Role,
    ApiToken,
    Webhook,
    WebhookDelivery,
    Seal,
    Flow,
    Application,
    Document,
    Grant,
    Device,
    EnrolmentToken,
    Alarm,
    Command,
    Stamp,
    Comparison,
}

/// Why a signed device request was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceAuthError {
    /// A signature header or the content digest is missing.
    Missing,
    /// A header does not parse, or covers other components than the protocol's.
    Malformed,
    /// The content digest does not match the body.
    Digest,
    /// The key id names no enrolled device.
    UnknownKey,
    /// The signature does not verify with the device's key.
    BadSignature,
    /// `created` is outside the allowed clock window.
    Clock,
    /// The nonce was used before: a replayed request.
    Replay,
}

impl DeviceAuthError {
    pub const fn key(self) -> &'static str {
        match self {
            DeviceAuthError::Missing => "missing",
            DeviceAuthError::Malformed => "malformed",
            DeviceAuthError::Digest => "digest",
            DeviceAuthError::UnknownKey => "unknown_key",
            DeviceAuthError::BadSignature => "bad_signature",
            DeviceAuthError::Clock => "clock",
            DeviceAuthError::Replay => "replay",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No valid session or token: sign in.
    #[error("not signed in")]
    Unauthenticated,
    /// The password was right; the second factor is still missing.
    #[error("a second factor is required")]
    MfaRequired,
    /// Signed in, but not allowed to do this.
    #[error("not allowed")]
    Forbidden,
    /// The caller signed in with a temporary password and must change it first.
    #[error("change your temporary password first")]
    PasswordChangeRequired,
    /// This needs an interactive session, not an API token.
    #[error("an API token cannot do this; sign in")]
    SessionRequired,
    /// Granting a role or scope with permissions the caller does not hold.
    #[error("cannot grant {0}, which you do not hold")]
    Escalation(Permission),
    #[error("{0:?} not found")]
    NotFound(Entity),
    #[error("invalid {field}: {reason:?}")]
    Invalid {
        field: &'static str,
        reason: Invalid,
    },
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    #[error("separation of duties: {0}")]
    SeparationOfDuties(SodViolation),
    /// Wrong organisation code, login or password (deliberately not saying which).
    #[error("wrong organisation code, login or password")]
    BadCredentials,
    #[error("the code is wrong or was already used")]
    BadSecondFactor,
    #[error("the account is disabled")]
    AccountDisabled,
    #[error("too many attempts; retry in {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    /// A device request whose signature was not accepted.
    #[error("device signature refused: {0:?}")]
    DeviceAuth(DeviceAuthError),
    /// The device is pending approval or revoked.
    #[error("the device is not active")]
    DeviceNotActive,
    /// An unlock (or printer scan) was refused, and the refusal recorded.
    #[error("unlock refused: {0}")]
    UnlockRefused(seal_core::device::UnlockRefusal),
    /// The page on site does not match the approved document (or is blank); nothing is
    /// printed. The decision is stored as `comparison`.
    #[error("the scanned page does not match the approved document")]
    ContentMismatch {
        comparison: seal_core::ids::ComparisonId,
        blank: bool,
    },
    /// The comparison could not decide (a blurred, dark or partial scan); nothing is
    /// printed and no alarm raised: scan again. The decision is stored as `comparison`.
    #[error("the scanned page could not be compared with confidence")]
    ComparisonUncertain {
        comparison: seal_core::ids::ComparisonId,
    },
    /// The comparison engine cannot run (its models are missing or damaged); the text
    /// names the file and the fix, for the log, not for the public.
    #[error("document comparison is unavailable: {0}")]
    ComparisonUnavailable(String),
    #[error("storage: {0}")]
    Store(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn invalid(field: &'static str, reason: Invalid) -> AppError {
        AppError::Invalid { field, reason }
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict => AppError::Conflict(Conflict::Duplicate),
            other => AppError::Store(other),
        }
    }
}

impl From<seal_store::blobs::BlobError> for AppError {
    fn from(error: seal_store::blobs::BlobError) -> Self {
        AppError::Internal(error.to_string())
    }
}
