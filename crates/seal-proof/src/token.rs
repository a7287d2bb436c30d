//! The stamp token: a tagged COSE_Sign1 (RFC 9052, CBOR tag 18) signed with Ed25519, small
//! enough for the offline QR code.
//!
//! ```text
//! 18([
//!   h'A10127',            / protected: { 1 (alg): -8 (EdDSA) } and nothing else /
//!   {},                   / unprotected: empty /
//!   h'A5 …',              / payload: the claims, below /
//!   h'…64 bytes…'         / Ed25519 signature over Sig_structure "Signature1" /
//! ])
//! ```
//!
//! The payload is a CBOR map with small unsigned integer keys, in ascending order, every
//! value in its shortest encoding (RFC 8949 §4.2.1 deterministic encoding):
//!
//! | key | claim | value |
//! | --- | --- | --- |
//! | 1 | stamp id | bstr, 16 bytes |
//! | 2 | short key id of the signing key ([`PublicKey::short_kid`]) | bstr, 8 bytes |
//! | 3 | seal id | bstr, 16 bytes |
//! | 4 | time of the stamp | unsigned integer, Unix seconds |
//! | 5 | document hash prefix: the first 16 bytes of the document's SHA-256 | bstr, 16 bytes; absent when the stamp has no document |
//!
//! Decoding is strict: the exact protected header above, an empty unprotected header, an
//! attached payload, a 64-byte signature, no unknown claim, no other tag, no trailing bytes,
//! and the bytes must be exactly the deterministic encoding (so a token has one form only).

use coset::{CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable as _, iana};

use crate::keys::{PublicKey, SigningKey};
use crate::short_kid::{SHORT_KID_LEN, ShortKid};

/// The length of a stamp id, a seal id and a document hash prefix.
pub const ID_LEN: usize = 16;

/// The most bytes a token may have; real tokens are at most 150.
pub const MAX_TOKEN_LEN: usize = 160;

/// The protected header every token carries: the CBOR map `{1: -8}`.
const PROTECTED: [u8; 3] = [0xa1, 0x01, 0x27];
/// The first byte of a CBOR tag 18 (COSE_Sign1).
const COSE_SIGN1_TAG: u8 = 0xd2;
/// The length of an Ed25519 signature.
const SIGNATURE_LEN: usize = 64;

const KEY_STAMP_ID: u64 = 1;
const KEY_KID: u64 = 2;
const KEY_SEAL_ID: u64 = 3;
const KEY_TIME: u64 = 4;
const KEY_DOCUMENT: u64 = 5;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// More than [`MAX_TOKEN_LEN`] bytes.
    #[error("the token is longer than {MAX_TOKEN_LEN} bytes")]
    TooLong,
    /// Not a CBOR tag 18 (COSE_Sign1) at the start.
    #[error("the token is not a tagged COSE_Sign1")]
    NotTagged,
    /// The COSE structure does not decode (including trailing bytes after it).
    #[error("the token is not valid COSE_Sign1: {0}")]
    Cose(String),
    /// The protected header names an algorithm other than EdDSA (-8).
    #[error("the token's algorithm is not EdDSA")]
    WrongAlgorithm,
    /// The protected header lists critical parameters, none of which is understood.
    #[error("the token has critical header parameters")]
    UnknownCritical,
    /// A header has parameters other than the protected `alg` (which part).
    #[error("the token's {0} header has unexpected parameters")]
    UnexpectedHeader(&'static str),
    /// The payload is detached (nil).
    #[error("the token has no payload")]
    MissingPayload,
    /// The claims are not the expected CBOR map (what was wrong).
    #[error("malformed claims: {0}")]
    BadClaims(&'static str),
    /// A claim key this version does not know.
    #[error("unknown claim {0}")]
    UnknownClaim(u64),
    /// The signature is not 64 bytes.
    #[error("the signature is not 64 bytes")]
    SignatureLength,
    /// The bytes are valid but not the one deterministic encoding of the token.
    #[error("the token is not deterministically encoded")]
    NonCanonical,
    /// The key offered for verification is not the one the token names.
    #[error("the token names another key")]
    KeyMismatch,
    /// The signature does not verify.
    #[error("the token's signature does not verify")]
    BadSignature,
    /// Encoding failed (does not happen with in-memory buffers).
    #[error("the token could not be encoded")]
    Encode,
}

/// What a stamp token asserts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StampClaims {
    /// The 128-bit stamp id (the QR code's short form carries it too).
    pub stamp_id: [u8; ID_LEN],
    /// The seal's 128-bit id.
    pub seal_id: [u8; ID_LEN],
    /// When the stamp was made, Unix seconds.
    pub time: u64,
    /// The first 16 bytes of the stamped document's SHA-256, if the stamp has a document.
    pub document_prefix: Option<[u8; ID_LEN]>,
}

/// The first 16 bytes of a document's SHA-256: the token's document claim.
pub fn document_prefix(document_sha256: &[u8; 32]) -> [u8; ID_LEN] {
    let mut prefix = [0u8; ID_LEN];
    prefix.copy_from_slice(&document_sha256[..ID_LEN]);
    prefix
}

/// Signs the claims as a tagged COSE_Sign1 with `key`; the payload names the key by its
/// short key id.
pub fn sign_token(claims: &StampClaims, key: &SigningKey) -> Result<Vec<u8>, TokenError> {
    let payload = encode_claims(claims, &key.public_key().short_kid());
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .build();
    let sign1 = CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .create_signature(&[], |tbs| key.sign(tbs).to_vec())
        .build();
    sign1.to_tagged_vec().map_err(|_| TokenError::Encode)
}

/// A token whose structure was checked but whose signature was not, yet: look up the key by
/// [`short_kid`](Self::short_kid), then call [`verify`](Self::verify).
#[derive(Clone, Debug, PartialEq)]
pub struct UnverifiedToken {
    claims: StampClaims,
    short_kid: ShortKid,
    sign1: CoseSign1,
}

impl UnverifiedToken {
    /// The claims, not yet to be trusted.
    pub fn claims(&self) -> &StampClaims {
        &self.claims
    }

    /// The short key id of the key that claims to have signed the token.
    pub fn short_kid(&self) -> ShortKid {
        self.short_kid
    }

    /// Checks the signature with `key`, which must be the key the token names.
    pub fn verify(&self, key: &PublicKey) -> Result<StampClaims, TokenError> {
        if key.short_kid() != self.short_kid {
            return Err(TokenError::KeyMismatch);
        }
        self.sign1
            .verify_signature(&[], |signature, tbs| key.verify(tbs, signature))
            .map_err(|_| TokenError::BadSignature)?;
        Ok(self.claims)
    }
}

/// Decodes a token strictly (see the module documentation) without checking its signature.
pub fn read_token(bytes: &[u8]) -> Result<UnverifiedToken, TokenError> {
    if bytes.len() > MAX_TOKEN_LEN {
        return Err(TokenError::TooLong);
    }
    if bytes.first() != Some(&COSE_SIGN1_TAG) {
        return Err(TokenError::NotTagged);
    }
    let sign1 = CoseSign1::from_tagged_slice(bytes).map_err(|e| TokenError::Cose(e.to_string()))?;
    let header = &sign1.protected.header;
    if header.alg != Some(coset::Algorithm::Assigned(iana::Algorithm::EdDSA)) {
        return Err(TokenError::WrongAlgorithm);
    }
    if !header.crit.is_empty() {
        return Err(TokenError::UnknownCritical);
    }
    let only_alg = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .build();
    if *header != only_alg {
        return Err(TokenError::UnexpectedHeader("protected"));
    }
    if sign1.protected.original_data.as_deref() != Some(&PROTECTED[..]) {
        return Err(TokenError::NonCanonical);
    }
    if !sign1.unprotected.is_empty() {
        return Err(TokenError::UnexpectedHeader("unprotected"));
    }
    let payload = sign1.payload.as_deref().ok_or(TokenError::MissingPayload)?;
    let (claims, short_kid) = decode_claims(payload)?;
    if sign1.signature.len() != SIGNATURE_LEN {
        return Err(TokenError::SignatureLength);
    }
    // One form only: the bytes must be what `sign_token` would have written.
    let canonical = sign1
        .clone()
        .to_tagged_vec()
        .map_err(|_| TokenError::Encode)?;
    if canonical != bytes {
        return Err(TokenError::NonCanonical);
    }
    Ok(UnverifiedToken {
        claims,
        short_kid,
        sign1,
    })
}

/// The deterministic CBOR encoding of the claims map.
fn encode_claims(claims: &StampClaims, kid: &ShortKid) -> Vec<u8> {
    let mut out = Vec::with_capacity(80);
    let entries = if claims.document_prefix.is_some() {
        5
    } else {
        4
    };
    out.push(0xa0 | entries);
    put_uint(&mut out, KEY_STAMP_ID);
    put_bytes(&mut out, &claims.stamp_id);
    put_uint(&mut out, KEY_KID);
    put_bytes(&mut out, kid);
    put_uint(&mut out, KEY_SEAL_ID);
    put_bytes(&mut out, &claims.seal_id);
    put_uint(&mut out, KEY_TIME);
    put_uint(&mut out, claims.time);
    if let Some(prefix) = &claims.document_prefix {
        put_uint(&mut out, KEY_DOCUMENT);
        put_bytes(&mut out, prefix);
    }
    out
}

/// A CBOR head (major type in the top 3 bits) with its argument in the shortest form.
fn put_head(out: &mut Vec<u8>, major: u8, value: u64) {
    let major = major << 5;
    if value < 24 {
        out.push(major | value as u8);
    } else if let Ok(v) = u8::try_from(value) {
        out.extend_from_slice(&[major | 24, v]);
    } else if let Ok(v) = u16::try_from(value) {
        out.push(major | 25);
        out.extend_from_slice(&v.to_be_bytes());
    } else if let Ok(v) = u32::try_from(value) {
        out.push(major | 26);
        out.extend_from_slice(&v.to_be_bytes());
    } else {
        out.push(major | 27);
        out.extend_from_slice(&value.to_be_bytes());
    }
}

fn put_uint(out: &mut Vec<u8>, value: u64) {
    put_head(out, 0, value);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_head(out, 2, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A strict reader of the claims map.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A head: (major type, argument), refusing indefinite lengths and non-shortest forms.
    fn head(&mut self) -> Result<(u8, u64), TokenError> {
        let (&first, rest) = self
            .bytes
            .split_first()
            .ok_or(TokenError::BadClaims("truncated"))?;
        self.bytes = rest;
        let major = first >> 5;
        let info = first & 0x1f;
        let value = match info {
            0..=23 => return Ok((major, u64::from(info))),
            24 => u64::from(self.take::<1>()?[0]),
            25 => u64::from(u16::from_be_bytes(self.take::<2>()?)),
            26 => u64::from(u32::from_be_bytes(self.take::<4>()?)),
            27 => u64::from_be_bytes(self.take::<8>()?),
            _ => return Err(TokenError::BadClaims("indefinite or reserved length")),
        };
        let shortest = match info {
            24 => value >= 24,
            25 => value > 0xff,
            26 => value > 0xffff,
            _ => value > 0xffff_ffff,
        };
        if !shortest {
            return Err(TokenError::BadClaims("integer not in its shortest form"));
        }
        Ok((major, value))
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], TokenError> {
        let (taken, rest) = self
            .bytes
            .split_first_chunk::<N>()
            .ok_or(TokenError::BadClaims("truncated"))?;
        self.bytes = rest;
        Ok(*taken)
    }

    fn uint(&mut self, what: &'static str) -> Result<u64, TokenError> {
        match self.head()? {
            (0, value) => Ok(value),
            _ => Err(TokenError::BadClaims(what)),
        }
    }

    fn bytes<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], TokenError> {
        match self.head()? {
            (2, len) if len == N as u64 => self.take::<N>(),
            _ => Err(TokenError::BadClaims(what)),
        }
    }
}

/// Decodes the claims map: keys 1–4 required, 5 optional, ascending, nothing else.
fn decode_claims(payload: &[u8]) -> Result<(StampClaims, ShortKid), TokenError> {
    let mut reader = Reader { bytes: payload };
    let entries = match reader.head()? {
        (5, n @ (4 | 5)) => n,
        (5, _) => return Err(TokenError::BadClaims("the map must have 4 or 5 entries")),
        _ => return Err(TokenError::BadClaims("the payload is not a map")),
    };
    let mut stamp_id = None;
    let mut kid = None;
    let mut seal_id = None;
    let mut time = None;
    let mut document_prefix = None;
    let mut previous = 0u64;
    for _ in 0..entries {
        let key = reader.uint("claim keys must be unsigned integers")?;
        if !(KEY_STAMP_ID..=KEY_DOCUMENT).contains(&key) {
            return Err(TokenError::UnknownClaim(key));
        }
        if key <= previous {
            return Err(TokenError::BadClaims(
                "claim keys must be ascending and unique",
            ));
        }
        previous = key;
        match key {
            KEY_STAMP_ID => {
                stamp_id = Some(reader.bytes::<ID_LEN>("the stamp id must be 16 bytes")?)
            }
            KEY_KID => kid = Some(reader.bytes::<SHORT_KID_LEN>("the key id must be 8 bytes")?),
            KEY_SEAL_ID => seal_id = Some(reader.bytes::<ID_LEN>("the seal id must be 16 bytes")?),
            KEY_TIME => time = Some(reader.uint("the time must be an unsigned integer")?),
            _ => {
                document_prefix =
                    Some(reader.bytes::<ID_LEN>("the document prefix must be 16 bytes")?)
            }
        }
    }
    if !reader.bytes.is_empty() {
        return Err(TokenError::BadClaims("bytes after the claims map"));
    }
    let (Some(stamp_id), Some(kid), Some(seal_id), Some(time)) = (stamp_id, kid, seal_id, time)
    else {
        return Err(TokenError::BadClaims("a required claim is missing"));
    };
    Ok((
        StampClaims {
            stamp_id,
            seal_id,
            time,
            document_prefix,
        },
        kid,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use coset::{Header, HeaderBuilder};

    fn claims(document: bool) -> StampClaims {
        StampClaims {
            stamp_id: [0x11; 16],
            seal_id: [0x22; 16],
            time: 1_795_000_000,
            document_prefix: document.then(|| document_prefix(&[0x33; 32])),
        }
    }

    /// A tagged COSE_Sign1 over `payload` with the given protected header, signed by `key`.
    fn sign_raw(protected: Header, payload: Option<Vec<u8>>, key: &SigningKey) -> Vec<u8> {
        let mut builder = CoseSign1Builder::new().protected(protected);
        if let Some(payload) = payload {
            builder = builder.payload(payload);
        }
        builder
            .create_signature(&[], |tbs| key.sign(tbs).to_vec())
            .build()
            .to_tagged_vec()
            .unwrap()
    }

    fn eddsa() -> Header {
        HeaderBuilder::new()
            .algorithm(iana::Algorithm::EdDSA)
            .build()
    }

    /// The claims map with a valid key id for `key`, from raw entries (key, encoded value).
    fn payload(key: &SigningKey, extra: &[(u8, &[u8])]) -> Vec<u8> {
        let mut out = vec![0xa0 | (4 + extra.len() as u8)];
        out.push(0x01);
        out.push(0x50);
        out.extend_from_slice(&[0x11; 16]);
        out.push(0x02);
        out.push(0x48);
        out.extend_from_slice(&key.public_key().short_kid());
        out.push(0x03);
        out.push(0x50);
        out.extend_from_slice(&[0x22; 16]);
        out.extend_from_slice(&[0x04, 0x1a, 0x6a, 0xfd, 0x1f, 0xc0]);
        for (k, v) in extra {
            out.push(*k);
            out.extend_from_slice(v);
        }
        out
    }

    #[test]
    fn tokens_round_trip_with_and_without_a_document() {
        let key = SigningKey::generate();
        for document in [true, false] {
            let token = sign_token(&claims(document), &key).unwrap();
            let read = read_token(&token).unwrap();
            assert_eq!(read.claims(), &claims(document));
            assert_eq!(read.short_kid(), key.public_key().short_kid());
            assert_eq!(read.verify(&key.public_key()), Ok(claims(document)));
        }
    }

    #[test]
    fn tokens_fit_in_160_bytes() {
        let key = SigningKey::generate();
        let with = sign_token(&claims(true), &key).unwrap();
        let without = sign_token(&claims(false), &key).unwrap();
        assert_eq!(with.len(), 146);
        assert_eq!(without.len(), 128);
        let mut far = claims(true);
        far.time = u64::MAX;
        let far = sign_token(&far, &key).unwrap();
        assert_eq!(far.len(), 150);
        assert!(far.len() <= MAX_TOKEN_LEN);
        assert_eq!(read_token(&far).unwrap().claims().time, u64::MAX);
    }

    #[test]
    fn the_encoding_is_the_documented_one() {
        let key = SigningKey::generate();
        let token = sign_token(&claims(true), &key).unwrap();
        // Tag 18, array of 4, bstr(3) {1: -8}, {}, bstr(71) payload.
        assert_eq!(
            &token[..9],
            &[0xd2, 0x84, 0x43, 0xa1, 0x01, 0x27, 0xa0, 0x58, 71]
        );
        let payload = &token[9..9 + 71];
        assert_eq!(
            payload,
            encode_claims(&claims(true), &key.public_key().short_kid())
        );
        assert_eq!(&payload[..3], &[0xa5, 0x01, 0x50]);
        // bstr(64) signature at the end.
        assert_eq!(&token[80..82], &[0x58, 0x40]);
        // The claims as a generic CBOR decoder reads them.
        let value: coset::cbor::Value = coset::cbor::de::from_reader(payload).unwrap();
        let map = value.as_map().unwrap();
        assert_eq!(map.len(), 5);
        assert_eq!(map[3].1.as_integer(), Some(1_795_000_000u64.into()));
        assert_eq!(map[4].1.as_bytes().map(Vec::len), Some(16));
    }

    #[test]
    fn the_time_uses_the_shortest_integer_form() {
        let key = SigningKey::generate();
        for time in [
            0,
            23,
            24,
            255,
            256,
            65_535,
            65_536,
            u64::from(u32::MAX),
            u64::from(u32::MAX) + 1,
        ] {
            let mut c = claims(false);
            c.time = time;
            let token = sign_token(&c, &key).unwrap();
            assert_eq!(
                read_token(&token).unwrap().verify(&key.public_key()),
                Ok(c),
                "{time}"
            );
        }
    }

    #[test]
    fn verification_needs_the_named_key_and_an_untouched_token() {
        let key = SigningKey::generate();
        let token = sign_token(&claims(true), &key).unwrap();
        let read = read_token(&token).unwrap();
        assert_eq!(
            read.verify(&SigningKey::generate().public_key()),
            Err(TokenError::KeyMismatch)
        );
        // A changed claim (the last byte of the time) or signature byte.
        for position in [40, token.len() - 1, token.len() - 40] {
            let mut changed = token.clone();
            changed[position] ^= 0x01;
            let read = read_token(&changed).unwrap();
            assert_eq!(
                read.verify(&key.public_key()),
                Err(TokenError::BadSignature),
                "{position}"
            );
        }
        // The key id itself changed: the token names another key.
        let mut changed = token.clone();
        changed[30] ^= 0x01;
        assert_eq!(
            read_token(&changed).unwrap().verify(&key.public_key()),
            Err(TokenError::KeyMismatch)
        );
    }

    #[test]
    fn structural_problems_are_refused() {
        let key = SigningKey::generate();
        let token = sign_token(&claims(true), &key).unwrap();
        let mut trailing = token.clone();
        trailing.push(0x00);
        assert!(matches!(read_token(&trailing), Err(TokenError::Cose(_))));
        assert_eq!(read_token(&token[1..]), Err(TokenError::NotTagged));
        let mut mac0 = token.clone();
        mac0[0] = 0xd1;
        assert_eq!(read_token(&mac0), Err(TokenError::NotTagged));
        assert_eq!(read_token(&[]), Err(TokenError::NotTagged));
        assert!(matches!(
            read_token(&token[..100]),
            Err(TokenError::Cose(_))
        ));
        assert_eq!(read_token(&[0xd2; 161]), Err(TokenError::TooLong));

        let wrong_alg = HeaderBuilder::new()
            .algorithm(iana::Algorithm::ES256)
            .build();
        let p = payload(&key, &[]);
        assert_eq!(
            read_token(&sign_raw(wrong_alg, Some(p.clone()), &key)),
            Err(TokenError::WrongAlgorithm)
        );
        assert_eq!(
            read_token(&sign_raw(Header::default(), Some(p.clone()), &key)),
            Err(TokenError::WrongAlgorithm)
        );
        let crit = HeaderBuilder::new()
            .algorithm(iana::Algorithm::EdDSA)
            .add_critical(iana::HeaderParameter::Alg)
            .build();
        assert_eq!(
            read_token(&sign_raw(crit, Some(p.clone()), &key)),
            Err(TokenError::UnknownCritical)
        );
        let kid = HeaderBuilder::new()
            .algorithm(iana::Algorithm::EdDSA)
            .key_id(b"k".to_vec())
            .build();
        assert_eq!(
            read_token(&sign_raw(kid, Some(p.clone()), &key)),
            Err(TokenError::UnexpectedHeader("protected"))
        );
        assert_eq!(
            read_token(&sign_raw(eddsa(), None, &key)),
            Err(TokenError::MissingPayload)
        );
        // The raw helper itself makes a good token from a good payload.
        assert!(read_token(&sign_raw(eddsa(), Some(p), &key)).is_ok());
    }

    #[test]
    fn headers_and_signatures_outside_the_profile_are_refused() {
        let key = SigningKey::generate();
        let mut sign1 =
            CoseSign1::from_tagged_slice(&sign_token(&claims(false), &key).unwrap()).unwrap();
        sign1.unprotected = HeaderBuilder::new().key_id(b"k".to_vec()).build();
        assert_eq!(
            read_token(&sign1.clone().to_tagged_vec().unwrap()),
            Err(TokenError::UnexpectedHeader("unprotected"))
        );
        sign1.unprotected = Header::default();
        sign1.signature.pop();
        assert_eq!(
            read_token(&sign1.to_tagged_vec().unwrap()),
            Err(TokenError::SignatureLength)
        );
    }

    #[test]
    fn non_canonical_encodings_are_refused() {
        let key = SigningKey::generate();
        let token = sign_token(&claims(false), &key).unwrap();
        // -8 as 0x38 0x07 instead of 0x27, inside the protected header bstr.
        let mut long_alg = vec![0xd2, 0x84, 0x44, 0xa1, 0x01, 0x38, 0x07];
        long_alg.extend_from_slice(&token[6..]);
        assert_eq!(read_token(&long_alg), Err(TokenError::NonCanonical));
        // The payload's length as two bytes instead of one.
        assert_eq!(token[7], 0x58);
        let mut long_len = token[..7].to_vec();
        long_len.extend_from_slice(&[0x59, 0x00]);
        long_len.extend_from_slice(&token[8..]);
        assert_eq!(read_token(&long_len), Err(TokenError::NonCanonical));
    }

    #[test]
    fn malformed_claims_are_refused() {
        let key = SigningKey::generate();
        let read = |payload: Vec<u8>| read_token(&sign_raw(eddsa(), Some(payload), &key));
        assert_eq!(
            read(payload(&key, &[(0x06, &[0x00])])),
            Err(TokenError::UnknownClaim(6))
        );
        assert_eq!(
            read(payload(&key, &[(0x00, &[0x00])])),
            Err(TokenError::UnknownClaim(0))
        );
        assert_eq!(
            read(payload(&key, &[(0x04, &[0x00])])),
            Err(TokenError::BadClaims(
                "claim keys must be ascending and unique"
            ))
        );
        let mut short_doc = vec![0x4f];
        short_doc.extend_from_slice(&[0; 15]);
        assert_eq!(
            read(payload(&key, &[(0x05, &short_doc)])),
            Err(TokenError::BadClaims(
                "the document prefix must be 16 bytes"
            ))
        );
        let mut good_doc = vec![0x50];
        good_doc.extend_from_slice(&[9; 16]);
        let mut p = payload(&key, &[(0x05, &good_doc)]);
        assert_eq!(
            read(p.clone()).map(|t| t.claims().document_prefix),
            Ok(Some([9; 16]))
        );
        p.push(0x00);
        assert_eq!(
            read(p),
            Err(TokenError::BadClaims("bytes after the claims map"))
        );
        // Too few entries, an indefinite map, not a map.
        let mut p = payload(&key, &[]);
        p[0] = 0xa3;
        assert_eq!(
            read(p),
            Err(TokenError::BadClaims("the map must have 4 or 5 entries"))
        );
        let mut p = payload(&key, &[]);
        p[0] = 0xbf;
        assert_eq!(
            read(p),
            Err(TokenError::BadClaims("indefinite or reserved length"))
        );
        assert_eq!(
            read(vec![0x80]),
            Err(TokenError::BadClaims("the payload is not a map"))
        );
        assert_eq!(read(vec![]), Err(TokenError::BadClaims("truncated")));
        // A 15-byte stamp id, a text string key id, a negative time, a long-form time.
        let mut p = payload(&key, &[]);
        p[2] = 0x4f;
        p.remove(3);
        assert_eq!(
            read(p),
            Err(TokenError::BadClaims("the stamp id must be 16 bytes"))
        );
        let mut p = payload(&key, &[]);
        p[20] = 0x68;
        assert_eq!(
            read(p),
            Err(TokenError::BadClaims("the key id must be 8 bytes"))
        );
        let mut p = payload(&key, &[]);
        let time_at = p.len() - 5;
        p.truncate(time_at);
        p.push(0x20);
        assert_eq!(
            read(p),
            Err(TokenError::BadClaims(
                "the time must be an unsigned integer"
            ))
        );
        let mut p = payload(&key, &[]);
        p.truncate(time_at);
        p.extend_from_slice(&[0x1b, 0, 0, 0, 0, 0x6a, 0xfd, 0x1f, 0xc0]);
        assert_eq!(
            read(p),
            Err(TokenError::BadClaims("integer not in its shortest form"))
        );
        let mut p = payload(&key, &[]);
        p.truncate(time_at);
        p.extend_from_slice(&[0x18, 0x05]);
        assert_eq!(
            read(p),
            Err(TokenError::BadClaims("integer not in its shortest form"))
        );
        // Keys 1, 2, 3, 5 without the time.
        let mut p = payload(&key, &[]);
        p.truncate(time_at - 1);
        p.push(0x05);
        p.push(0x50);
        p.extend_from_slice(&[1; 16]);
        assert_eq!(
            read(p),
            Err(TokenError::BadClaims("a required claim is missing"))
        );
    }

    #[test]
    fn document_prefix_is_the_first_16_bytes() {
        let mut digest = [0u8; 32];
        for (i, b) in digest.iter_mut().enumerate() {
            *b = i as u8;
        }
        let prefix = document_prefix(&digest);
        assert_eq!(prefix.as_slice(), &digest[..16]);
    }
}
