//! The audit pane: sensitive records hidden until a reveal, details that fold, and the
//! query line's history.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::model::{AuditDetails, AuditRecord};
use opsdeck::protocol::{Command, RevealRecord};
use opsdeck::tui::app::Pane;
use opsdeck::tui::rows;
use opsdeck::tui::update::{Effect, Msg, update};

use super::{app, ch, key, press, screen, typed};

#[test]
fn sensitive_records_stay_hidden_until_a_reveal_which_is_audited() {
    let mut app = app();
    press(&mut app, vec![ch('6')]);
    let ids = rows::ids(&app, Pane::Audit);
    let at = ids
        .iter()
        .position(|seq| {
            rows::audit(&app).iter().any(|r| {
                r.seq.to_string() == *seq
                    && r.classification == opsdeck::model::Classification::Sensitive
            })
        })
        .expect("a sensitive record in the tail");
    app.pane_state_mut(Pane::Audit).selected = at;
    press(&mut app, vec![key(KeyCode::Enter)]);
    let hidden = screen(&app);
    assert!(
        hidden.contains("sensitive: details and related tasks stay hidden"),
        "{hidden}"
    );
    assert!(!hidden.contains("reasoning"), "details hidden");
    assert!(!hidden.contains("the whole reasoning"));
    let effects = press(&mut app, vec![ch('v')]);
    let [
        Effect::Send {
            item,
            command: Command::RevealRecord(RevealRecord { seq, .. }),
            ..
        },
    ] = &effects[..]
    else {
        panic!("{effects:?}")
    };
    // The orchestrator's answer carries the record whole (the tail holds it withheld).
    let whole = AuditRecord {
        details: AuditDetails {
            reasoning: "the whole reasoning".into(),
            ..Default::default()
        },
        redacted: false,
        ..app
            .data
            .audit_tail
            .iter()
            .find(|r| r.seq == *seq)
            .unwrap()
            .clone()
    };
    update(&mut app, Msg::Revealed(Box::new(whole)));
    update(
        &mut app,
        Msg::Done {
            item: item.clone(),
            result: Ok("revealed".into()),
        },
    );
    assert!(app.audit.revealed.contains_key(seq));
    press(&mut app, vec![key(KeyCode::Enter)]);
    let shown = screen(&app);
    assert!(
        shown.contains("▾ details") && shown.contains("the whole reasoning"),
        "{shown}"
    );
}

#[test]
fn audit_details_fold_and_the_query_line_keeps_history() {
    let mut app = app();
    press(&mut app, vec![ch('6'), key(KeyCode::Enter)]);
    assert!(screen(&app).contains("▸ details {5 fields}"));
    press(&mut app, vec![key(KeyCode::Enter)]);
    assert!(screen(&app).contains("▾ details"));
    press(&mut app, vec![key(KeyCode::Esc)]);
    for query in ["type:decision", "domain:platform"] {
        press(&mut app, vec![ch('/')]);
        press(&mut app, (0..40).map(|_| key(KeyCode::Backspace)).collect());
        press(&mut app, typed(query));
        press(&mut app, vec![key(KeyCode::Enter)]);
    }
    assert_eq!(app.audit.history, vec!["type:decision", "domain:platform"]);
    press(&mut app, vec![ch('/'), key(KeyCode::Up)]);
    assert_eq!(app.pane_state(Pane::Audit).filter, "domain:platform");
    press(&mut app, vec![key(KeyCode::Up)]);
    assert_eq!(app.pane_state(Pane::Audit).filter, "type:decision");
    // The syntax error shows as the operator types.
    press(&mut app, typed(" class:secret"));
    let error = app.audit.error.clone().unwrap();
    assert!(error.contains("column 21"), "{error}");
    assert!(screen(&app).contains("✖ column 21"));
    // Shell editing on the query line: ctrl+w drops the last word, ctrl+u the whole line.
    let ctrl = |c| Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
    press(&mut app, vec![ctrl('w')]);
    assert_eq!(app.pane_state(Pane::Audit).filter, "type:decision ");
    assert!(app.audit.error.is_none(), "the error goes with the word");
    press(&mut app, vec![ctrl('u')]);
    assert_eq!(app.pane_state(Pane::Audit).filter, "");
    press(&mut app, typed("quota"));
    assert_eq!(app.pane_state(Pane::Audit).filter, "quota");
}

#[test]
fn esc_after_o_returns_to_the_record_it_came_from() {
    let mut app = app();
    press(&mut app, vec![ch('6')]);
    let records = rows::audit(&app);
    let (at, (pane, id)) = records
        .iter()
        .enumerate()
        .find_map(|(i, r)| opsdeck::tui::update::related_item(&app, r).map(|hit| (i, hit)))
        .expect("a record about an item in view");
    let seq = records[at].seq.to_string();
    app.pane_state_mut(Pane::Audit).selected = at;
    app.audit.follow = false;
    press(&mut app, vec![key(KeyCode::Enter), ch('o')]);
    assert_eq!(app.pane, pane);
    assert_eq!(app.pane_state(pane).detail.as_deref(), Some(id.as_str()));
    press(&mut app, vec![key(KeyCode::Esc)]);
    assert_eq!(app.pane, Pane::Audit, "back to the audit pane");
    assert_eq!(
        app.pane_state(Pane::Audit).detail.as_deref(),
        Some(seq.as_str()),
        "with the record still open"
    );
    assert_eq!(app.pane_state(pane).detail, None);
}
