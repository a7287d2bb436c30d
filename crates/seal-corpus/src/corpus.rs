//! Generating a corpus: documents, the plan of pairs (which page, which tamper), the
//! approved files, the captures, and `manifest.json` with `README.txt`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::CorpusError;
use crate::content::{Block, Document, Lang, Page, TextRef};
use crate::fonts::{FontKind, Fonts};
use crate::generate as docgen;
use crate::layout::{LaidPage, PAGE_H, PAGE_W, layout_page};
use crate::photo::{self, Effects};
use crate::render;
use crate::rng::Rng;
use crate::seal;
use crate::tamper::{self, Edit, Kind, Tampered, Where};
use crate::words::{CITIES, FORMS, INDUSTRIES, TRADE_NAMES};

/// The manifest's format name.
pub const FORMAT: &str = "sealkeeper-corpus/1";

/// What to generate.
#[derive(Clone, Debug)]
pub struct Options {
    pub out: PathBuf,
    pub pairs: usize,
    pub seed: u64,
    pub dpi: u32,
    /// The kinds of pairs to make (genuine and tamper kinds); all when empty.
    pub kinds: Vec<Kind>,
    /// No photo effects and no seal: captures are the clean pages as PNG.
    pub only_clean: bool,
    /// Print progress on stderr.
    pub progress: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            out: PathBuf::from("corpus"),
            pairs: 320,
            seed: 1,
            dpi: 200,
            kinds: Vec::new(),
            only_clean: false,
            progress: false,
        }
    }
}

/// `manifest.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Manifest {
    pub format: &'static str,
    pub generator: String,
    pub seed: u64,
    pub dpi: u32,
    pub only_clean: bool,
    /// Approved page size in pixels at `dpi` (PNG pages, and PDF pages rendered at `dpi`).
    pub page_size_px: [u32; 2],
    /// Pairs of each kind.
    pub counts: BTreeMap<String, usize>,
    pub documents: Vec<DocumentEntry>,
    pub pairs: Vec<PairEntry>,
}

/// An approved document.
#[derive(Clone, Debug, Serialize)]
pub struct DocumentEntry {
    pub id: String,
    pub template: crate::content::Template,
    pub language: Lang,
    pub title: String,
    /// `png` (one file per page) or `pdf` (one file, with a text layer).
    pub format: &'static str,
    pub files: Vec<String>,
    pub pages: usize,
    pub font: FontKind,
    /// Each page's text, one printed text per line (ground truth for OCR).
    pub page_texts: Vec<String>,
}

/// A pair: an approved page and a capture.
#[derive(Clone, Debug, Serialize)]
pub struct PairEntry {
    pub id: String,
    pub document: String,
    pub approved_format: &'static str,
    pub approved_files: Vec<String>,
    /// Page index in the approved document, from 0.
    pub page: usize,
    pub capture: String,
    /// `genuine` or `tampered`.
    pub label: &'static str,
    pub kind: Kind,
    pub changes: Vec<Change>,
    pub detail: BTreeMap<String, String>,
    pub effects: Effects,
    /// The seed of this pair's random stream.
    pub seed: u64,
}

/// One change, with its place on the approved page, on the reprinted page and in the
/// capture.
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    /// `span` (characters of a text), `line` (a printed line), `row` (a table row) or
    /// `page` (the whole page).
    pub scope: &'static str,
    pub before: String,
    pub after: String,
    /// `[x0, y0, x1, y1]` in the approved page's pixels at the corpus dpi.
    pub approved_box: Option<[f32; 4]>,
    /// The same on the tampered page as reprinted, before any photo effect, at the dpi.
    pub tampered_box: Option<[f32; 4]>,
    /// The tampered box's corners in the capture's pixels.
    pub capture_quad: Option<[[f32; 2]; 4]>,
}

/// A planned pair.
struct Planned {
    kind: Kind,
    doc: usize,
    page: usize,
    tampered: Tampered,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CorpusError + '_ {
    move |source| CorpusError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), CorpusError> {
    std::fs::write(path, bytes).map_err(io(path))
}

/// How many pairs of each kind: half genuine (when genuine is asked for), the rest
/// spread evenly over the tamper kinds asked for.
pub fn kind_counts(pairs: usize, kinds: &[Kind]) -> Vec<(Kind, usize)> {
    let kinds: Vec<Kind> = if kinds.is_empty() {
        Kind::ALL.to_vec()
    } else {
        Kind::ALL
            .into_iter()
            .filter(|k| kinds.contains(k))
            .collect()
    };
    let tampers: Vec<Kind> = kinds
        .iter()
        .copied()
        .filter(|k| *k != Kind::Genuine)
        .collect();
    let genuine = if !kinds.contains(&Kind::Genuine) {
        0
    } else if tampers.is_empty() {
        pairs
    } else {
        pairs / 2
    };
    let rest = pairs - genuine;
    let mut out = Vec::new();
    if genuine > 0 {
        out.push((Kind::Genuine, genuine));
    }
    for (i, k) in tampers.iter().enumerate() {
        let n = rest / tampers.len() + usize::from(i < rest % tampers.len());
        out.push((*k, n));
    }
    out
}

/// Generates the corpus described by `options` into `options.out`.
pub fn generate(options: &Options) -> Result<Manifest, CorpusError> {
    let started = Instant::now();
    if options.pairs == 0 {
        return Err(CorpusError::Options("--pairs must be at least 1".into()));
    }
    if !(30..=600).contains(&options.dpi) {
        return Err(CorpusError::Options(
            "--dpi must be between 30 and 600".into(),
        ));
    }
    let fonts = Fonts::from_system()?;
    let out = &options.out;
    for sub in ["approved", "captures"] {
        let dir = out.join(sub);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    }
    let seed = options.seed;
    let doc_count = options.pairs.div_ceil(4).max(4).div_ceil(2) * 2;
    let docs: Vec<Document> = (0..doc_count)
        .into_par_iter()
        .map(|i| docgen::document(seed, i, &fonts))
        .collect();
    if options.progress {
        eprintln!(
            "seal-corpus: {} documents, {} pages, planning {} pairs",
            docs.len(),
            docs.iter().map(|d| d.pages.len()).sum::<usize>(),
            options.pairs
        );
    }
    let plan = plan_pairs(options, &docs, &fonts)?;

    // Approved documents: every fourth one as a PDF with a text layer.
    let px = render::px_per_mm(options.dpi);
    let entries: Vec<DocumentEntry> = docs
        .par_iter()
        .enumerate()
        .map(|(i, doc)| write_document(out, doc, i % 4 == 3, &fonts, px))
        .collect::<Result<_, _>>()?;

    let done = AtomicUsize::new(0);
    let total = plan.len();
    let pairs: Vec<PairEntry> = plan
        .par_iter()
        .enumerate()
        .map(|(i, p)| {
            let entry = make_pair(options, &docs, &entries, &fonts, i, p)?;
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if options.progress {
                eprintln!(
                    "[{n}/{total}] {} {} ({})",
                    entry.id,
                    entry.kind.name(),
                    entry.effects.mode
                );
            }
            Ok(entry)
        })
        .collect::<Result<_, CorpusError>>()?;

    let mut counts = BTreeMap::new();
    for p in &pairs {
        *counts.entry(p.kind.name().to_owned()).or_insert(0) += 1;
    }
    let (w, h) = render::page_pixels(px);
    let manifest = Manifest {
        format: FORMAT,
        generator: format!("seal-corpus {}", env!("CARGO_PKG_VERSION")),
        seed,
        dpi: options.dpi,
        only_clean: options.only_clean,
        page_size_px: [w, h],
        counts,
        documents: entries,
        pairs,
    };
    let json = serde_json::to_string_pretty(&manifest)?;
    write(&out.join("manifest.json"), json.as_bytes())?;
    write(&out.join("README.txt"), README.as_bytes())?;
    if options.progress {
        eprintln!(
            "seal-corpus: wrote {} pairs and {} documents to {} in {:.1} s",
            manifest.pairs.len(),
            manifest.documents.len(),
            out.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(manifest)
}

/// Chooses, for each pair, a kind, a page and the tamper; pages are used evenly.
fn plan_pairs(
    options: &Options,
    docs: &[Document],
    fonts: &Fonts,
) -> Result<Vec<Planned>, CorpusError> {
    let mut kinds: Vec<Kind> = kind_counts(options.pairs, &options.kinds)
        .into_iter()
        .flat_map(|(k, n)| std::iter::repeat_n(k, n))
        .collect();
    let mut rng = Rng::derive(options.seed, "plan", 0);
    rng.shuffle(&mut kinds);
    let pages: Vec<(usize, usize)> = docs
        .iter()
        .enumerate()
        .flat_map(|(d, doc)| (0..doc.pages.len()).map(move |p| (d, p)))
        .collect();
    let mut used = vec![0usize; pages.len()];
    let mut plan = Vec::with_capacity(kinds.len());
    for (i, kind) in kinds.into_iter().enumerate() {
        let mut order: Vec<(usize, u64, usize)> = pages
            .iter()
            .enumerate()
            .map(|(k, _)| (used.get(k).copied().unwrap_or(0), rng.next_u64(), k))
            .collect();
        order.sort_unstable();
        let mut chosen = None;
        for (_, _, k) in order {
            let Some(&(d, p)) = pages.get(k) else {
                continue;
            };
            let mut trng = Rng::derive(options.seed, "tamper", i as u64);
            if let Some(t) = tamper::apply(kind, docs, d, p, &mut trng, fonts) {
                chosen = Some((k, d, p, t));
                break;
            }
        }
        let (k, doc, page, tampered) = chosen.ok_or(CorpusError::NoCandidate(kind.name()))?;
        if let Some(u) = used.get_mut(k) {
            *u += 1;
        }
        plan.push(Planned {
            kind,
            doc,
            page,
            tampered,
        });
    }
    Ok(plan)
}

fn write_document(
    out: &Path,
    doc: &Document,
    as_pdf: bool,
    fonts: &Fonts,
    px: f32,
) -> Result<DocumentEntry, CorpusError> {
    let laid: Vec<LaidPage> = doc
        .pages
        .iter()
        .map(|p| layout_page(p, &doc.style, fonts))
        .collect();
    let mut files = Vec::new();
    if as_pdf {
        let name = format!("approved/{}.pdf", doc.id);
        let bytes = render::pdf(&laid, &doc.style, fonts)?;
        write(&out.join(&name), &bytes)?;
        files.push(name);
    } else {
        for (i, page) in laid.iter().enumerate() {
            let svg = render::page_svg(page, &doc.style, fonts, "#ffffff", "");
            let tree = render::parse(&svg, fonts)?;
            let pixmap = render::rasterise(&tree, px)?;
            let bytes = render::png_bytes(&render::to_rgb(&pixmap))?;
            let name = format!("approved/{}-p{}.png", doc.id, i + 1);
            write(&out.join(&name), &bytes)?;
            files.push(name);
        }
    }
    Ok(DocumentEntry {
        id: doc.id.clone(),
        template: doc.template,
        language: doc.lang,
        title: doc.title.clone(),
        format: if as_pdf { "pdf" } else { "png" },
        files,
        pages: doc.pages.len(),
        font: doc.style.font,
        page_texts: doc.pages.iter().map(Page::plain_text).collect(),
    })
}

/// A Chinese organisation name for a seal: the document's own, else a made-up one.
fn seal_org(doc: &Document, rng: &mut Rng) -> String {
    // The organisations that sign: named in a signature area.
    let signing: Vec<&str> = doc
        .pages
        .iter()
        .flat_map(|p| p.blocks.iter())
        .filter(|b| matches!(b, Block::Signature { .. }))
        .flat_map(|b| b.texts())
        .flat_map(|line| {
            doc.names
                .iter()
                .filter(|n| !n.person && n.lang == Lang::Zh && line.contains(n.text.as_str()))
                .map(|n| n.text.as_str())
        })
        .collect();
    let own: Vec<&str> = if signing.is_empty() {
        doc.names
            .iter()
            .filter(|n| !n.person && n.lang == Lang::Zh)
            .map(|n| n.text.as_str())
            .collect()
    } else {
        signing
    };
    if !own.is_empty() && rng.chance(0.9) {
        return (*rng.pick(&own)).to_owned();
    }
    format!(
        "{}{}{}{}",
        rng.pick_str(CITIES),
        rng.pick_str(TRADE_NAMES),
        rng.pick_str(INDUSTRIES),
        rng.pick_str(FORMS)
    )
}

fn make_pair(
    options: &Options,
    docs: &[Document],
    entries: &[DocumentEntry],
    fonts: &Fonts,
    index: usize,
    planned: &Planned,
) -> Result<PairEntry, CorpusError> {
    let pair_seed = Rng::derive(options.seed, "pair", index as u64).next_u64();
    let mut rng = Rng::new(pair_seed);
    let doc = docs
        .get(planned.doc)
        .ok_or_else(|| CorpusError::Render("planned document missing".into()))?;
    let style_doc = docs.get(planned.tampered.style_doc).unwrap_or(doc);
    let approved_page = doc
        .pages
        .get(planned.page)
        .ok_or_else(|| CorpusError::Render("planned page missing".into()))?;
    let approved = layout_page(approved_page, &doc.style, fonts);
    let tampered = layout_page(&planned.tampered.page, &style_doc.style, fonts);
    let dpi_px = render::px_per_mm(options.dpi);

    let with_seal = !options.only_clean && rng.chance(0.85);
    let mut seal = with_seal.then(|| {
        let org = seal_org(doc, &mut rng);
        seal::choose(&tampered, &org, &mut rng)
    });
    let capture = if options.only_clean {
        let svg = render::page_svg(&tampered, &style_doc.style, fonts, "#ffffff", "");
        let pixmap = render::rasterise(&render::parse(&svg, fonts)?, dpi_px)?;
        photo::clean(&pixmap, dpi_px, None)?
    } else {
        let plan = photo::plan(&mut rng, options.dpi);
        let overlay = match &seal {
            Some(s) => seal::svg(s, fonts, rng.next_u64()),
            None => String::new(),
        };
        let paper = format!(
            "#{:02x}{:02x}{:02x}",
            plan.paper[0], plan.paper[1], plan.paper[2]
        );
        let svg = render::page_svg(&tampered, &style_doc.style, fonts, &paper, &overlay);
        let pixmap = render::rasterise(&render::parse(&svg, fonts)?, plan.px_per_mm)?;
        if let Some(s) = seal.as_mut() {
            s.center_px = [r1(s.center_mm[0] * dpi_px), r1(s.center_mm[1] * dpi_px)];
            s.radius_px = [r1(s.radius_mm[0] * dpi_px), r1(s.radius_mm[1] * dpi_px)];
        }
        photo::capture(&pixmap, &plan, seal, &mut rng)?
    };
    let capture_name = format!("captures/pair-{index:04}.{}", capture.extension);
    write(&options.out.join(&capture_name), &capture.bytes)?;

    let margin = doc.style.margin;
    let changes = planned
        .tampered
        .edits
        .iter()
        .map(|edit| {
            let (scope, a, t) = boxes(
                edit,
                approved_page,
                &planned.tampered.page,
                &approved,
                &tampered,
                margin,
            );
            let quad = t.map(|b| {
                let corners = [(b[0], b[1]), (b[2], b[1]), (b[2], b[3]), (b[0], b[3])];
                corners.map(|c| {
                    let (x, y) = capture.mm_to_px * c;
                    [r1(x), r1(y)]
                })
            });
            Change {
                scope,
                before: edit.before.clone(),
                after: edit.after.clone(),
                approved_box: a.map(|b| b.map(|v| r1(v * dpi_px))),
                tampered_box: t.map(|b| b.map(|v| r1(v * dpi_px))),
                capture_quad: quad,
            }
        })
        .collect();
    let entry = entries
        .get(planned.doc)
        .ok_or_else(|| CorpusError::Render("document entry missing".into()))?;
    Ok(PairEntry {
        id: format!("pair-{index:04}"),
        document: doc.id.clone(),
        approved_format: entry.format,
        approved_files: entry.files.clone(),
        page: planned.page,
        capture: capture_name,
        label: if planned.kind == Kind::Genuine {
            "genuine"
        } else {
            "tampered"
        },
        kind: planned.kind,
        changes,
        detail: planned.tampered.detail.iter().cloned().collect(),
        effects: capture.effects,
        seed: pair_seed,
    })
}

fn r1(v: f32) -> f32 {
    (v * 10.0).round() / 10.0
}

/// Items of row `row` of the table at `block`.
fn row_items(page: &Page, block: usize, row: usize) -> Vec<TextRef> {
    let Some(Block::Table { header, rows, .. }) = page.blocks.get(block) else {
        return Vec::new();
    };
    let first = header.len() + rows.iter().take(row).map(|r| r.cells.len()).sum::<usize>();
    let n = rows.get(row).map_or(0, |r| r.cells.len());
    (first..first + n)
        .map(|item| TextRef { block, item })
        .collect()
}

/// Scope and boxes (millimetres) of an edit on the approved and the tampered page.
fn boxes(
    edit: &Edit,
    approved_page: &Page,
    tampered_page: &Page,
    approved: &LaidPage,
    tampered: &LaidPage,
    margin: f32,
) -> (&'static str, Option<[f32; 4]>, Option<[f32; 4]>) {
    let thin = |y: f32| Some([margin, y - 0.4, PAGE_W - margin, y + 0.4]);
    match &edit.place {
        Where::Span {
            at,
            start,
            end_before,
            end_after,
        } => (
            "span",
            approved.span_box(*at, *start, *end_before),
            tampered.span_box(*at, *start, *end_after),
        ),
        Where::DeletedChars { at, start, end } => (
            "line",
            approved.span_box(*at, *start, *end),
            tampered.span_box(*at, *start, *start),
        ),
        Where::DeletedBlock { block } => {
            let y = tampered
                .block_spans
                .get(*block)
                .map_or(tampered.bottom, |s| s.0);
            (
                "line",
                approved.texts_box(&[TextRef {
                    block: *block,
                    item: 0,
                }]),
                thin(y),
            )
        }
        Where::InsertedBlock { block } => {
            let y = block
                .checked_sub(1)
                .and_then(|b| approved.block_spans.get(b))
                .map_or(approved.bottom, |s| s.1);
            (
                "line",
                thin(y),
                tampered.texts_box(&[TextRef {
                    block: *block,
                    item: 0,
                }]),
            )
        }
        Where::DeletedRow { block, row } => {
            let a = approved.texts_box(&row_items(approved_page, *block, *row));
            ("row", a, a.and_then(|b| thin(b[1] - 0.8)))
        }
        Where::InsertedRow { block, row } => {
            let t = tampered.texts_box(&row_items(tampered_page, *block, *row));
            ("row", t.and_then(|b| thin(b[1] - 0.8)), t)
        }
        Where::Page => {
            let whole = Some([margin, 10.0, PAGE_W - margin, PAGE_H - 10.0]);
            ("page", whole, whole)
        }
    }
}

/// `README.txt` written beside the manifest.
pub const README: &str = "\
Sealkeeper document-comparison corpus (format sealkeeper-corpus/1)

Generated by `seal-corpus generate`; everything follows from the seed in manifest.json.

approved/   the approved documents: doc-NNN-pK.png (one PNG per page, A4 at the corpus
            dpi) or doc-NNN.pdf (every fourth document: a PDF with a real text layer,
            CJK fonts embedded; render it at the dpi to get the same pixels)
captures/   pair-NNNN.jpg: the on-site capture of one approved page, genuine or
            tampered, photographed (perspective, rotation, light, blur, noise, JPEG,
            a red seal impression) or scanned; pair-NNNN.png with --only-clean

manifest.json
  seed, dpi, page_size_px    the corpus parameters; boxes are in pixels at this dpi
  counts                     pairs of each kind
  documents[]                id, template, language (zh, en, mixed), title, format
                             (png or pdf), files, pages, font, page_texts (ground truth)
  pairs[]                    one entry per capture:
    document, approved_files, page (from 0)   the approved page the capture is for
    capture                                   the capture file
    label                                     genuine | tampered
    kind                                      genuine, amount_digit, date, name,
                                              clause, inserted_line, deleted_line,
                                              swapped_page, blank
    changes[]                                 empty for genuine pairs; otherwise:
      scope        span (characters of a text), line, row (a table row), page
      before/after the text on the approved page and on the capture (an amount, a
                   date, a name, a sentence, a line; '' for an inserted or deleted
                   line's other side; the first line of each page for page scope)
      approved_box [x0,y0,x1,y1] on the approved page, in pixels at the dpi; a thin
                   box marks where a line was inserted
      tampered_box the same on the reprinted page before photo effects
      capture_quad the tampered box's corners in the capture's pixels
    detail                                    how: daxie=unchanged (amount_digit
                                              changes one digit of the figures and
                                              leaves the capital amount 大写 as it
                                              was), inserted/deleted = paragraph_line,
                                              line or table_row, swapped_with_document
                                              and swapped_with_page, blank = empty or
                                              header_only (nearly empty: only the
                                              running header line)
    effects                                   mode (photo, scan, clean), size,
                                              page_quad (page corners in the capture:
                                              TL, TR, BR, BL), page_px_per_mm,
                                              rotation_deg, perspective (corner shift
                                              as a fraction of the side), background,
                                              paper, light_gradient, shadow,
                                              brightness (< 0.7 is low light),
                                              color_cast, blur_sigma_200dpi,
                                              blur_sigma_px, noise_sigma, jpeg_quality,
                                              seal (shape, centre and radii in approved
                                              page pixels, rotation, colour, opacity,
                                              text) or null
    seed                                      this pair's random seed

A tampered page is re-rendered from the modified content with the same layout, as a
forger would reprint it. A swapped page is a page of another document of the same
template.
";
