//! `cargo run --example screenshots [DIR]`: the README's screenshots, rendered by the real
//! console (the same `App`, `update` and views the TUI runs) from the deterministic demo: seed 7,
//! three hours on a simulated clock. Each screen is written as SVG into DIR (default
//! `screenshots/`), and as PNG too where `rsvg-convert` (Debian: librsvg2-bin) is installed.
//! Never drawn by hand: run this again after changing a view.

mod svg;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::authority::Level;
use opsdeck::config::Config;
use opsdeck::engine::{Clock, Engine};
use opsdeck::link::LinkInfo;
use opsdeck::protocol::COUNT_CAP;
use opsdeck::store::Store;
use opsdeck::tui::app::{App, Pane};
use opsdeck::tui::keymap::Keymap;
use opsdeck::tui::rows;
use opsdeck::tui::theme::Theme;
use opsdeck::tui::update::{AUDIT_PAGE, Effect, Msg, update};
use opsdeck::tui::views;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

const WIDTH: u16 = 120;
const HEIGHT: u16 = 36;
const SEED: u64 = 7;

/// The screens, by file name.
pub const SHOTS: [&str; 5] = ["overview", "approval", "incidents", "audit", "rollouts"];

fn main() {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots"));
    match generate(&dir) {
        Ok(written) => {
            for path in written {
                println!("{}", path.display());
            }
        }
        Err(e) => {
            eprintln!("screenshots: {e}");
            std::process::exit(1);
        }
    }
}

/// Writes every screen into `dir`; returns the files written.
pub fn generate(dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut demo = Demo::start()?;
    let term = svg::Terminal::dark();
    let png = rsvg_convert_installed();
    let mut written = Vec::new();
    for name in SHOTS {
        let buffer = demo.screen(name)?;
        let path = dir.join(format!("{name}.svg"));
        std::fs::write(&path, svg::render(&buffer, &term))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path.clone());
        if png {
            let out = path.with_extension("png");
            let status = std::process::Command::new("rsvg-convert")
                .arg("--output")
                .arg(&out)
                .arg(&path)
                .status()
                .map_err(|e| format!("rsvg-convert: {e}"))?;
            if !status.success() {
                return Err(format!("rsvg-convert failed on {}", path.display()));
            }
            written.push(out);
        }
    }
    Ok(written)
}

fn rsvg_convert_installed() -> bool {
    std::process::Command::new("rsvg-convert")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The demo fleet after three simulated hours, and the engine that answers the console's
/// searches.
struct Demo {
    engine: Engine,
}

impl Demo {
    fn start() -> Result<Demo, String> {
        let start: DateTime<Utc> = "2026-11-02T00:00:00Z".parse().expect("a valid time");
        let store = Store::open_in_memory().map_err(|e| e.to_string())?;
        let mut engine = Engine::open(store, Config::default(), Clock::manual(start), Some(SEED))
            .map_err(|e| e.to_string())?;
        opsdeck::sim::Sim::new(SEED)
            .run(&mut engine, start, Duration::hours(3))
            .map_err(|e| e.to_string())?;
        Ok(Demo { engine })
    }

    /// A fresh console on the demo, as the operator sees it when it opens.
    fn app(&self) -> App {
        let snapshot = self.engine.snapshot();
        let at = snapshot.at;
        let info = LinkInfo {
            name: "embedded".into(),
            context: None,
            remote: false,
            operator: "alice".into(),
            role: "enterprise".into(),
            role_note: None,
            read_only: false,
            frozen_at: None,
            demo: false,
            replica: None,
        };
        App::new(
            info,
            snapshot,
            at,
            Keymap::default(),
            Theme::default_theme(),
        )
    }

    /// Keys pressed, and their effects carried out the way the console's event loop would.
    fn press(&mut self, app: &mut App, keys: &[KeyCode]) -> Result<(), String> {
        for code in keys {
            let effects = update(app, Msg::Key(KeyEvent::new(*code, KeyModifiers::NONE)));
            for effect in effects {
                for msg in self.carry_out(effect)? {
                    update(app, msg);
                }
            }
        }
        Ok(())
    }

    fn carry_out(&mut self, effect: Effect) -> Result<Vec<Msg>, String> {
        match effect {
            // No demo fleet runs here: a dialog's claim and the console's calls change nothing
            // on a screenshot.
            Effect::Claim(_) | Effect::Call(_) => Ok(vec![]),
            Effect::SearchAudit { query, before } => {
                let store = self.engine.store();
                let filter =
                    opsdeck::query::parse(&query, self.engine.now()).map_err(|e| e.to_string())?;
                let result = store
                    .search_audit(&filter, before, AUDIT_PAGE)
                    .map_err(|e| e.to_string());
                let total = store
                    .count_audit(&filter, COUNT_CAP)
                    .map_err(|e| e.to_string())?;
                Ok(vec![
                    Msg::AuditCount {
                        query: query.clone(),
                        total,
                    },
                    Msg::AuditPage {
                        query,
                        before,
                        result,
                    },
                ])
            }
            other => Err(format!("a screenshot should not {other:?}")),
        }
    }

    fn screen(&mut self, name: &str) -> Result<Buffer, String> {
        let mut app = self.app();
        let typed = |text: &str| text.chars().map(KeyCode::Char).collect::<Vec<_>>();
        match name {
            "overview" => {}
            "approval" => {
                self.press(&mut app, &[KeyCode::Char('5')])?;
                select_decidable(&mut app)?;
                self.press(&mut app, &[KeyCode::Char('a')])?;
                self.press(
                    &mut app,
                    &typed("matches the recommendation; within budget"),
                )?;
            }
            "incidents" => self.press(&mut app, &[KeyCode::Char('4')])?,
            "audit" => {
                self.press(&mut app, &[KeyCode::Char('6'), KeyCode::Char('/')])?;
                self.press(&mut app, &typed("type:escalation domain:product"))?;
                self.press(&mut app, &[KeyCode::Enter])?;
            }
            "rollouts" => self.press(&mut app, &[KeyCode::Char('7')])?,
            other => return Err(format!("no screen {other:?}")),
        }
        let mut terminal =
            Terminal::new(TestBackend::new(WIDTH, HEIGHT)).map_err(|e| e.to_string())?;
        terminal
            .draw(|f| views::render(f, &app))
            .map_err(|e| e.to_string())?;
        Ok(terminal.backend().buffer().clone())
    }
}

/// Moves the approvals selection to the oldest pending item an enterprise operator may decide
/// alone: the dialog then shows a decision that can go through.
fn select_decidable(app: &mut App) -> Result<(), String> {
    let ids = rows::ids(app, Pane::Approvals);
    let at = ids
        .iter()
        .position(|id| {
            let a = &app.data.approvals[id];
            a.is_pending() && a.level <= Level::Enterprise && a.quorum == 1
        })
        .ok_or("the demo has no pending approval an enterprise operator may decide")?;
    app.pane_state_mut(Pane::Approvals).selected = at;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_writes_every_screen_with_what_it_is_about() {
        let dir = tempfile::tempdir().unwrap();
        let written = generate(dir.path()).unwrap();
        let read = |name: &str| {
            std::fs::read_to_string(dir.path().join(format!("{name}.svg")))
                .unwrap_or_else(|e| panic!("{name}.svg: {e}"))
        };
        for name in SHOTS {
            let svg = read(name);
            assert!(svg.starts_with("<svg"), "{name}");
            assert!(svg.contains("opsdeck"), "{name}: the header");
        }
        for (name, needles) in [
            ("overview", &["SEV3", "APR-", "Rollouts", "Audit tail"][..]),
            ("approval", &["APR-", "reason (required)", "within budget"]),
            ("incidents", &["INC-", "SEV"]),
            ("audit", &["type:escalation", "escalation"]),
            ("rollouts", &["RO-", "canary"]),
        ] {
            let svg = read(name);
            for needle in needles {
                assert!(svg.contains(needle), "{name}.svg lacks {needle:?}");
            }
        }
        let pngs = written
            .iter()
            .filter(|p| p.extension() == Some("png".as_ref()));
        assert!(pngs.count() == 0 || rsvg_convert_installed());
        assert!(written.len() == SHOTS.len() || written.len() == 2 * SHOTS.len());
    }
}
