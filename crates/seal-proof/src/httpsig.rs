//! RFC 9421 HTTP message signatures for device requests (label `sk`, Ed25519 over
//! `"@method" "@path" "@query" "content-digest"`) and the RFC 9530 `Content-Digest` they
//! cover, as `docs/device-protocol.md` ("Identity and request signing") specifies.
//!
//! The server calls [`check_content_digest`] on the body, [`parse`] on the two headers,
//! looks up the key named by `keyid`, then [`ParsedSignature::verify`]; the clock (`created`)
//! and the nonce are its own checks.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::error::ProofError;
use crate::keys::{PublicKey, SigningKey};

/// The signature label in `Signature-Input` and `Signature`.
pub const LABEL: &str = "sk";

/// The covered components, exactly and in this order.
pub const COMPONENTS: [&str; 4] = ["@method", "@path", "@query", "content-digest"];

/// The `alg` parameter every signature carries.
pub const ALG: &str = "ed25519";

/// The longest `Content-Digest`, `Signature-Input` or `Signature` value accepted, in bytes.
pub const MAX_HEADER_LEN: usize = 1024;

/// The `Content-Digest` value of a body: `sha-256=:<standard base64>:`.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)))
}

/// Checks a `Content-Digest` value against the body. The value is a structured-field
/// dictionary; its `sha-256` member must be there and equal the body's SHA-256 (compared
/// in constant time). Other members are ignored.
pub fn check_content_digest(header: &str, body: &[u8]) -> Result<(), ProofError> {
    const NAME: &str = "Content-Digest";
    let entries = parse_header(header, NAME)?;
    let member = match only(&entries, "sha-256") {
        Only::One(entry) => entry,
        Only::Many => return Err(ProofError::Malformed(NAME)),
        Only::None => {
            let offered: Vec<&str> = entries.iter().map(|entry| entry.key.as_str()).collect();
            return Err(ProofError::UnsupportedAlgorithm(offered.join(", ")));
        }
    };
    let sf::Member::Item(sf::Item {
        bare: sf::Bare::Bytes(expected),
        ..
    }) = &member.member
    else {
        return Err(ProofError::Malformed(NAME));
    };
    let actual = Sha256::digest(body);
    if bool::from(expected.as_slice().ct_eq(actual.as_slice())) {
        Ok(())
    } else {
        Err(ProofError::DigestMismatch)
    }
}

/// A fresh nonce: 16 random bytes, base64url without padding (22 characters).
pub fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The RFC 9421 §2.5 signature base: one line `"name": value` per component, then
/// `"@signature-params": <params>`, joined by `\n`, without a trailing newline.
pub fn signature_base(components: &[(&str, &str)], signature_params: &str) -> String {
    let mut base = String::new();
    for (name, value) in components {
        base.push('"');
        base.push_str(name);
        base.push_str("\": ");
        base.push_str(value);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(signature_params);
    base
}

/// The parts of a request a signature covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method as sent, e.g. `POST`.
    pub method: &'a str,
    /// The absolute path as sent (percent-encoding untouched), without the query.
    pub path: &'a str,
    /// The query without the leading `?`; `None` or `Some("")` both give `@query` = `?`.
    pub query: Option<&'a str>,
    /// The `Content-Digest` header value as sent.
    pub content_digest: &'a str,
}

impl Request<'_> {
    /// RFC 9421 §2.2.6: an empty path is `/`.
    fn path_value(&self) -> &str {
        if self.path.is_empty() { "/" } else { self.path }
    }

    /// RFC 9421 §2.2.7: `?` followed by the query, or `?` alone when there is none.
    fn query_value(&self) -> String {
        format!("?{}", self.query.unwrap_or(""))
    }

    fn base(&self, signature_params: &str) -> String {
        let query = self.query_value();
        signature_base(
            &[
                (COMPONENTS[0], self.method),
                (COMPONENTS[1], self.path_value()),
                (COMPONENTS[2], &query),
                // RFC 9421 §2.1: a field's value with leading and trailing whitespace removed.
                (COMPONENTS[3], self.content_digest.trim_matches([' ', '\t'])),
            ],
            signature_params,
        )
    }

    /// A component value with a control character could forge extra lines in the base.
    fn check_values(&self) -> Result<(), ProofError> {
        let values = [
            self.method,
            self.path,
            self.query.unwrap_or(""),
            self.content_digest,
        ];
        let has_control = |value: &str| value.chars().any(|c| c.is_control() && c != '\t');
        if values.iter().any(|value| has_control(value)) {
            return Err(ProofError::Malformed("request component"));
        }
        Ok(())
    }
}

/// The signature parameters besides the components and `alg`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureParams {
    /// When the device signed, Unix seconds.
    pub created: i64,
    /// At least 16 random bytes, base64url without padding ([`new_nonce`]).
    pub nonce: String,
    /// The device id (for enrolment: the base64 public key being enrolled). Printable ASCII
    /// without `"` or `\`, like `nonce`, or [`parse`] refuses the signature.
    pub keyid: String,
}

impl SignatureParams {
    /// The inner list with its parameters, as RFC 8941 serializes it.
    fn serialize(&self) -> String {
        let components: Vec<String> = COMPONENTS.iter().map(|c| format!("\"{c}\"")).collect();
        format!(
            "({});created={};nonce={};keyid={};alg=\"{ALG}\"",
            components.join(" "),
            self.created,
            sf_string(&self.nonce),
            sf_string(&self.keyid),
        )
    }
}

/// An RFC 8941 string: quoted, with `"` and `\` escaped.
fn sf_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The values of the `Signature-Input` and `Signature` headers of a signed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureHeaders {
    /// `sk=("@method" "@path" "@query" "content-digest");created=…;nonce="…";keyid="…";alg="ed25519"`.
    pub signature_input: String,
    /// `sk=:<standard base64 of the 64 signature bytes>:`.
    pub signature: String,
}

/// Signs a request: the values of its `Signature-Input` and `Signature` headers.
pub fn sign(key: &SigningKey, request: &Request<'_>, params: &SignatureParams) -> SignatureHeaders {
    let params_text = params.serialize();
    let signature = key.sign(request.base(&params_text).as_bytes());
    SignatureHeaders {
        signature_input: format!("{LABEL}={params_text}"),
        signature: format!("{LABEL}=:{}:", STANDARD.encode(signature)),
    }
}

/// A received signature, checked for form but not yet verified.
#[derive(Clone, Debug)]
pub struct ParsedSignature {
    pub params: SignatureParams,
    /// The `sk` member of `Signature-Input` exactly as received: what was signed.
    params_text: String,
    signature: [u8; 64],
}

/// Reads the `sk` members of `Signature-Input` and `Signature`.
///
/// Refuses (besides unparseable values): an absent or empty header (`MissingHeader`), a
/// value over [`MAX_HEADER_LEN`] bytes (`TooLong`), no or several `sk` members
/// (`MissingLabel`, `Malformed`), components other than exactly [`COMPONENTS`] in order
/// (`WrongComponents`), `alg` other than `ed25519` (`UnsupportedAlgorithm`), a missing,
/// repeated, mistyped or unknown parameter (`Malformed`), an empty `nonce` or `keyid` or one
/// with `"` or `\` (`Malformed`), and a signature that is not 64 bytes (`BadSignature`).
/// The parameters may come in any order: the signature is verified over their text as
/// received.
pub fn parse(signature_input: &str, signature: &str) -> Result<ParsedSignature, ProofError> {
    const INPUT: &str = "Signature-Input";
    const SIGNATURE: &str = "Signature";
    let inputs = parse_header(signature_input, INPUT)?;
    let signatures = parse_header(signature, SIGNATURE)?;
    let input = only_label(&inputs, INPUT)?;
    let signed = only_label(&signatures, SIGNATURE)?;

    let sf::Member::InnerList(items, params) = &input.member else {
        return Err(ProofError::Malformed(INPUT));
    };
    let covers_exactly = items.len() == COMPONENTS.len()
        && items.iter().zip(COMPONENTS).all(|(item, name)| {
            item.params.is_empty() && matches!(&item.bare, sf::Bare::String(s) if s == name)
        });
    if !covers_exactly {
        return Err(ProofError::WrongComponents);
    }

    let mut created = None;
    let mut nonce = None;
    let mut keyid = None;
    let mut alg = None;
    for (name, value) in params {
        let repeated = match (name.as_str(), value) {
            ("created", sf::Bare::Integer(n)) => created.replace(*n).is_some(),
            ("created", _) => return Err(ProofError::Malformed("created parameter")),
            ("nonce", sf::Bare::String(s)) => nonce.replace(s.as_str()).is_some(),
            ("nonce", _) => return Err(ProofError::Malformed("nonce parameter")),
            ("keyid", sf::Bare::String(s)) => keyid.replace(s.as_str()).is_some(),
            ("keyid", _) => return Err(ProofError::Malformed("keyid parameter")),
            ("alg", sf::Bare::String(s)) => alg.replace(s.as_str()).is_some(),
            ("alg", _) => return Err(ProofError::Malformed("alg parameter")),
            _ => {
                return Err(ProofError::Malformed(
                    "signature parameters (unknown parameter)",
                ));
            }
        };
        if repeated {
            return Err(ProofError::Malformed(
                "signature parameters (repeated parameter)",
            ));
        }
    }
    match alg {
        None => return Err(ProofError::Malformed("alg parameter")),
        Some(ALG) => {}
        Some(other) => return Err(ProofError::UnsupportedAlgorithm(other.to_owned())),
    }
    let created = created.ok_or(ProofError::Malformed("created parameter"))?;
    let nonce = plain_text(nonce, "nonce parameter")?;
    let keyid = plain_text(keyid, "keyid parameter")?;

    let sf::Member::Item(sf::Item {
        bare: sf::Bare::Bytes(bytes),
        ..
    }) = &signed.member
    else {
        return Err(ProofError::Malformed(SIGNATURE));
    };
    let signature: [u8; 64] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| ProofError::BadSignature)?;

    Ok(ParsedSignature {
        params: SignatureParams {
            created,
            nonce,
            keyid,
        },
        params_text: input.text.to_owned(),
        signature,
    })
}

/// `nonce` and `keyid`: present, not empty, no `"` or `\` (structured-field strings are
/// printable ASCII already).
fn plain_text(value: Option<&str>, what: &'static str) -> Result<String, ProofError> {
    match value {
        Some(text) if !text.is_empty() && !text.contains(['"', '\\']) => Ok(text.to_owned()),
        _ => Err(ProofError::Malformed(what)),
    }
}

impl ParsedSignature {
    /// Verifies the signature over the request's components and the parameters as received.
    /// (It does not look at the body: check that with [`check_content_digest`].)
    pub fn verify(&self, request: &Request<'_>, key: &PublicKey) -> Result<(), ProofError> {
        request.check_values()?;
        key.verify(request.base(&self.params_text).as_bytes(), &self.signature)
    }
}

/// A header value as a structured-field dictionary, with the length and emptiness checks.
fn parse_header<'a>(value: &'a str, name: &'static str) -> Result<Vec<sf::Entry<'a>>, ProofError> {
    if value.len() > MAX_HEADER_LEN {
        return Err(ProofError::TooLong(name));
    }
    if value.trim_matches([' ', '\t']).is_empty() {
        return Err(ProofError::MissingHeader(name));
    }
    sf::parse_dictionary(value).map_err(|sf::Invalid| ProofError::Malformed(name))
}

enum Only<'e, 'a> {
    None,
    One(&'e sf::Entry<'a>),
    Many,
}

/// The member named `key`. Duplicates are refused rather than letting the last one win.
fn only<'e, 'a>(entries: &'e [sf::Entry<'a>], key: &str) -> Only<'e, 'a> {
    let mut found = entries.iter().filter(|entry| entry.key == key);
    match (found.next(), found.next()) {
        (None, _) => Only::None,
        (Some(entry), None) => Only::One(entry),
        (Some(_), Some(_)) => Only::Many,
    }
}

fn only_label<'e, 'a>(
    entries: &'e [sf::Entry<'a>],
    name: &'static str,
) -> Result<&'e sf::Entry<'a>, ProofError> {
    match only(entries, LABEL) {
        Only::One(entry) => Ok(entry),
        Only::None => Err(ProofError::MissingLabel),
        Only::Many => Err(ProofError::Malformed(name)),
    }
}

/// A parser for RFC 8941 structured-field dictionaries, enough for `Content-Digest`,
/// `Signature-Input` and `Signature`. It keeps each member's text so a signature can be
/// checked over exactly what was sent, and the values this crate reads.
mod sf {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    /// The text is not a valid structured-field dictionary.
    #[derive(Debug)]
    pub(super) struct Invalid;

    /// A bare item. Decimals, tokens and booleans are recognised but their values are not
    /// kept: nothing here reads them.
    #[derive(Debug)]
    pub(super) enum Bare {
        Integer(i64),
        Decimal,
        String(String),
        Token,
        Bytes(Vec<u8>),
        Boolean,
    }

    pub(super) type Params = Vec<(String, Bare)>;

    #[derive(Debug)]
    pub(super) struct Item {
        pub(super) bare: Bare,
        pub(super) params: Params,
    }

    #[derive(Debug)]
    pub(super) enum Member {
        Item(Item),
        InnerList(Vec<Item>, Params),
    }

    /// One dictionary member: its key, its value, and the value's text as received.
    #[derive(Debug)]
    pub(super) struct Entry<'a> {
        pub(super) key: String,
        pub(super) member: Member,
        pub(super) text: &'a str,
    }

    /// RFC 8941 §4.2.2, with leading and trailing spaces and tabs discarded.
    pub(super) fn parse_dictionary(text: &str) -> Result<Vec<Entry<'_>>, Invalid> {
        if !text.is_ascii() {
            return Err(Invalid);
        }
        let mut p = Parser {
            bytes: text.as_bytes(),
            pos: 0,
        };
        let mut entries = Vec::new();
        p.skip_ows();
        while !p.at_end() {
            let key = p.key()?;
            let has_value = p.eat(b'=');
            let start = p.pos;
            let member = if has_value {
                p.member()?
            } else {
                // A key alone is the boolean true, with parameters.
                Member::Item(Item {
                    bare: Bare::Boolean,
                    params: p.params()?,
                })
            };
            let text = text.get(start..p.pos).ok_or(Invalid)?;
            entries.push(Entry { key, member, text });
            p.skip_ows();
            if p.at_end() {
                break;
            }
            if !p.eat(b',') {
                return Err(Invalid);
            }
            p.skip_ows();
            if p.at_end() {
                return Err(Invalid);
            }
        }
        Ok(entries)
    }

    struct Parser<'a> {
        bytes: &'a [u8],
        pos: usize,
    }

    impl Parser<'_> {
        fn at_end(&self) -> bool {
            self.pos >= self.bytes.len()
        }

        fn peek(&self) -> Option<u8> {
            self.bytes.get(self.pos).copied()
        }

        fn next(&mut self) -> Option<u8> {
            let byte = self.peek()?;
            self.pos += 1;
            Some(byte)
        }

        fn eat(&mut self, byte: u8) -> bool {
            if self.peek() == Some(byte) {
                self.pos += 1;
                true
            } else {
                false
            }
        }

        fn skip_sp(&mut self) {
            while self.eat(b' ') {}
        }

        fn skip_ows(&mut self) {
            while matches!(self.peek(), Some(b' ' | b'\t')) {
                self.pos += 1;
            }
        }

        /// RFC 8941 §4.2.3.3.
        fn key(&mut self) -> Result<String, Invalid> {
            match self.peek() {
                Some(b'a'..=b'z' | b'*') => {}
                _ => return Err(Invalid),
            }
            let start = self.pos;
            while matches!(
                self.peek(),
                Some(b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*')
            ) {
                self.pos += 1;
            }
            self.text_since(start)
        }

        fn text_since(&self, start: usize) -> Result<String, Invalid> {
            let bytes = self.bytes.get(start..self.pos).ok_or(Invalid)?;
            String::from_utf8(bytes.to_vec()).map_err(|_| Invalid)
        }

        fn member(&mut self) -> Result<Member, Invalid> {
            if self.peek() == Some(b'(') {
                self.inner_list()
            } else {
                Ok(Member::Item(self.item()?))
            }
        }

        /// RFC 8941 §4.2.1.2.
        fn inner_list(&mut self) -> Result<Member, Invalid> {
            if !self.eat(b'(') {
                return Err(Invalid);
            }
            let mut items = Vec::new();
            loop {
                self.skip_sp();
                if self.eat(b')') {
                    let params = self.params()?;
                    return Ok(Member::InnerList(items, params));
                }
                items.push(self.item()?);
                if !matches!(self.peek(), Some(b' ' | b')')) {
                    return Err(Invalid);
                }
            }
        }

        fn item(&mut self) -> Result<Item, Invalid> {
            let bare = self.bare()?;
            let params = self.params()?;
            Ok(Item { bare, params })
        }

        /// RFC 8941 §4.2.3.2.
        fn params(&mut self) -> Result<Params, Invalid> {
            let mut params = Vec::new();
            while self.eat(b';') {
                self.skip_sp();
                let key = self.key()?;
                let value = if self.eat(b'=') {
                    self.bare()?
                } else {
                    Bare::Boolean
                };
                params.push((key, value));
            }
            Ok(params)
        }

        /// RFC 8941 §4.2.3.1.
        fn bare(&mut self) -> Result<Bare, Invalid> {
            match self.peek() {
                Some(b'-' | b'0'..=b'9') => self.number(),
                Some(b'"') => self.string(),
                Some(b':') => self.byte_sequence(),
                Some(b'?') => self.boolean(),
                Some(b'A'..=b'Z' | b'a'..=b'z' | b'*') => self.token(),
                _ => Err(Invalid),
            }
        }

        /// RFC 8941 §4.2.4: integers of up to 15 digits, decimals of up to 12.3 digits.
        fn number(&mut self) -> Result<Bare, Invalid> {
            let negative = self.eat(b'-');
            let start = self.pos;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(Invalid);
            }
            let mut dot = None;
            while let Some(byte) = self.peek() {
                match byte {
                    b'0'..=b'9' => {}
                    b'.' if dot.is_none() => {
                        if self.pos - start > 12 {
                            return Err(Invalid);
                        }
                        dot = Some(self.pos);
                    }
                    _ => break,
                }
                self.pos += 1;
                if dot.is_none() && self.pos - start > 15 {
                    return Err(Invalid);
                }
            }
            match dot {
                Some(dot) => {
                    let fraction = self.pos - dot - 1;
                    if !(1..=3).contains(&fraction) {
                        return Err(Invalid);
                    }
                    Ok(Bare::Decimal)
                }
                None => {
                    let digits = self.text_since(start)?;
                    let value: i64 = digits.parse().map_err(|_| Invalid)?;
                    Ok(Bare::Integer(if negative { -value } else { value }))
                }
            }
        }

        /// RFC 8941 §4.2.5.
        fn string(&mut self) -> Result<Bare, Invalid> {
            if !self.eat(b'"') {
                return Err(Invalid);
            }
            let mut out = String::new();
            loop {
                match self.next().ok_or(Invalid)? {
                    b'\\' => match self.next() {
                        Some(byte @ (b'"' | b'\\')) => out.push(char::from(byte)),
                        _ => return Err(Invalid),
                    },
                    b'"' => return Ok(Bare::String(out)),
                    byte @ 0x20..=0x7e => out.push(char::from(byte)),
                    _ => return Err(Invalid),
                }
            }
        }

        /// RFC 8941 §4.2.6: the first character (a letter or `*`) is already checked.
        fn token(&mut self) -> Result<Bare, Invalid> {
            self.pos += 1;
            while self.peek().is_some_and(|byte| {
                byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&byte)
            }) {
                self.pos += 1;
            }
            Ok(Bare::Token)
        }

        /// RFC 8941 §4.2.7, standard base64 with padding.
        fn byte_sequence(&mut self) -> Result<Bare, Invalid> {
            if !self.eat(b':') {
                return Err(Invalid);
            }
            let start = self.pos;
            while matches!(
                self.peek(),
                Some(b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=')
            ) {
                self.pos += 1;
            }
            let encoded = self.bytes.get(start..self.pos).ok_or(Invalid)?;
            if !self.eat(b':') {
                return Err(Invalid);
            }
            STANDARD
                .decode(encoded)
                .map(Bare::Bytes)
                .map_err(|_| Invalid)
        }

        /// RFC 8941 §4.2.8.
        fn boolean(&mut self) -> Result<Bare, Invalid> {
            if !self.eat(b'?') {
                return Err(Invalid);
            }
            match self.next() {
                Some(b'0' | b'1') => Ok(Bare::Boolean),
                _ => Err(Invalid),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9421 Appendix B.1.4, `test-key-ed25519`: the PKCS #8 private key and the SPKI
    /// public key (base64 of the DER; the raw keys are their last 32 bytes).
    const B14_PRIVATE_DER: &str =
        "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF";
    const B14_PUBLIC_DER: &str = "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=";

    /// RFC 9421 Appendix B.2.6: the signature base and the signature value.
    const B26_BASE: &str = "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\
\"@method\": POST\n\
\"@path\": /foo\n\
\"@authority\": example.com\n\
\"content-type\": application/json\n\
\"content-length\": 18\n\
\"@signature-params\": (\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\"";
    const B26_SIGNATURE: &str =
        "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==";

    /// RFC 9530 (and RFC 9421 Appendix B.2): the digests of the body `{"hello": "world"}`.
    const HELLO_BODY: &[u8] = br#"{"hello": "world"}"#;
    const HELLO_SHA256: &str = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
    const HELLO_SHA512: &str = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";

    fn last_32(der_base64: &str) -> Vec<u8> {
        let der = STANDARD.decode(der_base64).unwrap();
        der[der.len() - 32..].to_vec()
    }

    #[test]
    fn rfc9421_b26_signature_base_and_ed25519_signature() {
        let base = signature_base(
            &[
                ("date", "Tue, 20 Apr 2021 02:07:55 GMT"),
                ("@method", "POST"),
                ("@path", "/foo"),
                ("@authority", "example.com"),
                ("content-type", "application/json"),
                ("content-length", "18"),
            ],
            "(\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\"",
        );
        assert_eq!(base, B26_BASE);

        let key = SigningKey::from_bytes(&last_32(B14_PRIVATE_DER)).unwrap();
        let public = PublicKey::from_bytes(&last_32(B14_PUBLIC_DER)).unwrap();
        assert_eq!(key.public_key(), public);
        let signature = key.sign(base.as_bytes());
        assert_eq!(STANDARD.encode(signature), B26_SIGNATURE);
        let published = STANDARD.decode(B26_SIGNATURE).unwrap();
        assert_eq!(public.verify(base.as_bytes(), &published), Ok(()));
        assert_eq!(
            public.verify(base.replace("/foo", "/fop").as_bytes(), &published),
            Err(ProofError::BadSignature)
        );
    }

    #[test]
    fn rfc9421_b26_signature_input_is_refused_for_its_components() {
        let input = "sk=(\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\"";
        let signature = format!("sk=:{B26_SIGNATURE}:");
        assert_eq!(
            parse(input, &signature).unwrap_err(),
            ProofError::WrongComponents
        );
        let labelled = input.replacen("sk=", "sig-b26=", 1);
        assert_eq!(
            parse(&labelled, &signature).unwrap_err(),
            ProofError::MissingLabel
        );
    }

    #[test]
    fn rfc9530_content_digest_of_hello_world() {
        assert_eq!(content_digest(HELLO_BODY), HELLO_SHA256);
        assert_eq!(check_content_digest(HELLO_SHA256, HELLO_BODY), Ok(()));
        let both = format!("{HELLO_SHA256}, {HELLO_SHA512}");
        assert_eq!(check_content_digest(&both, HELLO_BODY), Ok(()));
        let reversed = format!("{HELLO_SHA512},{HELLO_SHA256}");
        assert_eq!(check_content_digest(&reversed, HELLO_BODY), Ok(()));
    }

    #[test]
    fn content_digest_of_an_empty_body() {
        // SHA-256 of nothing is e3b0c442…b855.
        let digest = content_digest(b"");
        assert_eq!(
            digest,
            "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
        );
        assert_eq!(check_content_digest(&digest, b""), Ok(()));
    }

    #[test]
    fn content_digest_mismatches_and_bad_values_are_refused() {
        assert_eq!(
            check_content_digest(HELLO_SHA256, br#"{"hello": "World"}"#),
            Err(ProofError::DigestMismatch)
        );
        assert_eq!(
            check_content_digest(HELLO_SHA256, b""),
            Err(ProofError::DigestMismatch)
        );
        // A digest of the wrong length.
        assert_eq!(
            check_content_digest("sha-256=:AAAA:", HELLO_BODY),
            Err(ProofError::DigestMismatch)
        );
        assert_eq!(
            check_content_digest(HELLO_SHA512, HELLO_BODY),
            Err(ProofError::UnsupportedAlgorithm("sha-512".into()))
        );
        assert_eq!(
            check_content_digest("", HELLO_BODY),
            Err(ProofError::MissingHeader("Content-Digest"))
        );
        assert_eq!(
            check_content_digest("  ", HELLO_BODY),
            Err(ProofError::MissingHeader("Content-Digest"))
        );
        for garbled in [
            "sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE:",
            "SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
            "sha-256=\"X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\"",
            "sha-256",
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:,",
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=: x",
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:é",
        ] {
            assert_eq!(
                check_content_digest(garbled, HELLO_BODY),
                Err(ProofError::Malformed("Content-Digest")),
                "{garbled}"
            );
        }
        let long = format!("{HELLO_SHA256}, {}", "a".repeat(MAX_HEADER_LEN));
        assert_eq!(
            check_content_digest(&long, HELLO_BODY),
            Err(ProofError::TooLong("Content-Digest"))
        );
        // Surrounding whitespace and parameters on other members are fine.
        let spaced = format!("  {HELLO_SHA256} ,\tmd5=:AAAA:;x=1  ");
        assert_eq!(check_content_digest(&spaced, HELLO_BODY), Ok(()));
    }

    #[test]
    fn nonces_are_22_url_safe_characters_and_differ() {
        let a = new_nonce();
        let b = new_nonce();
        assert_eq!(a.len(), 22);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 16);
        assert_ne!(a, b);
    }

    fn params() -> SignatureParams {
        SignatureParams {
            created: 1_763_900_000,
            nonce: "Fj3cT1b1Y0kQmJ6i5rS2pw".into(),
            keyid: "7d1c0e55-device".into(),
        }
    }

    fn unlock_request(digest: &str) -> Request<'_> {
        Request {
            method: "POST",
            path: "/device/v1/unlock",
            query: None,
            content_digest: digest,
        }
    }

    #[test]
    fn the_protocol_example_base_and_headers() {
        let digest = content_digest(HELLO_BODY);
        let request = unlock_request(&digest);
        let expected_params = "(\"@method\" \"@path\" \"@query\" \"content-digest\");created=1763900000;nonce=\"Fj3cT1b1Y0kQmJ6i5rS2pw\";keyid=\"7d1c0e55-device\";alg=\"ed25519\"";
        assert_eq!(params().serialize(), expected_params);
        assert_eq!(
            request.base(expected_params),
            format!(
                "\"@method\": POST\n\"@path\": /device/v1/unlock\n\"@query\": ?\n\"content-digest\": {HELLO_SHA256}\n\"@signature-params\": {expected_params}"
            )
        );
        let key = SigningKey::generate();
        let headers = sign(&key, &request, &params());
        assert_eq!(headers.signature_input, format!("sk={expected_params}"));
        assert!(headers.signature.starts_with("sk=:") && headers.signature.ends_with(':'));
        assert_eq!(headers.signature.len(), "sk=::".len() + 88);
    }

    #[test]
    fn sign_parse_verify_round_trip() {
        let key = SigningKey::generate();
        let digest = content_digest(HELLO_BODY);
        let request = unlock_request(&digest);
        let headers = sign(&key, &request, &params());
        let parsed = parse(&headers.signature_input, &headers.signature).unwrap();
        assert_eq!(parsed.params, params());
        assert_eq!(parsed.verify(&request, &key.public_key()), Ok(()));
        assert_eq!(
            check_content_digest(request.content_digest, HELLO_BODY),
            Ok(())
        );
    }

    #[test]
    fn query_none_and_empty_are_the_same_and_a_query_is_covered() {
        let key = SigningKey::generate();
        let digest = content_digest(b"");
        let none = Request {
            method: "GET",
            path: "/device/v1/commands",
            query: None,
            content_digest: &digest,
        };
        let empty = Request {
            query: Some(""),
            ..none
        };
        let wait = Request {
            query: Some("wait=25"),
            ..none
        };
        assert_eq!(wait.query_value(), "?wait=25");
        let headers = sign(&key, &none, &params());
        let parsed = parse(&headers.signature_input, &headers.signature).unwrap();
        assert_eq!(parsed.verify(&empty, &key.public_key()), Ok(()));
        assert_eq!(
            parsed.verify(&wait, &key.public_key()),
            Err(ProofError::BadSignature)
        );
        let headers = sign(&key, &wait, &params());
        let parsed = parse(&headers.signature_input, &headers.signature).unwrap();
        assert_eq!(parsed.verify(&wait, &key.public_key()), Ok(()));
        let other = Request {
            query: Some("wait=26"),
            ..wait
        };
        assert_eq!(
            parsed.verify(&other, &key.public_key()),
            Err(ProofError::BadSignature)
        );
        assert_eq!(
            parsed.verify(&none, &key.public_key()),
            Err(ProofError::BadSignature)
        );
    }

    #[test]
    fn every_covered_part_is_bound() {
        let key = SigningKey::generate();
        let public = key.public_key();
        let digest = content_digest(HELLO_BODY);
        let request = unlock_request(&digest);
        let headers = sign(&key, &request, &params());
        let parsed = parse(&headers.signature_input, &headers.signature).unwrap();

        let other_digest = content_digest(br#"{"hello": "World"}"#);
        let tampered = [
            Request {
                method: "PUT",
                ..request
            },
            Request {
                method: "post",
                ..request
            },
            Request {
                path: "/device/v1/unlocK",
                ..request
            },
            Request {
                path: "/device/v1/unlock/",
                ..request
            },
            Request {
                query: Some("a"),
                ..request
            },
            Request {
                content_digest: &other_digest,
                ..request
            },
        ];
        for request in &tampered {
            assert_eq!(
                parsed.verify(request, &public),
                Err(ProofError::BadSignature),
                "{request:?}"
            );
        }
        // A body whose digest the attacker did not change is caught by the digest check.
        assert_eq!(
            check_content_digest(&digest, br#"{"hello": "World"}"#),
            Err(ProofError::DigestMismatch)
        );
        // Another key.
        assert_eq!(
            parsed.verify(&request, &SigningKey::generate().public_key()),
            Err(ProofError::BadSignature)
        );
    }

    #[test]
    fn changed_parameters_or_signature_bits_are_refused() {
        let key = SigningKey::generate();
        let public = key.public_key();
        let digest = content_digest(HELLO_BODY);
        let request = unlock_request(&digest);
        let headers = sign(&key, &request, &params());

        for (from, to) in [
            ("created=1763900000", "created=1763900001"),
            ("nonce=\"Fj3c", "nonce=\"Gj3c"),
            ("keyid=\"7d1c", "keyid=\"7d1d"),
        ] {
            let input = headers.signature_input.replace(from, to);
            assert_ne!(input, headers.signature_input);
            let parsed = parse(&input, &headers.signature).unwrap();
            assert_eq!(
                parsed.verify(&request, &public),
                Err(ProofError::BadSignature),
                "{to}"
            );
        }

        let good = parse(&headers.signature_input, &headers.signature).unwrap();
        for bit in [0usize, 7, 100, 511] {
            let mut bytes = good.signature;
            bytes[bit / 8] ^= 1 << (bit % 8);
            let signature = format!("sk=:{}:", STANDARD.encode(bytes));
            let parsed = parse(&headers.signature_input, &signature).unwrap();
            assert_eq!(
                parsed.verify(&request, &public),
                Err(ProofError::BadSignature),
                "{bit}"
            );
        }
    }

    #[test]
    fn parameters_in_another_order_verify_over_the_text_as_sent() {
        let key = SigningKey::generate();
        let digest = content_digest(HELLO_BODY);
        let request = unlock_request(&digest);
        for params_text in [
            "(\"@method\" \"@path\" \"@query\" \"content-digest\");alg=\"ed25519\";keyid=\"7d1c0e55-device\";created=1763900000;nonce=\"Fj3cT1b1Y0kQmJ6i5rS2pw\"",
            "( \"@method\"  \"@path\" \"@query\" \"content-digest\" );nonce=\"Fj3cT1b1Y0kQmJ6i5rS2pw\";created=1763900000; alg=\"ed25519\";keyid=\"7d1c0e55-device\"",
        ] {
            let signature = key.sign(request.base(params_text).as_bytes());
            let input = format!("sk={params_text}");
            let signature = format!("sk=:{}:", STANDARD.encode(signature));
            let parsed = parse(&input, &signature).unwrap();
            assert_eq!(parsed.params, params());
            assert_eq!(parsed.verify(&request, &key.public_key()), Ok(()));
            // Re-serialised in the usual order it is a different text: not what was signed.
            let canonical = format!("sk={}", params().serialize());
            let reordered = parse(&canonical, &signature).unwrap();
            assert_eq!(
                reordered.verify(&request, &key.public_key()),
                Err(ProofError::BadSignature)
            );
        }
    }

    #[test]
    fn other_labels_beside_sk_are_ignored() {
        let key = SigningKey::generate();
        let digest = content_digest(HELLO_BODY);
        let request = unlock_request(&digest);
        let headers = sign(&key, &request, &params());
        let input = format!(
            "proxy=(\"@authority\");created=1, {}",
            headers.signature_input
        );
        let signature = format!("{}, proxy=:AAAA:", headers.signature);
        let parsed = parse(&input, &signature).unwrap();
        assert_eq!(parsed.verify(&request, &key.public_key()), Ok(()));
    }

    #[test]
    fn request_components_with_control_characters_are_refused() {
        let key = SigningKey::generate();
        let digest = content_digest(HELLO_BODY);
        let request = unlock_request(&digest);
        let headers = sign(&key, &request, &params());
        let parsed = parse(&headers.signature_input, &headers.signature).unwrap();
        let injected = Request {
            path: "/device/v1/unlock\n\"@query\": ?",
            ..request
        };
        assert_eq!(
            parsed.verify(&injected, &key.public_key()),
            Err(ProofError::Malformed("request component"))
        );
    }

    #[test]
    fn an_empty_path_is_a_slash() {
        let request = Request {
            method: "GET",
            path: "",
            query: None,
            content_digest: "x",
        };
        assert_eq!(request.path_value(), "/");
    }

    const GOOD_COMPONENTS: &str = "(\"@method\" \"@path\" \"@query\" \"content-digest\")";
    const GOOD_PARAMS: &str =
        ";created=1763900000;nonce=\"Fj3cT1b1Y0kQmJ6i5rS2pw\";keyid=\"dev\";alg=\"ed25519\"";

    fn good_signature() -> String {
        format!("sk=:{}:", STANDARD.encode([7u8; 64]))
    }

    fn parse_input(input: &str) -> Result<ParsedSignature, ProofError> {
        parse(input, &good_signature())
    }

    #[test]
    fn missing_and_garbled_headers_are_refused() {
        let input = format!("sk={GOOD_COMPONENTS}{GOOD_PARAMS}");
        assert!(parse_input(&input).is_ok());
        assert_eq!(
            parse("", &good_signature()).unwrap_err(),
            ProofError::MissingHeader("Signature-Input")
        );
        assert_eq!(
            parse(&input, " ").unwrap_err(),
            ProofError::MissingHeader("Signature")
        );
        for garbled in [
            "sk",
            "sk=",
            "sk=(",
            "sk=(\"@method\" \"@path\" \"@query\" \"content-digest\"",
            "sk=(\"@method\"\"@path\")",
            "Sk=(\"@method\")",
            "sk=(\"@method\" \"@path\" \"@query\" \"content-digest\");created=1763900000;nonce=\"unterminated",
            "sk=(\"@method\" \"@path\" \"@query\" \"content-digest\");created=1763900000;nonce=\"a\\n\"",
            "sk=(\"@method\" \"@path\" \"@query\" \"content-digest\");created=1234567890123456",
            "sk=(\"@method\" \"@path\" \"@query\" \"content-digest\");created=--1",
            "sk=(\"@method\" \"@path\" \"@query\" \"content-digest\") ;created=1",
            "sk=(\"@method\" \"@path\" \"@query\" \"content-digest\");created=1,",
            "sk=(\"@méthod\")",
        ] {
            assert_eq!(
                parse_input(garbled).unwrap_err(),
                ProofError::Malformed("Signature-Input"),
                "{garbled}"
            );
        }
        for garbled in [
            "sk=:AAAA",
            "sk=AAAA",
            "sk=:AA=A:",
            "sk=:AAAA:;",
            "sk=:AAAA:x",
        ] {
            assert_eq!(
                parse(&input, garbled).unwrap_err(),
                ProofError::Malformed("Signature"),
                "{garbled}"
            );
        }
        // A dictionary member that is not a byte sequence.
        assert_eq!(
            parse(&input, "sk=\"AAAA\"").unwrap_err(),
            ProofError::Malformed("Signature")
        );
        assert_eq!(
            parse(&format!("sk={GOOD_PARAMS}"), &good_signature()).unwrap_err(),
            ProofError::Malformed("Signature-Input")
        );
        let long = format!("{input}, x=\"{}\"", "a".repeat(MAX_HEADER_LEN));
        assert_eq!(
            parse_input(&long).unwrap_err(),
            ProofError::TooLong("Signature-Input")
        );
        let long = format!("{}, x=\"{}\"", good_signature(), "a".repeat(MAX_HEADER_LEN));
        assert_eq!(
            parse(&input, &long).unwrap_err(),
            ProofError::TooLong("Signature")
        );
    }

    #[test]
    fn labels_other_than_sk_or_repeated_sk_are_refused() {
        let input = format!("sk={GOOD_COMPONENTS}{GOOD_PARAMS}");
        let other = format!("sig1={GOOD_COMPONENTS}{GOOD_PARAMS}");
        assert_eq!(parse_input(&other).unwrap_err(), ProofError::MissingLabel);
        assert_eq!(
            parse(&input, &good_signature().replacen("sk=", "sig1=", 1)).unwrap_err(),
            ProofError::MissingLabel
        );
        assert_eq!(
            parse_input(&format!("{input}, {input}")).unwrap_err(),
            ProofError::Malformed("Signature-Input")
        );
        assert_eq!(
            parse(&input, &format!("{0},{0}", good_signature())).unwrap_err(),
            ProofError::Malformed("Signature")
        );
    }

    #[test]
    fn components_other_than_the_four_in_order_are_refused() {
        for components in [
            "(\"@method\" \"@path\" \"@query\")",
            "(\"@method\" \"@path\" \"content-digest\" \"@query\")",
            "(\"@path\" \"@method\" \"@query\" \"content-digest\")",
            "(\"@method\" \"@path\" \"@query\" \"content-digest\" \"date\")",
            "(\"@method\" \"@target-uri\" \"@query\" \"content-digest\")",
            "(\"@method\" \"@path\" \"@query\" \"content-digest\";sf)",
            "(\"@method\" \"@path\" \"@query\" content-digest)",
            "(\"@METHOD\" \"@path\" \"@query\" \"content-digest\")",
            "()",
        ] {
            assert_eq!(
                parse_input(&format!("sk={components}{GOOD_PARAMS}")).unwrap_err(),
                ProofError::WrongComponents,
                "{components}"
            );
        }
    }

    #[test]
    fn bad_parameters_are_refused() {
        let created = ";created=1763900000";
        let nonce = ";nonce=\"Fj3cT1b1Y0kQmJ6i5rS2pw\"";
        let keyid = ";keyid=\"dev\"";
        let alg = ";alg=\"ed25519\"";
        let cases: [(String, ProofError); 14] = [
            (
                format!("{nonce}{keyid}{alg}"),
                ProofError::Malformed("created parameter"),
            ),
            (
                format!(";created=\"1763900000\"{nonce}{keyid}{alg}"),
                ProofError::Malformed("created parameter"),
            ),
            (
                format!(";created=1763900000.5{nonce}{keyid}{alg}"),
                ProofError::Malformed("created parameter"),
            ),
            (
                format!("{created}{keyid}{alg}"),
                ProofError::Malformed("nonce parameter"),
            ),
            (
                format!("{created};nonce=abc{keyid}{alg}"),
                ProofError::Malformed("nonce parameter"),
            ),
            (
                format!("{created};nonce=\"\"{keyid}{alg}"),
                ProofError::Malformed("nonce parameter"),
            ),
            (
                format!("{created}{nonce}{alg}"),
                ProofError::Malformed("keyid parameter"),
            ),
            (
                format!("{created}{nonce};keyid=\"a\\\"b\"{alg}"),
                ProofError::Malformed("keyid parameter"),
            ),
            (
                format!("{created}{nonce};keyid=\"a\\\\b\"{alg}"),
                ProofError::Malformed("keyid parameter"),
            ),
            (
                format!("{created}{nonce}{keyid}"),
                ProofError::Malformed("alg parameter"),
            ),
            (
                format!("{created}{nonce}{keyid};alg=ed25519"),
                ProofError::Malformed("alg parameter"),
            ),
            (
                format!("{created}{nonce}{keyid};alg=\"rsa-pss-sha512\""),
                ProofError::UnsupportedAlgorithm("rsa-pss-sha512".into()),
            ),
            (
                format!("{created}{nonce}{keyid}{alg};expires=1763900300"),
                ProofError::Malformed("signature parameters (unknown parameter)"),
            ),
            (
                format!("{created}{nonce}{keyid}{alg}{created}"),
                ProofError::Malformed("signature parameters (repeated parameter)"),
            ),
        ];
        for (params, error) in cases {
            assert_eq!(
                parse_input(&format!("sk={GOOD_COMPONENTS}{params}")).unwrap_err(),
                error,
                "{params}"
            );
        }
    }

    #[test]
    fn signatures_that_are_not_64_bytes_are_refused() {
        let input = format!("sk={GOOD_COMPONENTS}{GOOD_PARAMS}");
        for len in [0usize, 63, 65] {
            let signature = format!("sk=:{}:", STANDARD.encode(vec![1u8; len]));
            assert_eq!(
                parse(&input, &signature).unwrap_err(),
                ProofError::BadSignature,
                "{len}"
            );
        }
    }

    #[test]
    fn keyid_with_quotes_is_escaped_when_signing_and_refused_when_parsing() {
        let key = SigningKey::generate();
        let digest = content_digest(b"");
        let request = unlock_request(&digest);
        let params = SignatureParams {
            keyid: "a\"b".into(),
            ..params()
        };
        let headers = sign(&key, &request, &params);
        assert!(headers.signature_input.contains(r#"keyid="a\"b""#));
        assert_eq!(
            parse(&headers.signature_input, &headers.signature).unwrap_err(),
            ProofError::Malformed("keyid parameter")
        );
    }

    #[test]
    fn the_enrolment_keyid_is_a_base64_public_key() {
        let key = SigningKey::generate();
        let digest = content_digest(b"{}");
        let request = Request {
            method: "POST",
            path: "/device/v1/enrol",
            query: None,
            content_digest: &digest,
        };
        let params = SignatureParams {
            created: 1_763_900_000,
            nonce: new_nonce(),
            keyid: key.public_key().to_base64(),
        };
        let headers = sign(&key, &request, &params);
        let parsed = parse(&headers.signature_input, &headers.signature).unwrap();
        assert_eq!(parsed.params, params);
        let public = PublicKey::from_base64(&parsed.params.keyid).unwrap();
        assert_eq!(parsed.verify(&request, &public), Ok(()));
    }

    #[test]
    fn structured_field_numbers() {
        let parse_one = |text: &str| {
            sf::parse_dictionary(text).map(|entries| match &entries[0].member {
                sf::Member::Item(sf::Item {
                    bare: sf::Bare::Integer(n),
                    ..
                }) => Some(*n),
                _ => None,
            })
        };
        assert_eq!(
            parse_one("a=-999999999999999").unwrap(),
            Some(-999_999_999_999_999)
        );
        assert_eq!(parse_one("a=0").unwrap(), Some(0));
        assert_eq!(parse_one("a=123456789012.123").unwrap(), None);
        assert!(parse_one("a=1234567890123.1").is_err());
        assert!(parse_one("a=1.1234").is_err());
        assert!(parse_one("a=1.").is_err());
        assert!(parse_one("a=-").is_err());
        assert!(parse_one("a=?2").is_err());
        assert_eq!(parse_one("a=?1, b, c=tok/en:x;p").unwrap(), None);
    }
}
