//! A generated corpus of photos of printed stamp marks, the same on every run (fixed
//! seeds): the mark drawn onto a page of paper, then turned, seen at a slant, blurred,
//! darkened, made noisy and saved as JPEG (in grey levels, which is all the decoders
//! look at), in the ways a phone camera would. Shared by
//! the tests and by `examples/qr_corpus.rs`.

use image::codecs::jpeg::JpegEncoder;
use image::{GrayImage, Luma, Rgb};
use imageproc::geometric_transformations::{Interpolation, Projection, warp};
use seal_docs::{QrForm, SealShape, SealSpec, StampMarkSpec, StampMarker};

/// The grey-brown of the desk around the page in a photo.
const DESK: Rgb<u8> = Rgb([70, 62, 55]);
/// The paper's colour.
const PAPER: Rgb<u8> = Rgb([242, 240, 232]);

/// One photo of the corpus.
pub struct Photo {
    /// The kind of degradation, for the per-category statistics.
    pub category: &'static str,
    /// A name saying exactly what was done.
    pub name: String,
    /// The text the QR code carries.
    pub text: String,
    /// The photo, in grey levels, as a JPEG (or PNG for the clean ones).
    pub bytes: Vec<u8>,
}

/// What is done to the page, in this order.
#[derive(Clone, Debug)]
struct Recipe {
    category: &'static str,
    /// Pixels per inch of paper in the photo, which sets the module size in pixels:
    /// 300 dpi gives 6.4 px (URL form, version 3) and 5.0 px (offline form, version 9)
    /// per module.
    dpi: u32,
    /// Page image size in pixels.
    page: (u32, u32),
    /// Clockwise turn of the whole picture, degrees.
    rotate_deg: f32,
    /// Perspective: how much narrower the far (top) edge looks, as a share of the width,
    /// and a sideways lean, as a share of the width.
    slant: (f32, f32),
    blur_sigma: f32,
    /// Light: the brightest level reached (255 is full light) and the darkest.
    light: (f32, f32),
    /// Uneven light: the share by which the brightness falls off towards one corner.
    falloff: f32,
    noise_stddev: f64,
    /// JPEG quality, or `None` for a PNG.
    jpeg_quality: Option<u8>,
}

impl Recipe {
    fn base(category: &'static str) -> Recipe {
        Recipe {
            category,
            dpi: 300,
            page: (1400, 1100),
            rotate_deg: 0.0,
            slant: (0.0, 0.0),
            blur_sigma: 0.0,
            light: (255.0, 0.0),
            falloff: 0.0,
            noise_stddev: 0.0,
            jpeg_quality: Some(90),
        }
    }

    fn name(&self) -> String {
        let mut parts = vec![format!("{}dpi", self.dpi)];
        if self.rotate_deg != 0.0 {
            parts.push(format!("rot{}", self.rotate_deg));
        }
        if self.slant != (0.0, 0.0) {
            parts.push(format!("slant{}/{}", self.slant.0, self.slant.1));
        }
        if self.blur_sigma > 0.0 {
            parts.push(format!("blur{}", self.blur_sigma));
        }
        if self.light != (255.0, 0.0) || self.falloff > 0.0 {
            parts.push(format!(
                "light{}-{}fall{}",
                self.light.1, self.light.0, self.falloff
            ));
        }
        if self.noise_stddev > 0.0 {
            parts.push(format!("noise{}", self.noise_stddev));
        }
        match self.jpeg_quality {
            Some(quality) => parts.push(format!("q{quality}")),
            None => parts.push("png".into()),
        }
        format!("{} {}", self.category, parts.join(" "))
    }
}

/// The recipes: every category of degradation, a few strengths each.
fn recipes() -> Vec<Recipe> {
    let base = Recipe::base;
    let mut all = vec![Recipe {
        jpeg_quality: None,
        ..base("clean")
    }];
    for angle in [90.0, 180.0, 17.0, 33.0, -61.0] {
        all.push(Recipe {
            rotate_deg: angle,
            ..base("rotated")
        });
    }
    for (slant, angle) in [
        ((0.25, 0.0), 0.0),
        ((0.15, 0.12), 10.0),
        ((0.3, -0.1), -25.0),
    ] {
        all.push(Recipe {
            slant,
            rotate_deg: angle,
            ..base("perspective")
        });
    }
    for sigma in [1.0, 1.5, 2.0] {
        all.push(Recipe {
            blur_sigma: sigma,
            ..base("blurred")
        });
    }
    for stddev in [15.0, 25.0, 35.0] {
        all.push(Recipe {
            noise_stddev: stddev,
            ..base("noisy")
        });
    }
    for (light, falloff) in [
        ((90.0, 10.0), 0.0),
        ((140.0, 50.0), 0.6),
        ((70.0, 20.0), 0.4),
    ] {
        all.push(Recipe {
            light,
            falloff,
            noise_stddev: 4.0,
            ..base("low light")
        });
    }
    for quality in [20, 35] {
        all.push(Recipe {
            jpeg_quality: Some(quality),
            ..base("jpeg")
        });
    }
    for (angle, slant, sigma) in [(33.0, (0.15, 0.05), 1.5), (-120.0, (0.1, -0.08), 1.2)] {
        all.push(Recipe {
            rotate_deg: angle,
            slant,
            blur_sigma: sigma,
            light: (150.0, 30.0),
            falloff: 0.3,
            noise_stddev: 8.0,
            jpeg_quality: Some(60),
            ..base("combined")
        });
    }
    for (angle, dpi) in [(0.0, 170), (21.0, 190)] {
        all.push(Recipe {
            dpi,
            page: (3200, 2400),
            rotate_deg: angle,
            noise_stddev: 6.0,
            jpeg_quality: Some(85),
            ..base("small in large")
        });
    }
    all
}

/// Harsher recipes than the tests demand, to find the decoders' limits: modules of
/// three to four pixels blurred by two or three, heavy noise, near darkness, tiny
/// codes in large photos, and everything at once.
fn hard_recipes() -> Vec<Recipe> {
    let base = Recipe::base;
    let mut all = Vec::new();
    for (dpi, sigma) in [(200, 2.0), (300, 2.5), (300, 3.0)] {
        all.push(Recipe {
            dpi,
            blur_sigma: sigma,
            ..base("hard blur")
        });
    }
    for stddev in [50.0, 65.0] {
        all.push(Recipe {
            noise_stddev: stddev,
            ..base("hard noise")
        });
    }
    for (light, falloff) in [((35.0, 5.0), 0.5), ((50.0, 25.0), 0.3)] {
        all.push(Recipe {
            light,
            falloff,
            noise_stddev: 5.0,
            ..base("hard dark")
        });
    }
    for (dpi, sigma) in [(150, 1.0), (130, 0.7)] {
        all.push(Recipe {
            dpi,
            page: (4000, 3000),
            rotate_deg: 12.0,
            blur_sigma: sigma,
            noise_stddev: 8.0,
            jpeg_quality: Some(70),
            ..base("hard small")
        });
    }
    for (angle, slant) in [(45.0, (0.3, 0.1)), (-150.0, (0.35, -0.15))] {
        all.push(Recipe {
            rotate_deg: angle,
            slant,
            blur_sigma: 2.0,
            light: (100.0, 20.0),
            falloff: 0.5,
            noise_stddev: 12.0,
            jpeg_quality: Some(40),
            ..base("hard combined")
        });
    }
    all
}

/// A small deterministic generator (SplitMix64) for texts and placements.
pub struct Seeded(u64);

impl Seeded {
    pub fn new(seed: u64) -> Seeded {
        Seeded(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn pick(&mut self, alphabet: &str) -> char {
        let count = alphabet.chars().count() as u64;
        let index = self.below(count.max(1)) as usize;
        alphabet.chars().nth(index).unwrap_or('0')
    }
}

/// A short verification URL: a 26-character Base32 stamp id (128 bits) behind the
/// host, upper case so that it encodes in alphanumeric mode.
pub fn url_text(seed: u64) -> String {
    let mut rng = Seeded::new(seed);
    let id: String = (0..26)
        .map(|_| rng.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"))
        .collect();
    format!("HTTPS://SEAL.EXAMPLE.COM/V/{id}")
}

/// An offline token: `SK1:` and Base45 characters, `len` characters in all.
pub fn offline_text(seed: u64, len: usize) -> String {
    let mut rng = Seeded::new(seed);
    let body: String = (0..len.saturating_sub(4))
        .map(|_| rng.pick("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"))
        .collect();
    format!("SK1:{body}")
}

/// A 20-digit numeric code.
pub fn numeric_code(seed: u64) -> String {
    let mut rng = Seeded::new(seed);
    (0..20).map(|_| rng.pick("0123456789")).collect()
}

/// The seal every corpus mark carries.
pub fn seal() -> SealSpec {
    SealSpec {
        org_name: "上海浦东新区海纳百川信息科技股份有限公司".into(),
        seal_name: "合同专用章".into(),
        code: "3101150012345".into(),
        shape: SealShape::Round { diameter_mm: 40.0 },
        star: true,
    }
}

/// The mark of the given form with texts made from `seed`; the offline token is 240
/// characters long (version 9).
pub fn mark_spec(form: QrForm, seed: u64) -> StampMarkSpec {
    let text = match form {
        QrForm::ShortUrl => url_text(seed),
        QrForm::Offline => offline_text(seed, 240),
    };
    StampMarkSpec::new(seal(), form, text, numeric_code(seed)).with_barcode()
}

/// Every photo of the corpus, both QR forms for every recipe.
pub fn photos(marker: &StampMarker) -> Result<Vec<Photo>, String> {
    photos_where(marker, |_| true)
}

/// The photos of the harsher recipes, which no test requires to decode.
pub fn hard_photos(marker: &StampMarker) -> Result<Vec<Photo>, String> {
    let mut out = Vec::new();
    for (i, recipe) in hard_recipes().into_iter().enumerate() {
        for (j, form) in [QrForm::ShortUrl, QrForm::Offline].into_iter().enumerate() {
            let seed = 5000 + 2 * i as u64 + j as u64;
            out.push(photo(marker, &recipe, form, seed)?);
        }
    }
    Ok(out)
}

/// The photos of one category only (for quicker tests).
pub fn photos_of(marker: &StampMarker, category: &str) -> Result<Vec<Photo>, String> {
    photos_where(marker, |name| name == category)
}

fn photos_where(marker: &StampMarker, wanted: impl Fn(&str) -> bool) -> Result<Vec<Photo>, String> {
    let mut out = Vec::new();
    for (i, recipe) in recipes().into_iter().enumerate() {
        if !wanted(recipe.category) {
            continue;
        }
        for (j, form) in [QrForm::ShortUrl, QrForm::Offline].into_iter().enumerate() {
            let seed = 1000 + 2 * i as u64 + j as u64;
            out.push(photo(marker, &recipe, form, seed)?);
        }
    }
    Ok(out)
}

/// The names of the categories, in corpus order, the harsh ones last.
pub fn categories() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for recipe in recipes().into_iter().chain(hard_recipes()) {
        if !names.contains(&recipe.category) {
            names.push(recipe.category);
        }
    }
    names
}

fn photo(marker: &StampMarker, recipe: &Recipe, form: QrForm, seed: u64) -> Result<Photo, String> {
    let spec = mark_spec(form, seed);
    let layout = marker
        .layout(&spec)
        .map_err(|error| format!("cannot lay the mark out: {error}"))?;
    let mark_svg = marker
        .svg(&spec)
        .map_err(|error| format!("cannot draw the mark: {error}"))?;
    // A camera sees smooth edges: no crisp-edge rendering for the photo.
    let mark = svg_inner(&mark_svg)?.replace(r#"shape-rendering="crispEdges""#, "");
    let (page_w, page_h) = recipe.page;
    let (w, h) = (page_w as f32, page_h as f32);
    let mut rng = Seeded::new(seed ^ 0x5EA1);

    // The page: paper with the mark printed somewhere near the middle (its white
    // multiplies the paper's colour, as ink does), seen by a camera of `dpi` pixels
    // per inch of paper. A plain turn is drawn by resvg from the vectors, which is
    // quick; a slant (perspective) is applied to the pixels afterwards.
    let px_per_mm = recipe.dpi as f32 / 25.4;
    let (mark_w, mark_h) = (layout.width_mm * px_per_mm, layout.height_mm * px_per_mm);
    let free_x = (w - mark_w).max(0.0) as u64;
    let free_y = (h - mark_h).max(0.0) as u64;
    let x0 = free_x / 4 + rng.below(free_x / 2 + 1);
    let y0 = free_y / 4 + rng.below(free_y / 2 + 1);
    let slanted = recipe.slant != (0.0, 0.0);
    let (cx, cy) = (w / 2.0, h / 2.0);
    let turn = if slanted || recipe.rotate_deg == 0.0 {
        String::new()
    } else {
        // Shrunk a little so that the turned page stays mostly in view.
        format!(
            "translate({cx} {cy}) rotate({}) scale(0.9) translate({} {})",
            recipe.rotate_deg, -cx, -cy
        )
    };
    let rgb = |c: Rgb<u8>| format!("rgb({},{},{})", c.0[0], c.0[1], c.0[2]);
    let source = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}"><rect width="{w}" height="{h}" fill="{desk}"/><g transform="{turn}"><rect width="{w}" height="{h}" fill="{paper}"/><g transform="translate({x0} {y0}) scale({px_per_mm})" style="mix-blend-mode:multiply">{mark}</g></g></svg>"#,
        desk = rgb(DESK),
        paper = rgb(PAPER),
    );
    let tree = resvg::usvg::Tree::from_str(&source, &resvg::usvg::Options::default())
        .map_err(|error| format!("cannot parse the page: {error}"))?;
    let mut pixmap = resvg::tiny_skia::Pixmap::new(page_w, page_h)
        .ok_or_else(|| format!("cannot allocate {page_w} × {page_h}"))?;
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::identity(),
        &mut pixmap.as_mut(),
    );
    // The camera's grey levels (Rec. 601 luma): what every decoder sees first. Working
    // in grey keeps the corpus quick to build in unoptimised test builds.
    let mut image = GrayImage::from_fn(page_w, page_h, |x, y| {
        let p = pixmap.pixel(x, y).map(|p| p.demultiply());
        Luma([p.map_or(luma(DESK), |p| luma(Rgb([p.red(), p.green(), p.blue()])))])
    });

    if slanted {
        let (narrow, lean) = recipe.slant;
        let inset = narrow * w / 2.0;
        let shift = lean * w;
        // Where the page's corners land in the picture.
        let corners = [
            (inset + shift, 0.0),
            (w - inset + shift, 0.0),
            (w, h),
            (0.0, h),
        ];
        let slant =
            Projection::from_control_points([(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)], corners)
                .ok_or_else(|| format!("no projection for {corners:?}"))?;
        let turn = Projection::translate(cx, cy)
            * Projection::rotate(recipe.rotate_deg.to_radians())
            * Projection::translate(-cx, -cy);
        let fit = Projection::translate(cx, cy)
            * Projection::scale(0.9, 0.9)
            * Projection::translate(-cx, -cy);
        image = warp(
            &image,
            &(fit * turn * slant),
            Interpolation::Bilinear,
            Luma([luma(DESK)]),
        );
    }
    if recipe.blur_sigma > 0.0 {
        image = imageproc::filter::gaussian_blur_f32(&image, recipe.blur_sigma);
    }
    if recipe.light != (255.0, 0.0) || recipe.falloff > 0.0 {
        let (bright, dark) = recipe.light;
        let (w, h) = (page_w as f32, page_h as f32);
        let corner = (rng.below(2) as f32 * w, rng.below(2) as f32 * h);
        let diagonal = (w * w + h * h).sqrt();
        for (x, y, pixel) in image.enumerate_pixels_mut() {
            let d =
                ((x as f32 - corner.0).powi(2) + (y as f32 - corner.1).powi(2)).sqrt() / diagonal;
            let light = 1.0 - recipe.falloff * (1.0 - d);
            let v = f32::from(pixel.0[0]) / 255.0;
            pixel.0[0] = ((dark + v * (bright - dark)) * light).clamp(0.0, 255.0) as u8;
        }
    }
    if recipe.noise_stddev > 0.0 {
        image = imageproc::noise::gaussian_noise(&image, 0.0, recipe.noise_stddev, seed);
    }
    let mut bytes = Vec::new();
    match recipe.jpeg_quality {
        Some(quality) => JpegEncoder::new_with_quality(&mut bytes, quality)
            .encode_image(&image)
            .map_err(|error| format!("JPEG: {error}"))?,
        None => image
            .write_to(
                &mut std::io::Cursor::new(&mut bytes),
                image::ImageFormat::Png,
            )
            .map_err(|error| format!("PNG: {error}"))?,
    }
    Ok(Photo {
        category: recipe.category,
        name: format!("{} {:?}", recipe.name(), form),
        text: spec.qr_text,
        bytes,
    })
}

/// Rec. 601 luma of a colour.
fn luma(c: Rgb<u8>) -> u8 {
    let [r, g, b] = c.0.map(u32::from);
    ((r * 299 + g * 587 + b * 114 + 500) / 1000) as u8
}

/// What lies between the root `<svg …>` start tag and its end tag.
fn svg_inner(svg: &str) -> Result<&str, String> {
    let start = svg.find("<svg").ok_or("no <svg>")?;
    let open_end = start + svg[start..].find('>').ok_or("unclosed <svg>")? + 1;
    let close = svg.rfind("</svg>").ok_or("no </svg>")?;
    svg.get(open_end..close)
        .ok_or_else(|| "empty <svg>".to_owned())
}
