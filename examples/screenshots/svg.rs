//! A rendered screen (ratatui's buffer) as an SVG image: a monospace grid where every cell keeps
//! its foreground, background, weight and decoration. Runs of cells with the same style share
//! one element, which keeps the files small.

use std::fmt::Write;

use opsdeck::tui::theme::color::{named_index, xterm_rgb};
use ratatui::buffer::{Buffer, Cell};
use ratatui::style::{Color, Modifier};

/// The terminal the screen is shown in: its size in pixels and its colours.
pub struct Terminal {
    pub font_size: f64,
    pub cell_width: f64,
    pub cell_height: f64,
    /// From the top of a cell to the text's baseline.
    pub ascent: f64,
    pub padding: f64,
    pub background: [u8; 3],
    pub foreground: [u8; 3],
    /// The 16 base colours, black to white: every terminal has its own.
    pub palette: [[u8; 3]; 16],
}

impl Terminal {
    /// A dark terminal with a calm palette, like most people's.
    pub fn dark() -> Terminal {
        Terminal {
            // DejaVu Sans Mono's own metrics: 0.602 em wide, 1.164 em from descent to ascent,
            // so block and box-drawing characters join up as they do in a terminal.
            font_size: 15.0,
            cell_width: 15.0 * 0.602,
            cell_height: 15.0 * 1.164,
            ascent: 15.0 * 0.928,
            padding: 12.0,
            background: [0x1d, 0x1f, 0x21],
            foreground: [0xc5, 0xc8, 0xc6],
            palette: [
                [0x1d, 0x1f, 0x21],
                [0xcc, 0x66, 0x66],
                [0xb5, 0xbd, 0x68],
                [0xf0, 0xc6, 0x74],
                [0x81, 0xa2, 0xbe],
                [0xb2, 0x94, 0xbb],
                [0x8a, 0xbe, 0xb7],
                [0xc5, 0xc8, 0xc6],
                [0x70, 0x74, 0x78],
                [0xff, 0x6b, 0x6b],
                [0xc3, 0xe8, 0x8d],
                [0xff, 0xe5, 0x8f],
                [0x9c, 0xc4, 0xff],
                [0xd7, 0xa6, 0xe8],
                [0x93, 0xe0, 0xd6],
                [0xff, 0xff, 0xff],
            ],
        }
    }

    fn rgb(&self, color: Color, default: [u8; 3]) -> [u8; 3] {
        match color {
            Color::Reset => default,
            Color::Rgb(r, g, b) => [r, g, b],
            Color::Indexed(i) if i < 16 => self.palette[i as usize],
            Color::Indexed(i) => xterm_rgb(i),
            named => named_index(named).map_or(default, |i| self.palette[i as usize]),
        }
    }
}

/// How one cell looks, after reverse video is applied.
#[derive(Clone, Copy, PartialEq)]
struct Look {
    fg: [u8; 3],
    bg: [u8; 3],
    bold: bool,
    dim: bool,
    italic: bool,
    underlined: bool,
}

fn look(term: &Terminal, cell: &Cell) -> Look {
    let mut fg = term.rgb(cell.fg, term.foreground);
    let mut bg = term.rgb(cell.bg, term.background);
    if cell.modifier.contains(Modifier::REVERSED) {
        std::mem::swap(&mut fg, &mut bg);
    }
    Look {
        fg,
        bg,
        bold: cell.modifier.contains(Modifier::BOLD),
        dim: cell.modifier.contains(Modifier::DIM),
        italic: cell.modifier.contains(Modifier::ITALIC),
        underlined: cell.modifier.contains(Modifier::UNDERLINED),
    }
}

fn hex([r, g, b]: [u8; 3]) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Consecutive cells of a row that share `key`, as (first column, cells, key).
fn runs<K: PartialEq + Copy>(cells: &[(u16, K)]) -> Vec<(u16, u16, K)> {
    let mut out: Vec<(u16, u16, K)> = Vec::new();
    for &(x, key) in cells {
        match out.last_mut() {
            Some((start, len, k)) if *k == key && *start + *len == x => *len += 1,
            _ => out.push((x, 1, key)),
        }
    }
    out
}

pub fn render(buffer: &Buffer, term: &Terminal) -> String {
    let area = buffer.area;
    let (cw, ch, pad) = (term.cell_width, term.cell_height, term.padding);
    let width = pad * 2.0 + cw * area.width as f64;
    let height = pad * 2.0 + ch * area.height as f64;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" xml:space="preserve" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}">"#
    );
    let _ = writeln!(
        svg,
        r#"<style>text{{font-family:'DejaVu Sans Mono',Menlo,Consolas,ui-monospace,monospace;font-size:{}px;white-space:pre}}.b{{font-weight:bold}}.d{{opacity:.6}}.i{{font-style:italic}}.u{{text-decoration:underline}}</style>"#,
        term.font_size
    );
    let _ = writeln!(
        svg,
        r#"<rect width="100%" height="100%" rx="8" fill="{}"/>"#,
        hex(term.background)
    );
    for y in 0..area.height {
        let cells: Vec<(u16, &Cell, Look)> = (0..area.width)
            .map(|x| {
                let cell = &buffer[(area.x + x, area.y + y)];
                (x, cell, look(term, cell))
            })
            .collect();
        let top = pad + ch * y as f64;
        let backgrounds: Vec<(u16, [u8; 3])> = cells.iter().map(|(x, _, l)| (*x, l.bg)).collect();
        for (x, len, bg) in runs(&backgrounds) {
            if bg != term.background {
                let _ = writeln!(
                    svg,
                    r#"<rect x="{:.2}" y="{top:.2}" width="{:.2}" height="{ch:.2}" fill="{}"/>"#,
                    pad + cw * x as f64,
                    cw * len as f64,
                    hex(bg)
                );
            }
        }
        let styles: Vec<(u16, Look)> = cells
            .iter()
            .map(|(x, _, l)| (*x, Look { bg: [0; 3], ..*l }))
            .collect();
        let baseline = top + term.ascent;
        for (x, len, style) in runs(&styles) {
            let text: String = cells[x as usize..(x + len) as usize]
                .iter()
                .map(|(_, cell, _)| cell.symbol())
                .collect();
            if text.trim().is_empty() {
                continue;
            }
            let mut class = Vec::new();
            for (on, name) in [
                (style.bold, "b"),
                (style.dim, "d"),
                (style.italic, "i"),
                (style.underlined, "u"),
            ] {
                if on {
                    class.push(name);
                }
            }
            let class = if class.is_empty() {
                String::new()
            } else {
                format!(r#" class="{}""#, class.join(" "))
            };
            // textLength pins every run to the grid, whatever the font's own advance.
            let _ = writeln!(
                svg,
                r#"<text x="{:.2}" y="{baseline:.2}" textLength="{:.2}" lengthAdjust="spacingAndGlyphs" fill="{}"{class}>{}</text>"#,
                pad + cw * x as f64,
                cw * len as f64,
                hex(style.fg),
                escape(&text)
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Style;

    #[test]
    fn runs_of_one_style_share_an_element_and_text_is_escaped() {
        let mut buffer = Buffer::empty(ratatui::layout::Rect::new(0, 0, 12, 2));
        buffer.set_string(0, 0, "<a&b>", Style::new().fg(Color::Red));
        buffer.set_string(6, 0, "ok", Style::new().add_modifier(Modifier::BOLD));
        buffer.set_string(0, 1, "sel", Style::new().add_modifier(Modifier::REVERSED));
        let svg = render(&buffer, &Terminal::dark());
        assert!(svg.contains(">&lt;a&amp;b&gt;</text>"), "{svg}");
        assert_eq!(svg.matches("<text").count(), 3, "{svg}");
        assert!(svg.contains(r#"class="b">ok</text>"#), "{svg}");
        // Reverse video: the default foreground becomes the background of the run.
        assert!(
            svg.contains(r##"width="27.09" height="17.46" fill="#c5c8c6""##),
            "{svg}"
        );
        assert!(
            svg.contains(r##"fill="#cc6666""##),
            "red from the palette: {svg}"
        );
    }
}
