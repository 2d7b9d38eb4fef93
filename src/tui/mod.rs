//! The console: a full-screen terminal UI over a `Link`.
//!
//! One task owns the `App`. Input, link events and a one-second clock arrive on one channel; the
//! loop drains what is queued, updates the state, and redraws only when the rendered screen
//! differs from the last one drawn, at most once per 16 ms. Effects run as tasks and come back
//! as messages.

pub mod action;
pub mod app;
pub mod attention;
mod backend;
pub mod keymap;
pub mod rows;
mod terminal;
pub mod theme;
pub mod update;
pub mod views;
pub mod widgets;

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::link::{Link, LinkEvent};
use crate::protocol::Reply;
use app::App;
use keymap::Keymap;
use theme::Theme;
use update::{Effect, Msg, update};

const FRAME: Duration = Duration::from_millis(16);

pub struct TuiOptions {
    pub keymap: Keymap,
    pub theme: Theme,
    pub mouse: bool,
    /// `[attention]`: how the console calls when something new needs the operator.
    pub attention: crate::config::attention::AttentionConfig,
    /// `--quiet`: no bell, notification, title or toast (the "needs me" list still marks new).
    pub quiet: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error(
        "the console needs a terminal: standard input and output must be a TTY (use the CLI commands in scripts, see --help)"
    )]
    NotATerminal,
    #[error("cannot reach the orchestrator: {0}")]
    Link(#[from] crate::link::LinkError),
    #[error("terminal error: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs the console until the operator quits.
pub fn run(link: Link, options: TuiOptions) -> Result<(), TuiError> {
    run_on(runtime()?, link, options)
}

/// The console's async runtime (a remote link is made on it before the console starts).
pub fn runtime() -> Result<tokio::runtime::Runtime, TuiError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Runs the console on `runtime`, where `link` was made.
pub fn run_on(
    runtime: tokio::runtime::Runtime,
    link: Link,
    options: TuiOptions,
) -> Result<(), TuiError> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(TuiError::NotATerminal);
    }
    let result = runtime.block_on(run_async(Arc::new(link), options));
    terminal::leave();
    // Background tasks (the input reader above all) must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

async fn run_async(link: Arc<Link>, options: TuiOptions) -> Result<(), TuiError> {
    let info = link.info();
    let snapshot = link.snapshot().await?;
    let now = info.frozen_at.unwrap_or_else(Utc::now);
    let seq = snapshot.seq;
    let mut app = App::new(info.clone(), snapshot, now, options.keymap, options.theme);
    app.frozen = info.frozen_at.is_some();
    app.attention = attention::Attention::new(options.attention, options.quiet, Utc::now());
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    // Before the alternate screen, so that a SIGTERM from then on leaves it cleanly.
    spawn_signals(tx.clone());
    let mut term = terminal::enter(options.mouse)?;
    let area = term.get_frame().area();
    app.size = (area.width, area.height);
    if !app.attention.quiet && app.attention.config.title {
        terminal::save_title();
    }

    for effect in update::start_attention(&mut app) {
        run_effect(&link, effect, &tx);
    }
    spawn_input(tx.clone());
    spawn_clock(tx.clone());
    spawn_subscription(link.clone(), seq, tx.clone());

    let mut last_draw = Instant::now() - FRAME;
    let mut pending = true;
    loop {
        if pending {
            let since = last_draw.elapsed();
            if since >= FRAME {
                draw(&mut term, &app)?;
                // Straight into update, not through the channel: being seen changes no pixel,
                // and a message would only ask for another frame.
                update(&mut app, Msg::Drawn);
                last_draw = Instant::now();
                pending = false;
            }
        }
        let msg = if pending {
            let wait = FRAME.saturating_sub(last_draw.elapsed());
            match tokio::time::timeout(wait, rx.recv()).await {
                Ok(msg) => msg,
                Err(_) => continue,
            }
        } else {
            rx.recv().await
        };
        let Some(msg) = msg else { break };
        let mut effects = update(&mut app, msg);
        while let Ok(more) = rx.try_recv() {
            effects.extend(update(&mut app, more));
        }
        for effect in effects {
            run_effect(&link, effect, &tx);
        }
        if app.quit {
            break;
        }
        pending = true;
    }
    Ok(())
}

/// Renders once per change, straight into the terminal's buffer, and writes only what ratatui's
/// diff against the last frame found: a quiet orchestrator costs no bytes. The size is the one
/// the resize events gave (`App::size`), never asked of the terminal per frame.
fn draw(term: &mut terminal::Term, app: &App) -> std::io::Result<()> {
    let area = ratatui::layout::Rect::new(0, 0, app.size.0, app.size.1);
    if term.get_frame().area() != area {
        // Clears the screen and both buffers: the next frame is written whole.
        term.resize(area)?;
    }
    let mut frame = term.get_frame();
    views::render(&mut frame, app);
    term.flush()?;
    term.swap_buffers();
    std::io::Write::flush(term.backend_mut())
}

fn spawn_input(tx: mpsc::UnboundedSender<Msg>) {
    tokio::spawn(async move {
        let mut events = crossterm::event::EventStream::new();
        while let Some(event) = events.next().await {
            let msg = match event {
                Ok(crossterm::event::Event::Key(key)) => Msg::Key(key),
                Ok(crossterm::event::Event::Paste(text)) => Msg::Paste(text),
                Ok(crossterm::event::Event::Resize(w, h)) => Msg::Resize(w, h),
                // With --mouse, the wheel moves the selection like the arrow keys.
                Ok(crossterm::event::Event::Mouse(m)) => {
                    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEventKind};
                    let code = match m.kind {
                        MouseEventKind::ScrollDown => KeyCode::Down,
                        MouseEventKind::ScrollUp => KeyCode::Up,
                        _ => continue,
                    };
                    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
                }
                Ok(_) => continue,
                Err(_) => break,
            };
            if tx.send(msg).is_err() {
                break;
            }
        }
    });
}

fn spawn_clock(tx: mpsc::UnboundedSender<Msg>) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(1));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            interval.tick().await;
            if tx
                .send(Msg::Tick(crate::model::truncate(Utc::now())))
                .is_err()
            {
                break;
            }
        }
    });
}

fn spawn_signals(tx: mpsc::UnboundedSender<Msg>) {
    use tokio::signal::unix::{SignalKind, signal};
    // Installed here, not in the task: a SIGTERM arriving between the alternate screen and the
    // task's first poll would end the process with the screen left on.
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return;
    };
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        let _ = tx.send(Msg::Signal);
    });
}

fn spawn_subscription(link: Arc<Link>, since: u64, tx: mpsc::UnboundedSender<Msg>) {
    tokio::spawn(async move {
        let mut events = match link.subscribe(since).await {
            Ok(rx) => rx,
            Err(e) => {
                let _ = tx.send(Msg::LinkLost(e.to_string()));
                return;
            }
        };
        while let Some(event) = events.recv().await {
            let reset = event == LinkEvent::Reset;
            if tx.send(Msg::Link(event)).is_err() || reset {
                return;
            }
        }
        let _ = tx.send(Msg::LinkLost("the event stream ended".into()));
    });
}

fn run_effect(link: &Arc<Link>, effect: Effect, tx: &mpsc::UnboundedSender<Msg>) {
    let (link, tx) = (link.clone(), tx.clone());
    match effect {
        Effect::Quit => {}
        Effect::Claim(id) => {
            // Best effort: an orchestrator that does not hear it loses only the courtesy.
            tokio::spawn(async move {
                let _ = link.claim(&id).await;
            });
        }
        // Written at once, between two frames, from the task that draws them.
        Effect::Call(call) => {
            let _ = terminal::call(&call);
        }
        Effect::Send {
            item,
            label,
            command,
        } => {
            tokio::spawn(async move {
                let result = link.send(command).await.map(|outcome| {
                    let text = describe(&label, &outcome.reply);
                    if let Reply::Record(record) = outcome.reply {
                        let _ = tx.send(Msg::Revealed(record));
                    }
                    text
                });
                let result = result.map_err(|e| format!("{label}: {e}"));
                let _ = tx.send(Msg::Done { item, result });
            });
        }
        Effect::SearchAudit { query, before } => {
            // Results first, then the count of a new query: the count may walk up to its cap,
            // and the operator is waiting for the rows.
            tokio::spawn(async move {
                let result = link
                    .search_audit(&query, before, update::AUDIT_PAGE)
                    .await
                    .map_err(|e| e.to_string());
                let _ = tx.send(Msg::AuditPage {
                    query: query.clone(),
                    before,
                    result,
                });
                if before.is_none()
                    && let Ok(total) = link.count_audit(&query, crate::protocol::COUNT_CAP).await
                {
                    let _ = tx.send(Msg::AuditCount { query, total });
                }
            });
        }
        Effect::Resync => {
            tokio::spawn(async move {
                // Until a snapshot arrives the console keeps trying, and says so.
                let mut attempt = 0;
                let mut down_since = None;
                loop {
                    match link.snapshot().await {
                        Ok(snapshot) => {
                            let seq = snapshot.seq;
                            let _ = tx.send(Msg::Snapshot(Box::new(snapshot)));
                            spawn_subscription(link, seq, tx);
                            return;
                        }
                        Err(e) => {
                            attempt += 1;
                            let next_in = crate::link::backoff(attempt);
                            let event = LinkEvent::Reconnecting {
                                attempt,
                                next_in,
                                down_since: *down_since.get_or_insert_with(Utc::now),
                                why: e.to_string(),
                            };
                            if tx.send(Msg::Link(event)).is_err() {
                                return;
                            }
                            tokio::time::sleep(next_in).await;
                        }
                    }
                }
            });
        }
    }
}

/// The toast for a command that went through.
fn describe(label: &str, reply: &Reply) -> String {
    match reply {
        Reply::Approval(a) if a.state == crate::model::ApprovalState::Rejected => {
            format!("{} is rejected", a.id)
        }
        Reply::Approval(a) => format!(
            "{} is {} ({} of {} approvals)",
            a.id,
            a.state.as_str(),
            a.votes.len(),
            a.quorum
        ),
        // A note changes no state: the toast says what happened, not the state it stayed in.
        Reply::Incident(i) if label == "note" => format!(
            "note added to {} ({}, {})",
            i.id,
            i.state.as_str(),
            i.severity.as_str()
        ),
        Reply::Incident(i) => format!("{} is {} ({})", i.id, i.state.as_str(), i.severity.as_str()),
        Reply::Rollout(r) => format!(
            "{} is {} at {} ({}%)",
            r.id,
            r.state.as_str(),
            r.current_phase,
            r.percent()
        ),
        Reply::Agent(a) => format!("{} is {}", a.id, a.status.as_str()),
        Reply::Record(r) => format!("seq {} revealed (the reveal is in the trail)", r.seq),
        _ => format!("{label}: done"),
    }
}
