//! What a page says, before any layout: blocks of text (titles, paragraphs, tables, a
//! signature area), each text addressable as ([`TextRef`]) so that a tamper can name
//! exactly what it changed.

use serde::Serialize;

use crate::fonts::FontKind;

/// Horizontal alignment of a line or a table cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

/// A table row: line items can be deleted or inserted, totals are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub cells: Vec<String>,
    pub item: bool,
}

/// One block of a page.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// Running header: a small line at the top of the page with a rule under it.
    Header { left: String, right: String },
    /// A red letterhead (红头): the organisation in large red type and a red double rule.
    Letterhead { text: String },
    /// The document's title, centred, bold.
    Title { text: String },
    /// One line (or more, wrapped) aligned left, centred or right.
    Line {
        text: String,
        align: Align,
        bold: bool,
    },
    /// A bold heading before a clause.
    Heading { text: String },
    /// A paragraph, wrapped to the width; `indent` indents its first line by two
    /// ideographs; `clause` marks the sentences of a contract clause.
    Paragraph {
        text: String,
        indent: bool,
        clause: bool,
    },
    /// A ruled table: column widths as fractions of the text width.
    Table {
        widths: Vec<f32>,
        aligns: Vec<Align>,
        header: Vec<String>,
        rows: Vec<Row>,
    },
    /// The signature area: columns of lines; the line that contains `spot` is where the
    /// seal goes (盖章处).
    Signature {
        columns: Vec<Vec<String>>,
        spot: String,
    },
    /// Page number at the bottom.
    Footer { text: String },
    /// Vertical space in millimetres.
    Gap { mm: f32 },
}

/// A text of a page: block index and item within the block (see [`Block::texts`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct TextRef {
    pub block: usize,
    pub item: usize,
}

impl Block {
    /// The block's texts in item order: header left then right; a table's header cells
    /// then its rows' cells row by row; a signature's columns one after the other.
    pub fn texts(&self) -> Vec<&String> {
        match self {
            Block::Header { left, right } => vec![left, right],
            Block::Letterhead { text }
            | Block::Title { text }
            | Block::Line { text, .. }
            | Block::Heading { text }
            | Block::Paragraph { text, .. }
            | Block::Footer { text } => vec![text],
            Block::Table { header, rows, .. } => header
                .iter()
                .chain(rows.iter().flat_map(|r| r.cells.iter()))
                .collect(),
            Block::Signature { columns, .. } => columns.iter().flatten().collect(),
            Block::Gap { .. } => Vec::new(),
        }
    }

    /// The text `item` of the block, for changing it.
    pub fn text_mut(&mut self, item: usize) -> Option<&mut String> {
        match self {
            Block::Header { left, right } => match item {
                0 => Some(left),
                1 => Some(right),
                _ => None,
            },
            Block::Letterhead { text }
            | Block::Title { text }
            | Block::Line { text, .. }
            | Block::Heading { text }
            | Block::Paragraph { text, .. }
            | Block::Footer { text } => (item == 0).then_some(text),
            Block::Table { header, rows, .. } => {
                if item < header.len() {
                    return header.get_mut(item);
                }
                let mut rest = item - header.len();
                for row in rows.iter_mut() {
                    if rest < row.cells.len() {
                        return row.cells.get_mut(rest);
                    }
                    rest -= row.cells.len();
                }
                None
            }
            Block::Signature { columns, .. } => columns.iter_mut().flatten().nth(item),
            Block::Gap { .. } => None,
        }
    }

    /// True for the page furniture that a tamper leaves alone (headers, page numbers).
    pub fn is_furniture(&self) -> bool {
        matches!(
            self,
            Block::Header { .. } | Block::Footer { .. } | Block::Gap { .. }
        )
    }
}

/// One page's blocks.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Page {
    pub blocks: Vec<Block>,
}

impl Page {
    /// Every text of the page with its reference, furniture included.
    pub fn texts(&self) -> Vec<(TextRef, &String)> {
        self.blocks
            .iter()
            .enumerate()
            .flat_map(|(block, b)| {
                b.texts()
                    .into_iter()
                    .enumerate()
                    .map(move |(item, text)| (TextRef { block, item }, text))
            })
            .collect()
    }

    /// The text at `at`.
    pub fn text(&self, at: TextRef) -> Option<&String> {
        self.blocks.get(at.block)?.texts().get(at.item).copied()
    }

    /// The text at `at`, for changing it.
    pub fn text_mut(&mut self, at: TextRef) -> Option<&mut String> {
        self.blocks.get_mut(at.block)?.text_mut(at.item)
    }

    /// The page's text, one text per line, as a reader would see it.
    pub fn plain_text(&self) -> String {
        let mut out = String::new();
        for (_, text) in self.texts() {
            if !text.is_empty() {
                out.push_str(text);
                out.push('\n');
            }
        }
        out
    }
}

/// The kinds of documents generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Template {
    PurchaseContract,
    ServiceContract,
    OfficialLetter,
    Certificate,
    Quotation,
    SupplyAgreement,
    BusinessLetter,
    Invoice,
}

impl Template {
    /// All templates, in the order documents cycle through them.
    pub const ALL: [Template; 8] = [
        Template::PurchaseContract,
        Template::Invoice,
        Template::OfficialLetter,
        Template::SupplyAgreement,
        Template::Quotation,
        Template::Certificate,
        Template::ServiceContract,
        Template::BusinessLetter,
    ];
}

/// The language a document is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    Zh,
    En,
    Mixed,
}

/// How a document's pages are set: shared by the documents of one template pair so that a
/// swapped page looks like the approved one.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Style {
    /// Body text size in millimetres.
    pub size: f32,
    /// Line pitch as a multiple of the size.
    pub leading: f32,
    pub font: FontKind,
    pub margin: f32,
}

/// A name that appears in a document: a person or an organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    pub text: String,
    pub person: bool,
    pub lang: Lang,
}

/// A generated document.
#[derive(Clone, Debug)]
pub struct Document {
    pub id: String,
    pub template: Template,
    pub lang: Lang,
    pub title: String,
    pub style: Style,
    pub pages: Vec<Page>,
    pub names: Vec<Name>,
}
