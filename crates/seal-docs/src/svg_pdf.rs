//! Vector drawings parsed by usvg turned into PDF content: filled and stroked paths in
//! solid colours, which is all a seal, a QR code, a barcode or outlined text needs.
//!
//! `svg2pdf` and `krilla-svg` would convert any SVG, but no release of either works
//! with the usvg 0.49 this workspace draws seals with (svg2pdf 0.13 is built on usvg
//! 0.45, krilla-svg 0.8 on usvg 0.47): taking one would put a second usvg, resvg and
//! fontdb in the build. This module writes the few operators needed with `pdf-writer`
//! and refuses, by name, anything else (gradients, images, clips, masks, filters,
//! transparency), so a drawing is never silently changed.

use pdf_writer::types::{LineCapStyle, LineJoinStyle};
use pdf_writer::{Content, Filter, Finish, Pdf, Rect, Ref, TextStr};
use resvg::tiny_skia::{self, PathSegment};
use resvg::usvg;

/// Why a drawing could not be written as PDF.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SvgPdfError {
    #[error("the drawing uses {0}, which the PDF writer does not support")]
    Unsupported(&'static str),
    #[error("the page size {width} × {height} pt is not a positive finite size")]
    PageSize { width: f32, height: f32 },
}

/// A PDF with one page of `width_pt` × `height_pt` points on which `tree` is drawn,
/// scaled to fill the page.
pub fn single_page(
    tree: &usvg::Tree,
    width_pt: f32,
    height_pt: f32,
) -> Result<Vec<u8>, SvgPdfError> {
    if !(width_pt.is_finite() && height_pt.is_finite() && width_pt > 0.0 && height_pt > 0.0) {
        return Err(SvgPdfError::PageSize {
            width: width_pt,
            height: height_pt,
        });
    }
    let size = tree.size();
    // SVG: y down from the top left; PDF: y up from the bottom left.
    let to_page = [
        width_pt / size.width(),
        0.0,
        0.0,
        -height_pt / size.height(),
        0.0,
        height_pt,
    ];
    let content = content_stream(tree, to_page)?;
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(&content, 6);

    let catalog_id = Ref::new(1);
    let pages_id = Ref::new(2);
    let page_id = Ref::new(3);
    let content_id = Ref::new(4);
    let info_id = Ref::new(5);
    let mut pdf = Pdf::new();
    pdf.set_version(1, 7);
    pdf.catalog(catalog_id).pages(pages_id);
    pdf.pages(pages_id).kids([page_id]).count(1);
    let mut page = pdf.page(page_id);
    page.parent(pages_id)
        .media_box(Rect::new(0.0, 0.0, width_pt, height_pt))
        .contents(content_id);
    page.resources().finish();
    page.finish();
    pdf.stream(content_id, &compressed)
        .filter(Filter::FlateDecode);
    pdf.document_info(info_id).producer(TextStr("Sealkeeper"));
    Ok(pdf.finish())
}

/// The PDF content stream drawing `tree`, after the matrix `base` (`a b c d e f`, as
/// the `cm` operator takes it) maps the tree's user space to the page.
pub fn content_stream(tree: &usvg::Tree, base: [f32; 6]) -> Result<Vec<u8>, SvgPdfError> {
    let mut content = Content::new();
    content.save_state();
    content.transform(base);
    draw_group(tree.root(), &mut content)?;
    content.restore_state();
    Ok(content.finish().into_vec())
}

fn draw_group(group: &usvg::Group, content: &mut Content) -> Result<(), SvgPdfError> {
    if group.opacity().get() < 1.0 {
        return Err(SvgPdfError::Unsupported("group opacity"));
    }
    if group.clip_path().is_some() {
        return Err(SvgPdfError::Unsupported("a clip path"));
    }
    if group.mask().is_some() {
        return Err(SvgPdfError::Unsupported("a mask"));
    }
    if !group.filters().is_empty() {
        return Err(SvgPdfError::Unsupported("a filter"));
    }
    if group.blend_mode() != usvg::BlendMode::Normal {
        return Err(SvgPdfError::Unsupported("a blend mode"));
    }
    for node in group.children() {
        match node {
            usvg::Node::Group(child) => draw_group(child, content)?,
            usvg::Node::Path(path) => draw_path(path, content)?,
            usvg::Node::Image(_) => return Err(SvgPdfError::Unsupported("an image")),
            usvg::Node::Text(text) => draw_group(text.flattened(), content)?,
        }
    }
    Ok(())
}

fn draw_path(path: &usvg::Path, content: &mut Content) -> Result<(), SvgPdfError> {
    if !path.is_visible() {
        return Ok(());
    }
    let fill_first = path.paint_order() == usvg::PaintOrder::FillAndStroke;
    let steps: [Option<Step<'_>>; 2] = if fill_first {
        [path.fill().map(Step::Fill), path.stroke().map(Step::Stroke)]
    } else {
        [path.stroke().map(Step::Stroke), path.fill().map(Step::Fill)]
    };
    for step in steps.into_iter().flatten() {
        content.save_state();
        let t = path.abs_transform();
        content.transform([t.sx, t.ky, t.kx, t.sy, t.tx, t.ty]);
        match step {
            Step::Fill(fill) => {
                let (r, g, b) = solid(fill.paint(), fill.opacity())?;
                content.set_fill_rgb(r, g, b);
                trace(path.data(), content);
                match fill.rule() {
                    usvg::FillRule::NonZero => content.fill_nonzero(),
                    usvg::FillRule::EvenOdd => content.fill_even_odd(),
                };
            }
            Step::Stroke(stroke) => {
                let (r, g, b) = solid(stroke.paint(), stroke.opacity())?;
                content.set_stroke_rgb(r, g, b);
                content.set_line_width(stroke.width().get());
                content.set_line_cap(match stroke.linecap() {
                    usvg::LineCap::Butt => LineCapStyle::ButtCap,
                    usvg::LineCap::Round => LineCapStyle::RoundCap,
                    usvg::LineCap::Square => LineCapStyle::ProjectingSquareCap,
                });
                content.set_line_join(match stroke.linejoin() {
                    usvg::LineJoin::Miter | usvg::LineJoin::MiterClip => LineJoinStyle::MiterJoin,
                    usvg::LineJoin::Round => LineJoinStyle::RoundJoin,
                    usvg::LineJoin::Bevel => LineJoinStyle::BevelJoin,
                });
                content.set_miter_limit(stroke.miterlimit().get());
                if let Some(dashes) = stroke.dasharray() {
                    content.set_dash_pattern(dashes.iter().copied(), stroke.dashoffset());
                }
                trace(path.data(), content);
                content.stroke();
            }
        }
        content.restore_state();
    }
    Ok(())
}

enum Step<'a> {
    Fill(&'a usvg::Fill),
    Stroke(&'a usvg::Stroke),
}

/// The colour of a solid, opaque paint as PDF RGB components.
fn solid(paint: &usvg::Paint, opacity: usvg::Opacity) -> Result<(f32, f32, f32), SvgPdfError> {
    if opacity.get() < 1.0 {
        return Err(SvgPdfError::Unsupported("a translucent paint"));
    }
    match paint {
        usvg::Paint::Color(color) => Ok((
            f32::from(color.red) / 255.0,
            f32::from(color.green) / 255.0,
            f32::from(color.blue) / 255.0,
        )),
        usvg::Paint::LinearGradient(_) | usvg::Paint::RadialGradient(_) => {
            Err(SvgPdfError::Unsupported("a gradient"))
        }
        usvg::Paint::Pattern(_) => Err(SvgPdfError::Unsupported("a pattern")),
    }
}

/// Appends the path's segments; quadratic curves become cubic ones.
fn trace(path: &tiny_skia::Path, content: &mut Content) {
    let mut last = tiny_skia::Point::zero();
    let mut start = tiny_skia::Point::zero();
    for segment in path.segments() {
        match segment {
            PathSegment::MoveTo(p) => {
                content.move_to(p.x, p.y);
                last = p;
                start = p;
            }
            PathSegment::LineTo(p) => {
                content.line_to(p.x, p.y);
                last = p;
            }
            PathSegment::QuadTo(c, p) => {
                let c1 = (
                    last.x + 2.0 / 3.0 * (c.x - last.x),
                    last.y + 2.0 / 3.0 * (c.y - last.y),
                );
                let c2 = (p.x + 2.0 / 3.0 * (c.x - p.x), p.y + 2.0 / 3.0 * (c.y - p.y));
                content.cubic_to(c1.0, c1.1, c2.0, c2.1, p.x, p.y);
                last = p;
            }
            PathSegment::CubicTo(c1, c2, p) => {
                content.cubic_to(c1.x, c1.y, c2.x, c2.y, p.x, p.y);
                last = p;
            }
            PathSegment::Close => {
                content.close_path();
                last = start;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(svg: &str) -> usvg::Tree {
        usvg::Tree::from_str(svg, &usvg::Options::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn paths_become_operators() {
        let tree = tree(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><path d="M1 1h2v2h-2z" fill="#ff0000"/><path d="M0 0Q5 5 10 0" fill="none" stroke="#000" stroke-width="0.5"/></svg>"##,
        );
        let content = content_stream(&tree, [1.0, 0.0, 0.0, -1.0, 0.0, 10.0])
            .unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(&content);
        assert!(text.contains("1 0 0 rg"), "{text}");
        assert!(
            text.contains("\nf\n") || text.ends_with("f\nQ\nQ"),
            "{text}"
        );
        assert!(text.contains(" c\n"), "quadratic as cubic: {text}");
        assert!(text.contains("0.5 w"), "{text}");
    }

    #[test]
    fn unsupported_features_are_refused() {
        let gradient = tree(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><defs><linearGradient id="g"><stop offset="0" stop-color="#000"/><stop offset="1" stop-color="#fff"/></linearGradient></defs><rect width="10" height="10" fill="url(#g)"/></svg>"##,
        );
        assert_eq!(
            content_stream(&gradient, [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]),
            Err(SvgPdfError::Unsupported("a gradient"))
        );
        let translucent = tree(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><g opacity="0.5"><rect width="10" height="10"/><rect x="1" width="1" height="1"/></g></svg>"##,
        );
        assert_eq!(
            content_stream(&translucent, [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]),
            Err(SvgPdfError::Unsupported("group opacity"))
        );
        assert!(matches!(
            single_page(&translucent, 0.0, 10.0),
            Err(SvgPdfError::PageSize { .. })
        ));
    }
}
