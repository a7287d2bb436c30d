//! What the comparison engine knows of a page: the text lines read from it (by OCR or
//! from a PDF's text layer) with their places in pixels, and the reader trait that the
//! OCR engine implements so that the comparison can be tested with any reader.

use image::RgbImage;

/// A point in a page image, in pixels from the top-left corner.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

/// An axis-aligned box in a page image, in pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PixelBox {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

impl PixelBox {
    /// The smallest box around `points` (a zero box for none).
    pub fn around(points: &[Point]) -> PixelBox {
        let Some(first) = points.first() else {
            return PixelBox::default();
        };
        let (mut x0, mut y0, mut x1, mut y1) = (first.x, first.y, first.x, first.y);
        for p in &points[1..] {
            x0 = x0.min(p.x);
            y0 = y0.min(p.y);
            x1 = x1.max(p.x);
            y1 = y1.max(p.y);
        }
        PixelBox {
            x: x0,
            y: y0,
            width: x1 - x0,
            height: y1 - y0,
        }
    }

    pub fn right(&self) -> f32 {
        self.x + self.width
    }

    pub fn bottom(&self) -> f32 {
        self.y + self.height
    }

    pub fn center(&self) -> Point {
        Point {
            x: self.x + self.width / 2.0,
            y: self.y + self.height / 2.0,
        }
    }

    /// This box scaled by `sx`, `sy` (from one page size to another).
    pub fn scaled(&self, sx: f32, sy: f32) -> PixelBox {
        PixelBox {
            x: self.x * sx,
            y: self.y * sy,
            width: self.width * sx,
            height: self.height * sy,
        }
    }

    /// The four corners, clockwise from top-left.
    pub fn corners(&self) -> [Point; 4] {
        [
            Point {
                x: self.x,
                y: self.y,
            },
            Point {
                x: self.right(),
                y: self.y,
            },
            Point {
                x: self.right(),
                y: self.bottom(),
            },
            Point {
                x: self.x,
                y: self.bottom(),
            },
        ]
    }

    /// The box of one part of this line's text: characters `start..end` of `count`,
    /// assuming evenly spread characters (what OCR gives no finer).
    pub fn part(&self, start: usize, end: usize, count: usize) -> PixelBox {
        if count == 0 {
            return *self;
        }
        let step = self.width / count as f32;
        PixelBox {
            x: self.x + step * start as f32,
            y: self.y,
            width: (step * (end.max(start + 1) - start) as f32).min(self.width),
            height: self.height,
        }
    }
}

/// One line of text read from a page.
#[derive(Clone, Debug, PartialEq)]
pub struct TextLine {
    pub text: String,
    /// The reader's confidence, 0.0 to 1.0 (1.0 for a text layer).
    pub score: f32,
    /// The line's four corners, clockwise from top-left, in the image that was read.
    pub quad: [Point; 4],
}

impl TextLine {
    /// The axis-aligned box around the line.
    pub fn bounds(&self) -> PixelBox {
        PixelBox::around(&self.quad)
    }
}

/// Why a page could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The OCR models or the ONNX Runtime library are missing or unusable; the message
    /// says what and how to install them.
    #[error("OCR is not available: {0}")]
    Unavailable(String),
    /// The reader failed on this image.
    #[error("reading the page failed: {0}")]
    Failed(String),
}

/// Something that reads the text lines of a page image: the OCR engine
/// ([`crate::ocr::OcrEngine`]) in production. Implementations serve concurrent callers.
pub trait TextReader: Send + Sync {
    /// The lines of `page`, top to bottom, each with its place in `page`'s pixels.
    fn read(&self, page: &RgbImage) -> Result<Vec<TextLine>, ReadError>;

    /// The text of each of `boxes` of `page`, read as one line: one [`TextLine`] per box,
    /// in the same order, its corners those of the box (clipped to the page).
    ///
    /// The default reads each box's crop with [`TextReader::read`] and joins what it
    /// finds left to right; the OCR engine recognises the crops without looking for
    /// lines in them.
    fn read_lines(&self, page: &RgbImage, boxes: &[PixelBox]) -> Result<Vec<TextLine>, ReadError> {
        boxes
            .iter()
            .map(|b| {
                let (x, y, w, h) = crop_rect(page, b);
                let quad = PixelBox {
                    x: x as f32,
                    y: y as f32,
                    width: w as f32,
                    height: h as f32,
                }
                .corners();
                if w == 0 || h == 0 {
                    return Ok(TextLine {
                        text: String::new(),
                        score: 0.0,
                        quad,
                    });
                }
                let crop = image::imageops::crop_imm(page, x, y, w, h).to_image();
                let mut found = self.read(&crop)?;
                found.sort_by(|p, q| p.bounds().x.total_cmp(&q.bounds().x));
                let score = found.iter().map(|l| l.score).fold(1.0f32, f32::min);
                let text: Vec<&str> = found.iter().map(|l| l.text.as_str()).collect();
                Ok(TextLine {
                    text: text.join(" "),
                    score: if found.is_empty() { 0.0 } else { score },
                    quad,
                })
            })
            .collect()
    }
}

/// The whole pixels of `b` inside `page`: x, y, width, height.
pub fn crop_rect(page: &RgbImage, b: &PixelBox) -> (u32, u32, u32, u32) {
    let (w, h) = (page.width() as f32, page.height() as f32);
    let x0 = b.x.floor().clamp(0.0, w);
    let y0 = b.y.floor().clamp(0.0, h);
    let x1 = b.right().ceil().clamp(0.0, w);
    let y1 = b.bottom().ceil().clamp(0.0, h);
    (x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32)
}
