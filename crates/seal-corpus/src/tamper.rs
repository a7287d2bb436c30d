//! Tampering with an approved page as a forger who reprints it would: one digit of an
//! amount, a date, a name, a clause's sentence, an inserted or deleted line, a page of
//! another document, a blank page. Each tamper says exactly what it changed.

use serde::{Deserialize, Serialize};

use crate::content::{Block, Document, Lang, Page, Row, TextRef};
use crate::fonts::Fonts;
use crate::generate::blank_page;
use crate::layout::{PAGE_W, wrap};
use crate::money::{Date, find_amounts, find_dates};
use crate::rng::Rng;
use crate::words::{
    EN_FIRST, EN_LAST, FORGED_EN, FORGED_ZH, GIVEN, INSERTED_EN, INSERTED_ZH, SURNAMES, TRADE_NAMES,
};

/// What a pair shows: the approved page, or one of the tampers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Genuine,
    AmountDigit,
    Date,
    Name,
    Clause,
    InsertedLine,
    DeletedLine,
    SwappedPage,
    Blank,
}

impl Kind {
    /// Every kind, genuine first.
    pub const ALL: [Kind; 9] = [
        Kind::Genuine,
        Kind::AmountDigit,
        Kind::Date,
        Kind::Name,
        Kind::Clause,
        Kind::InsertedLine,
        Kind::DeletedLine,
        Kind::SwappedPage,
        Kind::Blank,
    ];

    /// The name used on the command line and in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Genuine => "genuine",
            Kind::AmountDigit => "amount_digit",
            Kind::Date => "date",
            Kind::Name => "name",
            Kind::Clause => "clause",
            Kind::InsertedLine => "inserted_line",
            Kind::DeletedLine => "deleted_line",
            Kind::SwappedPage => "swapped_page",
            Kind::Blank => "blank",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name.trim())
    }
}

/// Where a change is, in the approved page and in the tampered one.
#[derive(Clone, Debug, PartialEq)]
pub enum Where {
    /// Characters `start..end_before` of a text became `start..end_after`.
    Span {
        at: TextRef,
        start: usize,
        end_before: usize,
        end_after: usize,
    },
    /// Characters `start..end` of a text were removed (one printed line of a paragraph).
    DeletedChars {
        at: TextRef,
        start: usize,
        end: usize,
    },
    /// A block was removed (index in the approved page).
    DeletedBlock { block: usize },
    /// A block was inserted (index in the tampered page, after block `block - 1` of the
    /// approved page).
    InsertedBlock { block: usize },
    /// A table row was removed (row index in the approved table).
    DeletedRow { block: usize, row: usize },
    /// A table row was inserted (row index in the tampered table).
    InsertedRow { block: usize, row: usize },
    /// The whole page.
    Page,
}

/// One change: what the approved page said and what the capture says.
#[derive(Clone, Debug, PartialEq)]
pub struct Edit {
    pub before: String,
    pub after: String,
    pub place: Where,
}

/// A tampered page (or the approved page itself for a genuine pair).
#[derive(Clone, Debug)]
pub struct Tampered {
    pub page: Page,
    /// The document whose style the page is set in (another one for a swapped page).
    pub style_doc: usize,
    pub edits: Vec<Edit>,
    /// Notes for the manifest: how the change was made.
    pub detail: Vec<(String, String)>,
}

/// Applies `kind` to page `page` of document `doc` (index into `docs`); `None` when this
/// page offers nothing to change that way.
pub fn apply(
    kind: Kind,
    docs: &[Document],
    doc: usize,
    page: usize,
    rng: &mut Rng,
    fonts: &Fonts,
) -> Option<Tampered> {
    let d = docs.get(doc)?;
    let approved = d.pages.get(page)?;
    let mut t = Tampered {
        page: approved.clone(),
        style_doc: doc,
        edits: Vec::new(),
        detail: Vec::new(),
    };
    match kind {
        Kind::Genuine => {}
        Kind::AmountDigit => amount_digit(&mut t, rng)?,
        Kind::Date => date(&mut t, rng)?,
        Kind::Name => name(&mut t, d, rng)?,
        Kind::Clause => clause(&mut t, d, rng)?,
        Kind::InsertedLine => inserted_line(&mut t, d, rng)?,
        Kind::DeletedLine => deleted_line(&mut t, d, rng, fonts)?,
        Kind::SwappedPage => {
            let other = docs
                .iter()
                .enumerate()
                .filter(|(i, o)| *i != doc && o.template == d.template)
                .min_by_key(|(i, _)| (i.abs_diff(doc) != 1, *i))
                .map(|(i, _)| i)?;
            let od = docs.get(other)?;
            let other_page = page.min(od.pages.len().saturating_sub(1));
            t.page = od.pages.get(other_page)?.clone();
            t.style_doc = other;
            t.edits.push(Edit {
                before: first_text_not_in(approved, &t.page),
                after: first_text_not_in(&t.page, approved),
                place: Where::Page,
            });
            t.detail
                .push(("swapped_with_document".into(), od.id.clone()));
            t.detail
                .push(("swapped_with_page".into(), other_page.to_string()));
        }
        Kind::Blank => {
            let header_only = rng.chance(0.5);
            t.page = blank_page(d, page, header_only);
            t.edits.push(Edit {
                before: first_text_not_in(approved, &t.page),
                after: String::new(),
                place: Where::Page,
            });
            t.detail.push((
                "blank".into(),
                if header_only { "header_only" } else { "empty" }.into(),
            ));
        }
    }
    Some(t)
}

/// The first body text of `page` that `other` does not have (a summary of a page-level
/// change).
fn first_text_not_in(page: &Page, other: &Page) -> String {
    let theirs: Vec<String> = body_texts(other).into_iter().map(|(_, t)| t).collect();
    body_texts(page)
        .into_iter()
        .map(|(_, t)| t)
        .find(|t| !t.trim().is_empty() && !theirs.contains(t))
        .unwrap_or_default()
}

/// Body texts (no header, no page number) with their references.
fn body_texts(page: &Page) -> Vec<(TextRef, String)> {
    page.texts()
        .into_iter()
        .filter(|(at, _)| page.blocks.get(at.block).is_some_and(|b| !b.is_furniture()))
        .map(|(at, t)| (at, t.clone()))
        .collect()
}

fn char_index(text: &str, byte: usize) -> usize {
    text.get(..byte).map_or(0, |s| s.chars().count())
}

/// Replaces bytes `start..end` of text `at` with `after` and records the edit.
fn replace_span(
    t: &mut Tampered,
    at: TextRef,
    start: usize,
    end: usize,
    after: &str,
) -> Option<()> {
    let text = t.page.text_mut(at)?;
    let before = text.get(start..end)?.to_owned();
    let cs = char_index(text, start);
    let ce = char_index(text, end);
    text.replace_range(start..end, after);
    t.edits.push(Edit {
        before,
        after: after.to_owned(),
        place: Where::Span {
            at,
            start: cs,
            end_before: ce,
            end_after: cs + after.chars().count(),
        },
    });
    Some(())
}

fn amount_digit(t: &mut Tampered, rng: &mut Rng) -> Option<()> {
    let mut found = Vec::new();
    for (at, text) in body_texts(&t.page) {
        for (s, e) in find_amounts(&text) {
            found.push((at, s, e, text.get(s..e)?.to_owned()));
        }
    }
    if found.is_empty() {
        return None;
    }
    let (at, s, e, amount) = rng.pick(&found).clone();
    let int_end = amount.find('.').unwrap_or(amount.len());
    let positions: Vec<usize> = amount
        .char_indices()
        .filter(|(i, c)| *i < int_end && c.is_ascii_digit())
        .map(|(i, _)| i)
        .collect();
    let pos = *rng.pick(&positions);
    let old = amount.as_bytes().get(pos).map(|b| b - b'0')?;
    let lowest = if pos == 0 { 1 } else { 0 };
    let choices: Vec<u8> = (lowest..=9).filter(|d| *d != old).collect();
    let new = *rng.pick(&choices);
    let mut changed = amount.clone();
    changed.replace_range(pos..pos + 1, &new.to_string());
    replace_span(t, at, s, e, &changed)?;
    t.detail.push(("daxie".into(), "unchanged".into()));
    Some(())
}

fn date(t: &mut Tampered, rng: &mut Rng) -> Option<()> {
    let mut found = Vec::new();
    for (at, text) in body_texts(&t.page) {
        for f in find_dates(&text) {
            found.push((at, f));
        }
    }
    if found.is_empty() {
        return None;
    }
    let (at, f) = rng.pick(&found).clone();
    let old = f.date;
    let mut new = old;
    for _ in 0..20 {
        new = match rng.index(3) {
            0 => {
                let days = Date::month_days(old.year, old.month);
                Date {
                    day: rng.range(1, u64::from(days)) as u32,
                    ..old
                }
            }
            1 => {
                let month = rng.range(1, 12) as u32;
                Date {
                    month,
                    day: old.day.min(Date::month_days(old.year, month)),
                    ..old
                }
            }
            _ => {
                let year = if rng.chance(0.5) {
                    old.year + 1
                } else {
                    old.year - 1
                };
                Date {
                    year,
                    day: old.day.min(Date::month_days(year, old.month)),
                    ..old
                }
            }
        };
        if new != old {
            break;
        }
    }
    if new == old {
        return None;
    }
    replace_span(t, at, f.start, f.end, &new.format(f.style))
}

fn name(t: &mut Tampered, doc: &Document, rng: &mut Rng) -> Option<()> {
    let mut found = Vec::new();
    for (at, text) in body_texts(&t.page) {
        for (i, n) in doc.names.iter().enumerate() {
            for (pos, _) in text.match_indices(n.text.as_str()) {
                found.push((at, pos, i));
            }
        }
    }
    // A name inside a longer name (张伟 in 张伟强) is not a name of its own.
    found.retain(|(at, pos, i)| {
        doc.names.iter().enumerate().all(|(j, other)| {
            j == *i
                || other.text.len() <= doc.names[*i].text.len()
                || !t.page.text(*at).is_some_and(|text| {
                    text.match_indices(other.text.as_str())
                        .any(|(p, _)| p <= *pos && *pos < p + other.text.len())
                })
        })
    });
    if found.is_empty() {
        return None;
    }
    let (at, pos, i) = *rng.pick(&found);
    let old = doc.names.get(i)?;
    let mut new = String::new();
    for _ in 0..50 {
        new = match (old.person, old.lang) {
            (true, Lang::En) => format!("{} {}", rng.pick_str(EN_FIRST), rng.pick_str(EN_LAST)),
            (true, _) => format!("{}{}", rng.pick_str(SURNAMES), rng.pick_str(GIVEN)),
            (false, _) => {
                // Another trade name in the same company name (恒信 → 恒达), or for an
                // English name another first word.
                replace_trade_name(&old.text, rng)
            }
        };
        if new != old.text && !doc.names.iter().any(|n| n.text == new) {
            break;
        }
    }
    if new == old.text || new.is_empty() {
        return None;
    }
    replace_span(t, at, pos, pos + old.text.len(), &new)
}

fn replace_trade_name(company: &str, rng: &mut Rng) -> String {
    if let Some(trade) = TRADE_NAMES.iter().find(|n| company.contains(**n)) {
        let other = rng.pick_str(TRADE_NAMES);
        return company.replacen(trade, &other, 1);
    }
    match company.split_once(' ') {
        Some((_, rest)) => format!("{} {rest}", rng.pick_str(crate::words::EN_TRADE)),
        None => company.to_owned(),
    }
}

fn is_chinese(text: &str) -> bool {
    let cjk = text.chars().filter(|c| (*c as u32) >= 0x2E80).count();
    cjk * 3 > text.chars().count()
}

/// Sentence byte ranges: Chinese sentences end with 。, English ones with `. `.
fn sentences(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (k, (i, c)) in chars.iter().enumerate() {
        let next = chars.get(k + 1).map(|(_, n)| *n);
        let end = match c {
            '。' => Some(i + c.len_utf8()),
            '.' if next.is_none_or(|n| n == ' ') => {
                // Not after a single letter or a number (`No.`, `1.`).
                let word = text
                    .get(start..*i)
                    .and_then(|s| s.split(' ').next_back())
                    .unwrap_or("");
                (word.len() > 3 && !word.ends_with("No")).then_some(i + 1)
            }
            _ => None,
        };
        if let Some(end) = end {
            out.push((start, end));
            start = end;
            while text.get(start..).is_some_and(|r| r.starts_with(' ')) {
                start += 1;
            }
        }
    }
    out
}

fn clause(t: &mut Tampered, _doc: &Document, rng: &mut Rng) -> Option<()> {
    let mut found = Vec::new();
    for (i, block) in t.page.blocks.iter().enumerate() {
        if let Block::Paragraph {
            text, clause: true, ..
        } = block
        {
            let s = sentences(text);
            if s.len() >= 2 {
                for (a, b) in s {
                    found.push((TextRef { block: i, item: 0 }, a, b, is_chinese(text)));
                }
            }
        }
    }
    if found.is_empty() {
        return None;
    }
    let (at, a, b, zh) = *rng.pick(&found);
    let text = t.page.text(at)?.clone();
    let bank = if zh { FORGED_ZH } else { FORGED_EN };
    let options: Vec<&str> = bank.iter().copied().filter(|s| !text.contains(s)).collect();
    let new = *rng.pick(&options);
    replace_span(t, at, a, b, new)
}

fn inserted_line(t: &mut Tampered, doc: &Document, rng: &mut Rng) -> Option<()> {
    let tables: Vec<usize> = t
        .page
        .blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| matches!(b, Block::Table { rows, .. } if rows.iter().filter(|r| r.item).count() >= 1))
        .map(|(i, _)| i)
        .collect();
    let spots: Vec<usize> = t
        .page
        .blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| {
            matches!(
                b,
                Block::Paragraph { .. } | Block::Line { .. } | Block::Table { .. }
            )
        })
        .map(|(i, _)| i)
        .collect();
    if !tables.is_empty() && (spots.is_empty() || rng.chance(0.4)) {
        let block = *rng.pick(&tables);
        let Some(Block::Table { rows, .. }) = t.page.blocks.get_mut(block) else {
            return None;
        };
        let items: Vec<usize> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.item)
            .map(|(i, _)| i)
            .collect();
        let after = *rng.pick(&items);
        let template = rows.get(after)?.clone();
        let english = doc.lang == Lang::En;
        let (name, model, unit, lo, hi) = if english {
            *rng.pick(crate::words::EN_GOODS)
        } else {
            *rng.pick(crate::words::GOODS)
        };
        let qty = rng.range(1, 20);
        let price = rng.range(lo, hi) * 100;
        let number = template
            .cells
            .first()
            .and_then(|c| c.parse::<u64>().ok())
            .map_or(String::new(), |n| (n + 1).to_string());
        let cells = vec![
            number,
            name.to_owned(),
            model.to_owned(),
            unit.to_owned(),
            qty.to_string(),
            crate::money::format_amount(price),
            crate::money::format_amount(qty * price),
        ];
        let text = cells
            .iter()
            .filter(|c| !c.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" | ");
        rows.insert(after + 1, Row { cells, item: true });
        t.edits.push(Edit {
            before: String::new(),
            after: text,
            place: Where::InsertedRow {
                block,
                row: after + 1,
            },
        });
        t.detail.push(("inserted".into(), "table_row".into()));
        return Some(());
    }
    if spots.is_empty() {
        return None;
    }
    let after = *rng.pick(&spots);
    let zh = doc.lang != Lang::En;
    let text = rng.pick_str(if zh { INSERTED_ZH } else { INSERTED_EN });
    t.page.blocks.insert(
        after + 1,
        Block::Paragraph {
            text: text.clone(),
            indent: zh,
            clause: false,
        },
    );
    t.edits.push(Edit {
        before: String::new(),
        after: text,
        place: Where::InsertedBlock { block: after + 1 },
    });
    t.detail.push(("inserted".into(), "paragraph_line".into()));
    Some(())
}

fn deleted_line(t: &mut Tampered, doc: &Document, rng: &mut Rng, fonts: &Fonts) -> Option<()> {
    enum Cand {
        Chars(usize, usize, usize),
        Block(usize),
        Row(usize, usize),
    }
    let style = &doc.style;
    let width = PAGE_W - 2.0 * style.margin;
    let mut cands = Vec::new();
    for (i, block) in t.page.blocks.iter().enumerate() {
        match block {
            Block::Paragraph { text, indent, .. } => {
                let first = if *indent { 2.0 * style.size } else { 0.0 };
                let lines = wrap(fonts, style, text, style.size, false, width, first);
                if lines.len() >= 2 {
                    for (a, b) in lines {
                        cands.push(Cand::Chars(i, a, b));
                    }
                }
            }
            Block::Line { text, .. } if !text.trim().is_empty() => cands.push(Cand::Block(i)),
            Block::Table { rows, .. } => {
                let items: Vec<usize> = rows
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.item)
                    .map(|(k, _)| k)
                    .collect();
                if items.len() >= 2 {
                    for k in items {
                        cands.push(Cand::Row(i, k));
                    }
                }
            }
            _ => {}
        }
    }
    if cands.is_empty() {
        return None;
    }
    // Each sort of line is as likely as the others, whatever their numbers.
    let kinds: Vec<u8> = cands
        .iter()
        .map(|c| match c {
            Cand::Chars(..) => 0,
            Cand::Block(_) => 1,
            Cand::Row(..) => 2,
        })
        .collect();
    let mut present: Vec<u8> = kinds.clone();
    present.sort_unstable();
    present.dedup();
    let want = *rng.pick(&present);
    let of_kind: Vec<usize> = (0..cands.len())
        .filter(|k| kinds.get(*k) == Some(&want))
        .collect();
    let chosen = cands.get(*rng.pick(&of_kind))?;
    match *chosen {
        Cand::Chars(block, a, b) => {
            let at = TextRef { block, item: 0 };
            let text = t.page.text_mut(at)?;
            let chars: Vec<char> = text.chars().collect();
            let before: String = chars.get(a..b)?.iter().collect();
            // Take a following space with the line so no double space is left.
            let mut end = b;
            while chars.get(end) == Some(&' ') {
                end += 1;
            }
            let mut rest: String = chars.get(..a)?.iter().collect();
            rest.extend(chars.get(end..)?.iter());
            *text = rest.trim_end().to_owned();
            t.edits.push(Edit {
                before,
                after: String::new(),
                place: Where::DeletedChars { at, start: a, end },
            });
            t.detail.push(("deleted".into(), "paragraph_line".into()));
        }
        Cand::Block(block) => {
            let before = t.page.text(TextRef { block, item: 0 })?.clone();
            t.page.blocks.remove(block);
            t.edits.push(Edit {
                before,
                after: String::new(),
                place: Where::DeletedBlock { block },
            });
            t.detail.push(("deleted".into(), "line".into()));
        }
        Cand::Row(block, row) => {
            let Some(Block::Table { rows, .. }) = t.page.blocks.get_mut(block) else {
                return None;
            };
            let removed = rows.remove(row);
            let before = removed
                .cells
                .iter()
                .filter(|c| !c.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join(" | ");
            t.edits.push(Edit {
                before,
                after: String::new(),
                place: Where::DeletedRow { block, row },
            });
            t.detail.push(("deleted".into(), "table_row".into()));
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split() {
        let zh = "甲方付款。乙方交货。";
        assert_eq!(sentences(zh).len(), 2);
        let en = "The Seller shall deliver. Costs are borne by the Seller. See No. 5 here.";
        let s = sentences(en);
        assert_eq!(s.len(), 3, "{s:?}");
        assert_eq!(&en[s[1].0..s[1].1], "Costs are borne by the Seller.");
    }

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    /// The tampered page differs from the approved one exactly as the edit says.
    fn check_edit(kind: Kind, approved: &Page, t: &Tampered) {
        assert_eq!(t.edits.len(), 1, "{kind:?}: one edit");
        let edit = &t.edits[0];
        let tampered = &t.page;
        let same_except = |skip: TextRef| {
            for (at, text) in approved.texts() {
                if at != skip {
                    assert_eq!(tampered.text(at), Some(text), "{kind:?}: {at:?} unchanged");
                }
            }
            assert_eq!(
                approved.texts().len(),
                tampered.texts().len(),
                "{kind:?}: same texts"
            );
        };
        match &edit.place {
            Where::Span {
                at,
                start,
                end_before,
                end_after,
            } => {
                let a = chars(approved.text(*at).expect("approved text"));
                let b = chars(tampered.text(*at).expect("tampered text"));
                assert_eq!(
                    a[*start..*end_before].iter().collect::<String>(),
                    edit.before
                );
                assert_eq!(b[*start..*end_after].iter().collect::<String>(), edit.after);
                assert_eq!(a[..*start], b[..*start]);
                assert_eq!(a[*end_before..], b[*end_after..]);
                assert_ne!(edit.before, edit.after);
                same_except(*at);
                if kind == Kind::AmountDigit {
                    let diff: Vec<(char, char)> = edit
                        .before
                        .chars()
                        .zip(edit.after.chars())
                        .filter(|(x, y)| x != y)
                        .collect();
                    assert_eq!(edit.before.len(), edit.after.len());
                    assert_eq!(diff.len(), 1, "one digit: {edit:?}");
                    assert!(diff[0].0.is_ascii_digit() && diff[0].1.is_ascii_digit());
                }
                if kind == Kind::Date {
                    assert_eq!(find_dates(&edit.before).len(), 1);
                    assert_eq!(find_dates(&edit.after).len(), 1);
                }
            }
            Where::DeletedChars { at, start, end } => {
                let a = chars(approved.text(*at).expect("approved text"));
                let b = tampered.text(*at).expect("tampered text");
                let before: String = a[*start..*start + edit.before.chars().count()]
                    .iter()
                    .collect();
                assert_eq!(before, edit.before);
                let mut rest: String = a[..*start].iter().collect();
                rest.extend(a[*end..].iter());
                assert_eq!(rest.trim_end(), b);
                same_except(*at);
            }
            Where::DeletedBlock { block } => {
                let mut blocks = approved.blocks.clone();
                let removed = blocks.remove(*block);
                assert_eq!(removed.texts()[0], &edit.before);
                assert_eq!(blocks, tampered.blocks);
            }
            Where::InsertedBlock { block } => {
                let mut blocks = tampered.blocks.clone();
                let inserted = blocks.remove(*block);
                assert_eq!(inserted.texts()[0], &edit.after);
                assert_eq!(blocks, approved.blocks);
            }
            Where::DeletedRow { block, row } | Where::InsertedRow { block, row } => {
                let inserted = matches!(edit.place, Where::InsertedRow { .. });
                let (longer, shorter) = if inserted {
                    (tampered, approved)
                } else {
                    (approved, tampered)
                };
                let mut blocks = longer.blocks.clone();
                let Some(Block::Table { rows, .. }) = blocks.get_mut(*block) else {
                    panic!("{kind:?}: no table at {block}");
                };
                let r = rows.remove(*row);
                let joined = r
                    .cells
                    .iter()
                    .filter(|c| !c.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" | ");
                assert_eq!(&joined, if inserted { &edit.after } else { &edit.before });
                assert_eq!(&blocks, &shorter.blocks);
            }
            Where::Page => {
                assert!(matches!(kind, Kind::SwappedPage | Kind::Blank));
                assert_ne!(approved, tampered);
            }
        }
    }

    #[test]
    fn tampers_change_exactly_what_they_say() {
        let fonts = Fonts::from_system().expect("the test machine needs fonts-noto-cjk");
        let docs: Vec<Document> = (0..16)
            .map(|i| crate::generate::document(11, i, &fonts))
            .collect();
        let mut made = std::collections::BTreeMap::new();
        for (d, doc) in docs.iter().enumerate() {
            for p in 0..doc.pages.len() {
                for (n, kind) in Kind::ALL.into_iter().enumerate() {
                    let mut rng = Rng::derive(5, "test", (d * 100 + p * 10 + n) as u64);
                    let Some(t) = apply(kind, &docs, d, p, &mut rng, &fonts) else {
                        continue;
                    };
                    *made.entry(kind).or_insert(0) += 1;
                    if kind == Kind::Genuine {
                        assert!(t.edits.is_empty());
                        assert_eq!(&t.page, &doc.pages[p]);
                    } else {
                        check_edit(kind, &doc.pages[p], &t);
                    }
                }
            }
        }
        for kind in Kind::ALL {
            assert!(
                made.get(&kind).copied().unwrap_or(0) >= 8,
                "{kind:?}: {made:?}"
            );
        }
    }

    #[test]
    fn kinds_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.name()), Some(k));
        }
    }
}
