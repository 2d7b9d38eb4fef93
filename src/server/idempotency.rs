//! Idempotency keys: a retried mutation (same key, same body) gets the first answer again
//! instead of acting twice; the same key with another body is refused.
//!
//! Answers are kept in memory for a day, at most `CAPACITY` of them, oldest dropped first. A
//! retry after a server restart is not a replay: it meets the engine's own checks (the version
//! it names is no longer current, or the decision is already taken), so it still cannot act twice.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

const CAPACITY: usize = 10_000;
const KEEP: Duration = Duration::from_secs(24 * 3600);
const MAX_KEY_LEN: usize = 255;

/// A finished answer, kept to replay.
#[derive(Debug, Clone)]
pub struct Stored {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: Bytes,
}

impl IntoResponse for Stored {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        response
    }
}

enum Entry {
    InFlight {
        fingerprint: [u8; 32],
    },
    Done {
        fingerprint: [u8; 32],
        answer: Stored,
    },
}

type Key = (String, String);

#[derive(Default)]
struct Entries {
    map: HashMap<Key, Entry>,
    order: VecDeque<(Key, Instant)>,
}

#[derive(Clone, Default)]
pub struct Idempotency {
    entries: Arc<Mutex<Entries>>,
}

pub enum Begin {
    /// First time: act, then `finish` the ticket.
    Fresh(Ticket),
    Replay(Stored),
    /// The key was used with another request.
    Mismatch,
    /// The first request with this key has not finished yet.
    InFlight,
}

/// A request in flight under its key; dropped unfinished (an error, a cancelled request), it
/// frees the key for a retry.
pub struct Ticket {
    entries: Arc<Mutex<Entries>>,
    key: Key,
    fingerprint: [u8; 32],
    finished: bool,
}

/// Checks a client's key: printable ASCII, not too long.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| (0x21..0x7f).contains(&b))
}

/// What identifies "the same request": route and body.
pub fn fingerprint(route: &str, body: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(route.as_bytes());
    hash.update([0]);
    hash.update(body);
    hash.finalize().into()
}

impl Idempotency {
    pub fn begin(&self, caller: &str, key: &str, fingerprint: [u8; 32]) -> Begin {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.evict(Instant::now());
        let key = (caller.to_string(), key.to_string());
        match entries.map.get(&key) {
            Some(Entry::Done {
                fingerprint: f,
                answer,
            }) if *f == fingerprint => Begin::Replay(answer.clone()),
            Some(Entry::InFlight { fingerprint: f }) if *f == fingerprint => Begin::InFlight,
            Some(_) => Begin::Mismatch,
            None => {
                entries
                    .map
                    .insert(key.clone(), Entry::InFlight { fingerprint });
                entries.order.push_back((key.clone(), Instant::now()));
                Begin::Fresh(Ticket {
                    entries: self.entries.clone(),
                    key,
                    fingerprint,
                    finished: false,
                })
            }
        }
    }
}

impl Entries {
    fn evict(&mut self, now: Instant) {
        while let Some((key, at)) = self.order.front() {
            if self.order.len() <= CAPACITY && now.duration_since(*at) < KEEP {
                break;
            }
            self.map.remove(key);
            self.order.pop_front();
        }
    }
}

impl Ticket {
    /// Keeps the answer for replays.
    pub fn finish(mut self, answer: &Stored) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.map.insert(
            self.key.clone(),
            Entry::Done {
                fingerprint: self.fingerprint,
                answer: answer.clone(),
            },
        );
        self.finished = true;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.finished {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            entries.map.remove(&self.key);
            entries.order.retain(|(k, _)| *k != self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(text: &'static str) -> Stored {
        Stored {
            status: StatusCode::OK,
            content_type: "application/json",
            body: Bytes::from_static(text.as_bytes()),
        }
    }

    #[test]
    fn same_key_same_body_replays_other_body_mismatches() {
        let store = Idempotency::default();
        let f = fingerprint("POST /x", b"{}");
        let Begin::Fresh(ticket) = store.begin("alice", "k1", f) else {
            panic!("fresh expected")
        };
        assert!(matches!(store.begin("alice", "k1", f), Begin::InFlight));
        ticket.finish(&answer("first"));
        match store.begin("alice", "k1", f) {
            Begin::Replay(a) => assert_eq!(a.body, "first"),
            _ => panic!("replay expected"),
        }
        let other = fingerprint("POST /x", b"{\"a\":1}");
        assert!(matches!(store.begin("alice", "k1", other), Begin::Mismatch));
        // Keys belong to their caller.
        assert!(matches!(store.begin("bob", "k1", f), Begin::Fresh(_)));
    }

    #[test]
    fn an_unfinished_ticket_frees_its_key() {
        let store = Idempotency::default();
        let f = fingerprint("POST /x", b"{}");
        drop(store.begin("alice", "k", f));
        assert!(matches!(store.begin("alice", "k", f), Begin::Fresh(_)));
    }

    #[test]
    fn keys_are_printable_and_bounded() {
        assert!(valid_key("0193-abc"));
        assert!(!valid_key(""));
        assert!(!valid_key("a b"));
        assert!(!valid_key(&"x".repeat(256)));
    }
}
