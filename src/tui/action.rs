//! The console's vocabulary: every key resolves to one of these, and the keymap, the help screen
//! and the `:` command line all speak it.
//!
//! The actions and their data are one table, `config::actions::ACTIONS`, kept with the
//! configuration so that `[keymap]` is checked without the console. What the console adds is
//! its own notion of a pane.

pub use crate::config::actions::{ACTIONS, Action, ActionSpec};

use super::app::Pane;
use crate::protocol::{AgentAction, ApprovalAction, IncidentAction, RolloutAction};

impl Action {
    /// Where an action means something; global ones work everywhere.
    pub fn applies_to(self, pane: Pane) -> bool {
        self.applies_in(pane.name())
    }

    /// The pane this action opens: the seven are named after their pane.
    pub fn pane_opened(self) -> Option<Pane> {
        Pane::from_name(self.name())
    }

    /// The verb this key sends for an approval, if it means one there.
    pub fn on_approval(self) -> Option<ApprovalAction> {
        Some(match self {
            Action::Approve => ApprovalAction::Approve,
            Action::Reject => ApprovalAction::Reject,
            Action::Escalate => ApprovalAction::Escalate,
            _ => return None,
        })
    }

    pub fn on_incident(self) -> Option<IncidentAction> {
        Some(match self {
            Action::Ack => IncidentAction::Ack,
            Action::Escalate => IncidentAction::Escalate,
            Action::Mitigate => IncidentAction::Mitigate,
            Action::Resolve => IncidentAction::Resolve,
            Action::Note => IncidentAction::Note,
            _ => return None,
        })
    }

    pub fn on_rollout(self) -> Option<RolloutAction> {
        Some(match self {
            Action::Promote => RolloutAction::Promote,
            Action::Pause => RolloutAction::Pause,
            Action::Resume => RolloutAction::Resume,
            Action::Abort => RolloutAction::Abort,
            _ => return None,
        })
    }

    pub fn on_agent(self) -> Option<AgentAction> {
        Some(match self {
            Action::Pause => AgentAction::Pause,
            Action::Resume => AgentAction::Resume,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::actions::PANES;

    #[test]
    fn the_console_panes_are_the_tables_panes_in_order() {
        assert_eq!(Pane::ALL.len(), PANES.len());
        for (i, pane) in Pane::ALL.into_iter().enumerate() {
            assert_eq!(pane as usize, i);
            assert_eq!(Pane::from_name(PANES[i]), Some(pane));
        }
    }

    #[test]
    fn the_actions_named_after_a_pane_open_it() {
        for pane in Pane::ALL {
            let opener = Action::from_name(pane.name()).expect("an action per pane");
            assert_eq!(opener.pane_opened(), Some(pane));
        }
        assert_eq!(Action::Approve.pane_opened(), None);
    }

    #[test]
    fn a_key_action_sends_the_verb_of_the_same_name() {
        for action in Action::all() {
            let verbs = [
                action.on_approval().map(|v| v.as_str()),
                action.on_incident().map(|v| v.as_str()),
                action.on_rollout().map(|v| v.as_str()),
                action.on_agent().map(|v| v.as_str()),
            ];
            for verb in verbs.into_iter().flatten() {
                assert_eq!(verb, action.name());
            }
        }
    }
}
