use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::format::span;
use crate::model::Severity;
use crate::tui::app::{App, Connection};
use crate::tui::widgets::{WIDE, safe};

/// A part of the header and how readily it gives way on a narrow terminal (lower goes first).
struct Segment<'a> {
    keep: u8,
    spans: Vec<Span<'a>>,
}

/// Nothing that says who is acting, where, or whether the data can be trusted ever gives way.
const ALWAYS: u8 = u8::MAX;

/// Which orchestrator, the link's state and data age, what needs attention, who is acting.
/// When the line is too long, segments give way by priority: the clock, the product's name,
/// the orchestrator's name, then the counts (the panes show them too); the context, the link's state and the identity
/// (operator, role, read-only) stay at every width.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let narrow = area.width < WIDE;
    let mut segments = Vec::new();
    segments.push(Segment {
        keep: 1,
        spans: vec![Span::styled(" opsdeck ", t.title)],
    });
    // The context is what an engineer must never mistake: it always shows, in its own colour.
    if let Some(context) = &app.info.context {
        segments.push(Segment {
            keep: ALWAYS,
            spans: vec![Span::styled(
                format!(" ⎈ {} ", safe(context)),
                t.context.add_modifier(ratatui::style::Modifier::REVERSED),
            )],
        });
    }
    // A server left with the default name would read "opsdeck │ opsdeck".
    if app.info.name != "opsdeck" || app.info.context.is_some() {
        segments.push(Segment {
            keep: 2,
            spans: vec![Span::styled(safe(&app.info.name), t.context)],
        });
    }
    // Which replica of the orchestrator this console is on, when the context names several.
    if let Some(replica) = &app.info.replica {
        segments.push(Segment {
            keep: ALWAYS,
            spans: vec![Span::styled(format!("@{}", safe(replica)), t.context)],
        });
    }
    segments.push(Segment {
        keep: ALWAYS,
        spans: vec![link_state(app, narrow)],
    });
    if app.info.demo {
        // Simulated colleagues act here: whoever reads `sim:lee` must know it is not a person.
        segments.push(Segment {
            keep: 4,
            spans: vec![Span::styled(
                if narrow {
                    "◆ demo: sim:* act"
                } else {
                    "◆ demo: sim:… are simulated"
                },
                t.warn,
            )],
        });
    }
    segments.push(Segment {
        keep: 3,
        spans: attention(app),
    });
    let mode = if app.info.read_only { " read-only" } else { "" };
    let note = match &app.info.role_note {
        Some(note) => format!(", {}", safe(note)),
        None => String::new(),
    };
    segments.push(Segment {
        keep: ALWAYS,
        spans: vec![Span::raw(format!(
            "{} ({}{note}){mode}",
            safe(&app.info.operator),
            safe(&app.info.role)
        ))],
    });
    if !app.frozen {
        segments.push(Segment {
            keep: 0,
            spans: vec![Span::styled(
                app.now.format("%H:%M UTC").to_string(),
                t.muted,
            )],
        });
    }
    let spans = fit(
        segments,
        usize::from(area.width),
        Span::styled(" │ ", t.muted),
    );
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The segments that fit in `width`, in order, joined by `sep`: the lowest priority goes first.
fn fit<'a>(mut segments: Vec<Segment<'a>>, width: usize, sep: Span<'a>) -> Vec<Span<'a>> {
    let wide = |segments: &[Segment<'_>]| {
        let text: usize = segments
            .iter()
            .flat_map(|s| &s.spans)
            .map(|s| s.width())
            .sum();
        text + sep.width() * segments.len().saturating_sub(1)
    };
    while wide(&segments) > width {
        let Some((at, _)) = segments
            .iter()
            .enumerate()
            .filter(|(_, s)| s.keep != ALWAYS)
            .min_by_key(|(_, s)| s.keep)
        else {
            break;
        };
        segments.remove(at);
    }
    let mut spans = Vec::new();
    for (i, segment) in segments.into_iter().enumerate() {
        if i > 0 {
            spans.push(sep.clone());
        }
        spans.extend(segment.spans);
    }
    spans
}

/// The link's heartbeat (10 s) and a margin: data younger than this is live.
const FRESH_SECONDS: i64 = 15;

fn link_state<'a>(app: &App, narrow: bool) -> Span<'a> {
    let t = &app.theme;
    match &app.connection {
        Connection::Live if app.frozen => Span::styled(
            if narrow {
                format!("◆ frozen {}", app.now.format("%m-%d %H:%M"))
            } else {
                format!(
                    "◆ simulated, frozen at {}",
                    app.now.format("%Y-%m-%d %H:%M UTC")
                )
            },
            t.warn,
        ),
        Connection::Live if app.info.remote => {
            let age = app.now - app.data_at;
            let stale = app.is_stale();
            // Within a heartbeat (and a margin) the data is as fresh as the link can make it: a
            // counter ticking every second would say nothing and cost bytes on an idle screen.
            if age.num_seconds() < FRESH_SECONDS {
                let text = if narrow {
                    "● live"
                } else {
                    "● connected · live"
                };
                return Span::styled(text, t.ok);
            }
            Span::styled(
                format!(
                    "● {} {} old{}",
                    if narrow { "data" } else { "connected · data" },
                    span(age),
                    if stale { " STALE" } else { "" }
                ),
                if stale { t.danger } else { t.ok },
            )
        }
        Connection::Live => {
            let age = app.now - app.data_at;
            if age.num_seconds() < 15 {
                Span::styled("● live", t.ok)
            } else {
                Span::styled(format!("● data {} old", span(age)), t.warn)
            }
        }
        Connection::Reconnecting { attempt, next_in_s } => Span::styled(
            if narrow {
                format!("◌ retry {attempt} in {next_in_s}s STALE")
            } else {
                format!("◌ reconnecting (attempt {attempt}, next in {next_in_s}s) STALE")
            },
            t.danger,
        ),
        Connection::Offline { since } => Span::styled(
            format!("✖ offline since {} STALE", since.format("%H:%M:%S")),
            t.danger,
        ),
    }
}

/// Open SEV1 and SEV2 incidents and pending approvals.
fn attention<'a>(app: &App) -> Vec<Span<'a>> {
    let t = &app.theme;
    let mut spans = Vec::new();
    for severity in [Severity::Sev1, Severity::Sev2] {
        let n = app
            .data
            .incidents
            .values()
            .filter(|i| i.is_open() && i.severity == severity)
            .count();
        let style = if n > 0 { t.severity(severity) } else { t.muted };
        spans.push(Span::styled(format!("{} {n}", severity.as_str()), style));
        spans.push(Span::raw(" "));
    }
    let pending = app
        .data
        .approvals
        .values()
        .filter(|a| a.is_pending())
        .count();
    spans.push(Span::styled(
        format!("· {pending} pending"),
        if pending > 0 { t.warn } else { t.muted },
    ));
    spans
}
