//! Rendering: insta snapshots of every pane and dialog, sizes, themes, colour with words,
//! and hostile strings shown, never obeyed.

use chrono::Duration;
use crossterm::event::KeyCode;
use opsdeck::model::Severity;
use opsdeck::tui::app::{App, Pane};
use opsdeck::tui::rows;
use opsdeck::tui::theme::Theme;
use ratatui::buffer::Buffer;

use super::{app, ch, find, key, press, render, screen, select_decidable, text, typed};

#[test]
fn snapshot_overview_120x36() {
    insta::assert_snapshot!(screen(&app()));
}

#[test]
fn snapshot_overview_80x24() {
    insta::assert_snapshot!(text(&render(&app(), 80, 24)));
}

#[test]
fn snapshot_panes_120x36() {
    for (key, pane) in [
        ('2', "agents"),
        ('3', "queues"),
        ('4', "incidents"),
        ('5', "approvals"),
        ('6', "audit"),
        ('7', "rollouts"),
    ] {
        let mut app = app();
        press(&mut app, vec![ch(key)]);
        insta::assert_snapshot!(format!("pane_{pane}"), screen(&app));
    }
}

/// At 80×24 every pane keeps its id, its summary (cut with "…"), its state and its most urgent
/// number; the other columns drop by their declared rank.
#[test]
fn snapshot_panes_80x24() {
    for (key, pane) in [
        ('2', "agents"),
        ('3', "queues"),
        ('4', "incidents"),
        ('5', "approvals"),
        ('6', "audit"),
        ('7', "rollouts"),
        ('i', "inbox"),
    ] {
        let mut app = app();
        press(&mut app, vec![ch(key)]);
        insta::assert_snapshot!(format!("pane_{pane}_80x24"), text(&render(&app, 80, 24)));
    }
}

/// The columns each pane must keep at 80 columns, and the cut marked with "…".
#[test]
fn at_80_columns_each_pane_keeps_what_it_means() {
    for (key, must) in [
        ('2', &["ID", "STATUS", "UTILIZATION", "HEARTBEAT"][..]),
        ('3', &["QUEUE", "DEPTH", "WAIT P95"][..]),
        ('4', &["ID", "SEV", "STATE", "TARGET", "TITLE"][..]),
        ('5', &["ID", "STATE", "TO ESCALATION", "SUMMARY"][..]),
        ('6', &["SEQ", "TIME", "SUMMARY"][..]),
        ('7', &["ID", "NAME", "STATE", "ERRORS"][..]),
    ] {
        let mut app = app();
        press(&mut app, vec![ch(key)]);
        let shown = text(&render(&app, 80, 24));
        let header = shown
            .lines()
            .find(|l| l.contains(must[0]))
            .unwrap_or_else(|| panic!("{key}: no header\n{shown}"));
        for column in must {
            assert!(
                header.contains(column),
                "{key}: {column} missing in {header}"
            );
        }
        if ['4', '5', '6'].contains(&key) {
            assert!(
                shown.contains('…'),
                "{key}: long text cut without a mark\n{shown}"
            );
        }
    }
}

#[test]
fn snapshot_details_and_dialog() {
    let mut app = app();
    press(&mut app, vec![ch('5')]);
    select_decidable(&mut app);
    press(&mut app, vec![key(KeyCode::Enter)]);
    insta::assert_snapshot!("approval_card", screen(&app));
    press(&mut app, vec![ch('a')]);
    press(&mut app, typed("within budget"));
    press(&mut app, vec![key(KeyCode::Enter)]);
    insta::assert_snapshot!("approval_dialog_confirm", screen(&app));
    let mut app = app_for_incident_detail();
    insta::assert_snapshot!("incident_timeline", screen(&app));
    press(&mut app, vec![key(KeyCode::Esc), ch('?')]);
    insta::assert_snapshot!("help_incidents", screen(&app));
}

/// The incident card of an alert that fired: the rule's reading now (the alert's own value, as
/// the engine computed it), its trend, the clock, the actions, the incident it arrived under,
/// and the domain's agents, tasks and rollouts; a parent's card lists what arrived under it.
#[test]
fn the_incident_card_reads_the_rule_now_and_what_surrounds_it() {
    let mut app = app();
    let (id, alert) = app
        .data
        .incidents
        .values()
        .filter(|i| i.is_open() && i.parent.is_some())
        .find_map(|i| {
            let alert = app.data.alerts.get(i.dedup_key.as_ref()?)?;
            Some((i.id.clone(), alert.clone()))
        })
        .expect("an open alert incident grouped under another in the demo");
    let parent = app.data.incidents[&id].parent.clone().unwrap();
    let open = |app: &mut App, id: &str| {
        let at = rows::ids(app, Pane::Incidents)
            .iter()
            .position(|i| i == id)
            .unwrap();
        app.pane_state_mut(Pane::Incidents).selected = at;
        app.pane_state_mut(Pane::Incidents).detail = None;
        press(app, vec![key(KeyCode::Enter)]);
    };
    press(&mut app, vec![ch('4')]);
    open(&mut app, &id);
    let shown = screen(&app);
    let now = opsdeck::model::Alert::reading(&alert.rule, alert.value);
    assert!(
        shown.contains(&format!("now  {} {now} (threshold", alert.rule)),
        "{shown}"
    );
    assert!(shown.contains("15m  "), "{shown}");
    assert!(shown.contains(&format!("under {parent}")), "{shown}");
    assert!(
        shown.contains("unacked for") || shown.contains("acked after"),
        "{shown}"
    );
    insta::assert_snapshot!("incident_card_120x36", shown);
    insta::assert_snapshot!("incident_card_80x24", text(&render(&app, 80, 24)));
    // The parent's card lists it among what arrived under it.
    open(&mut app, &parent);
    let shown = screen(&app);
    assert!(shown.contains("Grouped under it"), "{shown}");
    assert!(shown.contains(&id), "{shown}");
}

fn app_for_incident_detail() -> App {
    let mut app = app();
    press(&mut app, vec![ch('4'), key(KeyCode::Enter)]);
    app
}

#[test]
fn below_80x24_a_clear_message_says_what_is_needed() {
    let text = text(&render(&app(), 79, 24));
    assert!(text.contains("at least 80×24"), "{text}");
    assert!(text.contains("79×24"));
}

#[test]
fn severity_and_countdowns_carry_colour_and_words() {
    let mut app = app();
    let theme = Theme::default_theme();
    // Make one incident breach its target so the countdown turns to danger.
    let id = app
        .data
        .incidents
        .values()
        .find(|i| i.is_open())
        .unwrap()
        .id
        .clone();
    let incident = app.data.incidents.get_mut(&id).unwrap();
    incident.severity = Severity::Sev1;
    incident.target_at = app.now - Duration::minutes(5);
    let buffer = render(&app, 120, 36);
    let (x, y) = find(&buffer, "SEV1 ").expect("a SEV1 row");
    assert_eq!(
        buffer[(x, y)].fg,
        theme.sev1.fg.unwrap(),
        "SEV1 is drawn in the sev1 colour"
    );
    let (bx, by) = find(&buffer, "breached 5m").expect("a breached countdown in words");
    assert_eq!(buffer[(bx, by)].fg, theme.danger.fg.unwrap());
    // Without colour the words remain.
    app.theme = Theme::mono();
    let plain = text(&render(&app, 120, 36));
    assert!(plain.contains("SEV1") && plain.contains("breached 5m"));
}

/// A screen with its styles named by theme slot: each line of text, then under it the runs of
/// cells that are not plain `base`, as `[from..to) slot` (`a+selection` for a selected cell).
fn styled(buffer: &Buffer, theme: &Theme) -> String {
    use ratatui::style::{Color, Modifier, Style};
    let flat = |s: Style| {
        (
            s.fg.unwrap_or(Color::Reset),
            s.bg.unwrap_or(Color::Reset),
            s.add_modifier - s.sub_modifier,
        )
    };
    let mut names: Vec<((Color, Color, Modifier), String)> = Vec::new();
    for (slot, style) in theme.styles() {
        let key = flat(theme.base.patch(style));
        if let Some((_, name)) = names.iter_mut().find(|(k, _)| *k == key) {
            name.push('|');
            name.push_str(slot);
        } else {
            names.push((key, slot.to_string()));
        }
    }
    // A style many slots share (mono's bold) reads better as what it is.
    for ((_, _, modifier), name) in names.iter_mut() {
        if name.matches('|').count() > 1 {
            *name = format!("{modifier:?}").to_lowercase();
        }
    }
    for (slot, style) in theme.styles() {
        let key = flat(theme.base.patch(style).patch(theme.selection));
        if !names.iter().any(|(k, _)| *k == key) {
            names.push((key, format!("{slot}+selection")));
        }
    }
    let plain = flat(theme.base);
    let name_of = |cell: &ratatui::buffer::Cell| {
        let key = (cell.fg, cell.bg, cell.modifier);
        if key == plain {
            return String::new();
        }
        names
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| format!("{:?}/{:?}/{:?}", cell.fg, cell.bg, cell.modifier))
    };
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        let mut runs: Vec<(u16, u16, String)> = Vec::new();
        for x in 0..area.width {
            let cell = &buffer[(x, y)];
            line.push_str(cell.symbol());
            let name = name_of(cell);
            match runs.last_mut() {
                Some((_, end, last)) if *last == name => *end = x + 1,
                _ => runs.push((x, x + 1, name)),
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
        let marked: Vec<String> = runs
            .into_iter()
            .filter(|(_, _, n)| !n.is_empty())
            .map(|(from, to, n)| format!("[{from}..{to}) {n}"))
            .collect();
        if !marked.is_empty() {
            out.push_str(&format!("    {}\n", marked.join(" ")));
        }
    }
    out
}

#[test]
fn snapshot_overview_in_mono_and_light() {
    for name in ["mono", "light"] {
        let mut app = app();
        app.theme = Theme::builtin(name).unwrap();
        let buffer = render(&app, 120, 36);
        insta::assert_snapshot!(format!("overview_{name}"), styled(&buffer, &app.theme));
    }
}

#[test]
fn a_theme_with_a_background_fills_every_cell_and_the_default_none() {
    let mut app = app();
    press(&mut app, vec![ch('5')]);
    select_decidable(&mut app);
    press(&mut app, vec![ch('a')]);
    app.theme = Theme::builtin("light").unwrap();
    let background = app.theme.base.bg.unwrap();
    let buffer = render(&app, 120, 36);
    let area = buffer.area;
    for y in 0..area.height {
        for x in 0..area.width {
            let cell = &buffer[(x, y)];
            // The selected row is drawn in the selection colour; every other cell, dialog
            // included, keeps the theme's background.
            assert!(
                cell.bg == background || Some(cell.bg) == app.theme.selection.bg,
                "({x}, {y}) {:?} has background {:?}",
                cell.symbol(),
                cell.bg
            );
        }
    }
    app.theme = Theme::default_theme();
    let buffer = render(&app, 120, 36);
    assert!(
        buffer
            .content
            .iter()
            .all(|c| c.bg == ratatui::style::Color::Reset)
    );
}

#[test]
fn every_coloured_reading_on_the_overview_has_a_mark_too() {
    let mut app = app();
    let domain = app.data.domains.keys().next().unwrap().clone();
    app.data.domains.get_mut(&domain).unwrap().utilization = 0.95;
    let queue = app.data.queues.keys().next().unwrap().clone();
    app.data.queues.get_mut(&queue).unwrap().depth = 400;
    app.theme = Theme::mono();
    let plain = screen(&app);
    let line = plain.lines().find(|l| l.contains(&domain)).unwrap();
    assert!(line.contains("95%!!"), "{line}");
    let line = plain.lines().find(|l| l.contains(&queue)).unwrap();
    assert!(line.contains("400!!"), "{line}");
}

#[test]
fn hostile_strings_are_shown_not_obeyed_in_every_pane() {
    let mut app = app();
    let evil = "\x1b[2J\x1b]0;pwned\x07\u{202E}gnp.exe\u{200B}";
    for a in app.data.agents.values_mut() {
        a.name = format!("n{evil}");
        a.team = format!("t{evil}");
        a.current_task = Some(format!("T{evil}"));
    }
    for i in app.data.incidents.values_mut() {
        i.title = format!("title{evil}");
        for e in &mut i.timeline {
            e.text = format!("note{evil}");
            e.by = format!("by{evil}");
        }
    }
    for a in app.data.approvals.values_mut() {
        a.summary = format!("sum{evil}");
        a.context = format!("ctx{evil}");
        a.options_considered = vec![format!("opt{evil}")];
        a.recommendation = format!("rec{evil}");
        a.requested_by = format!("agent{evil}");
    }
    for r in app.data.rollouts.values_mut() {
        r.name = format!("ro{evil}");
        r.paused_reason = Some(format!("why{evil}"));
    }
    for q in app.data.queues.values_mut() {
        q.name = format!("q{evil}");
    }
    for r in &mut app.data.audit_tail {
        r.summary = format!("audit{evil}");
        r.agent_id = format!("actor{evil}");
        r.details.reasoning = format!("reason{evil}");
    }
    let mut screens = vec![screen(&app)];
    for pane in ['2', '3', '4', '5', '6', '7'] {
        press(&mut app, vec![ch(pane)]);
        screens.push(screen(&app));
        press(&mut app, vec![key(KeyCode::Enter)]);
        screens.push(screen(&app));
        press(&mut app, vec![key(KeyCode::Esc)]);
    }
    let all = screens.join("\n");
    for bad in ['\x1b', '\x07', '\u{202E}', '\u{200B}'] {
        assert!(!all.contains(bad), "{bad:?} reached the screen");
    }
    assert!(all.contains("^[[2J"), "escape shown in caret notation");
    assert!(all.contains("<U+202E>"), "bidi override named");
}

#[test]
fn where_a_request_came_from_is_shown_safe_and_folded() {
    let mut app = app();
    let evil = "\x1b[2J\x1b]0;pwned\x07\u{202E}gnp.exe\u{200B}";
    let long: String = (0..40).map(|i| format!("echo line {i} {evil}\n")).collect();
    for a in app.data.approvals.values_mut() {
        a.origin = Some(Box::new(opsdeck::model::Origin {
            tool_call: Some(opsdeck::model::ToolCall {
                name: format!("Bash{evil}"),
                input: serde_json::json!({ "command": format!("git push {evil}\n{long}") }),
                tool_use_id: Some(format!("toolu{evil}")),
            }),
            session: Some(format!("sess{evil}")),
            policy_rule: Some(format!("Bash(git push:*){evil}")),
            callback: None,
        }));
    }
    let mut screens = Vec::new();
    for pane in ['2', '3', '4', '5', '6', '7'] {
        press(&mut app, vec![ch(pane)]);
        press(&mut app, vec![key(KeyCode::Enter)]);
        screens.push(screen(&app));
        press(&mut app, vec![key(KeyCode::Esc)]);
    }
    let all = screens.join("\n");
    for bad in ['\x1b', '\x07', '\u{202E}', '\u{200B}'] {
        assert!(!all.contains(bad), "{bad:?} reached the screen");
    }
    let card = screens
        .iter()
        .find(|s| s.contains("Decision APR-"))
        .unwrap_or_else(|| panic!("no approval card: {}", screens[3]));
    assert!(card.contains("Bash^[[2J"), "{card}");
    assert!(card.contains("$ git push ^[[2J"), "{card}");
    assert!(card.contains("sess^[[2J"), "{card}");
    assert!(card.contains("policy rule Bash(git push:*)^[[2J"), "{card}");
    assert!(card.contains("folded"), "a 40-line input is folded: {card}");
    assert!(!card.contains("echo line 39"), "{card}");
    // On a 80x24 terminal the input folds to two lines, so who may decide still shows.
    press(&mut app, vec![ch('5'), key(KeyCode::Enter)]);
    let small = text(&render(&app, 80, 24));
    assert!(small.contains("$ git push ^[[2J"), "{small}");
    assert!(!small.contains("echo line 1 "), "{small}");
    assert!(small.contains("who may decide"), "{small}");
    assert!(small.contains("authority path"), "{small}");
}
