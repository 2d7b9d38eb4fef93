//! The console's vocabulary: every key resolves to one of these, and the keymap, the help screen
//! and the `:` command line all speak it.

use serde::{Deserialize, Serialize};

use super::app::Pane;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    Back,
    Help,
    Filter,
    CommandLine,
    Open,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextSection,
    Sort,
    ShowOverview,
    ShowAgents,
    ShowQueues,
    ShowIncidents,
    ShowApprovals,
    ShowAudit,
    ShowRollouts,
    Approve,
    Reject,
    Escalate,
    Ack,
    Mitigate,
    Resolve,
    Note,
    Promote,
    Pause,
    Resume,
    Abort,
    Reveal,
    Related,
}

impl Action {
    pub const ALL: [Action; 34] = [
        Action::Quit,
        Action::Back,
        Action::Help,
        Action::Filter,
        Action::CommandLine,
        Action::Open,
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::NextSection,
        Action::Sort,
        Action::ShowOverview,
        Action::ShowAgents,
        Action::ShowQueues,
        Action::ShowIncidents,
        Action::ShowApprovals,
        Action::ShowAudit,
        Action::ShowRollouts,
        Action::Approve,
        Action::Reject,
        Action::Escalate,
        Action::Ack,
        Action::Mitigate,
        Action::Resolve,
        Action::Note,
        Action::Promote,
        Action::Pause,
        Action::Resume,
        Action::Abort,
        Action::Reveal,
        Action::Related,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Back => "back",
            Action::Help => "help",
            Action::Filter => "filter",
            Action::CommandLine => "command_line",
            Action::Open => "open",
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::NextSection => "next_section",
            Action::Sort => "sort",
            Action::ShowOverview => "overview",
            Action::ShowAgents => "agents",
            Action::ShowQueues => "queues",
            Action::ShowIncidents => "incidents",
            Action::ShowApprovals => "approvals",
            Action::ShowAudit => "audit",
            Action::ShowRollouts => "rollouts",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Escalate => "escalate",
            Action::Ack => "ack",
            Action::Mitigate => "mitigate",
            Action::Resolve => "resolve",
            Action::Note => "note",
            Action::Promote => "promote",
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::Abort => "abort",
            Action::Reveal => "reveal",
            Action::Related => "related",
        }
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Back => "back / close",
            Action::Help => "this help",
            Action::Filter => "filter the pane (audit: search)",
            Action::CommandLine => "command line (:approvals, :q …)",
            Action::Open => "open details",
            Action::Up => "move up",
            Action::Down => "move down",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::Top => "first row",
            Action::Bottom => "last row (audit: follow the tail)",
            Action::NextSection => "next overview section",
            Action::Sort => "change the sort column",
            Action::ShowOverview => "overview",
            Action::ShowAgents => "agents pane",
            Action::ShowQueues => "queues pane",
            Action::ShowIncidents => "incidents pane",
            Action::ShowApprovals => "approvals pane",
            Action::ShowAudit => "audit pane",
            Action::ShowRollouts => "rollouts pane",
            Action::Approve => "approve (asks a reason, then confirm)",
            Action::Reject => "reject (asks a reason, then confirm)",
            Action::Escalate => "escalate one level (approvals, incidents)",
            Action::Ack => "acknowledge an incident",
            Action::Mitigate => "mark an incident mitigated",
            Action::Resolve => "resolve an incident",
            Action::Note => "add a note to an incident",
            Action::Promote => "promote a rollout to its next phase",
            Action::Pause => "pause a rollout or an agent",
            Action::Resume => "resume a rollout or an agent",
            Action::Abort => "abort a rollout (type its name)",
            Action::Reveal => "reveal a sensitive audit record (the reveal is audited)",
            Action::Related => "jump to the approval or incident a record is about",
        }
    }

    /// Where an action means something; global ones work everywhere.
    pub fn applies_to(self, pane: Pane) -> bool {
        match self {
            Action::Approve | Action::Reject => pane == Pane::Approvals,
            Action::Escalate => matches!(pane, Pane::Approvals | Pane::Incidents),
            Action::Ack | Action::Mitigate | Action::Resolve | Action::Note => {
                pane == Pane::Incidents
            }
            Action::Promote | Action::Abort => pane == Pane::Rollouts,
            Action::Pause | Action::Resume => matches!(pane, Pane::Rollouts | Pane::Agents),
            Action::Sort => pane != Pane::Overview,
            Action::Reveal | Action::Related => pane == Pane::Audit,
            Action::NextSection => pane == Pane::Overview,
            _ => true,
        }
    }

    /// Actions that change the orchestrator: hidden in read-only mode.
    pub fn mutates(self) -> bool {
        matches!(
            self,
            Action::Approve
                | Action::Reject
                | Action::Escalate
                | Action::Ack
                | Action::Mitigate
                | Action::Resolve
                | Action::Note
                | Action::Promote
                | Action::Pause
                | Action::Resume
                | Action::Abort
                | Action::Reveal
        )
    }
}
