//! The card page, drawn with krilla: photo, the resident's details in each of their languages (Arabic
//! shaped and set right to left), the UIN, the issue date and a QR code drawn as vector modules.
//!
//! krilla draws one font per text run and does no bidi: lines are split into bidi runs
//! (`unicode-bidi`), each run into script runs (Arabic font for Arabic letters, Latin font for the
//! rest), measured with rustybuzz (the shaper krilla uses) and placed in visual order.

use std::collections::BTreeMap;

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::num::NormalizedF32;
use krilla::paint::{Fill, FillRule};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};

const LATIN: &[u8] = include_bytes!("../fonts/NotoSans-Regular.ttf");
const LATIN_BOLD: &[u8] = include_bytes!("../fonts/NotoSans-Bold.ttf");
const ARABIC: &[u8] = include_bytes!("../fonts/NotoSansArabic-Regular.ttf");
const ARABIC_BOLD: &[u8] = include_bytes!("../fonts/NotoSansArabic-Bold.ttf");
const LABELS: &str = include_str!("../data/labels.json");

/// A5 landscape, in points.
pub const PAGE_W: f32 = 595.0;
pub const PAGE_H: f32 = 420.0;

struct Face {
    font: Font,
    shaper: rustybuzz::Face<'static>,
}

impl Face {
    fn new(bytes: &'static [u8]) -> Result<Self, String> {
        Ok(Face {
            font: Font::new(bytes.into(), 0).ok_or("a bundled font does not load")?,
            shaper: rustybuzz::Face::from_slice(bytes, 0).ok_or("a bundled font does not parse")?,
        })
    }

    /// The advance width of `text` at `size` points.
    fn width(&self, text: &str, size: f32, rtl: bool) -> f32 {
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.guess_segment_properties();
        buffer.set_direction(if rtl { rustybuzz::Direction::RightToLeft } else { rustybuzz::Direction::LeftToRight });
        let shaped = rustybuzz::shape(&self.shaper, &[], buffer);
        let units: i32 = shaped.glyph_positions().iter().map(|p| p.x_advance).sum();
        units as f32 * size / f32::from(self.shaper.units_per_em() as u16)
    }
}

/// Fonts and label texts, loaded once and shared by every card.
pub struct Typography {
    latin: Face,
    latin_bold: Face,
    arabic: Face,
    arabic_bold: Face,
    labels: BTreeMap<String, BTreeMap<String, String>>,
}

fn is_arabic(c: char) -> bool {
    matches!(c as u32, 0x0600..=0x06FF | 0x0750..=0x077F | 0x08A0..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF)
}

fn is_neutral(c: char) -> bool {
    c.is_whitespace() || c.is_ascii_punctuation() || c.is_ascii_digit()
}

/// Which way a line reads and where it is anchored.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

impl Typography {
    pub fn new() -> Result<Self, String> {
        Ok(Typography {
            latin: Face::new(LATIN)?,
            latin_bold: Face::new(LATIN_BOLD)?,
            arabic: Face::new(ARABIC)?,
            arabic_bold: Face::new(ARABIC_BOLD)?,
            labels: serde_json::from_str(LABELS).map_err(|e| format!("card labels: {e}"))?,
        })
    }

    pub fn label(&self, lang: &str, key: &str) -> String {
        self.labels
            .get(lang)
            .and_then(|l| l.get(key))
            .or_else(|| self.labels.get("eng").and_then(|l| l.get(key)))
            .cloned()
            .unwrap_or_else(|| key.to_owned())
    }

    fn face(&self, arabic: bool, bold: bool) -> &Face {
        match (arabic, bold) {
            (true, true) => &self.arabic_bold,
            (true, false) => &self.arabic,
            (false, true) => &self.latin_bold,
            (false, false) => &self.latin,
        }
    }

    /// The line's pieces in visual order, left to right: (text, arabic font, right-to-left).
    fn pieces(&self, text: &str, rtl_base: bool) -> Vec<(String, bool, bool)> {
        let level = if rtl_base { unicode_bidi::Level::rtl() } else { unicode_bidi::Level::ltr() };
        let bidi = unicode_bidi::BidiInfo::new(text, Some(level));
        let mut out = Vec::new();
        for para in &bidi.paragraphs {
            let (levels, runs) = bidi.visual_runs(para, para.range.clone());
            for run in runs {
                let rtl = levels[run.start].is_rtl();
                // split by font; neutral characters stay with the run they are in
                let mut scripts: Vec<(String, bool)> = Vec::new();
                for c in text[run.clone()].chars() {
                    let arabic = if is_neutral(c) { scripts.last().map(|s| s.1).unwrap_or(rtl) } else { is_arabic(c) };
                    match scripts.last_mut() {
                        Some((s, a)) if *a == arabic || is_neutral(c) => s.push(c),
                        _ => scripts.push((c.to_string(), arabic)),
                    }
                }
                if rtl {
                    scripts.reverse();
                }
                out.extend(scripts.into_iter().map(|(s, a)| (s, a, rtl)));
            }
        }
        out
    }

    pub fn width(&self, text: &str, size: f32, bold: bool, rtl_base: bool) -> f32 {
        self.pieces(text, rtl_base).iter().map(|(s, a, rtl)| self.face(*a, bold).width(s, size, *rtl)).sum()
    }

    /// Draws one line with its baseline at `y`, anchored at `x` (left or right edge), shrinking the
    /// size (down to 60 %) to fit `max_width`. Returns the width drawn.
    #[allow(clippy::too_many_arguments)]
    pub fn line(
        &self,
        surface: &mut Surface<'_>,
        text: &str,
        x: f32,
        y: f32,
        mut size: f32,
        bold: bool,
        align: Align,
        rtl_base: bool,
        max_width: f32,
    ) -> f32 {
        let text = text.trim();
        if text.is_empty() {
            return 0.0;
        }
        let mut width = self.width(text, size, bold, rtl_base);
        let min = size * 0.6;
        while width > max_width && size > min {
            size = (size - 0.5).max(min);
            width = self.width(text, size, bold, rtl_base);
        }
        let mut cursor = match align {
            Align::Left => x,
            Align::Right => x - width,
        };
        for (piece, arabic, rtl) in self.pieces(text, rtl_base) {
            let face = self.face(arabic, bold);
            let dir = if rtl { TextDirection::RightToLeft } else { TextDirection::LeftToRight };
            surface.draw_text(Point::from_xy(cursor, y), face.font.clone(), size, &piece, false, dir);
            cursor += face.width(&piece, size, rtl);
        }
        width
    }
}

pub fn fill(r: u8, g: u8, b: u8) -> Fill {
    Fill { paint: rgb::Color::new(r, g, b).into(), opacity: NormalizedF32::ONE, rule: FillRule::NonZero }
}

pub fn rect(surface: &mut Surface<'_>, x: f32, y: f32, w: f32, h: f32, colour: Fill) {
    let mut pb = PathBuilder::new();
    if let Some(r) = Rect::from_xywh(x, y, w, h) {
        pb.push_rect(r);
    }
    if let Some(path) = pb.finish() {
        surface.set_fill(Some(colour));
        surface.draw_path(&path);
    }
}

/// Draws `image` inside the box, keeping its proportions, centred.
pub fn image_in_box(surface: &mut Surface<'_>, image: Image, x: f32, y: f32, w: f32, h: f32) {
    let (iw, ih) = image.size();
    if iw == 0 || ih == 0 {
        return;
    }
    let scale = (w / iw as f32).min(h / ih as f32);
    let (dw, dh) = (iw as f32 * scale, ih as f32 * scale);
    if let Some(size) = Size::from_wh(dw, dh) {
        surface.push_transform(&Transform::from_translate(x + (w - dw) / 2.0, y + (h - dh) / 2.0));
        surface.draw_image(image, size);
        surface.pop();
    }
}

/// Draws a QR code of `data` as a square of side `side` with its top-left corner at (x, y): a
/// one-bit image of the modules with a quiet zone, scaled without smoothing so the modules stay sharp.
/// (Drawing each module as a path made a content stream of tens of kilobytes to compress per card.)
pub fn qr(surface: &mut Surface<'_>, data: &[u8], x: f32, y: f32, side: f32) -> Result<(), String> {
    let code = qrcode::QrCode::with_error_correction_level(data, qrcode::EcLevel::M).map_err(|e| e.to_string())?;
    let n = code.width();
    let quiet = 4;
    let dim = n + 2 * quiet;
    let colors = code.to_colors();
    // one bit per pixel, rows padded to whole bytes; 1 is white
    let row_bytes = dim.div_ceil(8);
    let mut bits = vec![0xFFu8; row_bytes * dim];
    for row in 0..n {
        for col in 0..n {
            if colors[row * n + col] == qrcode::Color::Dark {
                let (px, py) = (col + quiet, row + quiet);
                bits[py * row_bytes + px / 8] &= !(0x80 >> (px % 8));
            }
        }
    }
    let mut png_bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png_bytes, dim as u32, dim as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(&bits).map_err(|e| e.to_string())?;
    }
    let image = Image::from_png(png_bytes.into(), false)?;
    if let Some(size) = Size::from_wh(side, side) {
        surface.push_transform(&Transform::from_translate(x, y));
        surface.draw_image(image, size);
        surface.pop();
    }
    Ok(())
}
