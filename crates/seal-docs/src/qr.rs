//! QR codes for stamps: a text encoded at error-correction level M (about 15 % of the
//! codewords restored: a smudge or a fold, a fair trade against size) in the smallest
//! version that holds it, refused when that version is above a maximum, and drawn as
//! an SVG element at a position and size in millimetres.
//!
//! The data is split into segments of the most compact mode by the `qrcode` crate's
//! optimiser: a text made only of QR's alphanumeric characters (`0–9`, `A–Z`, space and
//! `$%*+-./:`), such as an upper-case URL or a Base45 token, is encoded in alphanumeric
//! mode (5.5 bits a character instead of 8); digits in numeric mode. A text with
//! characters outside ASCII is encoded as UTF-8 bytes behind an ECI designator 26
//! (UTF-8), never through the optimiser, whose Kanji detection would take UTF-8 byte
//! pairs for Shift JIS.

use std::fmt::{self, Write as _};

use qrcode::bits::Bits;
use qrcode::optimize::Parser;
use qrcode::types::{Color, EcLevel, Mode, Version};

/// Light modules around the symbol on each side, as ISO/IEC 18004 requires.
pub const QUIET_ZONE_MODULES: u32 = 4;
/// The highest QR version there is.
pub const MAX_QR_VERSION: u8 = 40;
/// The ECI designator for UTF-8.
const ECI_UTF8: u32 = 26;

/// Why a text could not be made into a QR code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    #[error("the QR text is empty")]
    Empty,
    #[error("the maximum QR version {0} is outside 1–40")]
    MaxVersionOutOfRange(u8),
    #[error(
        "the QR text of {chars} characters needs version {needed} at error correction M; \
         at most version {max} is allowed"
    )]
    TooLong { chars: usize, needed: u8, max: u8 },
    #[error("the QR text of {chars} characters does not fit even version 40 at error correction M")]
    TooLongForAnyVersion { chars: usize },
    #[error("encoding the QR code failed: {0}")]
    Encoder(String),
}

/// The encoding mode of a segment of the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QrMode {
    Numeric,
    Alphanumeric,
    Byte,
    Kanji,
}

impl From<Mode> for QrMode {
    fn from(mode: Mode) -> QrMode {
        match mode {
            Mode::Numeric => QrMode::Numeric,
            Mode::Alphanumeric => QrMode::Alphanumeric,
            Mode::Byte => QrMode::Byte,
            Mode::Kanji => QrMode::Kanji,
        }
    }
}

/// An encoded QR symbol: its module matrix, version and the modes of its segments.
#[derive(Clone, PartialEq, Eq)]
pub struct QrSymbol {
    text: String,
    version: u8,
    modes: Vec<QrMode>,
    /// Modules per side, without the quiet zone.
    side: u32,
    /// `side × side` modules row by row from the top left; `true` is dark.
    dark: Vec<bool>,
}

impl fmt::Debug for QrSymbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QrSymbol")
            .field("text", &self.text)
            .field("version", &self.version)
            .field("modes", &self.modes)
            .field("side", &self.side)
            .finish_non_exhaustive()
    }
}

impl QrSymbol {
    /// Encodes `text` at error correction M in the smallest version that holds it, or
    /// fails with [`QrError::TooLong`], naming that version, when it is above
    /// `max_version`.
    pub fn encode(text: &str, max_version: u8) -> Result<QrSymbol, QrError> {
        if text.is_empty() {
            return Err(QrError::Empty);
        }
        if !(1..=MAX_QR_VERSION).contains(&max_version) {
            return Err(QrError::MaxVersionOutOfRange(max_version));
        }
        let chars = text.chars().count();
        let (version, bits, modes) = smallest_version(text)?;
        if version > max_version {
            return Err(QrError::TooLong {
                chars,
                needed: version,
                max: max_version,
            });
        }
        let code = qrcode::QrCode::with_bits(bits, EcLevel::M)
            .map_err(|error| QrError::Encoder(error.to_string()))?;
        let side = u32::try_from(code.width())
            .map_err(|_| QrError::Encoder("the symbol is impossibly wide".into()))?;
        let dark = code
            .into_colors()
            .into_iter()
            .map(|color| color == Color::Dark)
            .collect();
        Ok(QrSymbol {
            text: text.to_owned(),
            version,
            modes,
            side,
            dark,
        })
    }

    /// The encoded text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The version, 1–40: the symbol has `17 + 4 × version` modules per side.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The modes of the data segments, in order.
    pub fn modes(&self) -> &[QrMode] {
        &self.modes
    }

    /// Modules per side, without the quiet zone.
    pub fn side_modules(&self) -> u32 {
        self.side
    }

    /// Modules per side with the quiet zone on both sides.
    pub fn side_with_quiet_zone(&self) -> u32 {
        self.side + 2 * QUIET_ZONE_MODULES
    }

    /// Whether the module in column `x`, row `y` (from the top left, without the quiet
    /// zone) is dark; modules outside the symbol are light.
    pub fn is_dark(&self, x: u32, y: u32) -> bool {
        if x >= self.side || y >= self.side {
            return false;
        }
        let index = y as usize * self.side as usize + x as usize;
        self.dark.get(index).copied().unwrap_or(false)
    }

    /// The module matrix row by row from the top left, without the quiet zone; `true`
    /// is dark.
    pub fn matrix(&self) -> Vec<Vec<bool>> {
        self.dark
            .chunks(self.side as usize)
            .map(<[bool]>::to_vec)
            .collect()
    }

    /// The size of one module when the symbol with its quiet zone is `size_mm` wide.
    pub fn module_mm(&self, size_mm: f32) -> f32 {
        size_mm / self.side_with_quiet_zone() as f32
    }

    /// An SVG `<g>` element drawing the symbol with its quiet zone as a `size_mm` square
    /// whose top left corner is at (`x_mm`, `y_mm`), in a drawing whose user unit is
    /// the millimetre: a white square under the whole, then the dark modules as one
    /// path of horizontal runs, drawn with crisp edges.
    pub fn svg_element(&self, x_mm: f32, y_mm: f32, size_mm: f32) -> String {
        let module = self.module_mm(size_mm);
        let full = self.side_with_quiet_zone();
        let mut out = String::with_capacity(64 + self.dark.len() * 3);
        let _ = write!(
            out,
            r##"<g transform="translate({x_mm} {y_mm}) scale({module})" shape-rendering="crispEdges"><rect width="{full}" height="{full}" fill="#ffffff"/><path fill="#000000" d=""##
        );
        out.push_str(&self.path_data());
        out.push_str(r#""/></g>"#);
        out
    }

    /// A standalone SVG document of the symbol, `size_mm` wide and high.
    pub fn svg(&self, size_mm: f32) -> String {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{size_mm}mm" height="{size_mm}mm" viewBox="0 0 {size_mm} {size_mm}">{}</svg>"#,
            self.svg_element(0.0, 0.0, size_mm)
        )
    }

    /// Path data of the dark modules, one rectangle per horizontal run, in module units
    /// with the quiet zone's offset.
    fn path_data(&self) -> String {
        let mut d = String::new();
        for y in 0..self.side {
            let mut x = 0;
            while x < self.side {
                if !self.is_dark(x, y) {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < self.side && self.is_dark(x, y) {
                    x += 1;
                }
                let run = x - start;
                let _ = write!(
                    d,
                    "M{} {}h{run}v1h-{run}z",
                    start + QUIET_ZONE_MODULES,
                    y + QUIET_ZONE_MODULES
                );
            }
        }
        d
    }
}

/// The smallest version at level M that holds `text`, with the bits and the modes.
fn smallest_version(text: &str) -> Result<(u8, Bits, Vec<QrMode>), QrError> {
    let data = text.as_bytes();
    for version in 1..=MAX_QR_VERSION {
        let qr_version = Version::Normal(i16::from(version));
        let mut bits = Bits::new(qr_version);
        let modes: Vec<QrMode>;
        let pushed = if text.is_ascii() {
            let segments: Vec<_> = Parser::new(data).optimize(qr_version).collect();
            modes = segments.iter().map(|segment| segment.mode.into()).collect();
            bits.push_segments(data, segments.into_iter())
        } else {
            modes = vec![QrMode::Byte];
            bits.push_eci_designator(ECI_UTF8)
                .and_then(|()| bits.push_byte_data(data))
        };
        match pushed.and_then(|()| bits.push_terminator(EcLevel::M)) {
            Ok(()) => return Ok((version, bits, modes)),
            Err(qrcode::types::QrError::DataTooLong) => continue,
            Err(other) => return Err(QrError::Encoder(other.to_string())),
        }
    }
    Err(QrError::TooLongForAnyVersion {
        chars: text.chars().count(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_case_url_is_alphanumeric_and_small() {
        let symbol = QrSymbol::encode("HTTPS://SEAL.EXAMPLE.COM/V/ABCDEFGHIJKLMNOPQRSTUVWXYZ", 4)
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(symbol.modes(), &[QrMode::Alphanumeric]);
        // 53 characters: version 3 in alphanumeric mode (61 fit), 4 in byte mode.
        assert_eq!(symbol.version(), 3);
        assert_eq!(symbol.side_modules(), 29);
        assert_eq!(symbol.side_with_quiet_zone(), 37);
    }

    #[test]
    fn lower_case_falls_back_to_bytes() {
        let symbol = QrSymbol::encode("https://seal.example.com/v/abcdefghijklmnopqrstuvwxyz", 40)
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(symbol.modes().contains(&QrMode::Byte));
        assert_eq!(symbol.version(), 4);
    }

    #[test]
    fn errors_name_the_version_needed() {
        let text = "A".repeat(100);
        assert_eq!(
            QrSymbol::encode(&text, 4),
            Err(QrError::TooLong {
                chars: 100,
                needed: 5,
                max: 4
            })
        );
        assert_eq!(QrSymbol::encode("", 4), Err(QrError::Empty));
        assert_eq!(
            QrSymbol::encode("A", 41),
            Err(QrError::MaxVersionOutOfRange(41))
        );
        assert_eq!(
            QrSymbol::encode(&"a".repeat(3000), 40),
            Err(QrError::TooLongForAnyVersion { chars: 3000 })
        );
    }

    #[test]
    fn finder_patterns_sit_in_three_corners() {
        let symbol = QrSymbol::encode("SK1:ABC", 40).unwrap_or_else(|error| panic!("{error}"));
        let last = symbol.side_modules() - 1;
        for (x, y) in [(0, 0), (last, 0), (0, last)] {
            assert!(symbol.is_dark(x, y), "corner {x},{y}");
        }
        assert!(!symbol.is_dark(7, 7), "separator");
        assert!(!symbol.is_dark(symbol.side_modules(), 0), "outside");
        let matrix = symbol.matrix();
        assert_eq!(matrix.len(), symbol.side_modules() as usize);
        assert!(matrix[0][..7].iter().all(|&dark| dark));
    }

    #[test]
    fn svg_element_is_one_path_with_a_quiet_zone() {
        let symbol = QrSymbol::encode("HELLO", 1).unwrap_or_else(|error| panic!("{error}"));
        let element = symbol.svg_element(10.0, 5.0, 20.0);
        assert_eq!(element.matches("<path").count(), 1);
        assert!(element.contains("translate(10 5)"));
        assert!(element.contains(r#"<rect width="29" height="29""#));
        // The first run starts after the 4-module quiet zone.
        assert!(element.contains(r#"d="M4 4h7v1h-7z"#));
    }
}
