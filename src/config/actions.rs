//! The console's actions, in one table: the name `[keymap]` and the `:` line use, what the help
//! screen says of it, the panes where it applies, whether it changes the orchestrator, its
//! default keys, and whether `:` runs it.
//!
//! The keymap (its defaults and its lookup), the help screen, the `:` line and its completion,
//! and the check of the config's `[keymap]` all read this table and keep no list of their own.
//! It lives with the configuration as plain data so that the config can be checked without the
//! console; the console's own vocabulary (`Pane`) maps onto the pane names here.
//!
//! Like helix's `static_commands!`, one macro invocation names each action once and yields both
//! the enum the console matches on and the table of its data: the two cannot drift apart.

/// The panes, by the names the table and the `:` line use, in the console's order.
pub const PANES: [&str; 8] = [
    "overview",
    "agents",
    "queues",
    "incidents",
    "approvals",
    "audit",
    "rollouts",
    "inbox",
];

/// Where an action applies, by pane name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panes {
    All,
    Only(&'static [&'static str]),
    AllBut(&'static [&'static str]),
}

impl Panes {
    pub fn contains(self, pane: &str) -> bool {
        match self {
            Panes::All => true,
            Panes::Only(panes) => panes.contains(&pane),
            Panes::AllBut(panes) => !panes.contains(&pane),
        }
    }
}

/// Whether the `:` line runs an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typed {
    /// Only its keys do.
    No,
    /// `:name` does, and so do these other spellings.
    Yes(&'static [&'static str]),
}

#[derive(Debug)]
pub struct ActionSpec {
    pub action: Action,
    /// The key under `[keymap]` and the word after `:`.
    pub name: &'static str,
    /// The help screen's line.
    pub description: &'static str,
    pub panes: Panes,
    /// Changes the orchestrator (or, for a reveal, writes to its audit trail): hidden from a
    /// read-only console.
    pub mutates: bool,
    /// The default keys, written as in `[keymap]`.
    pub keys: &'static [&'static str],
    pub typed: Typed,
}

macro_rules! actions {
    ($( $variant:ident { $($field:ident: $value:expr),* $(,)? } )*) => {
        /// One variant per row of `ACTIONS`, in the same order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $( $variant, )*
        }

        /// Every action, in the order the help screen lists them.
        pub static ACTIONS: &[ActionSpec] = &[
            $( ActionSpec { action: Action::$variant, $($field: $value),* }, )*
        ];
    };
}

/// The pane-specific actions' panes, named once each.
const APPROVALS: &[&str] = &["approvals"];
const INCIDENTS: &[&str] = &["incidents"];
const AUDIT: &[&str] = &["audit"];
const OVERVIEW: &[&str] = &["overview"];
const ROLLOUTS: &[&str] = &["rollouts"];

// The eight actions that open a pane carry the pane's name: `:agents` opens the agents pane.
actions! {
    Quit {
        name: "quit",
        description: "quit",
        panes: Panes::All,
        mutates: false,
        keys: &["q", "ctrl+c"],
        typed: Typed::Yes(&["q", "q!"]),
    }
    Back {
        name: "back",
        description: "back / close",
        panes: Panes::All,
        mutates: false,
        keys: &["esc"],
        typed: Typed::No,
    }
    Help {
        name: "help",
        description: "this help",
        panes: Panes::All,
        mutates: false,
        keys: &["?"],
        typed: Typed::Yes(&[]),
    }
    Filter {
        name: "filter",
        description: "filter the pane (audit: search)",
        panes: Panes::All,
        mutates: false,
        keys: &["/"],
        typed: Typed::No,
    }
    CommandLine {
        name: "command_line",
        description: "command line (:approvals, :q …)",
        panes: Panes::All,
        mutates: false,
        keys: &[":"],
        typed: Typed::No,
    }
    Open {
        name: "open",
        description: "open details",
        panes: Panes::All,
        mutates: false,
        keys: &["enter"],
        typed: Typed::No,
    }
    Up {
        name: "up",
        description: "move up",
        panes: Panes::All,
        mutates: false,
        keys: &["k", "up"],
        typed: Typed::No,
    }
    Down {
        name: "down",
        description: "move down",
        panes: Panes::All,
        mutates: false,
        keys: &["j", "down"],
        typed: Typed::No,
    }
    PageUp {
        name: "page_up",
        description: "page up",
        panes: Panes::All,
        mutates: false,
        keys: &["ctrl+u", "pageup"],
        typed: Typed::No,
    }
    PageDown {
        name: "page_down",
        description: "page down",
        panes: Panes::All,
        mutates: false,
        keys: &["ctrl+d", "pagedown"],
        typed: Typed::No,
    }
    Top {
        name: "top",
        description: "first row",
        panes: Panes::All,
        mutates: false,
        keys: &["g", "home"],
        typed: Typed::No,
    }
    Bottom {
        name: "bottom",
        description: "last row (audit: follow the tail)",
        panes: Panes::All,
        mutates: false,
        keys: &["G", "end"],
        typed: Typed::No,
    }
    NextSection {
        name: "next_section",
        description: "next overview section",
        panes: Panes::Only(OVERVIEW),
        mutates: false,
        keys: &["tab"],
        typed: Typed::No,
    }
    Sort {
        name: "sort",
        description: "change the sort column",
        panes: Panes::AllBut(OVERVIEW),
        mutates: false,
        keys: &["s"],
        typed: Typed::No,
    }
    ShowOverview {
        name: "overview",
        description: "overview",
        panes: Panes::All,
        mutates: false,
        keys: &["1"],
        typed: Typed::Yes(&[]),
    }
    ShowAgents {
        name: "agents",
        description: "agents pane",
        panes: Panes::All,
        mutates: false,
        keys: &["2"],
        typed: Typed::Yes(&[]),
    }
    ShowQueues {
        name: "queues",
        description: "queues pane",
        panes: Panes::All,
        mutates: false,
        keys: &["3"],
        typed: Typed::Yes(&[]),
    }
    ShowIncidents {
        name: "incidents",
        description: "incidents pane",
        panes: Panes::All,
        mutates: false,
        keys: &["4"],
        typed: Typed::Yes(&[]),
    }
    ShowApprovals {
        name: "approvals",
        description: "approvals pane",
        panes: Panes::All,
        mutates: false,
        keys: &["5"],
        typed: Typed::Yes(&[]),
    }
    ShowAudit {
        name: "audit",
        description: "audit pane",
        panes: Panes::All,
        mutates: false,
        keys: &["6"],
        typed: Typed::Yes(&[]),
    }
    ShowRollouts {
        name: "rollouts",
        description: "rollouts pane",
        panes: Panes::All,
        mutates: false,
        keys: &["7"],
        typed: Typed::Yes(&[]),
    }
    ShowInbox {
        name: "inbox",
        description: "needs me: what calls for you",
        panes: Panes::All,
        mutates: false,
        keys: &["i"],
        typed: Typed::Yes(&["needs"]),
    }
    Approve {
        name: "approve",
        description: "approve (asks a reason, then confirm)",
        panes: Panes::Only(APPROVALS),
        mutates: true,
        keys: &["a"],
        typed: Typed::Yes(&[]),
    }
    Reject {
        name: "reject",
        description: "reject (asks a reason, then confirm)",
        panes: Panes::Only(APPROVALS),
        mutates: true,
        keys: &["r"],
        typed: Typed::Yes(&[]),
    }
    Escalate {
        name: "escalate",
        description: "escalate one level (approvals, incidents)",
        panes: Panes::Only(&["approvals", "incidents"]),
        mutates: true,
        keys: &["e"],
        typed: Typed::Yes(&[]),
    }
    Ack {
        name: "ack",
        description: "acknowledge an incident",
        panes: Panes::Only(INCIDENTS),
        mutates: true,
        keys: &["a"],
        typed: Typed::Yes(&[]),
    }
    Mitigate {
        name: "mitigate",
        description: "mark an incident mitigated",
        panes: Panes::Only(INCIDENTS),
        mutates: true,
        keys: &["m"],
        typed: Typed::Yes(&[]),
    }
    Resolve {
        name: "resolve",
        description: "resolve an incident",
        panes: Panes::Only(INCIDENTS),
        mutates: true,
        keys: &["R"],
        typed: Typed::Yes(&[]),
    }
    Note {
        name: "note",
        description: "add a note to an incident",
        panes: Panes::Only(INCIDENTS),
        mutates: true,
        keys: &["n"],
        typed: Typed::Yes(&[]),
    }
    Promote {
        name: "promote",
        description: "promote a rollout to its next phase",
        panes: Panes::Only(ROLLOUTS),
        mutates: true,
        keys: &["p"],
        typed: Typed::Yes(&[]),
    }
    Pause {
        name: "pause",
        description: "pause a rollout or an agent",
        panes: Panes::Only(&["rollouts", "agents"]),
        mutates: true,
        keys: &["P"],
        typed: Typed::Yes(&[]),
    }
    Resume {
        name: "resume",
        description: "resume a rollout or an agent",
        panes: Panes::Only(&["rollouts", "agents"]),
        mutates: true,
        keys: &["u"],
        typed: Typed::Yes(&[]),
    }
    Abort {
        name: "abort",
        description: "abort a rollout (type its name)",
        panes: Panes::Only(ROLLOUTS),
        mutates: true,
        keys: &["X"],
        typed: Typed::Yes(&[]),
    }
    Reveal {
        name: "reveal",
        description: "reveal a sensitive audit record (the reveal is audited)",
        panes: Panes::Only(AUDIT),
        mutates: true,
        keys: &["v"],
        typed: Typed::Yes(&[]),
    }
    Related {
        name: "related",
        description: "jump to the approval or incident a record is about",
        panes: Panes::Only(AUDIT),
        mutates: false,
        keys: &["o"],
        typed: Typed::No,
    }
}

impl Action {
    pub fn spec(self) -> &'static ActionSpec {
        &ACTIONS[self as usize]
    }

    /// Every action, in the table's order.
    pub fn all() -> impl Iterator<Item = Action> {
        ACTIONS.iter().map(|spec| spec.action)
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::all().find(|a| a.name() == name)
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn describe(self) -> &'static str {
        self.spec().description
    }

    pub fn mutates(self) -> bool {
        self.spec().mutates
    }

    /// Whether the action means something in the pane of that name.
    pub fn applies_in(self, pane: &str) -> bool {
        self.spec().panes.contains(pane)
    }

    /// What `:` accepts for it: its name and other spellings, or nothing.
    pub fn typed_names(self) -> impl Iterator<Item = &'static str> {
        let (name, aliases): (&[&'static str], &'static [&'static str]) = match self.spec().typed {
            Typed::No => (&[], &[]),
            Typed::Yes(aliases) => (std::slice::from_ref(&self.spec().name), aliases),
        };
        name.iter().chain(aliases).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_row_is_its_variant_and_names_are_unique() {
        for (i, spec) in ACTIONS.iter().enumerate() {
            assert_eq!(spec.action as usize, i, "{}", spec.name);
            assert_eq!(Action::from_name(spec.name), Some(spec.action));
        }
    }

    #[test]
    fn every_pane_named_in_the_table_exists() {
        for spec in ACTIONS {
            let (Panes::Only(panes) | Panes::AllBut(panes)) = spec.panes else {
                continue;
            };
            for pane in panes {
                assert!(PANES.contains(pane), "{}: unknown pane {pane}", spec.name);
            }
        }
    }

    #[test]
    fn the_typed_names_of_an_action_are_its_name_then_its_aliases() {
        let quit: Vec<_> = Action::Quit.typed_names().collect();
        assert_eq!(quit, ["quit", "q", "q!"]);
        assert_eq!(Action::Up.typed_names().count(), 0);
        assert_eq!(
            Action::Approve.typed_names().collect::<Vec<_>>(),
            ["approve"]
        );
    }

    #[test]
    fn every_action_changing_the_orchestrator_can_be_typed() {
        for spec in ACTIONS.iter().filter(|s| s.mutates) {
            assert_ne!(spec.typed, Typed::No, "{}", spec.name);
        }
    }
}
