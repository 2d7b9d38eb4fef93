//! `[attention]`: how the console calls an on-call engineer when something new needs them.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::duration;
use crate::model::Severity;

/// A kind of item in the "needs me" list, as `[attention] signal` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Signal {
    #[serde(rename = "SEV1")]
    Sev1,
    #[serde(rename = "SEV2")]
    Sev2,
    #[serde(rename = "SEV3")]
    Sev3,
    #[serde(rename = "SEV4")]
    Sev4,
    /// Pending approvals this operator may decide.
    #[serde(rename = "approvals")]
    Approvals,
    /// Rollouts their error gate paused.
    #[serde(rename = "rollouts")]
    Rollouts,
    /// Agents down, one entry per domain.
    #[serde(rename = "agents")]
    Agents,
}

impl Signal {
    pub fn severity(severity: Severity) -> Signal {
        match severity {
            Severity::Sev1 => Signal::Sev1,
            Severity::Sev2 => Signal::Sev2,
            Severity::Sev3 => Signal::Sev3,
            Severity::Sev4 => Signal::Sev4,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttentionConfig {
    /// Ring the terminal bell (BEL): tmux and most terminals mark the window, some beep.
    pub bell: bool,
    /// Send a desktop notification (OSC 9 and OSC 777, which terminals that know neither ignore).
    pub notify: bool,
    /// Keep the terminal's title at the count of what needs you (put back on exit).
    pub title: bool,
    /// Show a toast in the console.
    pub toast: bool,
    /// Which new items call: incident severities (SEV1 … SEV4), approvals, rollouts, agents.
    /// Unacknowledged SEV1 and SEV2 incidents are always listed in "needs me"; a lower severity
    /// named here is listed too. Kinds left out are listed without a signal.
    pub signal: Vec<Signal>,
    /// At most one signal per this interval: a storm of new items is one bell, and the toast
    /// counts the rest.
    #[serde(with = "duration")]
    pub min_interval: Duration,
}

impl Default for AttentionConfig {
    fn default() -> Self {
        AttentionConfig {
            bell: true,
            notify: true,
            title: true,
            toast: true,
            signal: vec![
                Signal::Sev1,
                Signal::Sev2,
                Signal::Approvals,
                Signal::Rollouts,
                Signal::Agents,
            ],
            min_interval: Duration::seconds(10),
        }
    }
}

impl AttentionConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.min_interval < Duration::zero() {
            return Err("attention.min_interval must not be negative; ".into());
        }
        Ok(())
    }

    /// Whether a new item of this kind calls for attention.
    pub fn signals(&self, kind: Signal) -> bool {
        self.signal.contains(&kind)
    }
}
