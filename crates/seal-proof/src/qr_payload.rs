//! The texts that go into stamp QR codes, both chosen to fit the QR alphanumeric mode
//! (`0–9 A–Z space $ % * + - . / :`) so the code stays small enough to print at 2 cm:
//!
//! - the short URL `{base}/V/{CODE}`, where `CODE` is the 128-bit stamp id in RFC 4648
//!   base32, uppercase, without padding (26 characters). With an uppercase base such as
//!   `HTTPS://SK.EXAMPLE`, the whole URL is alphanumeric. Parsing accepts any `http` or
//!   `https` base, `/V/` or `/v/`, and the code in any case.
//! - the offline form `SK1:` followed by the RFC 9285 Base45 of the COSE stamp token
//!   (see [`crate::token`]), checked offline with the published key set.

use data_encoding::BASE32_NOPAD;

use crate::token::ID_LEN;

/// The prefix of the offline form.
pub const OFFLINE_PREFIX: &str = "SK1:";

/// The length of a stamp code (26 base32 characters for 128 bits).
pub const STAMP_CODE_LEN: usize = 26;

/// The longest QR text accepted, in bytes (a token is at most 160 bytes, 240 in Base45).
pub const MAX_QR_TEXT_LEN: usize = 2048;

/// The path segment before the code in the short URL.
const VERIFY_SEGMENT: &str = "/V/";

/// Why a QR text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// Nothing but whitespace.
    #[error("the QR text is empty")]
    Empty,
    /// Longer than [`MAX_QR_TEXT_LEN`].
    #[error("the QR text is longer than {MAX_QR_TEXT_LEN} bytes")]
    TooLong,
    /// Neither an `http(s)` URL nor the `SK1:` offline form.
    #[error("the QR text is neither a Sealkeeper verification URL nor an SK1: token")]
    UnknownForm,
    /// An `http(s)` URL that is not `{base}/V/{CODE}` (what was wrong).
    #[error("not a verification URL: {0}")]
    BadUrl(&'static str),
    /// The stamp code is not 26 base32 characters of a 128-bit id.
    #[error("the stamp code is not 26 base32 characters")]
    BadCode,
    /// The offline form's payload is not canonical Base45.
    #[error("the SK1: payload is not valid Base45")]
    BadBase45,
}

/// The 26-character code of a stamp id: RFC 4648 base32, uppercase, no padding.
pub fn stamp_code(id: &[u8; ID_LEN]) -> String {
    BASE32_NOPAD.encode(id)
}

/// The stamp id from its code, in any case; surrounding whitespace is ignored.
pub fn parse_stamp_code(text: &str) -> Result<[u8; ID_LEN], QrError> {
    let code = text.trim();
    if code.len() != STAMP_CODE_LEN || !code.is_ascii() {
        return Err(QrError::BadCode);
    }
    let upper = code.to_ascii_uppercase();
    let bytes = BASE32_NOPAD
        .decode(upper.as_bytes())
        .map_err(|_| QrError::BadCode)?;
    bytes.try_into().map_err(|_| QrError::BadCode)
}

/// What a stamp's QR code says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QrPayload {
    /// The short URL: where to verify, and which stamp.
    Url {
        /// Scheme, host and optional path prefix, e.g. `HTTPS://SK.EXAMPLE` (no trailing `/`).
        base: String,
        /// The 128-bit stamp id.
        stamp_id: [u8; ID_LEN],
    },
    /// The offline form: the COSE stamp token's bytes (not yet checked; see
    /// [`crate::token::read_token`]).
    Token(Vec<u8>),
}

impl QrPayload {
    /// The text to put in the QR code. A trailing `/` of the base is dropped.
    pub fn format(&self) -> String {
        match self {
            Self::Url { base, stamp_id } => format!(
                "{}{VERIFY_SEGMENT}{}",
                base.trim_end_matches('/'),
                stamp_code(stamp_id)
            ),
            Self::Token(bytes) => format!("{OFFLINE_PREFIX}{}", base45::encode(bytes)),
        }
    }

    /// Reads a scanned QR text (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Self, QrError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(QrError::Empty);
        }
        if text.len() > MAX_QR_TEXT_LEN {
            return Err(QrError::TooLong);
        }
        if let Some(payload) = strip_prefix_ignore_case(text, OFFLINE_PREFIX) {
            return Ok(Self::Token(decode_base45(payload)?));
        }
        if strip_prefix_ignore_case(text, "https://").is_some()
            || strip_prefix_ignore_case(text, "http://").is_some()
        {
            return parse_url(text);
        }
        Err(QrError::UnknownForm)
    }
}

/// `text` without `prefix` when it starts with it in any ASCII case.
fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn parse_url(text: &str) -> Result<QrPayload, QrError> {
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(QrError::BadUrl("the URL has spaces or control characters"));
    }
    let (before, code) = text
        .rsplit_once('/')
        .ok_or(QrError::BadUrl("no stamp code"))?;
    let base = strip_suffix_ignore_case(before, VERIFY_SEGMENT.trim_end_matches('/'))
        .ok_or(QrError::BadUrl("the path does not end in /V/{code}"))?;
    let (_, after_scheme) = base.split_once("://").ok_or(QrError::BadUrl("no scheme"))?;
    let host = after_scheme.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(QrError::BadUrl("no host"));
    }
    if base.contains(['?', '#']) {
        return Err(QrError::BadUrl("the base has a query or a fragment"));
    }
    let stamp_id = parse_stamp_code(code)?;
    Ok(QrPayload::Url {
        base: base.to_owned(),
        stamp_id,
    })
}

/// `text` without `suffix` when it ends with it in any ASCII case.
fn strip_suffix_ignore_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let start = text.len().checked_sub(suffix.len())?;
    let tail = text.get(start..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &text[..start])
}

/// RFC 9285 Base45, strictly: the text must be exactly the encoding of the bytes it decodes
/// to (so no out-of-range triple or pair, no odd length, no other alphabet).
fn decode_base45(text: &str) -> Result<Vec<u8>, QrError> {
    let bytes = base45::decode(text).map_err(|_| QrError::BadBase45)?;
    if base45::encode(&bytes) != text {
        return Err(QrError::BadBase45);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: [u8; 16] = [
        0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32,
        0x10,
    ];

    /// The characters of the QR alphanumeric mode.
    fn is_qr_alphanumeric(text: &str) -> bool {
        text.chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase() || " $%*+-./:".contains(c))
    }

    #[test]
    fn rfc4648_base32_vectors_hold_for_the_encoder() {
        // RFC 4648 §10.
        assert_eq!(BASE32_NOPAD.encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(BASE32_NOPAD.encode(b"fooba"), "MZXW6YTB");
        assert_eq!(BASE32_NOPAD.encode(b"f"), "MY");
    }

    #[test]
    fn stamp_code_is_26_uppercase_characters_and_round_trips() {
        let code = stamp_code(&ID);
        assert_eq!(code, "AERUKZ4JVPG677W4XKMHMVBSCA");
        assert_eq!(code.len(), STAMP_CODE_LEN);
        assert!(is_qr_alphanumeric(&code));
        assert_eq!(parse_stamp_code(&code), Ok(ID));
        assert_eq!(parse_stamp_code(&code.to_ascii_lowercase()), Ok(ID));
        assert_eq!(parse_stamp_code(&format!("  {code}\n")), Ok(ID));
        assert_eq!(parse_stamp_code(&stamp_code(&[0; 16])), Ok([0; 16]));
        assert_eq!(parse_stamp_code(&stamp_code(&[0xff; 16])), Ok([0xff; 16]));
    }

    #[test]
    fn bad_stamp_codes_are_refused() {
        let code = stamp_code(&ID);
        for bad in [
            "",
            &code[..25],
            &format!("{code}A"),
            // 0, 1, 8 and 9 are not in the base32 alphabet.
            &format!("{}0", &code[..25]),
            &format!("{}1", &code[..25]),
            // The last character carries 3 bits and 2 zero bits: B (00001) sets one.
            &format!("{}B", &code[..25]),
            &format!("{}=", &code[..25]),
            &format!("{}é", &code[..24]),
            "AERUKZ4JVPG677W4XKMHMVBSCA======",
        ] {
            assert_eq!(parse_stamp_code(bad), Err(QrError::BadCode), "{bad:?}");
        }
    }

    #[test]
    fn url_form_formats_and_fits_alphanumeric_mode() {
        let payload = QrPayload::Url {
            base: "HTTPS://SK.EXAMPLE".to_owned(),
            stamp_id: ID,
        };
        let text = payload.format();
        assert_eq!(text, "HTTPS://SK.EXAMPLE/V/AERUKZ4JVPG677W4XKMHMVBSCA");
        assert!(is_qr_alphanumeric(&text));
        assert_eq!(QrPayload::parse(&text), Ok(payload));
        // A trailing slash on the base is not doubled.
        let slash = QrPayload::Url {
            base: "HTTPS://SK.EXAMPLE/".to_owned(),
            stamp_id: ID,
        };
        assert_eq!(slash.format(), text);
    }

    #[test]
    fn url_parsing_accepts_any_http_base_and_case() {
        let code = stamp_code(&ID);
        let lower = code.to_ascii_lowercase();
        for (text, base) in [
            (
                format!("https://sk.example/v/{lower}"),
                "https://sk.example",
            ),
            (
                format!("http://127.0.0.1:8080/V/{code}"),
                "http://127.0.0.1:8080",
            ),
            (
                format!("HTTPS://SK.EXAMPLE/PREFIX/V/{code}"),
                "HTTPS://SK.EXAMPLE/PREFIX",
            ),
            (format!("Https://Sk.Example/v/{code}"), "Https://Sk.Example"),
            (
                format!("  https://sk.example/V/{code}\r\n"),
                "https://sk.example",
            ),
        ] {
            assert_eq!(
                QrPayload::parse(&text),
                Ok(QrPayload::Url {
                    base: base.to_owned(),
                    stamp_id: ID
                }),
                "{text}"
            );
        }
    }

    #[test]
    fn bad_urls_are_refused_with_clear_errors() {
        let code = stamp_code(&ID);
        assert_eq!(QrPayload::parse("   "), Err(QrError::Empty));
        assert_eq!(QrPayload::parse(&"A".repeat(3000)), Err(QrError::TooLong));
        assert_eq!(
            QrPayload::parse(&format!("ftp://sk.example/V/{code}")),
            Err(QrError::UnknownForm)
        );
        assert_eq!(QrPayload::parse(&code), Err(QrError::UnknownForm));
        assert_eq!(
            QrPayload::parse(&format!("https://sk.example/X/{code}")),
            Err(QrError::BadUrl("the path does not end in /V/{code}"))
        );
        assert_eq!(
            QrPayload::parse(&format!("https:///V/{code}")),
            Err(QrError::BadUrl("no host"))
        );
        assert_eq!(
            QrPayload::parse(&format!("https://sk.example/V/{code}?x=1")),
            Err(QrError::BadCode)
        );
        assert_eq!(
            QrPayload::parse(&format!("https://sk.example?q/V/{code}")),
            Err(QrError::BadUrl("the base has a query or a fragment"))
        );
        assert_eq!(
            QrPayload::parse(&format!("https://sk example/V/{code}")),
            Err(QrError::BadUrl("the URL has spaces or control characters"))
        );
        assert_eq!(
            QrPayload::parse(&format!("https://sk.example/V/{}", &code[..20])),
            Err(QrError::BadCode)
        );
        assert_eq!(
            QrPayload::parse(&format!("https://sk.example/V/{code}/")),
            Err(QrError::BadUrl("the path does not end in /V/{code}"))
        );
    }

    #[test]
    fn rfc9285_base45_examples() {
        // RFC 9285 §4.3 and §4.4.
        assert_eq!(base45::encode(b"AB"), "BB8");
        assert_eq!(base45::encode(b"Hello!!"), "%69 VD92EX0");
        assert_eq!(base45::encode(b"base-45"), "UJCLQE7W581");
        assert_eq!(decode_base45("QED8WEX0"), Ok(b"ietf!".to_vec()));
        assert_eq!(decode_base45("%69 VD92EX0"), Ok(b"Hello!!".to_vec()));
        // §6: "GGW" is 65536 > 65535, and a lowercase letter is not in the alphabet.
        assert_eq!(decode_base45("GGW"), Err(QrError::BadBase45));
        assert_eq!(decode_base45("bb8"), Err(QrError::BadBase45));
        // A pair over 255 and a lone character are not the encoding of anything.
        assert_eq!(decode_base45("ZZ"), Err(QrError::BadBase45));
        assert_eq!(decode_base45("B"), Err(QrError::BadBase45));
        assert_eq!(decode_base45(""), Ok(Vec::new()));
    }

    #[test]
    fn token_form_round_trips_and_fits_alphanumeric_mode() {
        let bytes: Vec<u8> = (0..=255u8).collect();
        let payload = QrPayload::Token(bytes.clone());
        let text = payload.format();
        assert!(text.starts_with("SK1:"));
        assert!(is_qr_alphanumeric(&text));
        assert_eq!(QrPayload::parse(&text), Ok(payload.clone()));
        assert_eq!(QrPayload::parse(&format!(" {text} \n")), Ok(payload));
        let lower_prefix = format!("sk1:{}", &text[4..]);
        assert_eq!(QrPayload::parse(&lower_prefix), Ok(QrPayload::Token(bytes)));
        assert_eq!(QrPayload::parse("SK1:GGW"), Err(QrError::BadBase45));
        assert_eq!(QrPayload::parse("SK1:bb8"), Err(QrError::BadBase45));
    }
}
