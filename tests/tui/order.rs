//! Approvals are ordered by time to escalation: the item that escalates itself soonest is on top,
//! whatever its age or expiry, in the pane and in the overview, and the screens say so.

use chrono::Duration;
use opsdeck::model::{Approval, ApprovalState};
use opsdeck::tui::app::{App, Pane};
use opsdeck::tui::rows;

use super::{app, render, text};

/// An approval like the demo's first, with the given clock: created, level deadline and expiry
/// as offsets from now.
fn approval(
    app: &App,
    id: &str,
    created: Duration,
    escalates: Option<Duration>,
    expires: Duration,
) -> Approval {
    let mut a = app
        .data
        .approvals
        .values()
        .next()
        .expect("the demo has approvals")
        .clone();
    a.id = id.into();
    a.summary = format!("item {id}");
    a.state = ApprovalState::Pending;
    a.votes.clear();
    a.rejection = None;
    a.decided_at = None;
    a.created_at = app.now + created;
    a.level_deadline_at = escalates.map(|d| app.now + d);
    a.expires_at = app.now + expires;
    a
}

/// Old item escalating in 1h43m, young one escalating in 6m, a top-level one expiring in 30m,
/// and a decided one.
fn with_deadlines() -> App {
    let mut app = app();
    let items = vec![
        approval(
            &app,
            "APR-901",
            Duration::hours(-5),
            Some(Duration::minutes(103)),
            Duration::hours(19),
        ),
        approval(
            &app,
            "APR-902",
            Duration::hours(-1),
            Some(Duration::minutes(6)),
            Duration::hours(23),
        ),
        approval(
            &app,
            "APR-903",
            Duration::hours(-3),
            None,
            Duration::minutes(30),
        ),
        {
            let mut done = approval(
                &app,
                "APR-904",
                Duration::hours(-6),
                Some(Duration::minutes(1)),
                Duration::hours(18),
            );
            done.state = ApprovalState::Approved;
            done.decided_at = Some(app.now - Duration::minutes(10));
            done
        },
    ];
    app.data.approvals = items.into_iter().map(|a| (a.id.clone(), a)).collect();
    app
}

fn order(app: &App) -> Vec<String> {
    rows::approvals(app).iter().map(|a| a.id.clone()).collect()
}

#[test]
fn approvals_sort_by_time_to_escalation_by_default() {
    let mut app = with_deadlines();
    assert_eq!(
        order(&app),
        ["APR-902", "APR-903", "APR-901", "APR-904"],
        "6m to escalation, 30m to expiry, 1h43m to escalation, then the decided one"
    );
    app.pane_state_mut(Pane::Approvals).sort = 1;
    assert_eq!(
        order(&app),
        ["APR-901", "APR-903", "APR-902", "APR-904"],
        "oldest first is still on offer, by age"
    );
}

#[test]
fn the_screens_say_what_approvals_are_sorted_by() {
    let mut app = with_deadlines();
    app.pane = Pane::Approvals;
    let pane = text(&render(&app, 120, 36));
    for needle in [
        "sorted by time to escalation",
        "TO ESCALATION",
        "escalates 6m",
    ] {
        assert!(pane.contains(needle), "{needle} missing from:\n{pane}");
    }
    let at = |screen: &str, id: &str| screen.find(id).unwrap_or_else(|| panic!("{id}:\n{screen}"));
    assert!(at(&pane, "APR-902") < at(&pane, "APR-901"), "{pane}");

    app.pane = Pane::Overview;
    let overview = text(&render(&app, 120, 36));
    assert!(
        overview.contains("by time to escalation"),
        "overview:\n{overview}"
    );
    assert!(
        at(&overview, "APR-902") < at(&overview, "APR-901"),
        "{overview}"
    );
}
