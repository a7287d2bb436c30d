//! The published key set: the organisation keys that sign stamp tokens and the log's
//! checkpoint key, as JSON served at a well-known URL and cached by the offline verifier.
//!
//! ```json
//! {
//!   "issuer": "https://sk.example",
//!   "generated_at": "2026-11-22T08:30:00Z",
//!   "log": { "origin": "sk.example/log", "vkey": "sk.example/log+1a2b3c4d+AR…" },
//!   "keys": [{
//!     "kid": "<RFC 7638 thumbprint, base64url>",
//!     "short_kid": "<16 lowercase hex digits, see crate::short_kid>",
//!     "org_id": "…", "org_name": "…",
//!     "alg": "EdDSA",
//!     "public_key": "<base64url of the 32 bytes, no padding>",
//!     "created_at": "2026-01-01T00:00:00Z",
//!     "retired_at": null
//!   }]
//! }
//! ```
//!
//! A key signs tokens from `created_at` (inclusive) until `retired_at` (exclusive). A retired
//! key still verifies the tokens made before it retired. Times are compared in whole seconds
//! (fractions of a second in the RFC 3339 texts are dropped).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

use crate::keys::PublicKey;
use crate::note::{NoteError, NoteVerifier};
use crate::short_kid::ShortKid;
use crate::token::{StampClaims, TokenError, read_token};

/// The only `alg` of a published key.
pub const ALG_EDDSA: &str = "EdDSA";

/// The longest key-set JSON accepted, in bytes.
pub const MAX_KEY_SET_LEN: usize = 1024 * 1024;

/// Why a key set, a key in it, or a token checked against it was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeySetError {
    /// The JSON does not parse into a key set (serde's message).
    #[error("the key set is not valid JSON: {0}")]
    Json(String),
    /// The JSON is longer than [`MAX_KEY_SET_LEN`].
    #[error("the key set is longer than {MAX_KEY_SET_LEN} bytes")]
    TooLong,
    /// A time is not RFC 3339 (which field).
    #[error("{field} is not an RFC 3339 time: {value:?}")]
    BadTime { field: &'static str, value: String },
    /// A key's fields do not agree with each other (which key, what is wrong).
    #[error("key {kid}: {reason}")]
    BadKey { kid: String, reason: &'static str },
    /// Two keys have the same short key id.
    #[error("two keys have the short key id {0}")]
    DuplicateKey(String),
    /// The log's verifier key does not parse.
    #[error("the log key is invalid: {0}")]
    BadLogKey(NoteError),
    /// No key has this short key id (in hex).
    #[error("no published key has the short key id {0}")]
    UnknownKey(String),
    /// The token is older than the key that signed it.
    #[error("key {kid} was created after the token's time")]
    NotYetValid { kid: String },
    /// The token was made after the key retired.
    #[error("key {kid} had retired by the token's time")]
    Retired { kid: String },
    /// The token is refused on its own terms.
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// The published key set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct KeySet {
    /// The base URL of the issuing Sealkeeper server.
    pub issuer: String,
    /// When the set was generated, RFC 3339.
    pub generated_at: String,
    /// The key that signs the log's checkpoints, if the server runs a log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogKey>,
    /// Every organisation key, current and retired.
    pub keys: Vec<PublishedKey>,
}

/// The log's identity and checkpoint key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct LogKey {
    /// The checkpoint origin line.
    pub origin: String,
    /// The note verifier key, `name+hexkeyid+base64(0x01 ‖ key)`.
    pub vkey: String,
}

/// One organisation key that signs stamp tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct PublishedKey {
    /// The RFC 7638 JWK thumbprint (base64url, no padding).
    pub kid: String,
    /// The first 8 bytes of the thumbprint, as 16 lowercase hex digits.
    pub short_kid: String,
    /// The organisation that owns the key.
    pub org_id: String,
    /// The organisation's name, for display.
    pub org_name: String,
    /// Always `EdDSA` (Ed25519).
    pub alg: String,
    /// The 32-byte Ed25519 public key, base64url without padding.
    pub public_key: String,
    /// From when the key signs, RFC 3339.
    pub created_at: String,
    /// From when the key no longer signs, RFC 3339; `null` while it is current.
    #[serde(default)]
    pub retired_at: Option<String>,
}

/// Unix seconds of an RFC 3339 time.
fn parse_time(field: &'static str, value: &str) -> Result<i64, KeySetError> {
    OffsetDateTime::parse(value, &Rfc3339)
        .map(OffsetDateTime::unix_timestamp)
        .map_err(|_| KeySetError::BadTime {
            field,
            value: value.to_owned(),
        })
}

impl PublishedKey {
    /// The entry for `key`, with its ids derived from it; the times must be RFC 3339.
    pub fn new(
        key: &PublicKey,
        org_id: impl Into<String>,
        org_name: impl Into<String>,
        created_at: impl Into<String>,
        retired_at: Option<String>,
    ) -> Result<Self, KeySetError> {
        let published = Self {
            kid: key.key_id(),
            short_kid: key.short_kid_hex(),
            org_id: org_id.into(),
            org_name: org_name.into(),
            alg: ALG_EDDSA.to_owned(),
            public_key: URL_SAFE_NO_PAD.encode(key.as_bytes()),
            created_at: created_at.into(),
            retired_at,
        };
        published.lifetime()?;
        Ok(published)
    }

    fn bad(&self, reason: &'static str) -> KeySetError {
        KeySetError::BadKey {
            kid: self.kid.clone(),
            reason,
        }
    }

    /// The public key, after checking that `alg`, `kid` and `short_kid` agree with it.
    pub fn public_key(&self) -> Result<PublicKey, KeySetError> {
        if self.alg != ALG_EDDSA {
            return Err(self.bad("alg is not EdDSA"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(&self.public_key)
            .map_err(|_| self.bad("public_key is not base64url without padding"))?;
        let key = PublicKey::from_bytes(&bytes)
            .map_err(|_| self.bad("public_key is not an Ed25519 key"))?;
        if key.key_id() != self.kid {
            return Err(self.bad("kid is not the key's thumbprint"));
        }
        if key.short_kid_hex() != self.short_kid {
            return Err(self.bad("short_kid is not the first 8 bytes of the thumbprint"));
        }
        Ok(key)
    }

    /// `created_at` and `retired_at` as Unix seconds; a key cannot retire before it starts.
    pub fn lifetime(&self) -> Result<(i64, Option<i64>), KeySetError> {
        let created = parse_time("created_at", &self.created_at)?;
        let retired = self
            .retired_at
            .as_deref()
            .map(|text| parse_time("retired_at", text))
            .transpose()?;
        if retired.is_some_and(|retired| retired < created) {
            return Err(self.bad("retired_at is before created_at"));
        }
        Ok((created, retired))
    }

    /// Whether the key was signing at `time` (Unix seconds): `created_at <= time <
    /// retired_at`.
    pub fn check_time(&self, time: u64) -> Result<(), KeySetError> {
        let (created, retired) = self.lifetime()?;
        let time = i128::from(time);
        if time < i128::from(created) {
            return Err(KeySetError::NotYetValid {
                kid: self.kid.clone(),
            });
        }
        if retired.is_some_and(|retired| time >= i128::from(retired)) {
            return Err(KeySetError::Retired {
                kid: self.kid.clone(),
            });
        }
        Ok(())
    }
}

/// A token that verified against the key set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedStamp<'a> {
    /// What the token asserts.
    pub claims: StampClaims,
    /// The key that signed it (with its organisation).
    pub key: &'a PublishedKey,
}

impl KeySet {
    /// Parses and [`validate`](Self::validate)s the JSON form.
    pub fn from_json(json: &str) -> Result<Self, KeySetError> {
        if json.len() > MAX_KEY_SET_LEN {
            return Err(KeySetError::TooLong);
        }
        let set: Self = serde_json::from_str(json).map_err(|e| KeySetError::Json(e.to_string()))?;
        set.validate()?;
        Ok(set)
    }

    /// The JSON form (pretty-printed).
    pub fn to_json(&self) -> Result<String, KeySetError> {
        serde_json::to_string_pretty(self).map_err(|e| KeySetError::Json(e.to_string()))
    }

    /// Checks every time, every key against its ids, that short key ids are unique, and the
    /// log key.
    pub fn validate(&self) -> Result<(), KeySetError> {
        parse_time("generated_at", &self.generated_at)?;
        for (i, key) in self.keys.iter().enumerate() {
            key.public_key()?;
            key.lifetime()?;
            if self.keys[..i].iter().any(|k| k.short_kid == key.short_kid) {
                return Err(KeySetError::DuplicateKey(key.short_kid.clone()));
            }
        }
        self.log_verifier()?;
        Ok(())
    }

    /// The key with this short key id.
    pub fn find(&self, short_kid: &ShortKid) -> Option<&PublishedKey> {
        let hex = data_encoding::HEXLOWER.encode(short_kid);
        self.keys.iter().find(|key| key.short_kid == hex)
    }

    /// The key with this short key id, if it was signing at `time` (Unix seconds).
    pub fn key_at(
        &self,
        short_kid: &ShortKid,
        time: u64,
    ) -> Result<(PublicKey, &PublishedKey), KeySetError> {
        let published = self
            .find(short_kid)
            .ok_or_else(|| KeySetError::UnknownKey(data_encoding::HEXLOWER.encode(short_kid)))?;
        let key = published.public_key()?;
        published.check_time(time)?;
        Ok((key, published))
    }

    /// The log's checkpoint verifier, if the set names one.
    pub fn log_verifier(&self) -> Result<Option<NoteVerifier>, KeySetError> {
        self.log
            .as_ref()
            .map(|log| NoteVerifier::parse(&log.vkey).map_err(KeySetError::BadLogKey))
            .transpose()
    }

    /// Reads a stamp token, finds its key, checks that the key was signing at the token's
    /// time, and verifies the signature.
    pub fn verify_token(&self, token: &[u8]) -> Result<VerifiedStamp<'_>, KeySetError> {
        let unverified = read_token(token)?;
        let (key, published) = self.key_at(&unverified.short_kid(), unverified.claims().time)?;
        let claims = unverified.verify(&key)?;
        Ok(VerifiedStamp {
            claims,
            key: published,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;
    use crate::token::sign_token;

    const CREATED: &str = "2026-01-01T00:00:00Z";
    /// 2026-01-01T00:00:00Z in Unix seconds.
    const CREATED_UNIX: u64 = 1_767_225_600;
    const RETIRED: &str = "2026-07-01T08:00:00+08:00";
    /// 2026-07-01T00:00:00Z in Unix seconds.
    const RETIRED_UNIX: u64 = 1_782_864_000;

    fn claims(time: u64) -> StampClaims {
        StampClaims {
            stamp_id: [1; 16],
            seal_id: [2; 16],
            time,
            document_prefix: None,
        }
    }

    fn set_with(keys: Vec<PublishedKey>) -> KeySet {
        let log = SigningKey::generate();
        KeySet {
            issuer: "https://sk.example".to_owned(),
            generated_at: "2026-11-22T08:30:00.123Z".to_owned(),
            log: Some(LogKey {
                origin: "sk.example/log".to_owned(),
                vkey: NoteVerifier::new("sk.example/log", log.public_key())
                    .unwrap()
                    .to_vkey(),
            }),
            keys,
        }
    }

    fn published(key: &SigningKey, retired: Option<&str>) -> PublishedKey {
        PublishedKey::new(
            &key.public_key(),
            "org-1",
            "示例公司",
            CREATED,
            retired.map(str::to_owned),
        )
        .unwrap()
    }

    #[test]
    fn published_keys_carry_their_ids_and_times() {
        let key = SigningKey::generate();
        let entry = published(&key, Some(RETIRED));
        assert_eq!(entry.kid, key.public_key().key_id());
        assert_eq!(entry.short_kid, key.public_key().short_kid_hex());
        assert_eq!(entry.short_kid.len(), 16);
        assert_eq!(entry.alg, "EdDSA");
        assert_eq!(entry.public_key.len(), 43);
        assert_eq!(entry.public_key(), Ok(key.public_key()));
        assert_eq!(
            entry.lifetime(),
            Ok((CREATED_UNIX as i64, Some(RETIRED_UNIX as i64)))
        );
    }

    #[test]
    fn json_round_trips_with_the_documented_field_names() {
        let current = SigningKey::generate();
        let old = SigningKey::generate();
        let set = set_with(vec![
            published(&current, None),
            published(&old, Some(RETIRED)),
        ]);
        let json = set.to_json().unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        for field in ["issuer", "generated_at", "log", "keys"] {
            assert!(value.get(field).is_some(), "{field}");
        }
        let first = &value["keys"][0];
        for field in [
            "kid",
            "short_kid",
            "org_id",
            "org_name",
            "alg",
            "public_key",
            "created_at",
            "retired_at",
        ] {
            assert!(first.get(field).is_some(), "{field}");
        }
        assert!(first["retired_at"].is_null());
        assert_eq!(value["keys"][1]["retired_at"], RETIRED);
        assert_eq!(KeySet::from_json(&json), Ok(set.clone()));
        // Without a log, and with `retired_at` left out.
        let mut bare = set;
        bare.log = None;
        let mut value: serde_json::Value = serde_json::from_str(&bare.to_json().unwrap()).unwrap();
        assert!(value.get("log").is_none());
        value["keys"][0]
            .as_object_mut()
            .unwrap()
            .remove("retired_at");
        assert_eq!(KeySet::from_json(&value.to_string()), Ok(bare));
    }

    #[test]
    fn keys_are_found_by_short_kid_and_checked_against_the_time() {
        let current = SigningKey::generate();
        let old = SigningKey::generate();
        let set = set_with(vec![
            published(&current, None),
            published(&old, Some(RETIRED)),
        ]);
        let old_kid = old.public_key().short_kid();
        assert_eq!(
            set.find(&old_kid).map(|k| &k.kid),
            Some(&old.public_key().key_id())
        );
        assert_eq!(set.find(&[0; 8]), None);
        assert_eq!(
            set.key_at(&old_kid, CREATED_UNIX).map(|(k, _)| k),
            Ok(old.public_key())
        );
        assert!(set.key_at(&old_kid, RETIRED_UNIX - 1).is_ok());
        assert!(matches!(
            set.key_at(&old_kid, RETIRED_UNIX),
            Err(KeySetError::Retired { .. })
        ));
        assert!(matches!(
            set.key_at(&old_kid, CREATED_UNIX - 1),
            Err(KeySetError::NotYetValid { .. })
        ));
        assert!(
            set.key_at(&current.public_key().short_kid(), u64::MAX)
                .is_ok()
        );
        assert_eq!(
            set.key_at(&[0xab; 8], CREATED_UNIX),
            Err(KeySetError::UnknownKey("abababababababab".to_owned()))
        );
        assert!(set.log_verifier().unwrap().is_some());
    }

    #[test]
    fn tokens_verify_against_the_set_while_their_key_was_signing() {
        let current = SigningKey::generate();
        let old = SigningKey::generate();
        let stranger = SigningKey::generate();
        let set = set_with(vec![
            published(&current, None),
            published(&old, Some(RETIRED)),
        ]);

        let token = sign_token(&claims(CREATED_UNIX + 10), &current).unwrap();
        let verified = set.verify_token(&token).unwrap();
        assert_eq!(verified.claims, claims(CREATED_UNIX + 10));
        assert_eq!(verified.key.org_name, "示例公司");

        // A retired key still verifies what it signed before it retired …
        let before = sign_token(&claims(RETIRED_UNIX - 1), &old).unwrap();
        assert!(set.verify_token(&before).is_ok());
        // … but not a token dated after.
        let after = sign_token(&claims(RETIRED_UNIX), &old).unwrap();
        assert!(matches!(
            set.verify_token(&after),
            Err(KeySetError::Retired { .. })
        ));
        let early = sign_token(&claims(CREATED_UNIX - 1), &current).unwrap();
        assert!(matches!(
            set.verify_token(&early),
            Err(KeySetError::NotYetValid { .. })
        ));

        let unknown = sign_token(&claims(CREATED_UNIX), &stranger).unwrap();
        assert!(matches!(
            set.verify_token(&unknown),
            Err(KeySetError::UnknownKey(_))
        ));

        let mut tampered = token.clone();
        tampered[45] ^= 1;
        assert_eq!(
            set.verify_token(&tampered),
            Err(KeySetError::Token(TokenError::BadSignature))
        );
        assert_eq!(
            set.verify_token(&token[1..]),
            Err(KeySetError::Token(TokenError::NotTagged))
        );
    }

    #[test]
    fn inconsistent_key_sets_are_refused() {
        let key = SigningKey::generate();
        let good = published(&key, None);
        let reason = |set: KeySet| match set.validate() {
            Err(KeySetError::BadKey { reason, .. }) => reason,
            other => panic!("{other:?}"),
        };

        let mut entry = good.clone();
        entry.alg = "ES256".to_owned();
        assert_eq!(reason(set_with(vec![entry])), "alg is not EdDSA");

        let mut entry = good.clone();
        entry.public_key.push('=');
        assert_eq!(
            reason(set_with(vec![entry])),
            "public_key is not base64url without padding"
        );

        let mut entry = good.clone();
        entry.public_key = URL_SAFE_NO_PAD.encode([0u8; 31]);
        assert_eq!(
            reason(set_with(vec![entry])),
            "public_key is not an Ed25519 key"
        );

        let mut entry = good.clone();
        entry.kid = SigningKey::generate().public_key().key_id();
        assert_eq!(
            reason(set_with(vec![entry])),
            "kid is not the key's thumbprint"
        );

        let mut entry = good.clone();
        entry.short_kid = entry.short_kid.to_uppercase();
        assert_eq!(
            reason(set_with(vec![entry])),
            "short_kid is not the first 8 bytes of the thumbprint"
        );

        let mut entry = good.clone();
        entry.retired_at = Some("2025-12-31T23:59:59Z".to_owned());
        assert_eq!(
            reason(set_with(vec![entry])),
            "retired_at is before created_at"
        );

        let mut entry = good.clone();
        entry.created_at = "2026-01-01".to_owned();
        assert!(matches!(
            set_with(vec![entry]).validate(),
            Err(KeySetError::BadTime {
                field: "created_at",
                ..
            })
        ));
        let mut entry = good.clone();
        entry.retired_at = Some("yesterday".to_owned());
        assert!(matches!(
            set_with(vec![entry]).validate(),
            Err(KeySetError::BadTime {
                field: "retired_at",
                ..
            })
        ));

        assert_eq!(
            set_with(vec![good.clone(), good.clone()]).validate(),
            Err(KeySetError::DuplicateKey(good.short_kid.clone()))
        );

        let mut set = set_with(vec![good.clone()]);
        set.generated_at = "now".to_owned();
        assert!(matches!(
            set.validate(),
            Err(KeySetError::BadTime {
                field: "generated_at",
                ..
            })
        ));

        let mut set = set_with(vec![good.clone()]);
        if let Some(log) = set.log.as_mut() {
            log.vkey.push('x');
        }
        assert!(matches!(set.validate(), Err(KeySetError::BadLogKey(_))));

        assert!(PublishedKey::new(&key.public_key(), "o", "O", "not a time", None).is_err());
        assert!(set_with(vec![good]).validate().is_ok());
    }

    #[test]
    fn bad_json_is_refused() {
        assert!(matches!(KeySet::from_json("{}"), Err(KeySetError::Json(_))));
        assert!(matches!(
            KeySet::from_json("not json"),
            Err(KeySetError::Json(_))
        ));
        assert!(matches!(
            KeySet::from_json(
                r#"{"issuer":"x","generated_at":"2026-01-01T00:00:00Z","keys":[{}]}"#
            ),
            Err(KeySetError::Json(_))
        ));
        assert_eq!(
            KeySet::from_json(&" ".repeat(MAX_KEY_SET_LEN + 1)),
            Err(KeySetError::TooLong)
        );
        let empty = r#"{"issuer":"x","generated_at":"2026-01-01T00:00:00Z","keys":[]}"#;
        assert_eq!(KeySet::from_json(empty).map(|s| s.keys.len()), Ok(0));
    }
}
