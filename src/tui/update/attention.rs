//! Keeping "needs me" current: what joined the list since the last look calls the operator
//! (once per quiet interval), the title follows the count, and what the operator has seen
//! stops being new.

use super::{Effect, navigation, toast};
use crate::tui::app::{App, Mode, Pane, ToastKind};
use crate::tui::attention::{self, Call, Need, describe, keys, needs};
use crate::tui::rows;

/// Every toast that calls for attention starts so: a call folded into the last one finds it.
pub const NEEDS_YOU: &str = "needs you:";

/// Takes the current list as known without calling: what is there when the console starts is
/// listed (and new until seen), but only what arrives later rings. Sets the title.
pub fn start(app: &mut App) -> Vec<Effect> {
    app.attention.known = keys(&needs(app));
    title(app).into_iter().map(Effect::Call).collect()
}

/// After the data changed: calls about what is new, and keeps the title on the count.
pub(super) fn refresh(app: &mut App) -> Vec<Effect> {
    let list = needs(app);
    let now = keys(&list);
    let fresh: Vec<&Need> = list
        .iter()
        .filter(|n| !app.attention.known.contains(&n.key))
        .collect();
    let gone: Vec<String> = app.attention.known.difference(&now).cloned().collect();
    for key in gone {
        app.attention.seen.remove(&key);
        app.attention.shown.remove(&key);
    }
    let calling: Vec<&Need> = fresh
        .into_iter()
        .filter(|n| app.attention.config.signals(n.kind.signal()))
        .collect();
    let mut call = call(app, &calling);
    app.attention.known = now;
    if let Some(t) = title(app) {
        call.title = t.title;
    }
    if call == Call::default() {
        vec![]
    } else {
        vec![Effect::Call(call)]
    }
}

/// The title, if it is on and the count changed since it was last written.
fn title(app: &mut App) -> Option<Call> {
    let a = &mut app.attention;
    if a.quiet || !a.config.title {
        return None;
    }
    let count = a.known.len();
    if a.title_count == Some(count) {
        return None;
    }
    a.title_count = Some(count);
    Some(Call {
        title: Some(attention::title(count)),
        ..Call::default()
    })
}

/// The bell, the notification and the toast for new items; inside the quiet interval they are
/// folded into the toast already showing.
fn call(app: &mut App, calling: &[&Need]) -> Call {
    let Some(first) = calling.first() else {
        return Call::default();
    };
    if app.attention.quiet {
        return Call::default();
    }
    let config = app.attention.config.clone();
    if app.attention.in_quiet_interval() {
        app.attention.folded += calling.len();
        let more = app.attention.folded;
        if let Some(t) = app
            .toasts
            .iter_mut()
            .rev()
            .find(|t| t.text.starts_with(NEEDS_YOU))
        {
            let base = t.text.split(" (+").next().unwrap_or_default().to_string();
            t.text = format!("{base} (+{more} more: i lists them)");
        }
        return Call::default();
    }
    app.attention.last_call = Some(app.attention.wall);
    app.attention.folded = 0;
    let line = describe(first);
    let text = match calling.len() {
        1 => line.clone(),
        n => format!("{line} (+{} more)", n - 1),
    };
    if config.toast {
        let kind = if calling.iter().any(|n| n.kind.is_alarm()) {
            ToastKind::Error
        } else {
            ToastKind::Info
        };
        toast(app, kind, format!("{NEEDS_YOU} {text} · i: needs me"));
    }
    Call {
        bell: config.bell,
        notify: config.notify.then(|| {
            let heading = match calling.len() {
                1 => format!("opsdeck: {} {}", first.kind.label(), first.id),
                n => format!("opsdeck: {n} new need you"),
            };
            (heading, text)
        }),
        title: None,
    }
}

/// A frame reached the screen: the "needs me" list on it is being seen from now.
pub(super) fn on_drawn(app: &mut App) {
    if app.pane == Pane::Inbox && !matches!(app.mode, Mode::Help) {
        let wall = app.attention.wall;
        let listed = app.attention.known.clone();
        for key in listed {
            app.attention.shown.entry(key).or_insert(wall);
        }
    }
}

/// The clock moved: what has been on screen for a few seconds is no longer new.
pub(super) fn on_tick(app: &mut App) {
    let a = &mut app.attention;
    let (wall, known) = (a.wall, &a.known);
    a.shown.retain(|key, _| known.contains(key));
    for (key, since) in &a.shown {
        if wall - *since >= attention::NEW_FOR {
            a.seen.insert(key.clone());
        }
    }
}

/// Enter on a "needs me" row: the item, selected and open, in its own pane.
pub(super) fn jump(app: &mut App) -> Vec<Effect> {
    let Some(key) = rows::selected(app, Pane::Inbox) else {
        return vec![];
    };
    let Some(need) = needs(app).into_iter().find(|n| n.key == key) else {
        return vec![];
    };
    app.attention.seen.insert(need.key.clone());
    navigation::show(app, need.pane);
    let mut at = rows::ids(app, need.pane).iter().position(|i| *i == need.id);
    if at.is_none() {
        // The pane's filter hides it: the operator asked for this item, not for the filter.
        app.pane_state_mut(need.pane).filter.clear();
        at = rows::ids(app, need.pane).iter().position(|i| *i == need.id);
    }
    let state = app.pane_state_mut(need.pane);
    if let Some(i) = at {
        state.selected = i;
        state.detail = Some(need.id);
        state.return_to = Some(Pane::Inbox);
    }
    vec![]
}
