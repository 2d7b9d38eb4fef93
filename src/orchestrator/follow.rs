//! Following the orchestrator's events from a sequence number: first the backlog from the store,
//! then live ones, each exactly once and in order. Shared by the embedded link and the server's
//! event stream.

use tokio::sync::broadcast;

use crate::model::Event;

/// Events a follower may lag behind before it gets a reset.
pub const BUFFER: usize = 1024;

/// How often a quiet follower hears that the orchestrator is still there.
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(10);

/// Anything that sits at a place in the event sequence.
pub trait Sequenced {
    fn seq(&self) -> u64;
}

impl Sequenced for Event {
    fn seq(&self) -> u64 {
        self.seq
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item<T> {
    Event(T),
    /// The follower fell too far behind (or asked for events older than the store keeps): it
    /// must take a fresh snapshot. Nothing follows a reset.
    Reset,
}

pub struct Follower<T> {
    last: u64,
    backlog: std::vec::IntoIter<T>,
    live: broadcast::Receiver<T>,
    reset_pending: bool,
    done: bool,
}

/// Follows from `since`: `backlog` is what the store holds after it (`None`: it no longer reaches
/// back), `live` was subscribed before the backlog was read, so nothing falls between the two.
pub fn follow<T: Sequenced + Clone>(
    since: u64,
    backlog: Option<Vec<T>>,
    live: broadcast::Receiver<T>,
) -> Follower<T> {
    Follower {
        last: since,
        reset_pending: backlog.is_none(),
        backlog: backlog.unwrap_or_default().into_iter(),
        live,
        done: false,
    }
}

impl<T: Sequenced + Clone> Follower<T> {
    /// The next event after the last one given, or a reset; `None` when the orchestrator stopped.
    /// Cancel-safe: dropping the future loses nothing.
    pub async fn next(&mut self) -> Option<Item<T>> {
        if self.done {
            return None;
        }
        if self.reset_pending {
            self.done = true;
            return Some(Item::Reset);
        }
        if let Some(event) = self.backlog.next() {
            self.last = event.seq();
            return Some(Item::Event(event));
        }
        loop {
            match self.live.recv().await {
                Ok(event) if event.seq() <= self.last => continue,
                Ok(event) => {
                    self.last = event.seq();
                    return Some(Item::Event(event));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    self.done = true;
                    return Some(Item::Reset);
                }
                Err(broadcast::error::RecvError::Closed) => {
                    self.done = true;
                    return None;
                }
            }
        }
    }

    /// The seq of the last event given.
    pub fn last(&self) -> u64 {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct At(u64);
    impl Sequenced for At {
        fn seq(&self) -> u64 {
            self.0
        }
    }

    #[tokio::test]
    async fn backlog_then_live_without_duplicates() {
        let (tx, rx) = broadcast::channel(8);
        // Event 3 was committed between subscribing and reading the backlog: it is in both.
        tx.send(At(3)).unwrap();
        tx.send(At(4)).unwrap();
        let mut f = follow(1, Some(vec![At(2), At(3)]), rx);
        let mut seen = Vec::new();
        for _ in 0..3 {
            match f.next().await.unwrap() {
                Item::Event(At(seq)) => seen.push(seq),
                Item::Reset => panic!("no reset expected"),
            }
        }
        assert_eq!(seen, vec![2, 3, 4]);
        drop(tx);
        assert_eq!(f.next().await, None);
    }

    #[tokio::test]
    async fn a_lagging_follower_is_reset_and_ends() {
        let (tx, rx) = broadcast::channel(2);
        for seq in 1..=5 {
            tx.send(At(seq)).unwrap();
        }
        let mut f = follow(0, Some(vec![]), rx);
        assert_eq!(f.next().await, Some(Item::Reset));
        assert_eq!(f.next().await, None);
    }

    #[tokio::test]
    async fn a_backlog_the_store_no_longer_holds_is_a_reset() {
        let (_tx, rx) = broadcast::channel::<At>(2);
        let mut f = follow(0, None, rx);
        assert_eq!(f.next().await, Some(Item::Reset));
        assert_eq!(f.next().await, None);
    }
}
