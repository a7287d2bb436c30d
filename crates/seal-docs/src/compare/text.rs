//! The text side of the comparison: both pages' lines become one sequence of normalised
//! characters (each remembering its line and place), the two sequences are aligned
//! (Myers, via `similar`), and the differing stretches are grouped into hunks and
//! weighed: a changed digit or name matters, a misread comma does not.

use std::time::{Duration, Instant};

use similar::{Algorithm, DiffTag};

use crate::page::{PixelBox, TextLine};

/// What kind of character, for weighing a difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CharClass {
    Digit,
    /// Han characters (and other non-Latin letters).
    Han,
    Latin,
    /// Punctuation and symbols: never a difference that matters on its own.
    Mark,
}

impl CharClass {
    pub fn of(c: char) -> CharClass {
        if c.is_ascii_digit() {
            CharClass::Digit
        } else if c.is_ascii_alphabetic() {
            CharClass::Latin
        } else if c.is_alphanumeric() {
            // Han, kana, hangul, accented Latin: letters that OCR reads whole.
            CharClass::Han
        } else {
            CharClass::Mark
        }
    }
}

/// One normalised character of a page and where it came from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PageChar {
    pub c: char,
    pub line: usize,
    /// Its index among the line's kept characters, and their count.
    pub at: usize,
    pub of: usize,
}

/// A page's text as one sequence.
#[derive(Clone, Debug, Default)]
pub struct PageText {
    pub chars: Vec<PageChar>,
    pub lines: Vec<TextLine>,
}

/// The normal form of one character, or `None` for characters left out (spaces):
/// full-width ASCII to ASCII, Chinese punctuation to its ASCII look-alike, Latin to
/// lower case, the yuan signs to one.
pub fn normalise(c: char) -> Option<char> {
    let c = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '、' | '､' => ',',
        '。' | '｡' => '.',
        '【' | '〔' => '[',
        '】' | '〕' => ']',
        '「' | '」' | '『' | '』' | '“' | '”' | '〝' | '〞' => '"',
        '‘' | '’' | '`' | '´' => '\'',
        '—' | '–' | '―' | '‐' | '‑' | '─' => '-',
        '￥' => '¥',
        '《' => '<',
        '》' => '>',
        _ => c,
    };
    if c.is_whitespace() || c == '\u{3000}' || c == '\u{200B}' {
        return None;
    }
    Some(c.to_ascii_lowercase())
}

impl PageText {
    /// The text of `lines` (already in reading order).
    pub fn new(lines: Vec<TextLine>) -> PageText {
        let mut chars = Vec::new();
        for (index, line) in lines.iter().enumerate() {
            let kept: Vec<char> = line.text.chars().filter_map(normalise).collect();
            let of = kept.len();
            chars.extend(kept.into_iter().enumerate().map(|(at, c)| PageChar {
                c,
                line: index,
                at,
                of,
            }));
        }
        PageText { chars, lines }
    }

    /// How many characters count (not marks).
    pub fn significant(&self) -> usize {
        self.chars
            .iter()
            .filter(|p| CharClass::of(p.c) != CharClass::Mark)
            .count()
    }

    /// The box of `range` of the characters, on the line of its first character (a
    /// range over several lines gives the box around all their parts).
    pub fn boxes(&self, range: std::ops::Range<usize>) -> Vec<PixelBox> {
        let mut out: Vec<(usize, usize, usize)> = Vec::new(); // line, start, end
        for p in &self.chars[range] {
            match out.last_mut() {
                Some((line, _, end)) if *line == p.line => *end = p.at + 1,
                _ => out.push((p.line, p.at, p.at + 1)),
            }
        }
        out.into_iter()
            .filter_map(|(line, start, end)| {
                let l = self.lines.get(line)?;
                let of = self.chars.iter().find(|p| p.line == line).map(|p| p.of)?;
                Some(l.bounds().part(start, end, of))
            })
            .collect()
    }

    /// The lowest reader confidence among the lines of `range`.
    pub fn confidence(&self, range: std::ops::Range<usize>) -> f32 {
        self.chars[range]
            .iter()
            .filter_map(|p| self.lines.get(p.line).map(|l| l.score))
            .fold(1.0, f32::min)
    }

    pub fn string(&self, range: std::ops::Range<usize>) -> String {
        self.chars[range].iter().map(|p| p.c).collect()
    }
}

/// How much a hunk weighs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Weight {
    /// Punctuation only: ignored.
    Mark,
    /// Could be a misreading (one letter, one low-confidence character).
    Minor,
    /// A difference that changes what the page says.
    Material,
}

/// A stretch where the two texts differ.
#[derive(Clone, Debug, PartialEq)]
pub struct Hunk {
    /// Characters of the approved text and of the captured text.
    pub approved: std::ops::Range<usize>,
    pub captured: std::ops::Range<usize>,
    pub weight: Weight,
    /// Why it weighs what it weighs, for the record.
    pub reason: &'static str,
}

/// The alignment of two texts.
#[derive(Clone, Debug)]
pub struct Alignment {
    pub hunks: Vec<Hunk>,
    /// Pairs of equal characters (approved index, captured index).
    pub equal: Vec<(usize, usize)>,
    /// 2·equal / (approved + captured), over significant characters; 1.0 for two empty texts.
    pub similarity: f32,
    /// Whether the deadline cut the alignment short (the result is coarse).
    pub cut_short: bool,
}

/// Tuning of the weighing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weighing {
    /// Reader confidence at or above which a single changed Han character is material.
    pub confident: f32,
    /// Latin letters that must differ in a hunk for it to be material.
    pub latin_letters: usize,
    /// Significant characters inserted or deleted at once that make a hunk material
    /// whatever their kind (a line, a clause).
    pub long_run: usize,
}

impl Default for Weighing {
    fn default() -> Self {
        Weighing {
            confident: 0.9,
            latin_letters: 3,
            long_run: 6,
        }
    }
}

/// Aligns `approved` with `captured` and weighs every difference. Equal runs of at most
/// `bridge` characters between two differences are folded into one hunk (a changed
/// word often keeps a letter in place).
pub fn align(
    approved: &PageText,
    captured: &PageText,
    weighing: &Weighing,
    deadline: Duration,
) -> Alignment {
    let a: Vec<char> = approved.chars.iter().map(|p| p.c).collect();
    let b: Vec<char> = captured.chars.iter().map(|p| p.c).collect();
    let started = Instant::now();
    let ops =
        similar::capture_diff_slices_deadline(Algorithm::Myers, &a, &b, Some(started + deadline));
    let cut_short = started.elapsed() >= deadline;
    let mut equal = Vec::new();
    // Raw differing stretches, then merged across short equal runs.
    let mut raw: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)> = Vec::new();
    let mut last_equal_len = usize::MAX;
    for op in &ops {
        let (tag, old, new) = op.as_tag_tuple();
        match tag {
            DiffTag::Equal => {
                equal.extend(old.clone().zip(new.clone()));
                last_equal_len = old.len();
            }
            _ => {
                let bridged = last_equal_len <= 1;
                match raw.last_mut() {
                    Some((ra, rb)) if bridged => {
                        ra.end = old.end.max(ra.end);
                        rb.end = new.end.max(rb.end);
                    }
                    _ => raw.push((old.clone(), new.clone())),
                }
                last_equal_len = 0;
            }
        }
    }
    let significant = |chars: &[PageChar], pairs: &[(usize, usize)], first: bool| {
        pairs
            .iter()
            .filter(|(i, j)| {
                let p = if first { chars[*i] } else { chars[*j] };
                CharClass::of(p.c) != CharClass::Mark
            })
            .count()
    };
    let same = significant(&approved.chars, &equal, true);
    let total = approved.significant() + captured.significant();
    let similarity = if total == 0 {
        1.0
    } else {
        (2 * same) as f32 / total as f32
    };
    let hunks = raw
        .into_iter()
        .map(|(ra, rb)| weigh(approved, captured, ra, rb, weighing))
        .collect();
    Alignment {
        hunks,
        equal,
        similarity,
        cut_short,
    }
}

/// Whether two short spans of equal length differ only where one has a digit and the
/// other a letter or sign that the reader takes for it (nobody alters an amount into a
/// word): `0`/`o`, `1`/`l`/`i`/`+`, `2`/`z`/`乙`, `5`/`s`, `8`/`b`, `m3` read as `33` …
fn looks_alike(
    approved: &PageText,
    ra: &std::ops::Range<usize>,
    captured: &PageText,
    rb: &std::ops::Range<usize>,
) -> bool {
    let a: Vec<char> = approved.chars[ra.clone()].iter().map(|p| p.c).collect();
    let b: Vec<char> = captured.chars[rb.clone()].iter().map(|p| p.c).collect();
    if a.len() != b.len() || a.is_empty() || a.len() > 3 {
        return false;
    }
    let lookalike = |c: char| {
        c.is_ascii_alphabetic() || matches!(c, '乙' | '|' | '!' | '+' | '-' | '\'' | '口')
    };
    let mut differs = false;
    for (&x, &y) in a.iter().zip(&b) {
        if x == y {
            continue;
        }
        differs = true;
        let ok = (x.is_ascii_digit() && lookalike(y)) || (y.is_ascii_digit() && lookalike(x));
        if !ok {
            return false;
        }
    }
    differs
}

fn weigh(
    approved: &PageText,
    captured: &PageText,
    ra: std::ops::Range<usize>,
    rb: std::ops::Range<usize>,
    weighing: &Weighing,
) -> Hunk {
    let count = |text: &PageText, range: &std::ops::Range<usize>, class: CharClass| {
        text.chars[range.clone()]
            .iter()
            .filter(|p| CharClass::of(p.c) == class)
            .count()
    };
    let digits = |text: &PageText, range: &std::ops::Range<usize>| -> String {
        text.chars[range.clone()]
            .iter()
            .map(|p| p.c)
            .filter(char::is_ascii_digit)
            .collect()
    };
    let sig = |text: &PageText, range: &std::ops::Range<usize>| {
        text.chars[range.clone()]
            .iter()
            .filter(|p| CharClass::of(p.c) != CharClass::Mark)
            .count()
    };
    let (sa, sb) = (sig(approved, &ra), sig(captured, &rb));
    let hunk = |weight, reason| Hunk {
        approved: ra.clone(),
        captured: rb.clone(),
        weight,
        reason,
    };
    if sa == 0 && sb == 0 {
        return hunk(Weight::Mark, "punctuation");
    }
    if looks_alike(approved, &ra, captured, &rb) {
        return hunk(
            Weight::Minor,
            "a digit and a letter that look alike (0/o, 1/l, 2/z …): a misreading",
        );
    }
    if digits(approved, &ra) != digits(captured, &rb) {
        return hunk(Weight::Material, "digits differ");
    }
    if sa.max(sb) >= weighing.long_run {
        return hunk(Weight::Material, "text inserted, deleted or replaced");
    }
    let han = count(approved, &ra, CharClass::Han).max(count(captured, &rb, CharClass::Han));
    if han >= 2 {
        return hunk(Weight::Material, "characters differ");
    }
    if han == 1 {
        let confidence = approved
            .confidence(ra.clone())
            .min(captured.confidence(rb.clone()));
        return if confidence >= weighing.confident {
            hunk(Weight::Material, "a character differs")
        } else {
            hunk(
                Weight::Minor,
                "a character differs where reading was unsure",
            )
        };
    }
    let latin = count(approved, &ra, CharClass::Latin).max(count(captured, &rb, CharClass::Latin));
    if latin >= weighing.latin_letters {
        return hunk(Weight::Material, "words differ");
    }
    hunk(Weight::Minor, "letters differ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::Point;

    fn line(text: &str, y: f32, score: f32) -> TextLine {
        let w = 20.0 * text.chars().count() as f32;
        TextLine {
            text: text.into(),
            score,
            quad: [
                Point { x: 10.0, y },
                Point { x: 10.0 + w, y },
                Point {
                    x: 10.0 + w,
                    y: y + 20.0,
                },
                Point {
                    x: 10.0,
                    y: y + 20.0,
                },
            ],
        }
    }

    fn page(lines: &[&str]) -> PageText {
        PageText::new(
            lines
                .iter()
                .enumerate()
                .map(|(i, t)| line(t, 30.0 * i as f32, 0.99))
                .collect(),
        )
    }

    fn weights(a: &[&str], b: &[&str]) -> Vec<(Weight, String, String)> {
        let (a, b) = (page(a), page(b));
        let al = align(&a, &b, &Weighing::default(), Duration::from_secs(1));
        al.hunks
            .iter()
            .map(|h| {
                (
                    h.weight,
                    a.string(h.approved.clone()),
                    b.string(h.captured.clone()),
                )
            })
            .collect()
    }

    #[test]
    fn normalising_folds_widths_punctuation_and_case() {
        let folded: String = "合同金额：￥１２３，４５０．００ Net　30"
            .chars()
            .filter_map(normalise)
            .collect();
        assert_eq!(folded, "合同金额:¥123,450.00net30");
    }

    #[test]
    fn identical_texts_have_no_hunks() {
        let w = weights(
            &["第一条 货物名称", "金额 123.00"],
            &["第一条货物名称", "金额123.00"],
        );
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn a_digit_read_as_a_look_alike_letter_is_minor_but_another_digit_is_not() {
        let w = weights(&["单价 10 元"], &["单价 1o 元"]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].0, Weight::Minor, "{w:?}");
        let w = weights(&["面积 120 m3"], &["面积 120 33"]);
        assert!(w.iter().all(|x| x.0 == Weight::Minor), "{w:?}");
        let w = weights(&["单价 10 元"], &["单价 18 元"]);
        assert_eq!(w[0].0, Weight::Material, "{w:?}");
    }

    #[test]
    fn a_changed_digit_is_material() {
        let w = weights(&["金额：¥123,450.00"], &["金额：¥128,450.00"]);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].0, Weight::Material);
        assert_eq!((w[0].1.as_str(), w[0].2.as_str()), ("3", "8"));
    }

    #[test]
    fn a_changed_name_is_material_and_punctuation_is_not() {
        let w = weights(
            &["乙方：北京华盛贸易有限公司。"],
            &["乙方：北京华胜贸易有限公司,"],
        );
        let kinds: Vec<Weight> = w.iter().map(|h| h.0).collect();
        assert_eq!(kinds, vec![Weight::Material, Weight::Mark], "{w:?}");
    }

    #[test]
    fn an_unsure_single_character_is_minor() {
        let a = page(&["乙方：北京华盛贸易有限公司"]);
        let b = PageText::new(vec![line("乙方：北京华胜贸易有限公司", 0.0, 0.7)]);
        let al = align(&a, &b, &Weighing::default(), Duration::from_secs(1));
        assert_eq!(al.hunks.len(), 1);
        assert_eq!(al.hunks[0].weight, Weight::Minor);
    }

    #[test]
    fn a_deleted_line_and_a_replaced_clause_are_material() {
        let w = weights(
            &[
                "第一条 付款",
                "第二条 乙方应于验收后三十日内付款",
                "第三条 违约",
            ],
            &["第一条 付款", "第三条 违约"],
        );
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].0, Weight::Material);
        let w = weights(&["payment net 30 days"], &["payment net 90 days"]);
        assert_eq!(w[0].0, Weight::Material);
        let w = weights(&["payment terms apply"], &["payment tems apply"]);
        assert_eq!(w[0].0, Weight::Minor, "{w:?}");
    }

    #[test]
    fn similarity_counts_letters_not_marks() {
        let (a, b) = (page(&["甲乙丙丁"]), page(&["甲乙丙丁,,,"]));
        let al = align(&a, &b, &Weighing::default(), Duration::from_secs(1));
        assert!((al.similarity - 1.0).abs() < 1e-6);
        let (a, b) = (page(&["甲乙丙丁"]), page(&["戊己庚辛"]));
        let al = align(&a, &b, &Weighing::default(), Duration::from_secs(1));
        assert!(al.similarity < 0.01);
    }

    #[test]
    fn boxes_follow_the_characters() {
        let a = page(&["abcd", "efgh"]);
        let boxes = a.boxes(1..3);
        assert_eq!(boxes.len(), 1);
        assert!((boxes[0].x - 30.0).abs() < 1e-3 && (boxes[0].width - 40.0).abs() < 1e-3);
        assert_eq!(a.boxes(3..5).len(), 2);
    }
}
