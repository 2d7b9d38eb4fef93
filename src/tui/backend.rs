//! The terminal backend the console draws through: crossterm's, with two differences that
//! make a frame cost what changed and nothing more.
//!
//! - A frame whose diff is empty writes nothing: crossterm's backend ends every draw with a
//!   colour and attribute reset, which would put bytes on the wire (over SSH) for no change.
//! - A frame reaches the terminal in one write: stdout is line-buffered with a 1 KiB buffer,
//!   which cut a full frame into dozens of writes.
//! - A cell's text is copied to the buffer as it is; crossterm formats every cell through
//!   `fmt::Write`, which was most of a full redraw's cost. Cursor moves, colours and attributes
//!   are still crossterm's commands, only sent when they change.

use std::io::{BufWriter, Stdout, Write};

use crossterm::style::{Attribute, Colors, SetAttribute, SetColors, SetUnderlineColor};
use crossterm::{execute, queue};
use ratatui::backend::{Backend, ClearType, IntoCrossterm, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier};

/// Large enough for a full frame of a big terminal in colour (300×80 is about 60 kB).
const FRAME_BUFFER: usize = 128 * 1024;

pub struct FrameBackend<W: Write = Stdout> {
    out: BufWriter<W>,
}

impl<W: Write> FrameBackend<W> {
    pub fn new(out: W) -> FrameBackend<W> {
        FrameBackend {
            out: BufWriter::with_capacity(FRAME_BUFFER, out),
        }
    }
}

impl<W: Write> Write for FrameBackend<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

// As crossterm's backend does it, but for `draw`.
impl<W: Write> Backend for FrameBackend<W> {
    type Error = std::io::Error;

    fn draw<'a, I>(&mut self, content: I) -> std::io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut content = content.peekable();
        if content.peek().is_none() {
            return Ok(());
        }
        let out = &mut self.out;
        let (mut fg, mut bg, mut underline) = (Color::Reset, Color::Reset, Color::Reset);
        let mut modifier = Modifier::empty();
        let mut next: Option<(u16, u16)> = None;
        for (x, y, cell) in content {
            if next != Some((x, y)) {
                queue!(out, crossterm::cursor::MoveTo(x, y))?;
            }
            next = Some((x.saturating_add(1), y));
            if cell.modifier != modifier {
                queue_modifiers(out, modifier, cell.modifier)?;
                modifier = cell.modifier;
            }
            if cell.fg != fg || cell.bg != bg {
                let colors = Colors::new(cell.fg.into_crossterm(), cell.bg.into_crossterm());
                queue!(out, SetColors(colors))?;
                (fg, bg) = (cell.fg, cell.bg);
            }
            if cell.underline_color != underline {
                queue!(
                    out,
                    SetUnderlineColor(cell.underline_color.into_crossterm())
                )?;
                underline = cell.underline_color;
            }
            out.write_all(cell.symbol().as_bytes())?;
        }
        queue!(
            out,
            SetColors(Colors::new(
                Color::Reset.into_crossterm(),
                Color::Reset.into_crossterm()
            )),
            SetUnderlineColor(Color::Reset.into_crossterm()),
            SetAttribute(Attribute::Reset)
        )
    }

    fn append_lines(&mut self, n: u16) -> std::io::Result<()> {
        for _ in 0..n {
            self.out.write_all(b"\n")?;
        }
        self.out.flush()
    }

    fn hide_cursor(&mut self) -> std::io::Result<()> {
        execute!(self.out, crossterm::cursor::Hide)
    }

    fn show_cursor(&mut self) -> std::io::Result<()> {
        execute!(self.out, crossterm::cursor::Show)
    }

    fn get_cursor_position(&mut self) -> std::io::Result<Position> {
        let (x, y) = crossterm::cursor::position()?;
        Ok(Position { x, y })
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> std::io::Result<()> {
        let Position { x, y } = position.into();
        execute!(self.out, crossterm::cursor::MoveTo(x, y))
    }

    fn clear(&mut self) -> std::io::Result<()> {
        self.clear_region(ClearType::All)
    }

    fn clear_region(&mut self, clear_type: ClearType) -> std::io::Result<()> {
        use crossterm::terminal::{Clear, ClearType as To};
        let to = match clear_type {
            ClearType::All => To::All,
            ClearType::AfterCursor => To::FromCursorDown,
            ClearType::BeforeCursor => To::FromCursorUp,
            ClearType::CurrentLine => To::CurrentLine,
            ClearType::UntilNewLine => To::UntilNewLine,
        };
        execute!(self.out, Clear(to))
    }

    fn size(&self) -> std::io::Result<Size> {
        let (width, height) = crossterm::terminal::size()?;
        Ok(Size { width, height })
    }

    fn window_size(&mut self) -> std::io::Result<WindowSize> {
        let size = crossterm::terminal::window_size()?;
        Ok(WindowSize {
            columns_rows: Size {
                width: size.columns,
                height: size.rows,
            },
            pixels: Size {
                width: size.width,
                height: size.height,
            },
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// The attribute changes from `from` to `to`. Bold and dim share one reset (normal intensity),
/// so removing either puts back whichever of the two remains.
fn queue_modifiers(out: &mut impl Write, from: Modifier, to: Modifier) -> std::io::Result<()> {
    let removed = from - to;
    let added = to - from;
    let normal = removed.intersects(Modifier::BOLD | Modifier::DIM);
    let mut set = |a: Attribute| queue!(out, SetAttribute(a));
    for (flag, off) in [
        (Modifier::REVERSED, Attribute::NoReverse),
        (Modifier::ITALIC, Attribute::NoItalic),
        (Modifier::UNDERLINED, Attribute::NoUnderline),
        (Modifier::CROSSED_OUT, Attribute::NotCrossedOut),
        (Modifier::HIDDEN, Attribute::NoHidden),
    ] {
        if removed.contains(flag) {
            set(off)?;
        }
    }
    if removed.intersects(Modifier::SLOW_BLINK | Modifier::RAPID_BLINK) {
        set(Attribute::NoBlink)?;
    }
    if normal {
        set(Attribute::NormalIntensity)?;
    }
    // After a reset of the intensity, what remains of bold and dim is set again.
    let again = if normal { to } else { added };
    for (flag, on) in [
        (Modifier::BOLD, Attribute::Bold),
        (Modifier::DIM, Attribute::Dim),
    ] {
        if again.contains(flag) {
            set(on)?;
        }
    }
    for (flag, on) in [
        (Modifier::REVERSED, Attribute::Reverse),
        (Modifier::ITALIC, Attribute::Italic),
        (Modifier::UNDERLINED, Attribute::Underlined),
        (Modifier::CROSSED_OUT, Attribute::CrossedOut),
        (Modifier::HIDDEN, Attribute::Hidden),
        (Modifier::SLOW_BLINK, Attribute::SlowBlink),
        (Modifier::RAPID_BLINK, Attribute::RapidBlink),
    ] {
        if added.contains(flag) {
            set(on)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::CrosstermBackend;
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    /// A frame with every attribute switched on and off in turn, colours of each kind, an
    /// underline colour and wide characters, over a screen that had other things on it.
    fn frames() -> (Buffer, Buffer) {
        let area = Rect::new(0, 0, 40, 6);
        let mut before = Buffer::empty(area);
        before.set_string(0, 0, "x".repeat(40), Style::new().bold().reversed());
        before.set_string(0, 3, "old text here", Style::new().fg(Color::Green));
        let mut after = Buffer::empty(area);
        let modifiers = [
            Modifier::BOLD,
            Modifier::DIM,
            Modifier::BOLD | Modifier::DIM,
            Modifier::ITALIC,
            Modifier::UNDERLINED,
            Modifier::REVERSED,
            Modifier::CROSSED_OUT,
            Modifier::HIDDEN,
            Modifier::SLOW_BLINK,
            Modifier::BOLD | Modifier::REVERSED,
            Modifier::DIM | Modifier::ITALIC,
            Modifier::empty(),
            Modifier::BOLD,
        ];
        for (i, m) in modifiers.iter().enumerate() {
            let x = (i as u16 * 3) % 39;
            let y = (i as u16 * 3) / 39;
            after.set_string(x, y, "ab", Style::new().add_modifier(*m));
        }
        let colours = [
            Color::Red,
            Color::LightBlue,
            Color::DarkGray,
            Color::Indexed(208),
            Color::Rgb(10, 200, 30),
            Color::Reset,
        ];
        for (i, c) in colours.iter().enumerate() {
            let style = Style::new().fg(*c).bg(colours[(i + 2) % colours.len()]);
            after.set_string(i as u16 * 4, 2, "cd", style);
        }
        after.set_string(
            0,
            4,
            "宽字 wide",
            Style::new().underline_color(Color::Red).underlined(),
        );
        after.set_string(20, 4, "plain", Style::new());
        (before, after)
    }

    /// Bytes written through a backend that keeps its writer to itself.
    #[derive(Clone, Default)]
    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What a terminal shows after `bytes`: every cell's text and attributes.
    fn screen(bytes: &[u8]) -> Vec<String> {
        let size = |n| std::num::NonZeroU16::new(n).unwrap();
        let mut parser = vt100::Parser::new(size(6), size(40), 0);
        parser.process(bytes);
        let s = parser.screen();
        let mut cells = Vec::new();
        for row in 0..6 {
            for col in 0..40 {
                let c = s.cell(row, col).unwrap();
                cells.push(format!(
                    "{row},{col} {:?} fg={:?} bg={:?} b={} d={} i={} u={} inv={}",
                    c.contents(),
                    c.fgcolor(),
                    c.bgcolor(),
                    c.bold(),
                    c.dim(),
                    c.italic(),
                    c.underline(),
                    c.inverse()
                ));
            }
        }
        cells
    }

    fn written<B: Backend>(backend: &mut B, before: &Buffer, after: &Buffer)
    where
        B::Error: std::fmt::Debug,
    {
        let empty = Buffer::empty(before.area);
        backend.draw(empty.diff(before).into_iter()).unwrap();
        backend.draw(before.diff(after).into_iter()).unwrap();
        backend.flush().unwrap();
    }

    #[test]
    fn a_frame_shows_as_crossterms_own_backend_draws_it() {
        let (before, after) = frames();
        let mut ours = FrameBackend::new(Vec::new());
        written(&mut ours, &before, &after);
        let theirs = Shared::default();
        written(&mut CrosstermBackend::new(theirs.clone()), &before, &after);
        let ours = ours.out.get_ref().clone();
        let theirs = theirs.0.borrow().clone();
        assert_eq!(screen(&ours), screen(&theirs));
        // The same frame, not an empty one: the test can tell them apart.
        assert_ne!(screen(&ours), screen(b""));
    }

    #[test]
    fn an_empty_diff_writes_nothing() {
        let (_, after) = frames();
        let mut ours = FrameBackend::new(Vec::new());
        ours.draw(after.diff(&after).into_iter()).unwrap();
        Backend::flush(&mut ours).unwrap();
        assert!(ours.out.get_ref().is_empty());
    }
}
