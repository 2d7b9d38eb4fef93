use std::sync::{Arc, Mutex};

use chrono::Utc;

use crate::model::Timestamp;
use crate::model::truncate;

/// Where the engine's time comes from: the system clock, or a clock someone else moves (the
/// simulated demo, tests, a store frozen at the end of a demo run).
#[derive(Debug, Clone)]
pub enum Clock {
    System,
    Manual(Arc<Mutex<Timestamp>>),
}

impl Clock {
    pub fn manual(at: Timestamp) -> Clock {
        Clock::Manual(Arc::new(Mutex::new(truncate(at))))
    }

    /// Millisecond precision everywhere: the audit trail's precision.
    pub fn now(&self) -> Timestamp {
        match self {
            Clock::System => truncate(Utc::now()),
            Clock::Manual(t) => *t.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Moves a manual clock; the system clock ignores it.
    pub fn set(&self, at: Timestamp) {
        if let Clock::Manual(t) = self {
            *t.lock().unwrap_or_else(|e| e.into_inner()) = truncate(at);
        }
    }

    pub fn is_manual(&self) -> bool {
        matches!(self, Clock::Manual(_))
    }
}
