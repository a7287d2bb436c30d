//! The Code 128 barcode of a stamp's numeric code (数列密押): the digits in code set C
//! (one symbol for each pair of digits), encoded by the `barcoders` crate, and drawn
//! as an SVG element at a position and size in millimetres with quiet zones of ten
//! modules on each side.

use std::fmt::{self, Write as _};

/// Light modules on each side of the bars (ISO/IEC 15417 asks for at least ten).
pub const QUIET_ZONE_MODULES: u32 = 10;
/// Most digits a numeric code may have.
pub const MAX_DIGITS: usize = 48;

/// barcoders' marker for "start in (or switch to) code set C".
const SET_C: char = '\u{0106}';
/// barcoders' marker for "switch to code set B".
const SET_B: char = '\u{0181}';

/// Why a numeric code could not be made into a barcode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BarcodeError {
    #[error("the numeric code is empty")]
    Empty,
    #[error("the numeric code has {actual} digits; at most {max} are accepted")]
    TooLong { actual: usize, max: usize },
    #[error("the numeric code contains {ch:?} at position {position}; only digits 0–9 are allowed")]
    NotADigit { ch: char, position: usize },
    #[error("encoding the barcode failed: {0}")]
    Encoder(String),
}

/// Checks that `code` is a numeric code: 1 to [`MAX_DIGITS`] ASCII digits.
pub fn check_numeric_code(code: &str) -> Result<(), BarcodeError> {
    if code.is_empty() {
        return Err(BarcodeError::Empty);
    }
    if let Some((position, ch)) = code
        .chars()
        .enumerate()
        .find(|(_, ch)| !ch.is_ascii_digit())
    {
        return Err(BarcodeError::NotADigit { ch, position });
    }
    let actual = code.len();
    if actual > MAX_DIGITS {
        return Err(BarcodeError::TooLong {
            actual,
            max: MAX_DIGITS,
        });
    }
    Ok(())
}

/// A Code 128 symbol of a numeric code.
#[derive(Clone, PartialEq, Eq)]
pub struct Code128 {
    digits: String,
    /// Modules from the start symbol to the end of the stop pattern; `true` is a bar.
    modules: Vec<bool>,
}

impl fmt::Debug for Code128 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Code128")
            .field("digits", &self.digits)
            .field("modules", &self.modules.len())
            .finish()
    }
}

impl Code128 {
    /// Encodes a numeric code: start C, one symbol for each pair of digits, for an odd
    /// count a switch to code set B for the last digit, the modulo-103 check symbol and
    /// the stop pattern.
    pub fn numeric(digits: &str) -> Result<Code128, BarcodeError> {
        check_numeric_code(digits)?;
        let mut data = String::with_capacity(digits.len() + 4);
        data.push(SET_C);
        let even = digits.len() - digits.len() % 2;
        data.push_str(&digits[..even]);
        if even < digits.len() {
            data.push(SET_B);
            data.push_str(&digits[even..]);
        }
        let encoded = barcoders::sym::code128::Code128::new(&data)
            .map_err(|error| BarcodeError::Encoder(error.to_string()))?
            .encode();
        Ok(Code128 {
            digits: digits.to_owned(),
            modules: encoded.into_iter().map(|module| module == 1).collect(),
        })
    }

    /// The encoded digits.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// The bar pattern, one entry per module from the start symbol to the end of the
    /// stop pattern, without quiet zones; `true` is a bar.
    pub fn modules(&self) -> &[bool] {
        &self.modules
    }

    /// Width in modules with the quiet zones on both sides.
    pub fn width_with_quiet_zones(&self) -> u32 {
        self.modules.len() as u32 + 2 * QUIET_ZONE_MODULES
    }

    /// The bars as (first module, width in modules), counted from the start of the
    /// pattern (without the quiet zone).
    pub fn bars(&self) -> Vec<(u32, u32)> {
        let mut bars = Vec::new();
        let mut x = 0;
        let len = self.modules.len();
        while x < len {
            if !self.modules[x] {
                x += 1;
                continue;
            }
            let start = x;
            while x < len && self.modules[x] {
                x += 1;
            }
            bars.push((start as u32, (x - start) as u32));
        }
        bars
    }

    /// An SVG `<g>` element drawing the barcode with its quiet zones in a
    /// `width_mm` × `height_mm` box whose top left corner is at (`x_mm`, `y_mm`), in a
    /// drawing whose user unit is the millimetre: a white box, then the bars as one
    /// path, drawn with crisp edges.
    pub fn svg_element(&self, x_mm: f32, y_mm: f32, width_mm: f32, height_mm: f32) -> String {
        let module = self.module_mm(width_mm);
        let full = self.width_with_quiet_zones();
        let mut out = String::with_capacity(128 + self.modules.len() * 8);
        let _ = write!(
            out,
            r##"<g transform="translate({x_mm} {y_mm}) scale({module} {height_mm})" shape-rendering="crispEdges"><rect width="{full}" height="1" fill="#ffffff"/><path fill="#000000" d=""##
        );
        for (start, width) in self.bars() {
            let _ = write!(out, "M{} 0h{width}v1h-{width}z", start + QUIET_ZONE_MODULES);
        }
        out.push_str(r#""/></g>"#);
        out
    }

    /// The width of one module when the barcode with its quiet zones is `width_mm` wide.
    pub fn module_mm(&self, width_mm: f32) -> f32 {
        width_mm / self.width_with_quiet_zones() as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Code 128 patterns used below, from ISO/IEC 15417's symbol table, as bar and
    /// space widths.
    fn widths(pattern: &str) -> Vec<bool> {
        let mut modules = Vec::new();
        for (i, width) in pattern.chars().enumerate() {
            let n = width.to_digit(10).unwrap_or(0);
            for _ in 0..n {
                modules.push(i % 2 == 0);
            }
        }
        modules
    }

    #[test]
    fn twenty_digits_are_start_c_ten_pairs_check_and_stop() {
        let code = Code128::numeric("12345678901234567890").unwrap_or_else(|e| panic!("{e}"));
        // 12 symbols of 11 modules and the 13-module stop pattern.
        assert_eq!(code.modules().len(), 12 * 11 + 13);
        assert_eq!(code.width_with_quiet_zones(), 165);
        assert_eq!(
            &code.modules()[..11],
            widths("211232").as_slice(),
            "start C"
        );
        assert_eq!(
            &code.modules()[11..22],
            widths("112232").as_slice(),
            "value 12"
        );
        assert_eq!(
            &code.modules()[code.modules().len() - 13..],
            widths("2331112").as_slice(),
            "stop"
        );
        // Check symbol: (105 + Σ position × value) mod 103.
        let values = [12, 34, 56, 78, 90, 12, 34, 56, 78, 90];
        let sum: usize = 105
            + values
                .iter()
                .enumerate()
                .map(|(i, v)| (i + 1) * v)
                .sum::<usize>();
        assert_eq!(sum % 103, 76);
        // The check symbol is the symbol of value 76, which in code set C is "76".
        let seventy_six = Code128::numeric("76").unwrap_or_else(|e| panic!("{e}"));
        let check = &code.modules()[11 * 11..12 * 11];
        assert_eq!(check, &seventy_six.modules()[11..22], "check symbol");
    }

    #[test]
    fn odd_counts_end_in_code_set_b() {
        let code = Code128::numeric("123").unwrap_or_else(|e| panic!("{e}"));
        // Start C, "12", switch to B, "3", check, stop.
        assert_eq!(code.modules().len(), 5 * 11 + 13);
        assert_eq!(
            &code.modules()[22..33],
            widths("114131").as_slice(),
            "code B"
        );
    }

    #[test]
    fn only_digits_are_accepted() {
        assert_eq!(Code128::numeric(""), Err(BarcodeError::Empty));
        assert_eq!(
            Code128::numeric("12a4"),
            Err(BarcodeError::NotADigit {
                ch: 'a',
                position: 2
            })
        );
        assert_eq!(
            Code128::numeric("1234 5678"),
            Err(BarcodeError::NotADigit {
                ch: ' ',
                position: 4
            })
        );
        assert!(matches!(
            Code128::numeric(&"1".repeat(MAX_DIGITS + 1)),
            Err(BarcodeError::TooLong { .. })
        ));
    }

    #[test]
    fn bars_alternate_with_spaces() {
        let code = Code128::numeric("00").unwrap_or_else(|e| panic!("{e}"));
        let bars = code.bars();
        assert_eq!(bars.first(), Some(&(0, 2)));
        let svg = code.svg_element(1.0, 2.0, 30.0, 8.0);
        assert_eq!(svg.matches("<path").count(), 1);
        assert!(svg.contains("M10 0h2v1h-2z"));
    }
}
