//! Stamp marks: the seal and its stamp's QR code (short URL or offline token), with the
//! numeric code and optionally its Code 128 barcode, drawn at true size as SVG, PNG (at a
//! chosen dpi) or PDF — what a seal printer prints and what goes on an electronic stamp.

use std::sync::Arc;

use seal_core::ids::StampId;
pub use seal_docs::stamp_mark::QrForm;
use seal_docs::stamp_mark::{StampMarkSpec, StampMarker};
use seal_proof::qr_payload::QrPayload;
use seal_store::{SealRecord, StampRecord};

use crate::App;
use crate::error::{AppError, Entity, Invalid};
use crate::policy::Principal;

/// The resolutions a PNG mark may be drawn at, in dots per inch.
pub const DPI_RANGE: (u32, u32) = seal_docs::seal_image::DPI;

/// The file kinds a mark is drawn as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkFormat {
    Svg,
    Png { dpi: u32 },
    Pdf,
}

impl MarkFormat {
    pub fn media_type(self) -> &'static str {
        match self {
            MarkFormat::Svg => "image/svg+xml",
            MarkFormat::Png { .. } => "image/png",
            MarkFormat::Pdf => "application/pdf",
        }
    }
}

/// The QR text of a stamp: the short URL (scheme and host upper-cased, so that the whole
/// text can use the QR alphanumeric mode) or the offline token.
pub fn qr_text(public_url: &str, stamp: &StampRecord, form: QrForm) -> Result<String, AppError> {
    match form {
        QrForm::ShortUrl => {
            let base = public_url.trim().trim_end_matches('/');
            let (scheme_host, path) = match base.find("://") {
                Some(at) => {
                    let rest = &base[at + 3..];
                    let split = rest.find('/').map_or(base.len(), |p| at + 3 + p);
                    (&base[..split], &base[split..])
                }
                None => (base, ""),
            };
            Ok(QrPayload::Url {
                base: format!("{}{path}", scheme_host.to_uppercase()),
                stamp_id: *stamp.id.as_uuid().as_bytes(),
            }
            .format())
        }
        QrForm::Offline => {
            let token = stamp
                .token
                .clone()
                .ok_or_else(|| AppError::invalid("form", Invalid::NoToken))?;
            Ok(QrPayload::Token(token).format())
        }
    }
}

impl App {
    /// The mark drawer, made once (it loads the seal font).
    fn stamp_marker(&self) -> Result<Arc<StampMarker>, AppError> {
        self.inner
            .stamp_marker
            .get_or_init(|| {
                let renderer = self.seal_renderer().map_err(|e| e.to_string())?;
                StampMarker::new((*renderer).clone())
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(AppError::Internal)
    }

    /// Draws a stamp's mark for whoever may see its application.
    pub async fn stamp_mark(
        &self,
        principal: &Principal,
        stamp: StampId,
        form: QrForm,
        barcode: bool,
        format: MarkFormat,
    ) -> Result<Vec<u8>, AppError> {
        let (record, seal, org_name) = {
            let mut tx = self.store().read().await?;
            let record = tx
                .stamp(principal.org.id, stamp)
                .await?
                .ok_or(AppError::NotFound(Entity::Stamp))?;
            let seal = match record.seal {
                Some(id) => tx.seal(principal.org.id, id).await?,
                None => None,
            }
            .ok_or(AppError::NotFound(Entity::Seal))?;
            (record, seal, principal.org.name.as_str().to_owned())
        };
        // Only those who may see the application see its stamps' marks.
        let application = record
            .application
            .ok_or(AppError::NotFound(Entity::Stamp))?;
        self.application_view(principal, application).await?;
        self.render_mark(&record, &seal, &org_name, form, barcode, format)
            .await
    }

    /// Draws a mark (also for a printer's print job).
    pub(crate) async fn render_mark(
        &self,
        stamp: &StampRecord,
        seal: &SealRecord,
        org_name: &str,
        form: QrForm,
        barcode: bool,
        format: MarkFormat,
    ) -> Result<Vec<u8>, AppError> {
        let (seal_spec, _, _) = crate::seals::seal_spec_sized(org_name, seal);
        let text = qr_text(&self.settings().public_url, stamp, form)?;
        let mut spec = StampMarkSpec::new(seal_spec, form, text, stamp.numeric_code().as_str());
        if barcode {
            spec = spec.with_barcode();
        }
        let marker = self.stamp_marker()?;
        tokio::task::spawn_blocking(move || match format {
            MarkFormat::Svg => marker.svg(&spec).map(String::into_bytes),
            MarkFormat::Png { dpi } => marker.png(&spec, dpi),
            MarkFormat::Pdf => marker.pdf(&spec),
        })
        .await
        .map_err(|e| AppError::Internal(format!("mark task: {e}")))?
        .map_err(|e| match e {
            seal_docs::stamp_mark::StampMarkError::DpiOutOfRange { .. }
            | seal_docs::stamp_mark::StampMarkError::TooManyPixels { .. } => {
                AppError::invalid("dpi", Invalid::Dpi)
            }
            other => AppError::Internal(format!("stamp mark: {other}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> StampRecord {
        StampRecord {
            id: StampId::from_bytes([1; 16]),
            org_id: seal_core::ids::OrgId::from_bytes([2; 16]),
            device: seal_core::ids::DeviceId::from_bytes([3; 16]),
            seq: None,
            kind: seal_store::StampKind::Print,
            grant: None,
            application: None,
            seal: None,
            device_time: seal_core::time::Timestamp::from_millis(0),
            received_at: seal_core::time::Timestamp::from_millis(0),
            fix: None,
            press_ms: 0,
            factors: String::new(),
            photo_key: None,
            photo_sha256: None,
            beyond_grant: false,
            document_sha256: None,
            page: None,
            token: Some(vec![0xd2, 0x84]),
        }
    }

    #[test]
    fn short_urls_upper_case_scheme_and_host_only() {
        let s = stamp();
        let text = qr_text("https://seal.example.com/", &s, QrForm::ShortUrl).unwrap_or_default();
        assert!(text.starts_with("HTTPS://SEAL.EXAMPLE.COM/V/"), "{text}");
        assert!(
            matches!(QrPayload::parse(&text), Ok(QrPayload::Url { stamp_id, .. }) if stamp_id == [1; 16])
        );
        let text = qr_text("https://example.com/sk", &s, QrForm::ShortUrl).unwrap_or_default();
        assert!(text.starts_with("HTTPS://EXAMPLE.COM/sk/V/"), "{text}");
        let text = qr_text("https://x.example", &s, QrForm::Offline).unwrap_or_default();
        assert!(text.starts_with("SK1:"), "{text}");
    }
}
