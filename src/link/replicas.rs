//! The replicas of one orchestrator a context names (`urls = [...]`): requests and the event
//! stream go to the current one, and move to the next when its connection is lost. A mutation
//! retried on another replica carries the same idempotency key, which every replica reads from
//! the shared database, so it still acts at most once.

use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::Url;

pub(super) struct Replicas {
    bases: Vec<Url>,
    current: AtomicUsize,
}

impl Replicas {
    pub fn new(bases: Vec<Url>) -> Replicas {
        assert!(!bases.is_empty(), "a link has at least one URL");
        Replicas {
            bases,
            current: AtomicUsize::new(0),
        }
    }

    /// The replica in use: its index (for [`Replicas::fail_over`]) and base URL.
    pub fn current(&self) -> (usize, &Url) {
        let i = self.current.load(Ordering::SeqCst) % self.bases.len();
        (i, &self.bases[i])
    }

    pub fn len(&self) -> usize {
        self.bases.len()
    }

    /// More than one replica: the header names the one in use.
    pub fn many(&self) -> bool {
        self.bases.len() > 1
    }

    /// The replica at `failed` could not be reached: use the next one (unless another caller
    /// moved on already). False when there is no other replica to go to.
    pub fn fail_over(&self, failed: usize) -> bool {
        if !self.many() {
            return false;
        }
        let next = (failed + 1) % self.bases.len();
        let _ = self
            .current
            .compare_exchange(failed, next, Ordering::SeqCst, Ordering::SeqCst);
        true
    }

    /// How the header names a replica: `host:port`.
    pub fn name(&self, i: usize) -> String {
        let base = &self.bases[i % self.bases.len()];
        match (base.host_str(), base.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            _ => base.to_string(),
        }
    }
}
