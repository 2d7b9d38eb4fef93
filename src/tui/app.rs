//! The console's state: what it knows of the orchestrator, where the operator is, and what they
//! are typing. Changed only by `update`; read by the views.

use std::collections::BTreeMap;

use ratatui_textarea::TextArea;

use super::keymap::Keymap;
use super::theme::Theme;
use crate::authority::Role;
use crate::link::LinkInfo;
use crate::model::{AuditRecord, Snapshot, State, Timestamp};
use crate::protocol::{AgentAction, ApprovalAction, IncidentAction, RolloutAction};

/// Data from a remote orchestrator older than this (no event, no heartbeat) is stale: shown as
/// such, and no decision is taken on it.
pub const STALE_SECONDS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pane {
    Overview,
    Agents,
    Queues,
    Incidents,
    Approvals,
    Audit,
    Rollouts,
    /// What needs this operator now: the attention list.
    Inbox,
}

impl Pane {
    pub const ALL: [Pane; 8] = [
        Pane::Overview,
        Pane::Agents,
        Pane::Queues,
        Pane::Incidents,
        Pane::Approvals,
        Pane::Audit,
        Pane::Rollouts,
        Pane::Inbox,
    ];

    /// The name `:` and the action table use; panes are declared in the table's order.
    pub fn name(self) -> &'static str {
        crate::config::actions::PANES[self as usize]
    }

    pub fn from_name(name: &str) -> Option<Pane> {
        Pane::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// Where the operator is inside a pane; it stays when they leave and come back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PaneState {
    pub selected: usize,
    pub filter: String,
    /// Index into the pane's sortable columns.
    pub sort: usize,
    /// The id of the item whose details are open.
    pub detail: Option<String>,
    /// The details were opened from another pane (`o` on an audit record, Enter in "needs
    /// me"): Esc closes them and goes back there, to the record or the list it came from.
    pub return_to: Option<Pane>,
    /// The selected item left the list while the operator was elsewhere: said on their return.
    pub notice: Option<String>,
}

/// The audit pane's own state: a live tail, or search results that page in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditView {
    /// Following the tail: new records arrive at the top and the selection stays on the newest.
    pub follow: bool,
    /// The query of the current search, if any; results replace the tail.
    pub query: Option<String>,
    pub results: Vec<AuditRecord>,
    pub searching: bool,
    /// No more results before the oldest one shown.
    pub exhausted: bool,
    pub error: Option<String>,
    /// Queries run before, oldest first; ↑/↓ on the query line walks them.
    pub history: Vec<String>,
    /// Where ↑/↓ is in the history while typing (None: a fresh line).
    pub history_at: Option<usize>,
    /// How many records the current search matches (exact up to 10,000, then `true`: more).
    pub total: Option<(u64, bool)>,
    /// Sensitive records this operator revealed, whole, by seq (each reveal was audited; every
    /// other copy of them the console holds has its details withheld).
    pub revealed: std::collections::BTreeMap<u64, crate::model::AuditRecord>,
    /// Whether the open record's details{} are unfolded.
    pub unfolded: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    Live,
    Reconnecting { attempt: u32, next_in_s: u64 },
    Offline { since: Timestamp },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Info,
    Success,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    pub text: String,
    pub kind: ToastKind,
    pub until: Timestamp,
}

/// What a dialog will do once confirmed.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    Approval {
        id: String,
        action: ApprovalAction,
        version: u64,
    },
    Incident {
        id: String,
        action: IncidentAction,
        version: u64,
    },
    Rollout {
        id: String,
        name: String,
        action: RolloutAction,
        version: u64,
    },
    Agent {
        id: String,
        action: AgentAction,
    },
}

impl Intent {
    /// The item the dialog acts on.
    pub fn id(&self) -> &str {
        match self {
            Intent::Approval { id, .. }
            | Intent::Incident { id, .. }
            | Intent::Rollout { id, .. }
            | Intent::Agent { id, .. } => id,
        }
    }

    /// The item's version the decision is for (agents carry none: 0).
    pub fn version(&self) -> Option<u64> {
        match self {
            Intent::Approval { version, .. }
            | Intent::Incident { version, .. }
            | Intent::Rollout { version, .. } => Some(*version),
            Intent::Agent { .. } => Some(0),
        }
    }

    /// Takes the item's current version: the decision is now for the item as shown.
    pub fn adopt(&mut self, current: u64) {
        match self {
            Intent::Approval { version, .. }
            | Intent::Incident { version, .. }
            | Intent::Rollout { version, .. } => *version = current,
            Intent::Agent { .. } => {}
        }
    }

    /// The verb, as the audit trail and the review name it.
    pub fn verb(&self) -> &'static str {
        match self {
            Intent::Approval { action, .. } => action.as_str(),
            Intent::Incident { action, .. } => action.as_str(),
            Intent::Rollout { action, .. } => action.as_str(),
            Intent::Agent { action, .. } => action.as_str(),
        }
    }

    /// The console action that opened this dialog.
    pub fn action(&self) -> Option<crate::config::actions::Action> {
        use crate::config::actions::Action as A;
        Some(match self {
            Intent::Approval { action, .. } => match action {
                ApprovalAction::Approve => A::Approve,
                ApprovalAction::Reject => A::Reject,
                ApprovalAction::Escalate => A::Escalate,
            },
            Intent::Incident { action, .. } => match action {
                IncidentAction::Ack => A::Ack,
                IncidentAction::Escalate => A::Escalate,
                IncidentAction::Mitigate => A::Mitigate,
                IncidentAction::Resolve => A::Resolve,
                IncidentAction::Note => A::Note,
            },
            Intent::Rollout { action, .. } => match action {
                RolloutAction::Promote => A::Promote,
                RolloutAction::Pause => A::Pause,
                RolloutAction::Resume => A::Resume,
                RolloutAction::Abort => A::Abort,
            },
            Intent::Agent { action, .. } => match action {
                AgentAction::Pause => A::Pause,
                AgentAction::Resume => A::Resume,
            },
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogStep {
    /// Typing the reason (and the name, where asked).
    Compose,
    /// Everything typed and the exact effect shown: only `y` commits, and only once this step
    /// has been drawn (`review_seen`); `n`, Esc or Backspace go back.
    Confirm,
}

#[derive(Debug, Clone)]
pub struct Dialog {
    pub intent: Intent,
    pub title: String,
    /// Lines of context shown above the reason.
    pub context: Vec<String>,
    pub reason: TextArea<'static>,
    pub reason_required: bool,
    /// Promote to 100 % and abort: the rollout's name, typed.
    pub confirm_name: Option<(String, String)>,
    /// Which field has the keyboard when there are two: false = reason, true = name.
    pub on_name: bool,
    pub step: DialogStep,
    pub error: Option<String>,
    /// The review was on the screen before the current key: a `y` that came in the same burst
    /// as the Enter that opened it (a pasted `\r\ry`) finds this false and commits nothing.
    pub review_seen: bool,
    /// What the review step says about a key it did not take ("press y to confirm").
    pub hint: Option<String>,
}

impl Dialog {
    /// A dialog in its first step, the reason still to type.
    pub fn compose(
        intent: Intent,
        title: String,
        context: Vec<String>,
        placeholder: &str,
        reason_required: bool,
    ) -> Dialog {
        let mut reason = TextArea::default();
        reason.set_placeholder_text(placeholder);
        Dialog {
            intent,
            title,
            context,
            reason,
            reason_required,
            confirm_name: None,
            on_name: false,
            step: DialogStep::Compose,
            error: None,
            review_seen: false,
            hint: None,
        }
    }
}

impl PartialEq for Dialog {
    fn eq(&self, other: &Self) -> bool {
        self.intent == other.intent
            && self.step == other.step
            && self.reason.lines() == other.reason.lines()
            && self.confirm_name == other.confirm_name
            && self.error == other.error
            && self.review_seen == other.review_seen
            && self.hint == other.hint
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Normal,
    Filter { before: String },
    Command { input: String },
    Help,
    Dialog(Box<Dialog>),
}

pub struct App {
    pub info: LinkInfo,
    pub role: Role,
    pub data: State,
    pub keymap: Keymap,
    pub theme: Theme,
    pub pane: Pane,
    /// Where Esc returns to from a full pane.
    pub previous: Vec<Pane>,
    pub panes: BTreeMap<Pane, PaneState>,
    /// The overview section that Enter opens.
    pub section: Pane,
    pub audit: AuditView,
    pub mode: Mode,
    pub toasts: Vec<Toast>,
    pub connection: Connection,
    /// When the last data arrived from the orchestrator.
    pub data_at: Timestamp,
    pub now: Timestamp,
    /// Time stands still on a store written on a simulated clock.
    pub frozen: bool,
    pub size: (u16, u16),
    pub quit: bool,
    /// Commands sent and not yet answered: decisions stay disabled for the item meanwhile.
    pub in_flight: Vec<String>,
    /// Reasons typed and not yet recorded, by item: a dialog cancelled, or a decision the
    /// orchestrator refused, leaves its text here for the next dialog on the same item.
    pub drafts: BTreeMap<String, Vec<String>>,
    /// Decisions sent from a dialog and not yet answered, by item: the dialog comes back, text
    /// and all, if the orchestrator refuses.
    pub sent: BTreeMap<String, Box<Dialog>>,
    /// "Needs me": what the operator has seen of it, and when the console last called them.
    pub attention: super::attention::Attention,
}

impl App {
    pub fn new(
        info: LinkInfo,
        snapshot: Snapshot,
        now: Timestamp,
        keymap: Keymap,
        theme: Theme,
    ) -> App {
        let role = info.role.parse().unwrap_or(Role::Viewer);
        let mut app = App {
            info,
            role,
            data: State::default(),
            keymap,
            theme,
            pane: Pane::Overview,
            previous: Vec::new(),
            panes: Pane::ALL
                .into_iter()
                .map(|p| (p, PaneState::default()))
                .collect(),
            section: Pane::Inbox,
            audit: AuditView {
                follow: true,
                ..Default::default()
            },
            mode: Mode::Normal,
            toasts: Vec::new(),
            connection: Connection::Live,
            data_at: now,
            now,
            frozen: false,
            size: (120, 36),
            quit: false,
            in_flight: Vec::new(),
            drafts: BTreeMap::new(),
            sent: BTreeMap::new(),
            attention: super::attention::Attention::new(Default::default(), false, now),
        };
        app.load(snapshot);
        app.attention.known = super::attention::keys(&super::attention::needs(&app));
        app
    }

    /// Replaces everything known with a snapshot.
    pub fn load(&mut self, snapshot: Snapshot) {
        self.data = State::from_snapshot(snapshot);
    }

    pub fn pane_state(&self, pane: Pane) -> &PaneState {
        &self.panes[&pane]
    }

    pub fn pane_state_mut(&mut self, pane: Pane) -> &mut PaneState {
        self.panes.entry(pane).or_default()
    }

    /// A remote orchestrator has not been heard from (an event or a heartbeat) for too long.
    pub fn is_stale(&self) -> bool {
        self.info.remote
            && !self.frozen
            && self.now - self.data_at > chrono::Duration::seconds(STALE_SECONDS)
    }

    /// Decisions are possible: not read-only and the data is live.
    /// Whether this console acts at all: not read-only, and a role that acts (a viewer only
    /// reads). The footer and help offer actions only then.
    pub fn may_act(&self) -> bool {
        !self.info.read_only && self.role.level().is_some()
    }

    pub fn can_act(&self) -> Result<(), String> {
        if self.info.read_only {
            return Err("read-only console".into());
        }
        match &self.connection {
            Connection::Live if self.is_stale() => Err(format!(
                "the data is {} old: decisions are disabled until the orchestrator is heard from again",
                crate::format::span(self.now - self.data_at)
            )),
            Connection::Live => Ok(()),
            Connection::Reconnecting { .. } | Connection::Offline { .. } => Err(
                "the link to the orchestrator is down: decisions are disabled until it is back"
                    .into(),
            ),
        }
    }
}
