//! Single documents for other crates' tests: the pages of one generated document as PNG
//! images, its PDF, and a blank page — the same rendering as the corpus, without photo
//! effects, so that a test can file an approved document and scan "the same page", "another
//! page" or "a blank page".

use crate::CorpusError;
use crate::fonts::Fonts;
use crate::generate;
use crate::layout::{LaidPage, layout_page};
use crate::render;

/// One generated document, laid out.
pub struct SampleDocument {
    pages: Vec<LaidPage>,
    document: crate::content::Document,
    fonts: Fonts,
}

impl SampleDocument {
    /// Document `index` of the corpus with `seed` (0: a Chinese contract, 1: an English
    /// letter, and so on through the templates).
    pub fn new(seed: u64, index: usize) -> Result<SampleDocument, CorpusError> {
        let fonts = Fonts::from_system()?;
        let document = generate::document(seed, index, &fonts);
        let pages = document
            .pages
            .iter()
            .map(|p| layout_page(p, &document.style, &fonts))
            .collect();
        Ok(SampleDocument {
            pages,
            document,
            fonts,
        })
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Page `page` (0-based) as a PNG at `dpi`.
    pub fn page_png(&self, page: usize, dpi: u32) -> Result<Vec<u8>, CorpusError> {
        let laid = self
            .pages
            .get(page)
            .ok_or_else(|| CorpusError::Options(format!("no page {page}")))?;
        let svg = render::page_svg(laid, &self.document.style, &self.fonts, "#ffffff", "");
        let tree = render::parse(&svg, &self.fonts)?;
        let pixmap = render::rasterise(&tree, render::px_per_mm(dpi))?;
        render::png_bytes(&render::to_rgb(&pixmap))
    }

    /// The whole document as a PDF with a text layer.
    pub fn pdf(&self) -> Result<Vec<u8>, CorpusError> {
        render::pdf(&self.pages, &self.document.style, &self.fonts)
    }
}

/// An empty A4 page as a PNG at `dpi`.
pub fn blank_png(dpi: u32) -> Result<Vec<u8>, CorpusError> {
    let (w, h) = render::page_pixels(render::px_per_mm(dpi));
    render::png_bytes(&image::RgbImage::from_pixel(
        w,
        h,
        image::Rgb([255, 255, 255]),
    ))
}
