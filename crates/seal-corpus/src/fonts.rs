//! The CJK faces pages are set in (Noto Sans/Serif CJK SC, regular and bold, from the
//! system's fonts as seal-docs finds them), their advance widths for line breaking, and
//! the font database usvg shapes with.

use std::path::PathBuf;
use std::sync::Arc;

use resvg::usvg::fontdb::{Database, Family, Query, Source, Weight};
use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};

use crate::CorpusError;

/// Sans families tried in this order (the same CJK families seal-docs prefers).
const SANS: &[&str] = &[
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
];
/// Serif (Song-style) families tried in this order.
const SERIF: &[&str] = &[
    "Noto Serif CJK SC",
    "Source Han Serif SC",
    "Source Han Serif CN",
    "AR PL UMing CN",
];

/// One face: its family as the SVG names it, its bytes, its index in a collection.
#[derive(Clone, Debug)]
pub struct Face {
    pub family: String,
    pub weight: u16,
    pub data: Arc<Vec<u8>>,
    pub index: u32,
    pub file: PathBuf,
}

impl Face {
    /// The advance width of each character of `text` at `size` (same unit as `size`).
    /// A character the face lacks gets the width of an ideograph.
    pub fn advances(&self, text: &str, size: f32) -> Vec<f32> {
        let Ok(font) = skrifa::FontRef::from_index(&self.data, self.index) else {
            return text.chars().map(|_| size).collect();
        };
        let upem = f32::from(
            font.metrics(Size::unscaled(), LocationRef::default())
                .units_per_em,
        );
        let upem = if upem > 0.0 { upem } else { 1000.0 };
        let charmap = font.charmap();
        let metrics = font.glyph_metrics(Size::unscaled(), LocationRef::default());
        text.chars()
            .map(|ch| {
                charmap
                    .map(ch)
                    .and_then(|glyph| metrics.advance_width(glyph))
                    .map_or(size, |w| w / upem * size)
            })
            .collect()
    }

    /// The width of `text` at `size`.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        self.advances(text, size).iter().sum()
    }
}

/// Sans or serif.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FontKind {
    Sans,
    Serif,
}

/// The four faces and the database usvg shapes with.
#[derive(Clone, Debug)]
pub struct Fonts {
    pub sans: Face,
    pub sans_bold: Face,
    pub serif: Face,
    pub serif_bold: Face,
    pub db: Arc<Database>,
}

impl Fonts {
    /// Scans the system's fonts (slow: once per run) and keeps the CJK faces found, read
    /// into memory.
    pub fn from_system() -> Result<Fonts, CorpusError> {
        let mut all = Database::new();
        all.load_system_fonts();
        let sans = find(&all, SANS, 400).or_else(|| find(&all, SERIF, 400));
        let serif = find(&all, SERIF, 400).or_else(|| sans.clone());
        let (Some(sans), Some(serif)) = (sans, serif) else {
            return Err(CorpusError::NoCjkFont);
        };
        let sans_bold = find(&all, &[sans.family.as_str()], 700).unwrap_or_else(|| sans.clone());
        let serif_bold = find(&all, &[serif.family.as_str()], 700).unwrap_or_else(|| serif.clone());
        let mut db = Database::new();
        let mut loaded: Vec<PathBuf> = Vec::new();
        for face in [&sans, &sans_bold, &serif, &serif_bold] {
            if !loaded.contains(&face.file) {
                db.load_font_data(face.data.as_ref().clone());
                loaded.push(face.file.clone());
            }
        }
        Ok(Fonts {
            sans,
            sans_bold,
            serif,
            serif_bold,
            db: Arc::new(db),
        })
    }

    /// The face of `kind`, bold or not.
    pub fn face(&self, kind: FontKind, bold: bool) -> &Face {
        match (kind, bold) {
            (FontKind::Sans, false) => &self.sans,
            (FontKind::Sans, true) => &self.sans_bold,
            (FontKind::Serif, false) => &self.serif,
            (FontKind::Serif, true) => &self.serif_bold,
        }
    }
}

fn find(db: &Database, families: &[&str], weight: u16) -> Option<Face> {
    for family in families {
        let names = [Family::Name(family)];
        let Some(id) = db.query(&Query {
            families: &names,
            weight: Weight(weight),
            ..Query::default()
        }) else {
            continue;
        };
        let Some(info) = db.face(id) else {
            continue;
        };
        let path = match &info.source {
            Source::File(path) | Source::SharedFile(path, _) => path.clone(),
            Source::Binary(_) => continue,
        };
        let Ok(data) = std::fs::read(&path) else {
            continue;
        };
        let face = Face {
            family: (*family).to_owned(),
            weight: info.weight.0,
            data: Arc::new(data),
            index: info.index,
            file: path,
        };
        // A face counts only when it has the ideographs documents are written in.
        if face_covers(&face, &['合', '同', '章']) {
            return Some(face);
        }
    }
    None
}

fn face_covers(face: &Face, chars: &[char]) -> bool {
    let Ok(font) = skrifa::FontRef::from_index(&face.data, face.index) else {
        return false;
    };
    let charmap = font.charmap();
    chars
        .iter()
        .all(|ch| charmap.map(*ch).is_some_and(|g| g.to_u32() != 0))
}
