//! Time-based one-time passwords (RFC 6238, SHA-1, 6 digits, 30 s steps, ±1 step):
//! secrets, otpauth URLs, QR codes as SVG, and checks that return the matched step so
//! the caller can refuse a code seen before.

use qrcode::QrCode;
use qrcode::render::svg;
use rand::RngCore;
use totp_rs::{Builder, Secret, Totp};

use crate::AppError;

/// What a person needs to add Sealkeeper to an authenticator app. `Debug` hides the secret.
#[derive(Clone)]
pub struct Enrolment {
    /// Base32 secret, for typing by hand.
    pub secret: String,
    /// `otpauth://totp/...` URL.
    pub url: String,
    /// The URL as a QR code, an SVG document.
    pub qr_svg: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment { secret: [redacted], .. }")
    }
}

pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    Secret::from(bytes).to_base32()
}

fn build(secret: &str, issuer: &str, account: &str) -> Result<Totp, AppError> {
    let secret = Secret::try_from_base32(secret)
        .map_err(|e| AppError::Internal(format!("stored TOTP secret: {e:?}")))?;
    Builder::new()
        .with_secret(secret)
        .with_issuer(Some(issuer.replace(':', " ")))
        .with_account_name(account.replace(':', " "))
        .build()
        .map_err(|e| AppError::Internal(format!("TOTP setup: {e:?}")))
}

pub fn enrolment(secret: &str, issuer: &str, account: &str) -> Result<Enrolment, AppError> {
    let totp = build(secret, issuer, account)?;
    let url = totp
        .to_url()
        .map_err(|e| AppError::Internal(format!("TOTP URL: {e:?}")))?;
    let qr = QrCode::new(url.as_bytes()).map_err(|e| AppError::Internal(format!("QR: {e}")))?;
    let qr_svg = qr
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(Enrolment {
        secret: secret.to_owned(),
        url,
        qr_svg,
    })
}

/// The time step the code matches at `unix_seconds`, if any.
pub fn matching_step(secret: &str, code: &str, unix_seconds: u64) -> Result<Option<u64>, AppError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let totp = build(secret, "Sealkeeper", "")?;
    Ok(totp.check(&code, unix_seconds))
}

/// The code an authenticator shows at `unix_seconds` (tests and the demo use it).
pub fn code_at(secret: &str, unix_seconds: u64) -> Result<String, AppError> {
    Ok(build(secret, "Sealkeeper", "")?
        .generate(unix_seconds)
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_vector() {
        // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", T = 59 s → 94287082 (8 digits);
        // the 6-digit code is its last six digits.
        let secret = Secret::from(b"12345678901234567890".to_vec()).to_base32();
        assert_eq!(code_at(&secret, 59).ok().as_deref(), Some("287082"));
        assert_eq!(
            matching_step(&secret, "287 082", 59).ok().flatten(),
            Some(1)
        );
        assert_eq!(
            matching_step(&secret, "287082", 59 + 30).ok().flatten(),
            Some(1),
            "one step of skew"
        );
        assert_eq!(
            matching_step(&secret, "287082", 59 + 90).ok().flatten(),
            None
        );
        assert_eq!(matching_step(&secret, "abc", 59).ok().flatten(), None);
    }

    #[test]
    fn enrolment_has_url_and_qr() {
        let secret = new_secret();
        let enrolment = enrolment(&secret, "Sealkeeper", "acme 13800138000").ok();
        let enrolment = enrolment.as_ref();
        assert!(enrolment.is_some_and(|e| e.url.starts_with("otpauth://totp/")));
        assert!(enrolment.is_some_and(|e| e.qr_svg.contains("<svg")));
    }
}
