//! `sealkeeper verify`: checks a stamp from what its QR code says, trusting nothing but
//! the published key set.
//!
//! - The offline form (`SK1:` + Base45 COSE token) is checked without a network: the
//!   token's structure, its key in the key set (`--keys`), that the key was signing at
//!   the token's time, the signature, and with `--document` the document's SHA-256
//!   prefix. Revocation is known only online.
//! - A verification URL, a 26-character code or a 20-digit numeric code names a stamp
//!   kept on a server: with `--online URL` (or the URL in the QR code) the command asks
//!   `/api/v1/verify/{code}` and checks the answer itself — the token against the key
//!   set, the log entry against the token, each entry's inclusion proof against the
//!   answer's checkpoint, that checkpoint's signature with the log key of the key set,
//!   the status from the status entries in the log, and with `--checkpoint` the
//!   consistency of a cached checkpoint with the answer's.
//! - A PNG or JPEG photo or a PDF is searched for QR codes first (`seal_docs::qr_decode`).
//!
//! Every check is a line (✓/✗ and a reason). Exit 0 only when every check passed and the
//! stamp is valid (or, offline, genuine), 3 when it is genuine but revoked or disputed,
//! 1 otherwise. `verify fetch URL --out DIR` caches a key set and a checkpoint.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use clap::{Args, Subcommand};
use seal_core::ids::StampId;
use seal_core::stamp::{EntryKind, NumericCode, StampEntry, StampStatus, StatusEntry};
use seal_core::time::Timestamp;
use seal_proof::keyset::{KeySet, PublishedKey};
use seal_proof::merkle::{hash_from_slice, leaf_hash, verify_inclusion};
use seal_proof::note::{Checkpoint, NoteVerifier, open_checkpoint};
use seal_proof::qr_payload::{QrPayload, parse_stamp_code, stamp_code};
use seal_proof::token::{StampClaims, document_prefix, read_token};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::http::{HttpError, Server};
use crate::log_cmd::{EXIT_FORK, check_step};

/// Exit code of a genuine stamp that is revoked or disputed.
const EXIT_NOT_VALID: u8 = 3;

/// The name of the key set in a `verify fetch` folder.
const KEYS_FILE: &str = "keys.json";
/// The name of the checkpoint in a `verify fetch` folder.
const CHECKPOINT_FILE: &str = "checkpoint";

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct VerifyArgs {
    #[command(subcommand)]
    command: Option<VerifyCommand>,
    /// What to verify: a stamp's QR text (`SK1:…` or a verification URL), its
    /// 26-character code, its 20-digit numeric code, or a PNG/JPEG photo or a PDF
    /// showing the QR code.
    #[arg(value_name = "INPUT", required = true)]
    input: Option<String>,
    /// The published key set (keys.json, or a folder from `verify fetch`) to check
    /// tokens and checkpoints with. Online, the server's own key set is used without it.
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
    /// A cached checkpoint (or a folder from `verify fetch`): online, the answer's
    /// checkpoint must be consistent with it (a proof is fetched).
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Ask this server (e.g. https://sk.example) for the stamp's status and proofs; a
    /// verification URL in the QR code is used when this is not given.
    #[arg(long, value_name = "URL")]
    online: Option<String>,
    /// The stamped document: its SHA-256 must match the token's document hash.
    #[arg(long, value_name = "FILE")]
    document: Option<PathBuf>,
    /// Print a machine-readable JSON report (one object, or an array when a file holds
    /// several stamp QR codes).
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum VerifyCommand {
    /// Download a server's key set and latest checkpoint for offline use.
    ///
    /// Writes DIR/keys.json and DIR/checkpoint. The checkpoint's signature is verified
    /// with the key set's log key first; a log key fetched before must not have changed
    /// (exit 1) and a checkpoint fetched before must be consistent with the new one
    /// (exit 2 otherwise, the old files kept).
    Fetch(FetchArgs),
}

#[derive(Args)]
pub struct FetchArgs {
    /// The server, e.g. https://sk.example.
    #[arg(value_name = "URL")]
    url: String,
    /// The folder to write keys.json and checkpoint into (created when missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub fn run(args: VerifyArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return crate::fail(&error),
    };
    match args.command {
        Some(VerifyCommand::Fetch(fetch_args)) => runtime.block_on(fetch(fetch_args)),
        None => runtime.block_on(verify(args)),
    }
}

// ----- what the input names -----------------------------------------------------------

/// A stamp as the input names it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Named {
    /// The offline form: a token's bytes.
    Token(Vec<u8>),
    /// A verification URL: the server and the stamp id.
    Url { base: String, stamp_id: [u8; 16] },
    /// The 26-character code.
    Code([u8; 16]),
    /// The 20-digit numeric code.
    Numeric(NumericCode),
}

impl Named {
    fn form(&self) -> &'static str {
        match self {
            Named::Token(_) => "token",
            Named::Url { .. } => "url",
            Named::Code(_) => "code",
            Named::Numeric(_) => "numeric_code",
        }
    }
}

/// Reads a text: a QR text, a code or a numeric code. `Err` says why it is none.
fn parse_text(text: &str) -> Result<Named, String> {
    let trimmed = text.trim();
    let lower = trimmed.to_ascii_lowercase();
    if lower.starts_with("sk1:") || lower.starts_with("http://") || lower.starts_with("https://") {
        return match QrPayload::parse(trimmed) {
            Ok(QrPayload::Token(bytes)) => Ok(Named::Token(bytes)),
            Ok(QrPayload::Url { base, stamp_id }) => Ok(Named::Url { base, stamp_id }),
            Err(error) => Err(error.to_string()),
        };
    }
    if let Ok(id) = parse_stamp_code(trimmed) {
        return Ok(Named::Code(id));
    }
    let numeric_like = !trimmed.is_empty()
        && trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || ('０'..='９').contains(&c) || " -\u{3000}".contains(c));
    if numeric_like {
        return NumericCode::parse(trimmed)
            .map(Named::Numeric)
            .map_err(|e| format!("not a numeric stamp code: {e}"));
    }
    Err(
        "neither a file nor a stamp's QR text (SK1:… or a verification URL), 26-character \
         code or 20-digit numeric code"
            .to_owned(),
    )
}

/// The stamps a file shows: the Sealkeeper QR codes found in a photo or a PDF.
fn read_file(path: &Path) -> Result<Vec<(String, Named)>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let texts = if bytes.starts_with(b"%PDF-") {
        seal_docs::qr_decode::decode_pdf(&bytes)
    } else {
        seal_docs::qr_decode::decode_image(&bytes)
    }
    .map_err(|e| format!("{}: {e}", path.display()))?;
    let found: Vec<(String, Named)> = texts
        .iter()
        .filter_map(|text| match QrPayload::parse(text) {
            Ok(QrPayload::Token(bytes)) => Some((text.clone(), Named::Token(bytes))),
            Ok(QrPayload::Url { base, stamp_id }) => {
                Some((text.clone(), Named::Url { base, stamp_id }))
            }
            Err(_) => None,
        })
        .collect();
    if found.is_empty() {
        return Err(format!(
            "{}: no stamp QR code found ({} other QR code{} found)",
            path.display(),
            texts.len(),
            if texts.len() == 1 { "" } else { "s" }
        ));
    }
    Ok(found)
}

// ----- the report ---------------------------------------------------------------------

/// One check and how it came out.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CheckLine {
    /// `input`, `keys`, `token`, `key`, `key_time`, `signature`, `document`, `online`,
    /// `record`, `token_matches`, `log_entry`, `checkpoint`, `inclusion`, `status`,
    /// `cached_checkpoint` or `consistency`.
    pub check: &'static str,
    pub passed: bool,
    pub detail: String,
}

/// What the stamp is, from its verified token (and the server's answer for the seal's
/// name).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Facts {
    pub code: Option<String>,
    pub numeric_code: Option<String>,
    /// From the key set: the organisation that owns the signing key.
    pub organisation: Option<String>,
    pub org_id: Option<String>,
    pub seal_id: Option<String>,
    /// As the server names it (online only).
    pub seal: Option<String>,
    /// The token's time (when the server recorded the stamp).
    pub time: Option<String>,
    /// Hex of the first 16 bytes of the document's SHA-256.
    pub document_prefix: Option<String>,
    /// The RFC 7638 thumbprint of the signing key.
    pub key: Option<String>,
    /// Whether the facts come from a token whose signature verified.
    pub verified: bool,
}

/// Everything one verification found.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub input: String,
    /// `token`, `url`, `code`, `numeric_code`, or `invalid`.
    pub form: &'static str,
    /// The server asked, if any.
    pub server: Option<String>,
    pub stamp: Facts,
    /// `valid`, `revoked`, `disputed`, or `unknown` (offline).
    pub status: String,
    pub status_since: Option<String>,
    pub checks: Vec<CheckLine>,
    pub notes: Vec<String>,
    /// `valid`, `revoked`, `disputed`, `genuine` (offline, status not checked) or
    /// `not_verified`.
    pub verdict: &'static str,
    pub exit_code: u8,
}

impl Report {
    fn new(input: &str, form: &'static str) -> Self {
        Report {
            input: input.to_owned(),
            form,
            server: None,
            stamp: Facts::default(),
            status: "unknown".to_owned(),
            status_since: None,
            checks: Vec::new(),
            notes: Vec::new(),
            verdict: "not_verified",
            exit_code: 1,
        }
    }

    fn pass(&mut self, check: &'static str, detail: impl Into<String>) {
        self.checks.push(CheckLine {
            check,
            passed: true,
            detail: detail.into(),
        });
    }

    fn fail(&mut self, check: &'static str, detail: impl Into<String>) {
        self.checks.push(CheckLine {
            check,
            passed: false,
            detail: detail.into(),
        });
    }

    fn all_passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.passed)
    }

    /// Sets the verdict and exit code from the checks and the status.
    fn conclude(&mut self) {
        let (verdict, code) = if !self.all_passed() {
            ("not_verified", 1)
        } else {
            match self.status.as_str() {
                "valid" => ("valid", 0),
                "revoked" => ("revoked", EXIT_NOT_VALID),
                "disputed" => ("disputed", EXIT_NOT_VALID),
                _ => ("genuine", 0),
            }
        };
        self.verdict = verdict;
        self.exit_code = code;
    }

    fn print(&self) {
        let title = match (&self.stamp.code, &self.stamp.numeric_code) {
            (Some(code), Some(numeric)) => format!("Stamp {code} (numeric code {numeric})"),
            (Some(code), None) => format!("Stamp {code}"),
            _ => format!("Input {}", shorten(&self.input)),
        };
        say!("{title}");
        for check in &self.checks {
            let mark = if check.passed { '✓' } else { '✗' };
            say!("{mark} {}: {}", check.check, check.detail);
        }
        let facts = &self.stamp;
        let unverified = if facts.verified {
            ""
        } else {
            " (NOT verified)"
        };
        let rows = [
            ("organisation", facts.organisation.clone()),
            ("org id", facts.org_id.clone()),
            ("seal", facts.seal.clone()),
            ("seal id", facts.seal_id.clone()),
            ("time", facts.time.clone()),
            (
                "document",
                facts
                    .document_prefix
                    .clone()
                    .map(|p| format!("SHA-256 starts {p}")),
            ),
            ("key", facts.key.clone()),
        ];
        for (name, value) in rows {
            if let Some(value) = value {
                say!("  {name:<13} {value}{unverified}");
            }
        }
        let status = match (&self.status_since, self.status.as_str()) {
            (_, "unknown") => "not checked (known only online: --online URL)".to_owned(),
            (Some(since), status) => format!("{status} since {since}"),
            (None, status) => status.to_owned(),
        };
        if self.form != "invalid" {
            say!("  {:<13} {status}", "status");
        }
        for note in &self.notes {
            say!("  note: {note}");
        }
        let result = match self.verdict {
            "valid" => "GENUINE and VALID".to_owned(),
            "revoked" => "GENUINE but REVOKED".to_owned(),
            "disputed" => "GENUINE but DISPUTED".to_owned(),
            "genuine" => "GENUINE (offline: revocation not checked)".to_owned(),
            _ => {
                let failed = self.checks.iter().filter(|c| !c.passed).count();
                format!(
                    "NOT VERIFIED ({failed} check{} failed)",
                    if failed == 1 { "" } else { "s" }
                )
            }
        };
        say!("Result: {result}");
    }
}

fn shorten(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.chars().count() > 60 {
        let head: String = trimmed.chars().take(57).collect();
        format!("{head}…")
    } else {
        trimmed.to_owned()
    }
}

fn time_text(unix: u64) -> String {
    let millis = i64::try_from(unix)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    Timestamp::from_millis(millis).to_string()
}

fn uuid_text(bytes: [u8; 16]) -> String {
    seal_core::ids::SealId::from_bytes(bytes).to_string()
}

// ----- the checks ---------------------------------------------------------------------

/// A verified token: its claims and the key that signed it.
struct GoodToken {
    claims: StampClaims,
    key: PublishedKey,
}

/// Checks a token against the key set, step by step, and fills in the facts.
fn check_token(bytes: &[u8], keys: &KeySet, report: &mut Report) -> Option<GoodToken> {
    let token = match read_token(bytes) {
        Ok(token) => {
            report.pass("token", "a well-formed stamp token (COSE_Sign1, EdDSA)");
            token
        }
        Err(error) => {
            report.fail("token", format!("not a valid stamp token: {error}"));
            return None;
        }
    };
    let claims = *token.claims();
    fill_claims(&mut report.stamp, &claims);
    let short = hex::encode(token.short_kid());
    let Some(published) = keys.find(&token.short_kid()) else {
        report.fail(
            "key",
            format!(
                "no key in the key set has the token's key id {short} (a key set fetched \
                 before the organisation's key rotated? fetch it again)"
            ),
        );
        return None;
    };
    report.stamp.organisation = Some(published.org_name.clone());
    report.stamp.org_id = Some(published.org_id.clone());
    report.stamp.key = Some(published.kid.clone());
    let key = match published.public_key() {
        Ok(key) => {
            report.pass(
                "key",
                format!("published key {} of {}", published.kid, published.org_name),
            );
            key
        }
        Err(error) => {
            report.fail("key", error.to_string());
            return None;
        }
    };
    match published.check_time(claims.time) {
        Ok(()) => report.pass(
            "key_time",
            format!(
                "the key was signing at the stamp's time ({})",
                time_text(claims.time)
            ),
        ),
        Err(error) => {
            report.fail("key_time", error.to_string());
            return None;
        }
    }
    match token.verify(&key) {
        Ok(_) => {
            report.pass("signature", "the token's signature verifies");
            report.stamp.verified = true;
            Some(GoodToken {
                claims,
                key: published.clone(),
            })
        }
        Err(error) => {
            report.fail("signature", error.to_string());
            None
        }
    }
}

fn fill_claims(facts: &mut Facts, claims: &StampClaims) {
    facts.code = Some(stamp_code(&claims.stamp_id));
    facts.numeric_code = Some(NumericCode::of(StampId::from_bytes(claims.stamp_id)).grouped());
    facts.seal_id = (claims.seal_id != [0; 16]).then(|| uuid_text(claims.seal_id));
    facts.time = Some(time_text(claims.time));
    facts.document_prefix = claims.document_prefix.map(hex::encode);
}

/// The stamped document against the token's document claim.
fn check_document(path: &Path, claims: &StampClaims, report: &mut Report) {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            report.fail("document", format!("{}: {error}", path.display()));
            return;
        }
    };
    let digest: [u8; 32] = Sha256::digest(&bytes).into();
    let prefix = document_prefix(&digest);
    match claims.document_prefix {
        None => report.fail("document", "the token names no document"),
        Some(claimed) if claimed == prefix => report.pass(
            "document",
            format!(
                "{} is the stamped document (SHA-256 matches)",
                path.display()
            ),
        ),
        Some(claimed) => report.fail(
            "document",
            format!(
                "{} is not the stamped document (its SHA-256 starts {}, the token says {})",
                path.display(),
                hex::encode(prefix),
                hex::encode(claimed)
            ),
        ),
    }
}

/// The server's verification answer, the parts checked here.
#[derive(Deserialize)]
struct Answer {
    code: String,
    numeric_code: String,
    status: String,
    #[serde(default)]
    status_since: Option<String>,
    #[serde(default)]
    seal: Option<String>,
    #[serde(default)]
    token: Option<String>,
    checkpoint: String,
    entries: Vec<AnswerEntry>,
}

#[derive(Deserialize)]
struct AnswerEntry {
    index: u64,
    entry: String,
    proof: Vec<String>,
}

/// The log's verifier and origin from the key set.
fn log_key(keys: &KeySet) -> Result<(NoteVerifier, String), String> {
    let origin = keys
        .log
        .as_ref()
        .map(|l| l.origin.clone())
        .ok_or("the key set names no log key")?;
    let verifier = keys
        .log_verifier()
        .map_err(|e| e.to_string())?
        .ok_or("the key set names no log key")?;
    Ok((verifier, origin))
}

/// What the command was given besides the input.
struct Options {
    keys: Option<KeySet>,
    cached: Option<String>,
    online: Option<Server>,
    document: Option<PathBuf>,
}

/// Verifies one named stamp.
async fn verify_one(input: &str, named: &Named, options: &Options) -> Report {
    let mut report = Report::new(input, named.form());
    let server = match (&options.online, named) {
        (Some(server), _) => Some(server.clone()),
        (None, Named::Url { base, .. }) => match Server::new(base) {
            Ok(server) => Some(server),
            Err(error) => {
                report.fail("online", error.to_string());
                report.conclude();
                return report;
            }
        },
        _ => None,
    };
    report.server = server.as_ref().map(|s| s.base().to_owned());
    if let (Some(online), Named::Url { base, .. }) = (&options.online, named)
        && Server::new(base)
            .map(|b| b.base().to_owned())
            .ok()
            .as_deref()
            != Some(online.base())
    {
        report.notes.push(format!(
            "the QR code names the server {base}; {} was asked instead (--online)",
            online.base()
        ));
    }

    // The key set: the cached one, or (online) the server's own.
    let keys = match (&options.keys, &server) {
        (Some(keys), _) => Some(keys.clone()),
        (None, Some(server)) => match server.key_set().await {
            Ok((keys, _)) => {
                report.notes.push(format!(
                    "the key set was fetched from {} itself; for an independent check, \
                     fetch it once (`sealkeeper verify fetch`) and pass --keys",
                    server.base()
                ));
                Some(keys)
            }
            Err(error) => {
                report.fail("keys", error.to_string());
                None
            }
        },
        (None, None) => None,
    };

    // Offline: the token itself.
    let mut token = None;
    if let Named::Token(bytes) = named {
        match &keys {
            Some(keys) => token = check_token(bytes, keys, &mut report),
            None => report.fail(
                "keys",
                "an SK1: token is checked with the published key set: pass --keys FILE \
                 (see `sealkeeper verify fetch`) or --online URL",
            ),
        }
        if let (Some(path), Some(good)) = (&options.document, &token) {
            check_document(path, &good.claims, &mut report);
        }
    }

    match (&server, &keys) {
        (Some(server), Some(keys)) => {
            let lookup = match named {
                Named::Token(_) => token.as_ref().map(|t| stamp_code(&t.claims.stamp_id)),
                Named::Url { stamp_id, .. } | Named::Code(stamp_id) => Some(stamp_code(stamp_id)),
                Named::Numeric(code) => Some(code.as_str().to_owned()),
            };
            if let Some(lookup) = lookup {
                check_online(
                    server,
                    keys,
                    &lookup,
                    named,
                    token.as_ref(),
                    options,
                    &mut report,
                )
                .await;
            }
        }
        (None, _) if !matches!(named, Named::Token(_)) => {
            if let Named::Code(id) = named {
                fill_code(&mut report.stamp, *id);
            }
            if let Named::Numeric(code) = named {
                report.stamp.numeric_code = Some(code.grouped());
            }
            report.fail(
                "online",
                "this code names a stamp kept on a server: checking it needs that server \
                 (pass --online URL)",
            );
        }
        _ => {
            // Offline token: a cached checkpoint can at least be checked to be the log's.
            if let (Some(cached), Some(keys)) = (&options.cached, &keys) {
                match log_key(keys).and_then(|(verifier, origin)| {
                    open_checkpoint(cached, &[verifier], Some(&origin)).map_err(|e| e.to_string())
                }) {
                    Ok(checkpoint) => report.pass(
                        "cached_checkpoint",
                        format!("signed by the log, size {}", checkpoint.size),
                    ),
                    Err(error) => report.fail("cached_checkpoint", error),
                }
            }
        }
    }
    report.conclude();
    report
}

fn fill_code(facts: &mut Facts, id: [u8; 16]) {
    facts.code = Some(stamp_code(&id));
    facts.numeric_code = Some(NumericCode::of(StampId::from_bytes(id)).grouped());
}

/// The online checks: see the module documentation.
async fn check_online(
    server: &Server,
    keys: &KeySet,
    lookup: &str,
    named: &Named,
    offline_token: Option<&GoodToken>,
    options: &Options,
    report: &mut Report,
) {
    let value = match server.verification(lookup).await {
        Ok(value) => value,
        Err(error) if error.status() == Some(404) => {
            report.fail(
                "record",
                format!("{} has no stamp with this code", server.base()),
            );
            return;
        }
        Err(error) => {
            report.fail("online", error.to_string());
            return;
        }
    };
    let answer: Answer = match serde_json::from_value(value) {
        Ok(answer) => answer,
        Err(error) => {
            report.fail(
                "online",
                format!("the answer is not a verification: {error}"),
            );
            return;
        }
    };

    // The record is the one asked for.
    let asked_for = match named {
        Named::Numeric(code) => answer.numeric_code == code.as_str(),
        _ => answer.code.eq_ignore_ascii_case(lookup),
    };
    if asked_for {
        report.pass(
            "record",
            format!("{} has stamp {}", server.base(), answer.code),
        );
    } else {
        report.fail(
            "record",
            format!("the server answered about another stamp ({})", answer.code),
        );
        return;
    }
    if report.stamp.code.is_none()
        && let Ok(id) = parse_stamp_code(&answer.code)
    {
        fill_code(&mut report.stamp, id);
    }
    report.stamp.seal = answer.seal.clone();

    // The token, unless the QR code's own token was checked already.
    let token = match offline_token {
        Some(good) => {
            let same = answer
                .token
                .as_deref()
                .and_then(|t| URL_SAFE_NO_PAD.decode(t).ok())
                .is_some_and(|bytes| match named {
                    Named::Token(own) => *own == bytes,
                    _ => false,
                });
            if same {
                report.pass("token_matches", "the server holds the same token");
            } else {
                report.fail("token_matches", "the server's token is not the QR code's");
            }
            Some(GoodToken {
                claims: good.claims,
                key: good.key.clone(),
            })
        }
        None => match answer.token.as_deref().map(|t| URL_SAFE_NO_PAD.decode(t)) {
            None => {
                report.fail("token", "the server gave no token");
                None
            }
            Some(Err(_)) => {
                report.fail("token", "the server's token is not base64url");
                None
            }
            Some(Ok(bytes)) => {
                let good = check_token(&bytes, keys, report);
                if let Some(good) = &good {
                    if stamp_code(&good.claims.stamp_id) == answer.code {
                        report.pass("token_matches", "the token names this stamp");
                    } else {
                        report.fail("token_matches", "the token names another stamp");
                    }
                    if let Some(path) = &options.document {
                        check_document(path, &good.claims, report);
                    }
                }
                good
            }
        },
    };

    // The checkpoint, signed by the log key of the key set.
    let checkpoint = match log_key(keys).and_then(|(verifier, origin)| {
        open_checkpoint(&answer.checkpoint, &[verifier], Some(&origin)).map_err(|e| e.to_string())
    }) {
        Ok(checkpoint) => {
            report.pass(
                "checkpoint",
                format!(
                    "signed by the log {}, size {}",
                    checkpoint.origin, checkpoint.size
                ),
            );
            Some(checkpoint)
        }
        Err(error) => {
            report.fail("checkpoint", error);
            None
        }
    };

    // Every entry is in that checkpoint's tree; the stamp's entry says what the token
    // says; the status entries give the status.
    let mut stamp_entry = None;
    let mut statuses: Vec<(u64, StatusEntry)> = Vec::new();
    let mut included = Vec::new();
    let mut inclusion_failed = None;
    for e in &answer.entries {
        let Ok(bytes) = STANDARD.decode(&e.entry) else {
            inclusion_failed = Some(format!("entry {}: not base64", e.index));
            continue;
        };
        if let Some(checkpoint) = &checkpoint {
            let proof: Result<Vec<_>, String> = e
                .proof
                .iter()
                .map(|h| {
                    STANDARD
                        .decode(h)
                        .map_err(|_| "a proof hash is not base64".to_owned())
                        .and_then(|b| hash_from_slice(&b).map_err(|err| err.to_string()))
                })
                .collect();
            let outcome = proof.and_then(|proof| {
                verify_inclusion(
                    &leaf_hash(&bytes),
                    e.index,
                    checkpoint.size,
                    &proof,
                    &checkpoint.root,
                )
                .map_err(|err| err.to_string())
            });
            match outcome {
                Ok(()) => included.push(e.index),
                Err(why) => {
                    inclusion_failed.get_or_insert(format!("entry {}: {why}", e.index));
                }
            }
        }
        match EntryKind::of(&bytes) {
            Some(EntryKind::Stamp) => {
                if let Ok(entry) = StampEntry::decode(&bytes) {
                    stamp_entry.get_or_insert((e.index, entry));
                }
            }
            Some(EntryKind::StampStatus) => {
                if let Ok(entry) = StatusEntry::decode(&bytes) {
                    statuses.push((e.index, entry));
                }
            }
            _ => {}
        }
    }
    if checkpoint.is_some() {
        match (&inclusion_failed, included.is_empty()) {
            (Some(why), _) => report.fail("inclusion", why.clone()),
            (None, true) => report.fail("inclusion", "the server gave no log entry"),
            (None, false) => report.pass(
                "inclusion",
                format!(
                    "entr{} {} in the log's tree of size {} (proofs verified)",
                    if included.len() == 1 { "y" } else { "ies" },
                    included
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    checkpoint.as_ref().map_or(0, |c| c.size)
                ),
            ),
        }
    }
    match (&stamp_entry, &token) {
        (None, _) => report.fail("log_entry", "no log entry records the stamp"),
        (Some((index, entry)), Some(good)) => {
            let mut differs = Vec::new();
            if entry.stamp.as_uuid().as_bytes() != &good.claims.stamp_id {
                differs.push("stamp");
            }
            let seal = entry
                .seal
                .map(|s| *s.as_uuid().as_bytes())
                .unwrap_or([0; 16]);
            if seal != good.claims.seal_id {
                differs.push("seal");
            }
            if entry.document_sha256.as_ref().map(document_prefix) != good.claims.document_prefix {
                differs.push("document");
            }
            if entry.org.to_string() != good.key.org_id {
                differs.push("organisation");
            }
            if differs.is_empty() {
                report.pass(
                    "log_entry",
                    format!("entry {index} records this stamp, seal, document and organisation"),
                );
            } else {
                report.fail(
                    "log_entry",
                    format!(
                        "entry {index} does not say what the token says ({})",
                        differs.join(", ")
                    ),
                );
            }
        }
        (Some((index, _)), None) => {
            report.notes.push(format!(
                "log entry {index} was not compared: the token did not verify"
            ));
        }
    }

    // The status, from the log's status entries about this stamp.
    let stamp_id = stamp_entry.as_ref().map(|(_, e)| e.stamp);
    statuses.retain(|(_, s)| Some(s.stamp) == stamp_id);
    statuses.sort_by_key(|(index, _)| *index);
    let (logged, since, at_index) = statuses
        .last()
        .map_or((StampStatus::Valid, None, None), |(index, s)| {
            (s.status, Some(s.at), Some(*index))
        });
    if logged.key() == answer.status {
        report.pass(
            "status",
            match at_index {
                None => format!("{} (no status change in the log)", logged.key()),
                Some(index) => format!("{} (log entry {index})", logged.key()),
            },
        );
        report.status = logged.key().to_owned();
        report.status_since = since.map(|t| t.to_string()).or(answer.status_since.clone());
    } else {
        report.fail(
            "status",
            format!(
                "the server says {} but the log's entries say {}",
                answer.status,
                logged.key()
            ),
        );
    }

    // A cached checkpoint must be consistent with the answer's.
    if let (Some(cached), Some(checkpoint)) = (&options.cached, &checkpoint) {
        check_cached(server, keys, cached, checkpoint, report).await;
    }
}

/// The cached checkpoint is the log's, and consistent with `current`.
async fn check_cached(
    server: &Server,
    keys: &KeySet,
    cached: &str,
    current: &Checkpoint,
    report: &mut Report,
) {
    let cached = match log_key(keys).and_then(|(verifier, origin)| {
        open_checkpoint(cached, &[verifier], Some(&origin)).map_err(|e| e.to_string())
    }) {
        Ok(checkpoint) => checkpoint,
        Err(error) => {
            report.fail("cached_checkpoint", error);
            return;
        }
    };
    let (older, newer) = if cached.size <= current.size {
        (&cached, current)
    } else {
        (current, &cached)
    };
    match check_step(server, older, newer).await {
        Ok(Ok(())) => report.pass(
            "consistency",
            format!(
                "the cached checkpoint (size {}) and the answer's (size {}) are one log",
                cached.size, current.size
            ),
        ),
        Ok(Err(fork)) => report.fail("consistency", fork.to_string()),
        Err(error) => report.fail(
            "consistency",
            format!("the consistency proof could not be fetched: {error}"),
        ),
    }
}

// ----- the commands -------------------------------------------------------------------

/// `--keys FILE` or `--keys DIR` (its keys.json).
fn load_keys(path: &Path) -> Result<KeySet, String> {
    let file = if path.is_dir() {
        path.join(KEYS_FILE)
    } else {
        path.to_owned()
    };
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    KeySet::from_json(&text).map_err(|e| format!("{}: {e}", file.display()))
}

/// `--checkpoint FILE` or `--checkpoint DIR` (its checkpoint).
fn load_checkpoint(path: &Path) -> Result<String, String> {
    let file = if path.is_dir() {
        path.join(CHECKPOINT_FILE)
    } else {
        path.to_owned()
    };
    std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))
}

async fn verify(args: VerifyArgs) -> ExitCode {
    let Some(input) = args.input else {
        return crate::fail(&"verify: INPUT is missing");
    };
    let keys = match args.keys.as_deref().map(load_keys).transpose() {
        Ok(keys) => keys,
        Err(error) => return crate::fail(&format!("verify: --keys {error}")),
    };
    let cached = match args.checkpoint.as_deref().map(load_checkpoint).transpose() {
        Ok(cached) => cached,
        Err(error) => return crate::fail(&format!("verify: --checkpoint {error}")),
    };
    let online = match args.online.as_deref().map(Server::new).transpose() {
        Ok(online) => online,
        Err(error) => return crate::fail(&format!("verify: --online: {error}")),
    };
    if let Some(document) = &args.document
        && !document.is_file()
    {
        return crate::fail(&format!(
            "verify: --document {}: no such file",
            document.display()
        ));
    }
    let options = Options {
        keys,
        cached,
        online,
        document: args.document,
    };

    let path = Path::new(&input);
    let named: Vec<(String, Result<Named, String>)> = if path.is_file() {
        match tokio::task::spawn_blocking({
            let path = path.to_owned();
            move || read_file(&path)
        })
        .await
        {
            Ok(Ok(found)) => found.into_iter().map(|(text, n)| (text, Ok(n))).collect(),
            Ok(Err(error)) => return crate::fail(&format!("verify: {error}")),
            Err(error) => return crate::fail(&format!("verify: {error}")),
        }
    } else {
        vec![(input.clone(), parse_text(&input))]
    };

    let mut reports = Vec::with_capacity(named.len());
    for (text, named) in &named {
        let report = match named {
            Ok(named) => verify_one(text, named, &options).await,
            Err(why) => {
                let mut report = Report::new(text, "invalid");
                report.fail("input", why.clone());
                report.conclude();
                report
            }
        };
        reports.push(report);
    }

    if args.json {
        let json = if reports.len() == 1 {
            serde_json::to_string_pretty(&reports[0])
        } else {
            serde_json::to_string_pretty(&reports)
        };
        match json {
            Ok(json) => say!("{json}"),
            Err(error) => return crate::fail(&format!("verify: {error}")),
        }
    } else {
        for (i, report) in reports.iter().enumerate() {
            if i > 0 {
                say!();
            }
            report.print();
        }
    }
    let code = if reports.iter().any(|r| r.exit_code == 1) {
        1
    } else {
        reports.iter().map(|r| r.exit_code).max().unwrap_or(1)
    };
    ExitCode::from(code)
}

/// Why `verify fetch` refused.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the server publishes no log key")]
    NoLogKey,
    #[error("the server's log key is invalid: {0}")]
    BadLogKey(String),
    #[error("the server's checkpoint does not verify with its log key: {0}")]
    BadCheckpoint(String),
    #[error(
        "the log key changed since the last fetch into {dir} (was {was}, now {now}); \
         remove {dir}/keys.json to accept the new key"
    )]
    KeyChanged {
        dir: String,
        was: String,
        now: String,
    },
    #[error("{0}")]
    Io(String),
}

async fn fetch(args: FetchArgs) -> ExitCode {
    match fetch_into(&args).await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(fork)) => {
            say!("✗ {fork}");
            tell!(
                "sealkeeper: verify fetch: THE LOG FORKED OR WAS ROLLED BACK: {fork}; the \
                 files in {} were kept",
                args.out.display()
            );
            ExitCode::from(EXIT_FORK)
        }
        Err(error) => crate::fail(&format!("verify fetch: {error}")),
    }
}

async fn fetch_into(args: &FetchArgs) -> Result<Result<(), crate::log_cmd::Fork>, FetchError> {
    let server = Server::new(&args.url)?;
    let (keys, keys_text) = server.key_set().await?;
    let log = keys.log.clone().ok_or(FetchError::NoLogKey)?;
    let verifier = keys
        .log_verifier()
        .map_err(|e| FetchError::BadLogKey(e.to_string()))?
        .ok_or(FetchError::NoLogKey)?;
    let note = server.checkpoint().await?;
    let checkpoint = open_checkpoint(&note, std::slice::from_ref(&verifier), Some(&log.origin))
        .map_err(|e| FetchError::BadCheckpoint(e.to_string()))?;

    let dir = &args.out;
    let io = |e: std::io::Error| FetchError::Io(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let keys_path = dir.join(KEYS_FILE);
    let checkpoint_path = dir.join(CHECKPOINT_FILE);
    // A key set fetched before must name the same log key.
    if let Ok(old) = load_keys(&keys_path)
        && let Some(old_log) = old.log
        && (old_log.vkey != log.vkey || old_log.origin != log.origin)
    {
        return Err(FetchError::KeyChanged {
            dir: dir.display().to_string(),
            was: old_log.vkey,
            now: log.vkey,
        });
    }
    // A checkpoint fetched before must be consistent with the new one.
    let mut step = String::new();
    if let Ok(old_note) = std::fs::read_to_string(&checkpoint_path)
        && let Ok(old) = open_checkpoint(&old_note, &[verifier], Some(&log.origin))
    {
        if let Err(fork) = check_step(&server, &old, &checkpoint).await? {
            return Ok(Err(fork));
        }
        step = format!(", consistent with the size {} fetched before", old.size);
    }
    write_file(&keys_path, &keys_text).map_err(io)?;
    write_file(&checkpoint_path, &note).map_err(io)?;
    say!(
        "✓ {}: {} organisation key{}, log {} ({})",
        keys_path.display(),
        keys.keys.len(),
        if keys.keys.len() == 1 { "" } else { "s" },
        log.origin,
        log.vkey
    );
    say!(
        "✓ {}: size {}, root {} (signature verified{step})",
        checkpoint_path.display(),
        checkpoint.size,
        STANDARD.encode(checkpoint.root)
    );
    Ok(Ok(()))
}

fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_name_stamps_in_every_form() {
        let id = [7u8; 16];
        let code = stamp_code(&id);
        assert_eq!(parse_text(&code), Ok(Named::Code(id)));
        assert_eq!(parse_text(&code.to_lowercase()), Ok(Named::Code(id)));
        assert_eq!(
            parse_text(&format!("HTTPS://SK.EXAMPLE/V/{code}")),
            Ok(Named::Url {
                base: "HTTPS://SK.EXAMPLE".to_owned(),
                stamp_id: id
            })
        );
        let token = QrPayload::Token(vec![1, 2, 3]).format();
        assert_eq!(parse_text(&token), Ok(Named::Token(vec![1, 2, 3])));
        let numeric = NumericCode::of(StampId::from_bytes(id));
        assert_eq!(
            parse_text(&numeric.grouped()),
            Ok(Named::Numeric(numeric.clone()))
        );
    }

    #[test]
    fn mistyped_and_unknown_texts_are_refused_with_the_reason() {
        let numeric = NumericCode::of(StampId::from_bytes([7; 16]));
        let mut typo = numeric.as_str().to_owned();
        let last = typo.pop().and_then(|c| c.to_digit(10)).unwrap_or(0);
        typo.push(char::from_digit((last + 1) % 10, 10).unwrap_or('0'));
        let why = parse_text(&typo).unwrap_err();
        assert!(why.contains("check digit"), "{why}");
        assert!(parse_text("12345").unwrap_err().contains("20 digits"));
        assert!(parse_text("SK1:bb8").unwrap_err().contains("Base45"));
        assert!(
            parse_text("https://sk.example/X/abc")
                .unwrap_err()
                .contains("verification URL")
        );
        assert!(parse_text("hello").unwrap_err().contains("neither"));
    }

    #[test]
    fn verdicts_follow_checks_and_status() {
        let mut report = Report::new("x", "code");
        report.conclude();
        assert_eq!((report.verdict, report.exit_code), ("not_verified", 1));
        report.pass("token", "ok");
        report.conclude();
        assert_eq!((report.verdict, report.exit_code), ("genuine", 0));
        report.status = "revoked".to_owned();
        report.conclude();
        assert_eq!((report.verdict, report.exit_code), ("revoked", 3));
        report.status = "valid".to_owned();
        report.conclude();
        assert_eq!((report.verdict, report.exit_code), ("valid", 0));
        report.fail("inclusion", "no");
        report.conclude();
        assert_eq!((report.verdict, report.exit_code), ("not_verified", 1));
    }
}
