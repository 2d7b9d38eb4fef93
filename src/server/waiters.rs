//! Agents waiting on their escalations: a long poll holds a receiver keyed by the item's id,
//! and the events the engine publishes after each commit wake exactly the waiters of the items
//! they change. Nobody polls the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, watch};

use crate::model::{Change, Event};
use crate::protocol::Decision;

/// What a waiter is told: the item's decision as committed, or "look again" after the
/// dispatcher fell behind the engine (a lag loses which items changed).
#[derive(Debug, Clone, PartialEq)]
pub enum Wake {
    Nothing,
    Changed(Arc<Decision>),
    LookAgain,
}

#[derive(Default)]
pub struct Waiters {
    by_id: Mutex<HashMap<String, watch::Sender<Wake>>>,
}

/// Entries left by waiters that gave up are swept when the map passes this size.
const SWEEP_AT: usize = 1024;

impl Waiters {
    /// A receiver woken by every committed change of `id` (subscribe before reading the item,
    /// so nothing falls between the read and the wait).
    pub fn watch(&self, id: &str) -> watch::Receiver<Wake> {
        let mut map = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= SWEEP_AT && !map.contains_key(id) {
            map.retain(|_, tx| tx.receiver_count() > 0);
        }
        map.entry(id.to_string())
            .or_insert_with(|| watch::channel(Wake::Nothing).0)
            .subscribe()
    }

    fn publish(&self, event: &Event) {
        let mut map = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        if map.is_empty() {
            return;
        }
        for change in &event.changes {
            let Change::Approval(a) = change else {
                continue;
            };
            if let Some(tx) = map.get(&a.id) {
                if tx.receiver_count() == 0 {
                    map.remove(&a.id);
                } else {
                    tx.send_replace(Wake::Changed(Arc::new(Decision::of(a))));
                }
            }
        }
    }

    fn look_again(&self) {
        let map = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        for tx in map.values() {
            tx.send_replace(Wake::LookAgain);
        }
    }

    /// Follows the engine's committed events for as long as it runs.
    pub fn dispatch(self: Arc<Self>, mut events: broadcast::Receiver<Event>) {
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) => self.publish(&event),
                    Err(broadcast::error::RecvError::Lagged(_)) => self.look_again(),
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }
}
