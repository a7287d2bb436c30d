//! Choosing the CJK font a seal is set in: a fixed preference list of families, then any
//! face that has glyphs for 印 and 章, always the boldest face near weight 700.

use std::path::{Path, PathBuf};

use resvg::usvg::fontdb::{self, Database, Family, Query, Source, Weight};
use skrifa::MetadataProvider;

/// Families tried in this order. Song-style (serif) faces come first because the
/// characters on a Chinese official seal are cut in a Song style (宋体); sans faces
/// (黑体) are the next best thing.
pub(crate) const PREFERRED_FAMILIES: &[&str] = &[
    "Noto Serif CJK SC",
    "Source Han Serif SC",
    "Source Han Serif CN",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "AR PL UMing CN",
    "AR PL UKai CN",
];

/// Characters a face must have to count as a CJK face at all.
const PROBE: [char; 2] = ['印', '章'];

/// The weight asked for: seals are cut with heavy strokes.
const WANTED_WEIGHT: u16 = 700;

/// The face a renderer uses.
#[derive(Clone, Debug)]
pub(crate) struct ChosenFace {
    pub family: String,
    pub weight: u16,
    pub id: fontdb::ID,
    pub file: Option<PathBuf>,
}

/// Picks the face to set seals in, or `None` when no face covers [`PROBE`].
pub(crate) fn choose(db: &Database) -> Option<ChosenFace> {
    for family in PREFERRED_FAMILIES {
        if let Some(face) = best_of_family(db, family)
            && covers(db, face.id, &PROBE)
        {
            return Some(face);
        }
    }
    // Any face that covers the probe, chosen deterministically: by family name, then by
    // closeness to the wanted weight.
    let mut candidates: Vec<(&str, u16, fontdb::ID)> = db
        .faces()
        .filter_map(|face| {
            let family = face.families.first()?.0.as_str();
            Some((family, face.weight.0, face.id))
        })
        .filter(|(_, _, id)| covers(db, *id, &PROBE))
        .collect();
    candidates.sort_by_key(|(family, weight, _)| (*family, weight.abs_diff(WANTED_WEIGHT)));
    let (family, _, _) = candidates.first()?;
    best_of_family(db, family)
}

/// The face of `family` closest to [`WANTED_WEIGHT`], as usvg will resolve it.
fn best_of_family(db: &Database, family: &str) -> Option<ChosenFace> {
    let families = [Family::Name(family)];
    let id = db.query(&Query {
        families: &families,
        weight: Weight(WANTED_WEIGHT),
        ..Query::default()
    })?;
    let face = db.face(id)?;
    Some(ChosenFace {
        family: family.to_owned(),
        weight: face.weight.0,
        id,
        file: source_path(&face.source).map(Path::to_path_buf),
    })
}

fn source_path(source: &Source) -> Option<&Path> {
    match source {
        Source::File(path) | Source::SharedFile(path, _) => Some(path),
        Source::Binary(_) => None,
    }
}

/// The first of `chars` that the face has no glyph for.
pub(crate) fn first_missing(db: &Database, id: fontdb::ID, chars: &[char]) -> Option<char> {
    db.with_face_data(id, |data, index| {
        let Ok(font) = skrifa::FontRef::from_index(data, index) else {
            return chars.first().copied();
        };
        let charmap = font.charmap();
        chars.iter().copied().find(|&ch| {
            !ch.is_whitespace() && charmap.map(ch).is_none_or(|glyph| glyph.to_u32() == 0)
        })
    })
    .unwrap_or_else(|| chars.first().copied())
}

fn covers(db: &Database, id: fontdb::ID, chars: &[char]) -> bool {
    first_missing(db, id, chars).is_none()
}
