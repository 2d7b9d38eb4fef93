//! Idempotency keys at the door. Answers are not kept here: the engine records a keyed command's
//! answer in the store, in the transaction of the command's effect, and gives it back to a retry
//! with the same key and body for `IDEMPOTENCY_WINDOW_HOURS`, across restarts (see
//! `Engine::execute_once`); the key with another body is refused there. A command that fails
//! records nothing, because it wrote nothing: a retry runs it again and gets the answer of the
//! moment.
//!
//! What the server keeps in memory is which keys are in flight, so a retry racing its first
//! request is told to come back (409 `in-progress`) instead of queueing behind it, and the same
//! key with another body while the first is running is refused at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

const MAX_KEY_LEN: usize = 255;

type Key = (String, String);

#[derive(Clone, Default)]
pub struct InFlight {
    keys: Arc<Mutex<HashMap<Key, String>>>,
}

pub enum Begin {
    /// Nobody else is running this key: go ahead while the ticket lives.
    Fresh(Ticket),
    /// The key is in flight with another request.
    Mismatch,
    /// The first request with this key has not finished yet.
    InFlight,
}

/// A key in flight; dropping it (the request answered, failed or was cancelled) frees the key.
pub struct Ticket {
    keys: Arc<Mutex<HashMap<Key, String>>>,
    key: Key,
}

/// Checks a client's key: printable ASCII, not too long.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| (0x21..0x7f).contains(&b))
}

/// What identifies "the same request": route and body, as hex.
pub fn fingerprint(route: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(route.as_bytes());
    hash.update([0]);
    hash.update(body);
    hex::encode(hash.finalize())
}

impl InFlight {
    pub fn begin(&self, caller: &str, key: &str, fingerprint: &str) -> Begin {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let key = (caller.to_string(), key.to_string());
        match keys.get(&key) {
            Some(f) if f == fingerprint => Begin::InFlight,
            Some(_) => Begin::Mismatch,
            None => {
                keys.insert(key.clone(), fingerprint.to_string());
                Begin::Fresh(Ticket {
                    keys: self.keys.clone(),
                    key,
                })
            }
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_in_flight_holds_until_its_ticket_drops() {
        let keys = InFlight::default();
        let f = fingerprint("POST /x", b"{}");
        let Begin::Fresh(ticket) = keys.begin("operator:alice", "k1", &f) else {
            panic!("fresh expected")
        };
        assert!(matches!(
            keys.begin("operator:alice", "k1", &f),
            Begin::InFlight
        ));
        let other = fingerprint("POST /x", b"{\"a\":1}");
        assert!(matches!(
            keys.begin("operator:alice", "k1", &other),
            Begin::Mismatch
        ));
        // Keys belong to their caller.
        assert!(matches!(
            keys.begin("operator:bob", "k1", &f),
            Begin::Fresh(_)
        ));
        drop(ticket);
        assert!(matches!(
            keys.begin("operator:alice", "k1", &f),
            Begin::Fresh(_)
        ));
    }

    #[test]
    fn keys_are_printable_and_bounded() {
        assert!(valid_key("0193-abc"));
        assert!(!valid_key(""));
        assert!(!valid_key("a b"));
        assert!(!valid_key(&"x".repeat(256)));
    }
}
