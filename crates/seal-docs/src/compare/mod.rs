//! Is the page on site the approved page? The comparison engine: approved documents are
//! analysed once ([`Engine::approve`]); each capture (a phone photo or a scan) is
//! cleaned ([`crate::capture`]), read by OCR, matched to the approved page it shows,
//! aligned character by character with it, and every difference that matters (a digit,
//! a name, a clause, a line, another page, a blank page) is reported with its boxes on
//! both pages and drawn on a side-by-side image. Pages with little text are also
//! compared by their ink.
//!
//! The decision is `match`, `mismatch` or `uncertain` (too noisy to tell: ask a person);
//! [`Thresholds`] tune it per organisation.

pub mod approved;
pub mod lines;
pub mod text;
pub mod visual;

use std::sync::Arc;
use std::time::{Duration, Instant};

use image::{GrayImage, RgbImage};

pub use approved::{ApprovedDocument, ApprovedLimits, ApprovedPage, TextSource};
use text::{Alignment, PageText, Weighing, Weight, align};
use visual::{Affine, Mark, fit_affine, ink_differences, side_by_side, warp_into};

use crate::capture::{self, CaptureError, CaptureOptions, Prepared, RedMap};
use crate::page::{PixelBox, Point, ReadError, TextLine, TextReader};

/// Why a comparison could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// The bytes are not an image or PDF we can read.
    #[error("unreadable document: {0}")]
    Unreadable(String),
    /// The image is larger than allowed.
    #[error("the image has {pixels} pixels, more than the {limit} allowed")]
    TooLarge { pixels: u64, limit: u64 },
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("preparing the capture failed: {0}")]
    Capture(#[from] CaptureError),
    /// Nothing to compare with.
    #[error("no approved page to compare with")]
    NothingApproved,
}

/// The decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    Match,
    Mismatch,
    /// Too unsure to say: a person should look.
    Uncertain,
}

impl Verdict {
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Match => "match",
            Verdict::Mismatch => "mismatch",
            Verdict::Uncertain => "uncertain",
        }
    }

    pub fn parse(s: &str) -> Option<Verdict> {
        match s {
            "match" => Some(Verdict::Match),
            "mismatch" => Some(Verdict::Mismatch),
            "uncertain" => Some(Verdict::Uncertain),
            _ => None,
        }
    }
}

/// What kind of difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DifferenceKind {
    /// Text on both pages, not the same.
    Changed,
    /// Text on the approved page, not on the capture.
    Deleted,
    /// Text on the capture, not on the approved page.
    Inserted,
    /// The capture shows no approved page.
    OtherPage,
    /// The capture is an empty or nearly empty page.
    Blank,
    /// Ink differs where there is little or no text (tables, signatures, drawings).
    Visual,
}

impl DifferenceKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            DifferenceKind::Changed => "changed",
            DifferenceKind::Deleted => "deleted",
            DifferenceKind::Inserted => "inserted",
            DifferenceKind::OtherPage => "other_page",
            DifferenceKind::Blank => "blank",
            DifferenceKind::Visual => "visual",
        }
    }
}

/// One difference, with where it is on each page (pixels of the approved page's image
/// and of the prepared capture).
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    pub kind: DifferenceKind,
    /// Whether it changes what the page says (else: perhaps a misreading).
    pub material: bool,
    pub approved_text: String,
    pub captured_text: String,
    pub approved_boxes: Vec<PixelBox>,
    pub captured_boxes: Vec<PixelBox>,
    /// Why it was weighed so.
    pub reason: &'static str,
}

/// The tuning of decisions (per organisation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// Text similarity under which the capture is another page.
    pub other_page_below: f32,
    /// Text similarity under which, with no material difference, the answer is uncertain.
    pub match_at_least: f32,
    /// Differences that might be misreadings, per 100 characters, above which the
    /// answer is uncertain.
    pub minor_per_100: f32,
    /// A capture with fewer characters than this (and an approved page with many
    /// more) is a blank page.
    pub blank_chars_below: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            other_page_below: 0.5,
            match_at_least: 0.85,
            minor_per_100: 3.0,
            blank_chars_below: 12,
        }
    }
}

impl Thresholds {
    /// Whether the values make sense together.
    pub fn validate(&self) -> Result<(), String> {
        let unit = |v: f32| (0.0..=1.0).contains(&v);
        if !unit(self.other_page_below) || !unit(self.match_at_least) {
            return Err("similarities are between 0 and 1".into());
        }
        if self.other_page_below > self.match_at_least {
            return Err("the other-page similarity must not exceed the match similarity".into());
        }
        if !(0.0..=100.0).contains(&self.minor_per_100) {
            return Err("misreadings per 100 characters are between 0 and 100".into());
        }
        if self.blank_chars_below > 10_000 {
            return Err("the blank-page character count is at most 10000".into());
        }
        Ok(())
    }
}

/// Time spent, for the record and the benchmark.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timings {
    pub prepare: Duration,
    pub read: Duration,
    pub compare: Duration,
}

/// What a comparison found.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub verdict: Verdict,
    /// Text similarity with the best approved page, 0.0 to 1.0.
    pub score: f32,
    /// The capture is an empty or nearly empty page.
    pub blank: bool,
    /// The approved document and page the capture was matched to (indexes into the
    /// documents given and their pages); `None` when it shows none of them.
    pub document: Option<usize>,
    pub page: Option<usize>,
    pub source: Option<TextSource>,
    pub differences: Vec<Difference>,
    /// Significant characters read on the capture.
    pub captured_chars: usize,
    pub ink_ratio: f32,
    pub red_ratio: f32,
    /// The approved page and the capture side by side, differences boxed (PNG).
    pub diff_png: Vec<u8>,
    pub timings: Timings,
    /// When only the lines whose ink differs from the approved page were read (see
    /// [`lines`]): how many were read, of how many lines on that page. `None` when the
    /// capture was read whole.
    pub lines_read: Option<LinesRead>,
}

/// Lines read by OCR, and the lines of the approved page, when a capture was read only
/// where its ink differs.
pub type LinesRead = (usize, usize);

/// Options of the engine.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    pub capture: CaptureOptions,
    pub approved: ApprovedLimits,
    pub weighing: Weighing,
    /// Pixels of a decoded capture, at most.
    pub max_capture_pixels: u64,
    /// The longest a character alignment may take.
    pub align_deadline: Duration,
    /// Height of the side-by-side image.
    pub diff_height: u32,
    /// Read only the lines of a capture whose ink differs from the approved page's
    /// (falling back to reading it whole when that is not sound; see [`lines`]).
    /// Off by default: see docs/comparison.md.
    pub read_changed_lines: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            capture: CaptureOptions::default(),
            approved: ApprovedLimits::default(),
            weighing: Weighing::default(),
            max_capture_pixels: 50_000_000,
            align_deadline: Duration::from_millis(250),
            diff_height: 1000,
            // Off until line crops read as well as detected lines: with lines that
            // have digits recognised from their place, genuine pages raised false
            // alarms (22 of 92 in the benchmark, against 4 of 118 read whole).
            read_changed_lines: false,
        }
    }
}

/// The comparison engine: a text reader (the OCR engine) and the options. Cheap to
/// share; every method may be called from many threads at once.
#[derive(Clone)]
pub struct Engine {
    reader: Arc<dyn TextReader>,
    options: EngineOptions,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// A page's ink share above which an approved page counts as having content.
const CONTENT_INK: f32 = 0.004;

impl Engine {
    pub fn new(reader: Arc<dyn TextReader>, options: EngineOptions) -> Engine {
        Engine { reader, options }
    }

    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// Analyses an approved document (PDF, PNG or JPEG bytes) once, for any number of
    /// comparisons.
    pub fn approve(&self, bytes: &[u8]) -> Result<ApprovedDocument, CompareError> {
        approved::analyse(
            bytes,
            self.reader.as_ref(),
            &self.options.capture,
            &self.options.approved,
        )
    }

    /// Compares a capture (PNG or JPEG bytes) with the approved documents.
    pub fn compare(
        &self,
        capture: &[u8],
        approved: &[&ApprovedDocument],
        thresholds: &Thresholds,
    ) -> Result<Outcome, CompareError> {
        let image = decode(capture, self.options.max_capture_pixels)?;
        self.compare_image(&image, approved, thresholds)
    }

    /// [`Engine::compare`] for a decoded capture.
    pub fn compare_image(
        &self,
        capture: &RgbImage,
        approved: &[&ApprovedDocument],
        thresholds: &Thresholds,
    ) -> Result<Outcome, CompareError> {
        if approved.iter().all(|d| d.pages.is_empty()) {
            return Err(CompareError::NothingApproved);
        }
        let mut timings = Timings::default();
        let started = Instant::now();
        let prepared = capture::prepare(capture, &self.options.capture)?;
        timings.prepare = started.elapsed();
        let started = Instant::now();
        let captured_image = image::imageops::grayscale(&prepared.page);
        let (lines, lines_read) = self.read_capture(&prepared, &captured_image, approved)?;
        timings.read = started.elapsed();
        let started = Instant::now();
        let captured = PageText::new(lines);
        let mut outcome = self.decide(
            &captured,
            &captured_image,
            (prepared.ink_ratio, &prepared.red_map),
            approved,
            thresholds,
        );
        outcome.red_ratio = prepared.red_ratio;
        outcome.lines_read = lines_read;
        timings.compare = started.elapsed();
        outcome.timings = timings;
        Ok(outcome)
    }

    /// The capture's text lines. When the capture shows an approved page line for line
    /// ([`lines::LineCheck::usable`]), the lines whose ink has the approved shape keep
    /// the approved text and only the others are read; else the capture is read whole.
    /// Also says how many lines were read of how many, when only some were.
    fn read_capture(
        &self,
        prepared: &Prepared,
        gray: &GrayImage,
        approved: &[&ApprovedDocument],
    ) -> Result<(Vec<TextLine>, Option<LinesRead>), ReadError> {
        if self.options.read_changed_lines
            && let Some(page) = likeliest_page(gray, approved)
        {
            let check = lines::check(&page.image, &page.text.lines, gray, &prepared.red_map);
            if check.usable() {
                // Lines with digits are read whatever their ink: one digit changed for
                // a look-alike (2025 for 2026, 5 for 6) can keep a window's correlation
                // above the line check's threshold.
                let differing: Vec<usize> = (0..check.lines.len())
                    .filter(|&i| !check.lines[i].same() || has_any_digit(&page.text.lines[i].text))
                    .collect();
                let (w, h) = gray.dimensions();
                let boxes: Vec<PixelBox> = differing
                    .iter()
                    .map(|&i| widened(&check, i, w as f32, h as f32))
                    .collect();
                let mut read = self.reader.read_lines(&prepared.page, &boxes)?.into_iter();
                let mut out = Vec::with_capacity(page.text.lines.len());
                for (i, (line, fit)) in page.text.lines.iter().zip(&check.lines).enumerate() {
                    if !differing.contains(&i) {
                        out.push(TextLine {
                            text: line.text.clone(),
                            score: line.score,
                            quad: fit.captured.corners(),
                        });
                    } else if let Some(found) = read.next()
                        && !found.text.trim().is_empty()
                    {
                        out.push(found);
                    }
                }
                return Ok((out, Some((differing.len(), check.lines.len()))));
            }
        }
        Ok((self.reader.read(&prepared.page)?, None))
    }

    /// The decision for a capture already read.
    fn decide(
        &self,
        captured: &PageText,
        captured_image: &GrayImage,
        (ink_ratio, red_map): (f32, &RedMap),
        approved: &[&ApprovedDocument],
        thresholds: &Thresholds,
    ) -> Outcome {
        let captured_chars = captured.significant();
        // Candidates: every approved page, best by a cheap letter-count likeness first,
        // then aligned (at most three).
        let mut candidates: Vec<(f32, usize, usize)> = Vec::new();
        for (d, document) in approved.iter().enumerate() {
            for (p, page) in document.pages.iter().enumerate() {
                candidates.push((bag_similarity(&page.text, captured), d, p));
            }
        }
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut best: Option<(Alignment, usize, usize)> = None;
        for &(_, d, p) in candidates.iter().take(3) {
            let page = &approved[d].pages[p];
            let alignment = align(
                &page.text,
                captured,
                &self.options.weighing,
                self.options.align_deadline,
            );
            if best
                .as_ref()
                .is_none_or(|(b, _, _)| alignment.similarity > b.similarity)
            {
                best = Some((alignment, d, p));
            }
        }
        let mut outcome = Outcome {
            verdict: Verdict::Mismatch,
            score: 0.0,
            blank: false,
            document: None,
            page: None,
            source: None,
            differences: Vec::new(),
            captured_chars,
            ink_ratio,
            red_ratio: 0.0,
            diff_png: Vec::new(),
            timings: Timings::default(),
            lines_read: None,
        };
        let Some((alignment, d, p)) = best else {
            return outcome;
        };
        let page = &approved[d].pages[p];
        let approved_chars = page.text.significant();
        outcome.score = alignment.similarity;
        let diff_height = self.options.diff_height;

        // A blank capture where the approved page has content.
        let approved_has_content =
            approved_chars >= 3 * thresholds.blank_chars_below || page.ink_ratio > CONTENT_INK;
        if captured_chars < thresholds.blank_chars_below
            && approved_has_content
            && approved_chars > captured_chars * 3
        {
            outcome.blank = true;
            outcome.document = Some(d);
            outcome.page = Some(p);
            outcome.source = Some(page.source);
            outcome.differences.push(Difference {
                kind: DifferenceKind::Blank,
                material: true,
                approved_text: String::new(),
                captured_text: captured.string(0..captured.chars.len()),
                approved_boxes: Vec::new(),
                captured_boxes: Vec::new(),
                reason: "the capture is an empty or nearly empty page",
            });
            outcome.diff_png = side_by_side(&page.image, captured_image, &[], &[], diff_height);
            return outcome;
        }

        // The map from the capture to the approved page, from the characters they share.
        let map = page_map(&page.text, captured, &alignment);
        let text_rich = approved_chars >= 40 || captured_chars >= 40;
        if text_rich && alignment.similarity < thresholds.other_page_below {
            outcome.differences.push(Difference {
                kind: DifferenceKind::OtherPage,
                material: true,
                approved_text: String::new(),
                captured_text: String::new(),
                approved_boxes: Vec::new(),
                captured_boxes: Vec::new(),
                reason: "the capture's text is not that of any approved page",
            });
            outcome.diff_png = side_by_side(&page.image, captured_image, &[], &[], diff_height);
            return outcome;
        }
        outcome.document = Some(d);
        outcome.page = Some(p);
        outcome.source = Some(page.source);

        let aligned_capture = map
            .filter(Affine::plausible)
            .map(|m| warp_into(captured_image, &m, page.image.width(), page.image.height()));
        let mut minor = 0usize;
        for hunk in &alignment.hunks {
            if hunk.weight == Weight::Mark {
                continue;
            }
            let approved_text = page.text.string(hunk.approved.clone());
            let captured_text = captured.string(hunk.captured.clone());
            let mut approved_boxes = page.text.boxes(hunk.approved.clone());
            let mut captured_boxes = captured.boxes(hunk.captured.clone());
            let kind = match (hunk.approved.is_empty(), hunk.captured.is_empty()) {
                (false, true) => DifferenceKind::Deleted,
                (true, false) => DifferenceKind::Inserted,
                _ => DifferenceKind::Changed,
            };
            let mut material = hunk.weight == Weight::Material;
            let mut reason = hunk.reason;
            // Text only the capture has, read where a seal was pressed: the seal's own
            // words and numbers, which the red-ink removal thinned but did not erase.
            // Text changed under a seal (a date, an amount) stays material.
            if material
                && kind == DifferenceKind::Inserted
                && red_share(red_map, &captured_boxes) >= SEAL_RED_SHARE
            {
                material = false;
                reason = "text read in a seal impression";
            }
            // Text that one side has and the other seems not to: if the other page has
            // ink just there, the reader missed it (a misreading, not a change).
            if material
                && kind != DifferenceKind::Changed
                && let (Some(map), Some(aligned)) = (map, aligned_capture.as_ref())
            {
                let (has, other_ink) = if kind == DifferenceKind::Deleted {
                    (&page.image, aligned)
                } else {
                    // Inserted: its boxes, mapped onto the approved page.
                    approved_boxes = captured_boxes.iter().map(|b| map.map_box(b)).collect();
                    (aligned, &page.image)
                };
                let here = ink_in(has, &approved_boxes);
                let there = ink_in(other_ink, &approved_boxes);
                // The same ink, not just some ink: an inserted line moves the lines below
                // it, so the other page has text there too, but other text.
                let same_shape = !approved_boxes.is_empty()
                    && approved_boxes
                        .iter()
                        .map(|b| glyph_likeness(has, other_ink, b))
                        .fold(f32::INFINITY, f32::min)
                        >= SAME_INK;
                if here > 0.0 && there >= 0.5 * here && same_shape {
                    material = false;
                    reason = "text the reader missed on one page (the same ink is on both)";
                }
            }
            // One Han character read differently on a line that otherwise agrees: when
            // the ink in that place has the same shape on both pages, the reader erred
            // (同/国, 参/叁); a changed character has a different shape.
            if material
                && kind == DifferenceKind::Changed
                && approved_text.chars().count() == 1
                && captured_text.chars().count() == 1
                && !has_digit(&approved_text)
                && !has_digit(&captured_text)
                && let (Some(aligned), [b]) = (aligned_capture.as_ref(), approved_boxes.as_slice())
                && glyph_likeness(&page.image, aligned, b) >= SAME_GLYPH
            {
                material = false;
                reason = "the same shape of ink on both pages: a misreading";
            }
            if kind == DifferenceKind::Deleted
                && let Some(back) = map.and_then(|m| m.inverse())
            {
                captured_boxes = approved_boxes.iter().map(|b| back.map_box(b)).collect();
            }
            if !material {
                minor += approved_text
                    .chars()
                    .count()
                    .max(captured_text.chars().count());
            }
            outcome.differences.push(Difference {
                kind,
                material,
                approved_text,
                captured_text,
                approved_boxes,
                captured_boxes,
                reason,
            });
        }
        // Pages with little text: their ink decides.
        if !text_rich {
            match aligned_capture.as_ref() {
                Some(aligned) => {
                    for b in ink_differences(&page.image, aligned, 64, 0.12) {
                        let back = map.and_then(|m| m.inverse());
                        outcome.differences.push(Difference {
                            kind: DifferenceKind::Visual,
                            material: true,
                            approved_text: String::new(),
                            captured_text: String::new(),
                            approved_boxes: vec![b],
                            captured_boxes: back.map(|m| vec![m.map_box(&b)]).unwrap_or_default(),
                            reason: "the ink differs here",
                        });
                    }
                }
                None => {
                    // Too little shared text to align the pages: compare as they are.
                    let resized = image::imageops::resize(
                        captured_image,
                        page.image.width(),
                        page.image.height(),
                        image::imageops::FilterType::Triangle,
                    );
                    for b in ink_differences(&page.image, &resized, 64, 0.12) {
                        outcome.differences.push(Difference {
                            kind: DifferenceKind::Visual,
                            material: false,
                            approved_text: String::new(),
                            captured_text: String::new(),
                            approved_boxes: vec![b],
                            captured_boxes: Vec::new(),
                            reason: "the ink may differ here (the pages could not be aligned)",
                        });
                        minor += 10;
                    }
                }
            }
        }
        let material = outcome.differences.iter().any(|d| d.material);
        let minor_rate = 100.0 * minor as f32 / approved_chars.max(captured_chars).max(1) as f32;
        outcome.verdict = if material {
            Verdict::Mismatch
        } else if (text_rich && alignment.similarity < thresholds.match_at_least)
            || minor_rate > thresholds.minor_per_100
            || alignment.cut_short
        {
            Verdict::Uncertain
        } else {
            Verdict::Match
        };
        let marks = |boxes: fn(&Difference) -> &Vec<PixelBox>| -> Vec<Mark> {
            outcome
                .differences
                .iter()
                .flat_map(|d| {
                    boxes(d).iter().map(|b| Mark {
                        rect: *b,
                        material: d.material,
                    })
                })
                .collect()
        };
        let left = marks(|d| &d.approved_boxes);
        let right = marks(|d| &d.captured_boxes);
        outcome.diff_png = side_by_side(&page.image, captured_image, &left, &right, diff_height);
        outcome
    }
}

/// Correlation of the ink at which text one reader missed is taken to be on both pages.
const SAME_INK: f32 = 0.6;

/// Correlation of the ink at which one character is taken for the same glyph. Measured on
/// the benchmark corpus's photos: a character misread as a similar one (同/国, 参/叁, 厦/复,
/// 予/子) correlates 0.71–0.89 with itself on the approved page; with its neighbour, a
/// different character, −0.01–0.62.
const SAME_GLYPH: f32 = 0.68;

/// How alike the ink of `a` and `b` is in `bx` (both in the same frame): the best
/// normalised cross-correlation of the box, grown by a fifth, over shifts of up to a
/// fifth of its height (the boxes of single characters are estimates).
fn glyph_likeness(a: &GrayImage, b: &GrayImage, bx: &PixelBox) -> f32 {
    let grow = bx.height.max(bx.width) * 0.2;
    let (w, h) = (
        a.width().min(b.width()) as i64,
        a.height().min(b.height()) as i64,
    );
    let x0 = ((bx.x - grow).floor() as i64).max(0);
    let y0 = ((bx.y - grow).floor() as i64).max(0);
    let x1 = ((bx.right() + grow).ceil() as i64).min(w);
    let y1 = ((bx.bottom() + grow).ceil() as i64).min(h);
    if x1 - x0 < 4 || y1 - y0 < 4 {
        return 0.0;
    }
    let reach = ((bx.height * 0.2).round() as i64).clamp(1, 8);
    let px = |img: &GrayImage, x: i64, y: i64| -> f32 {
        if x < 0 || y < 0 || x >= w || y >= h {
            255.0
        } else {
            f32::from(img.get_pixel(x as u32, y as u32).0[0])
        }
    };
    let mut best = -1.0f32;
    for dy in -reach..=reach {
        for dx in -reach..=reach {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab, mut n) =
                (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
            for y in y0..y1 {
                for x in x0..x1 {
                    let va = f64::from(px(a, x, y));
                    let vb = f64::from(px(b, x + dx, y + dy));
                    sa += va;
                    sb += vb;
                    saa += va * va;
                    sbb += vb * vb;
                    sab += va * vb;
                    n += 1.0;
                }
            }
            let cov = sab - sa * sb / n;
            let var = (saa - sa * sa / n) * (sbb - sb * sb / n);
            if var > 1e-6 {
                best = best.max((cov / var.sqrt()) as f32);
            }
        }
    }
    best
}

/// A box of text this much covered by red ink lies in a seal impression.
const SEAL_RED_SHARE: f32 = 0.08;

/// Whether `text` has a digit, full-width ones included.
fn has_any_digit(text: &str) -> bool {
    text.chars()
        .filter_map(text::normalise)
        .any(|c| c.is_ascii_digit())
}

fn has_digit(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_digit())
}

/// The share of red ink in `boxes` of the prepared capture.
fn red_share(map: &RedMap, boxes: &[PixelBox]) -> f32 {
    let (mut red, mut area) = (0.0f32, 0.0f32);
    for b in boxes {
        let a = b.width.max(0.0) * b.height.max(0.0);
        red += map.share(b.x, b.y, b.right(), b.bottom()) * a;
        area += a;
    }
    if area > 0.0 { red / area } else { 0.0 }
}

/// The share of dark pixels inside `boxes` of `image`.
fn ink_in(image: &GrayImage, boxes: &[PixelBox]) -> f32 {
    let (w, h) = image.dimensions();
    let (mut dark, mut all) = (0u64, 0u64);
    for b in boxes {
        let x0 = b.x.max(0.0) as u32;
        let y0 = b.y.max(0.0) as u32;
        let x1 = (b.right().max(0.0) as u32).min(w);
        let y1 = (b.bottom().max(0.0) as u32).min(h);
        for y in y0..y1 {
            for x in x0..x1 {
                all += 1;
                dark += u64::from(image.get_pixel(x, y).0[0] < 150);
            }
        }
    }
    if all == 0 {
        0.0
    } else {
        dark as f32 / all as f32
    }
}

/// The affine map from the capture's pixels to the approved page's, fitted on the
/// centres of the characters the alignment paired (every fourth, enough and quick).
fn page_map(approved: &PageText, captured: &PageText, alignment: &Alignment) -> Option<Affine> {
    let centre = |text: &PageText, i: usize| -> Option<Point> {
        let p = text.chars.get(i)?;
        let line = text.lines.get(p.line)?;
        Some(line.bounds().part(p.at, p.at + 1, p.of).center())
    };
    let pairs: Vec<(Point, Point)> = alignment
        .equal
        .iter()
        .step_by(4)
        .filter_map(|&(i, j)| Some((centre(captured, j)?, centre(approved, i)?)))
        .collect();
    let first = fit_affine(&pairs)?;
    // Once more without the pairs the first fit explains worst (misaligned lines).
    let mut errors: Vec<f32> = pairs
        .iter()
        .map(|(c, a)| {
            let m = first.apply(*c);
            (m.x - a.x).hypot(m.y - a.y)
        })
        .collect();
    let mut sorted = errors.clone();
    sorted.sort_by(f32::total_cmp);
    let cut = sorted[sorted.len() * 8 / 10].max(2.0);
    let kept: Vec<(Point, Point)> = pairs
        .iter()
        .zip(errors.drain(..))
        .filter(|(_, e)| *e <= cut)
        .map(|(p, _)| *p)
        .collect();
    fit_affine(&kept).or(Some(first))
}

/// The approved page a capture most looks like, by the correlation of small copies of
/// the two (`None` when no approved page has text lines).
fn likeliest_page<'a>(
    gray: &GrayImage,
    approved: &[&'a ApprovedDocument],
) -> Option<&'a ApprovedPage> {
    let pages: Vec<&ApprovedPage> = approved
        .iter()
        .flat_map(|d| d.pages.iter())
        .filter(|p| !p.text.lines.is_empty())
        .collect();
    if pages.len() <= 1 {
        return pages.first().copied();
    }
    let small = |img: &GrayImage| {
        image::imageops::resize(img, 96, 136, image::imageops::FilterType::Triangle)
    };
    let capture = small(gray);
    pages
        .into_iter()
        .map(|p| (correlation(&small(&p.image), &capture), p))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, p)| p)
}

/// The correlation of two grey images of the same size.
fn correlation(a: &GrayImage, b: &GrayImage) -> f32 {
    let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.as_raw().iter().zip(b.as_raw()) {
        let (x, y) = (f64::from(x), f64::from(y));
        sa += x;
        sb += y;
        saa += x * x;
        sbb += y * y;
        sab += x * y;
    }
    let n = a.as_raw().len().min(b.as_raw().len()).max(1) as f64;
    let var = (saa - sa * sa / n) * (sbb - sb * sb / n);
    if var <= 1e-9 {
        0.0
    } else {
        ((sab - sa * sb / n) / var.sqrt()) as f32
    }
}

/// Line `i`'s box in the capture, widened by its height on each side (a changed amount
/// may be longer), though not into another line of its row, to be read.
fn widened(check: &lines::LineCheck, i: usize, w: f32, h: f32) -> PixelBox {
    let b = check.lines[i].captured;
    let (mut x0, mut x1) = ((b.x - b.height).max(0.0), (b.right() + b.height).min(w));
    for (j, other) in check.lines.iter().enumerate() {
        let o = other.captured;
        let overlap = b.bottom().min(o.bottom()) - b.y.max(o.y);
        if j == i || overlap < 0.5 * b.height.min(o.height) {
            continue;
        }
        if o.x >= b.right() {
            x1 = x1.min(o.x - 2.0);
        } else if o.right() <= b.x {
            x0 = x0.max(o.right() + 2.0);
        }
    }
    PixelBox {
        x: x0.min(b.x),
        y: b.y.max(0.0),
        width: x1.max(b.right()) - x0.min(b.x),
        height: b.height.min(h - b.y.max(0.0)),
    }
}

/// A quick likeness of two texts: shared letters (as multisets) over all letters.
fn bag_similarity(a: &PageText, b: &PageText) -> f32 {
    use std::collections::HashMap;
    let mut counts: HashMap<char, i64> = HashMap::new();
    let mut total = 0i64;
    for p in &a.chars {
        if text::CharClass::of(p.c) != text::CharClass::Mark {
            *counts.entry(p.c).or_default() += 1;
            total += 1;
        }
    }
    let mut shared = 0i64;
    for p in &b.chars {
        if text::CharClass::of(p.c) != text::CharClass::Mark {
            total += 1;
            if let Some(n) = counts.get_mut(&p.c)
                && *n > 0
            {
                *n -= 1;
                shared += 1;
            }
        }
    }
    if total == 0 {
        1.0
    } else {
        (2 * shared) as f32 / total as f32
    }
}

/// Decodes PNG or JPEG bytes to RGB within a pixel limit.
pub(crate) fn decode(bytes: &[u8], max_pixels: u64) -> Result<RgbImage, CompareError> {
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| CompareError::Unreadable(e.to_string()))?;
    match reader.format() {
        Some(image::ImageFormat::Png | image::ImageFormat::Jpeg) => {}
        _ => {
            return Err(CompareError::Unreadable(
                "not a PDF, PNG or JPEG file".into(),
            ));
        }
    }
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| CompareError::Unreadable(e.to_string()))?;
    let pixels = u64::from(w) * u64::from(h);
    if pixels > max_pixels {
        return Err(CompareError::TooLarge {
            pixels,
            limit: max_pixels,
        });
    }
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| CompareError::Unreadable(e.to_string()))?;
    let decoded = reader
        .decode()
        .map_err(|e| CompareError::Unreadable(e.to_string()))?;
    Ok(decoded.into_rgb8())
}
