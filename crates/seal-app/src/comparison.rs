//! Is the page on site the approved page? The comparison hook used before a seal printer
//! prints. **For now it is a stand-in** ([`StandInComparator`]): a perceptual difference
//! hash of the scan against the first-page thumbnail of each approved document. The
//! document-comparison issue replaces it with OCR and alignment (`seal-docs`); until then
//! it catches a different or blank page, not a changed digit.

use image::imageops::FilterType;

/// The outcome of comparing a capture with the approved documents.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub matched: bool,
    /// 0.0 (nothing alike) to 1.0 (identical), the best over the documents.
    pub score: f32,
    /// What decided, for the record and the alarm.
    pub method: &'static str,
}

/// Compares a captured page with the approved documents' first pages.
pub trait DocumentComparator: Send + Sync {
    /// `capture` is the scan (PNG or JPEG bytes); `approved` are first-page renders.
    fn compare(&self, capture: &[u8], approved: &[Vec<u8>]) -> Result<Comparison, String>;
}

/// THE STAND-IN: a 64-bit difference hash (dHash) per page, matched when the Hamming
/// distance is at most [`StandInComparator::MAX_DISTANCE`]. Replaced by the real
/// comparison engine of the document-comparison issue.
#[derive(Clone, Copy, Debug, Default)]
pub struct StandInComparator;

impl StandInComparator {
    /// Bits out of 64 that may differ for a match.
    pub const MAX_DISTANCE: u32 = 10;
    pub const METHOD: &'static str = "stand-in dhash";
}

/// The difference hash of an image: 9×8 grey pixels, one bit per horizontal step.
pub fn dhash(bytes: &[u8]) -> Result<u64, String> {
    let image = image::load_from_memory(bytes).map_err(|e| format!("not an image: {e}"))?;
    let small = image
        .grayscale()
        .resize_exact(9, 8, FilterType::Triangle)
        .to_luma8();
    let mut hash = 0u64;
    for y in 0..8 {
        for x in 0..8 {
            let left = small.get_pixel(x, y)[0];
            let right = small.get_pixel(x + 1, y)[0];
            hash = (hash << 1) | u64::from(left > right);
        }
    }
    Ok(hash)
}

impl DocumentComparator for StandInComparator {
    fn compare(&self, capture: &[u8], approved: &[Vec<u8>]) -> Result<Comparison, String> {
        let seen = dhash(capture)?;
        let mut best = 64u32;
        for page in approved {
            let distance = (dhash(page)? ^ seen).count_ones();
            best = best.min(distance);
        }
        Ok(Comparison {
            matched: best <= Self::MAX_DISTANCE,
            score: 1.0 - best as f32 / 64.0,
            method: Self::METHOD,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageFormat, Rgb, RgbImage};

    fn page(seed: u32, dark: u8) -> Vec<u8> {
        let mut img = RgbImage::from_pixel(200, 280, Rgb([255, 255, 255]));
        for y in 0..280u32 {
            for x in 0..200u32 {
                if (y / 20 + seed).is_multiple_of(3) && (x * (seed + 1) / 37).is_multiple_of(2) {
                    img.put_pixel(x, y, Rgb([dark, dark, dark]));
                }
            }
        }
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn same_page_matches_and_a_different_page_does_not() {
        let approved = vec![page(1, 0)];
        let c = StandInComparator;
        assert!(c.compare(&page(1, 0), &approved).unwrap().matched);
        // A slightly lighter print of the same page still matches.
        assert!(c.compare(&page(1, 40), &approved).unwrap().matched);
        let other = c.compare(&page(2, 0), &approved).unwrap();
        assert!(!other.matched, "{other:?}");
        assert!(c.compare(b"not an image", &approved).is_err());
        assert!(
            !c.compare(&page(1, 0), &[]).unwrap().matched,
            "no approved page, no match"
        );
    }
}
