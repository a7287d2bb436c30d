//! Page layout in millimetres on A4: line breaking of mixed Chinese and English text
//! (no line starts with a closing mark), tables with ruled lines, the signature area,
//! and pagination of a document's blocks; every laid line remembers which text and
//! which characters it shows, so that a change has a box.

use crate::content::{Align, Block, Page, Style, TextRef};
use crate::fonts::Fonts;

/// A4 width in millimetres.
pub const PAGE_W: f32 = 210.0;
/// A4 height in millimetres.
pub const PAGE_H: f32 = 297.0;
/// Where the first body line may start.
const BODY_TOP: f32 = 24.0;
/// Where the body ends when paginating: room is left below for an inserted line.
const BODY_LIMIT: f32 = 258.0;
/// Baseline of the footer.
const FOOTER_Y: f32 = 285.0;
/// Baseline of the running header.
const HEADER_Y: f32 = 14.0;

/// Ink colours.
pub const BLACK: &str = "#1a1a1a";
pub const GREY: &str = "#555555";
pub const RED: &str = "#c8161d";

/// A laid line of text.
#[derive(Clone, Debug, PartialEq)]
pub struct LaidLine {
    pub text: String,
    pub x: f32,
    pub baseline: f32,
    pub size: f32,
    pub bold: bool,
    pub color: &'static str,
    pub src: TextRef,
    /// Character range of the source text this line shows.
    pub start: usize,
    pub end: usize,
    /// Advance of each character, for boxes.
    pub advances: Vec<f32>,
}

impl LaidLine {
    /// The box of characters `from..to` of the source text that fall on this line, in
    /// millimetres: `[x0, y0, x1, y1]`.
    pub fn span_box(&self, from: usize, to: usize) -> Option<[f32; 4]> {
        let a = from.max(self.start);
        let b = to.min(self.end);
        if a >= b && !(from == to && from >= self.start && from <= self.end) {
            return None;
        }
        let x0 = self.x + self.advances.iter().take(a - self.start).sum::<f32>();
        let x1 = self.x
            + self
                .advances
                .iter()
                .take(b.max(a) - self.start)
                .sum::<f32>();
        Some([
            x0,
            self.baseline - 0.9 * self.size,
            x1.max(x0 + 0.2),
            self.baseline + 0.22 * self.size,
        ])
    }

    /// The box of the whole line.
    pub fn bbox(&self) -> [f32; 4] {
        let w: f32 = self.advances.iter().sum();
        [
            self.x,
            self.baseline - 0.9 * self.size,
            self.x + w,
            self.baseline + 0.22 * self.size,
        ]
    }
}

/// A ruled line.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
    pub width: f32,
    pub color: &'static str,
}

/// A page laid out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LaidPage {
    pub lines: Vec<LaidLine>,
    pub rules: Vec<Rule>,
    /// Where seals go (盖章处), centre in millimetres.
    pub spots: Vec<(f32, f32)>,
    /// Vertical extent of each block: `(top, bottom)`.
    pub block_spans: Vec<(f32, f32)>,
    /// Bottom of the last body block.
    pub bottom: f32,
}

impl LaidPage {
    /// The union box of characters `from..to` of text `src`, in millimetres.
    pub fn span_box(&self, src: TextRef, from: usize, to: usize) -> Option<[f32; 4]> {
        union(
            self.lines
                .iter()
                .filter(|l| l.src == src)
                .filter_map(|l| l.span_box(from, to)),
        )
    }

    /// The union box of every line of the texts `srcs`.
    pub fn texts_box(&self, srcs: &[TextRef]) -> Option<[f32; 4]> {
        union(
            self.lines
                .iter()
                .filter(|l| srcs.contains(&l.src) && l.end > l.start)
                .map(LaidLine::bbox),
        )
    }
}

/// The union of boxes, `None` for none.
pub fn union(boxes: impl Iterator<Item = [f32; 4]>) -> Option<[f32; 4]> {
    boxes.fold(None, |acc, b| match acc {
        None => Some(b),
        Some(a) => Some([
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ]),
    })
}

/// Lays out one page's blocks from the top.
pub fn layout_page(page: &Page, style: &Style, fonts: &Fonts) -> LaidPage {
    let mut out = LaidPage::default();
    let mut y = BODY_TOP;
    for (index, block) in page.blocks.iter().enumerate() {
        let top = y;
        y = lay_block(block, index, y, style, fonts, &mut out);
        out.block_spans.push((top, y));
        if !matches!(block, Block::Header { .. } | Block::Footer { .. }) {
            out.bottom = out.bottom.max(y);
        }
    }
    out
}

/// Height a block takes when laid out at the top of a page.
fn block_height(block: &Block, style: &Style, fonts: &Fonts) -> f32 {
    let mut scratch = LaidPage::default();
    lay_block(block, 0, 0.0, style, fonts, &mut scratch)
}

fn text_left(style: &Style) -> f32 {
    style.margin
}

fn text_width(style: &Style) -> f32 {
    PAGE_W - 2.0 * style.margin
}

/// Lays out `block` starting at `y`; returns the `y` after it.
fn lay_block(
    block: &Block,
    index: usize,
    y: f32,
    style: &Style,
    fonts: &Fonts,
    out: &mut LaidPage,
) -> f32 {
    let left = text_left(style);
    let width = text_width(style);
    let size = style.size;
    let pitch = size * style.leading;
    let at = |item| TextRef { block: index, item };
    match block {
        Block::Header { left: l, right: r } => {
            let hs = size * 0.78;
            push_text(
                out,
                fonts,
                style,
                l,
                left,
                HEADER_Y,
                hs,
                false,
                GREY,
                at(0),
                Align::Left,
                width,
            );
            push_text(
                out,
                fonts,
                style,
                r,
                left,
                HEADER_Y,
                hs,
                false,
                GREY,
                at(1),
                Align::Right,
                width,
            );
            out.rules.push(Rule {
                x0: left,
                y0: HEADER_Y + 2.5,
                x1: left + width,
                y1: HEADER_Y + 2.5,
                width: 0.3,
                color: GREY,
            });
            y
        }
        Block::Letterhead { text } => {
            let ls = size * 2.0;
            let base = y + ls;
            push_text(
                out,
                fonts,
                style,
                text,
                left,
                base,
                ls,
                true,
                RED,
                at(0),
                Align::Center,
                width,
            );
            let ry = base + ls * 0.55;
            out.rules.push(Rule {
                x0: left,
                y0: ry,
                x1: left + width,
                y1: ry,
                width: 0.9,
                color: RED,
            });
            out.rules.push(Rule {
                x0: left,
                y0: ry + 1.4,
                x1: left + width,
                y1: ry + 1.4,
                width: 0.3,
                color: RED,
            });
            ry + 1.4 + pitch
        }
        Block::Title { text } => {
            let ts = size * 1.75;
            let lines = wrap(fonts, style, text, ts, true, width, 0.0);
            let mut base = y + ts;
            for (a, b) in lines {
                let part: String = text.chars().skip(a).take(b - a).collect();
                push_part(
                    out,
                    fonts,
                    style,
                    &part,
                    left,
                    base,
                    ts,
                    true,
                    BLACK,
                    at(0),
                    a,
                    Align::Center,
                    width,
                );
                base += ts * 1.4;
            }
            base - ts * 1.4 + ts * 0.4 + pitch
        }
        Block::Line { text, align, bold } => {
            let lines = wrap(fonts, style, text, size, *bold, width, 0.0);
            let mut base = y + size;
            for (a, b) in lines {
                let part: String = text.chars().skip(a).take(b - a).collect();
                push_part(
                    out,
                    fonts,
                    style,
                    &part,
                    left,
                    base,
                    size,
                    *bold,
                    BLACK,
                    at(0),
                    a,
                    *align,
                    width,
                );
                base += pitch;
            }
            base - size + (pitch - size) * 0.2
        }
        Block::Heading { text } => {
            let base = y + size + pitch * 0.3;
            let lines = wrap(fonts, style, text, size, true, width, 0.0);
            let mut b2 = base;
            for (a, b) in lines {
                let part: String = text.chars().skip(a).take(b - a).collect();
                push_part(
                    out,
                    fonts,
                    style,
                    &part,
                    left,
                    b2,
                    size,
                    true,
                    BLACK,
                    at(0),
                    a,
                    Align::Left,
                    width,
                );
                b2 += pitch;
            }
            b2 - size
        }
        Block::Paragraph { text, indent, .. } => {
            let first = if *indent { 2.0 * size } else { 0.0 };
            let lines = wrap(fonts, style, text, size, false, width, first);
            let mut base = y + size;
            for (i, (a, b)) in lines.into_iter().enumerate() {
                let part: String = text.chars().skip(a).take(b - a).collect();
                let x = if i == 0 { left + first } else { left };
                push_part(
                    out,
                    fonts,
                    style,
                    &part,
                    x,
                    base,
                    size,
                    false,
                    BLACK,
                    at(0),
                    a,
                    Align::Left,
                    width,
                );
                base += pitch;
            }
            base - size + pitch * 0.25
        }
        Block::Table {
            widths,
            aligns,
            header,
            rows,
        } => {
            let ts = size * 0.9;
            let row_h = ts * 2.1;
            let total: f32 = widths.iter().sum::<f32>().max(0.01);
            let xs: Vec<f32> = std::iter::once(left)
                .chain(widths.iter().scan(left, |acc, w| {
                    *acc += w / total * width;
                    Some(*acc)
                }))
                .collect();
            let mut top = y + 1.0;
            let mut item = 0;
            let all_rows =
                std::iter::once((header, true)).chain(rows.iter().map(|r| (&r.cells, false)));
            let mut row_tops = Vec::new();
            for (cells, is_header) in all_rows {
                row_tops.push(top);
                let base = top + row_h * 0.5 + ts * 0.36;
                for (c, cell) in cells.iter().enumerate() {
                    let (Some(x0), Some(x1)) = (xs.get(c), xs.get(c + 1)) else {
                        item += 1;
                        continue;
                    };
                    let pad = 1.4;
                    let avail = (x1 - x0 - 2.0 * pad).max(1.0);
                    let face = fonts.face(style.font, is_header);
                    let w = face.width(cell, ts);
                    let cs = if w > avail { ts * avail / w } else { ts };
                    let align = if is_header {
                        Align::Center
                    } else {
                        aligns.get(c).copied().unwrap_or(Align::Left)
                    };
                    push_text(
                        out,
                        fonts,
                        style,
                        cell,
                        x0 + pad,
                        base,
                        cs,
                        is_header,
                        BLACK,
                        at(item),
                        align,
                        avail,
                    );
                    item += 1;
                }
                top += row_h;
            }
            row_tops.push(top);
            for ry in &row_tops {
                out.rules.push(Rule {
                    x0: left,
                    y0: *ry,
                    x1: left + width,
                    y1: *ry,
                    width: 0.25,
                    color: BLACK,
                });
            }
            let (t0, t1) = (y + 1.0, top);
            for x in &xs {
                out.rules.push(Rule {
                    x0: *x,
                    y0: t0,
                    x1: *x,
                    y1: t1,
                    width: 0.25,
                    color: BLACK,
                });
            }
            top + pitch * 0.5
        }
        Block::Signature { columns, spot } => {
            let n = columns.len().max(1) as f32;
            let col_w = width / n;
            let sig_pitch = size * 2.0;
            let mut item = 0;
            let mut bottom = y;
            for (c, col) in columns.iter().enumerate() {
                let x = left + col_w * c as f32 + if c > 0 { col_w * 0.08 } else { 0.0 };
                let mut base = y + pitch;
                for line in col {
                    push_text(
                        out,
                        fonts,
                        style,
                        line,
                        x,
                        base,
                        size,
                        false,
                        BLACK,
                        at(item),
                        Align::Left,
                        col_w * 0.92,
                    );
                    if !spot.is_empty() && line.contains(spot.as_str()) {
                        let w = fonts.face(style.font, false).width(line, size);
                        out.spots.push((x + w + 16.0, base - size * 0.4));
                    }
                    item += 1;
                    base += sig_pitch;
                }
                bottom = bottom.max(base);
            }
            bottom
        }
        Block::Footer { text } => {
            let fs = size * 0.8;
            push_text(
                out,
                fonts,
                style,
                text,
                left,
                FOOTER_Y,
                fs,
                false,
                GREY,
                at(0),
                Align::Center,
                width,
            );
            y
        }
        Block::Gap { mm } => y + mm,
    }
}

/// Pushes a whole text as one line.
#[allow(clippy::too_many_arguments)]
fn push_text(
    out: &mut LaidPage,
    fonts: &Fonts,
    style: &Style,
    text: &str,
    x: f32,
    baseline: f32,
    size: f32,
    bold: bool,
    color: &'static str,
    src: TextRef,
    align: Align,
    width: f32,
) {
    push_part(
        out, fonts, style, text, x, baseline, size, bold, color, src, 0, align, width,
    );
}

/// Pushes one line showing the characters of `src` from `start` on.
#[allow(clippy::too_many_arguments)]
fn push_part(
    out: &mut LaidPage,
    fonts: &Fonts,
    style: &Style,
    part: &str,
    x: f32,
    baseline: f32,
    size: f32,
    bold: bool,
    color: &'static str,
    src: TextRef,
    start: usize,
    align: Align,
    width: f32,
) {
    let advances = fonts.face(style.font, bold).advances(part, size);
    let w: f32 = advances.iter().sum();
    let x = match align {
        Align::Left => x,
        Align::Center => x + (width - w) / 2.0,
        Align::Right => x + width - w,
    };
    let count = advances.len();
    out.lines.push(LaidLine {
        text: part.to_owned(),
        x,
        baseline,
        size,
        bold,
        color,
        src,
        start,
        end: start + count,
        advances,
    });
}

fn is_cjk(ch: char) -> bool {
    matches!(ch as u32,
        0x2E80..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x2FFFF)
}

/// Marks that never start a line.
fn closing(ch: char) -> bool {
    "，。、；：！？）》」』”’,.;:!?)%】…".contains(ch)
}

/// Marks that never end a line.
fn opening(ch: char) -> bool {
    "（《「『“‘(【¥".contains(ch)
}

/// Breaks `text` into lines of at most `width` (the first line `first_indent` shorter):
/// character ranges, spaces at the ends left out.
pub fn wrap(
    fonts: &Fonts,
    style: &Style,
    text: &str,
    size: f32,
    bold: bool,
    width: f32,
    first_indent: f32,
) -> Vec<(usize, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let adv = fonts.face(style.font, bold).advances(text, size);
    // Units: an ideograph, a word, or a space; marks stick to their neighbours.
    let mut units: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        let mut j = i + 1;
        if ch == ' ' {
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
        } else if !is_cjk(ch) {
            while j < chars.len() && chars[j] != ' ' && !is_cjk(chars[j]) {
                j += 1;
            }
        }
        units.push((i, j));
        i = j;
    }
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (a, b) in units {
        let stick = match merged.last() {
            Some(&(pa, pb)) => {
                let first = chars[a];
                let prev_last = chars[pb - 1];
                (closing(first) && chars[pa] != ' ')
                    || (opening(prev_last) && first != ' ')
                    || (prev_last.is_ascii_digit() && "年月日元号‰".contains(first))
            }
            None => false,
        };
        match merged.last_mut() {
            Some(last) if stick => last.1 = b,
            _ => merged.push((a, b)),
        }
    }
    let unit_w = |(a, b): (usize, usize)| -> f32 { adv[a..b].iter().sum() };
    let mut lines = Vec::new();
    let mut line_start: Option<usize> = None;
    let mut line_end = 0;
    let mut used = 0.0;
    let mut avail = width - first_indent;
    for (a, b) in merged {
        let is_space = chars[a] == ' ';
        let w = unit_w((a, b));
        match line_start {
            None => {
                if is_space {
                    continue;
                }
                line_start = Some(a);
                line_end = b;
                used = w;
            }
            Some(s) => {
                if used + w <= avail + 0.01 {
                    used += w;
                    if !is_space {
                        line_end = b;
                    }
                } else if is_space {
                    lines.push((s, line_end));
                    line_start = None;
                    avail = width;
                    used = 0.0;
                } else {
                    lines.push((s, line_end));
                    avail = width;
                    line_start = Some(a);
                    line_end = b;
                    used = w;
                }
            }
        }
        // A unit wider than the line is cut by characters.
        while let Some(s) = line_start {
            if used <= avail + 0.01 || line_end - s <= 1 {
                break;
            }
            let mut acc = 0.0;
            let mut cut = s;
            while cut < line_end && acc + adv[cut] <= avail {
                acc += adv[cut];
                cut += 1;
            }
            let cut = cut.max(s + 1);
            lines.push((s, cut));
            avail = width;
            line_start = Some(cut);
            used = adv[cut..line_end].iter().sum();
        }
    }
    if let Some(s) = line_start {
        lines.push((s, line_end));
    }
    if lines.is_empty() {
        lines.push((0, 0));
    }
    lines
}

/// Flows `body` blocks onto pages: `header` at the top of each (when given), paragraphs
/// split at line breaks and tables at rows when a page is full, headings kept with what
/// follows, the signature area never split. Footers are added by the caller.
pub fn paginate(
    body: Vec<Block>,
    header: Option<Block>,
    style: &Style,
    fonts: &Fonts,
) -> Vec<Page> {
    let mut pages = Vec::new();
    let mut current: Vec<Block> = header.iter().cloned().collect();
    let mut y = BODY_TOP;
    let mut queue: std::collections::VecDeque<Block> = body.into();
    while let Some(block) = queue.pop_front() {
        let h = block_height(&block, style, fonts);
        let body_empty = current.iter().all(Block::is_furniture);
        if y + h <= BODY_LIMIT || body_empty && h > BODY_LIMIT - BODY_TOP && !splittable(&block) {
            // Keep a heading with the first lines of what follows.
            if let (Block::Heading { .. }, Some(next)) = (&block, queue.front()) {
                let need = style.size * style.leading * 2.5;
                let next_min = if matches!(next, Block::Signature { .. }) {
                    block_height(next, style, fonts)
                } else {
                    need
                };
                if y + h + next_min > BODY_LIMIT && !body_empty {
                    pages.push(std::mem::take(&mut current));
                    current = header.iter().cloned().collect();
                    y = BODY_TOP;
                }
            }
            y += block_height(&block, style, fonts);
            current.push(block);
            continue;
        }
        // Does not fit: split what can be split, else start a new page.
        let room = BODY_LIMIT - y;
        match split(&block, room, style, fonts) {
            Some((head, tail)) => {
                current.push(head);
                pages.push(std::mem::take(&mut current));
                current = header.iter().cloned().collect();
                y = BODY_TOP;
                queue.push_front(tail);
            }
            None => {
                if body_empty {
                    y += h;
                    current.push(block);
                } else {
                    pages.push(std::mem::take(&mut current));
                    current = header.iter().cloned().collect();
                    y = BODY_TOP;
                    queue.push_front(block);
                }
            }
        }
    }
    if current.iter().any(|b| !b.is_furniture()) || pages.is_empty() {
        pages.push(current);
    }
    pages.into_iter().map(|blocks| Page { blocks }).collect()
}

fn splittable(block: &Block) -> bool {
    matches!(block, Block::Paragraph { .. } | Block::Table { .. })
}

/// Splits a paragraph or a table so that the head fits in `room`; `None` when nothing
/// useful fits.
fn split(block: &Block, room: f32, style: &Style, fonts: &Fonts) -> Option<(Block, Block)> {
    match block {
        Block::Paragraph {
            text,
            indent,
            clause,
        } => {
            let size = style.size;
            let pitch = size * style.leading;
            let first = if *indent { 2.0 * size } else { 0.0 };
            let lines = wrap(
                fonts,
                style,
                text,
                size,
                false,
                PAGE_W - 2.0 * style.margin,
                first,
            );
            let fit = ((room - size * 0.5) / pitch).floor().max(0.0) as usize;
            if fit < 2 || fit >= lines.len() {
                return None;
            }
            let cut = lines.get(fit).map(|l| l.0)?;
            let head: String = text.chars().take(cut).collect();
            let tail: String = text.chars().skip(cut).collect();
            Some((
                Block::Paragraph {
                    text: head.trim_end().to_owned(),
                    indent: *indent,
                    clause: *clause,
                },
                Block::Paragraph {
                    text: tail.trim_start().to_owned(),
                    indent: false,
                    clause: *clause,
                },
            ))
        }
        Block::Table {
            widths,
            aligns,
            header,
            rows,
        } => {
            let row_h = style.size * 0.9 * 2.1;
            let fit =
                ((room - 1.0 - style.size * style.leading * 0.5) / row_h).floor() as isize - 1;
            if fit < 2 || fit as usize >= rows.len() {
                return None;
            }
            let fit = fit as usize;
            let make = |rows: Vec<crate::content::Row>| Block::Table {
                widths: widths.clone(),
                aligns: aligns.clone(),
                header: header.clone(),
                rows,
            };
            Some((make(rows[..fit].to_vec()), make(rows[fit..].to_vec())))
        }
        _ => None,
    }
}
