//! Idempotency keys as they travel with a command. The engine records a keyed command's answer
//! under its key in the same store transaction as the command's effect, so a retry with the same
//! key, even after a restart, gets that answer back instead of acting twice; the key with another
//! request is refused.

use serde::{Deserialize, Serialize};

use super::{Command, Outcome};

/// How long a recorded answer is kept for retries; older keys are forgotten (and pruned).
pub const IDEMPOTENCY_WINDOW_HOURS: i64 = 24;

/// Why a key is refused: it was used with another request.
pub const KEY_REUSED: &str = "this Idempotency-Key was already used for a different request; use a fresh key for a new action";

/// The key a command came with, scoped to its caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyKey {
    /// Whose key it is (`operator:alice`, `token:fleet`): callers' keys never meet.
    pub caller: String,
    /// The client's key, as sent.
    pub key: String,
    /// What makes two requests "the same": a digest of route and body, in hex.
    pub fingerprint: String,
}

/// An answer recorded under a key: exactly what the first request was told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedAnswer {
    pub fingerprint: String,
    /// The HTTP status the answer went out with.
    pub status: u16,
    /// The answer's body, byte for byte as first sent (the command's [`Outcome`] as JSON).
    pub body: String,
}

/// What a keyed command gives back: it ran now, or it had run and this is its first answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Executed {
    Fresh(Outcome),
    Replayed(RecordedAnswer),
}

impl Command {
    /// The HTTP status of the command's answer when it goes through: a declared incident is
    /// created, everything else is plainly done.
    pub fn success_status(&self) -> u16 {
        match self {
            Command::DeclareIncident(_) => 201,
            _ => 200,
        }
    }
}

/// The body recorded for a fresh outcome (and sent with it): the one serialisation of an answer.
pub fn answer_body(outcome: &Outcome) -> String {
    serde_json::to_string(outcome).unwrap_or_default()
}
