//! The console's vocabulary: every key resolves to one of these, and the keymap, the help screen
//! and the `:` command line all speak it.
//!
//! The actions and their data are one table, `config::actions::ACTIONS`, kept with the
//! configuration so that `[keymap]` is checked without the console. What the console adds is
//! its own notion of a pane.

pub use crate::config::actions::{ACTIONS, Action, ActionSpec};

use super::app::Pane;

impl Action {
    /// Where an action means something; global ones work everywhere.
    pub fn applies_to(self, pane: Pane) -> bool {
        self.applies_in(pane.name())
    }

    /// The pane this action opens: the seven are named after their pane.
    pub fn pane_opened(self) -> Option<Pane> {
        Pane::from_name(self.name())
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
}
