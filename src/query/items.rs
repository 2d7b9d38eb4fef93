//! Listings of the control plane's items read from the store by index, history included: what
//! `opsdeck tasks --state failed --since 1h` and `GET /v1/items/tasks?state=failed&since=1h`
//! ask. The live set in memory holds only what is moving and what closed lately; a listing
//! reaches everything the store keeps.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::model::{Agent, Approval, Incident, Queue, Rollout, Task, Timestamp};

/// The kinds of item a listing reads, by the name they have in paths and commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Agents,
    Queues,
    Tasks,
    Incidents,
    Approvals,
    Rollouts,
}

impl ItemKind {
    pub const ALL: [ItemKind; 6] = [
        ItemKind::Agents,
        ItemKind::Queues,
        ItemKind::Tasks,
        ItemKind::Incidents,
        ItemKind::Approvals,
        ItemKind::Rollouts,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Agents => "agents",
            ItemKind::Queues => "queues",
            ItemKind::Tasks => "tasks",
            ItemKind::Incidents => "incidents",
            ItemKind::Approvals => "approvals",
            ItemKind::Rollouts => "rollouts",
        }
    }

    pub fn parse(name: &str) -> Result<ItemKind, String> {
        ItemKind::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .ok_or_else(|| {
                format!(
                    "unknown kind {name:?}: use one of {}",
                    ItemKind::ALL.map(ItemKind::as_str).join(", ")
                )
            })
    }

    /// The states `--state` takes; empty for kinds without one.
    pub fn states(self) -> &'static [&'static str] {
        match self {
            ItemKind::Agents | ItemKind::Queues => &[],
            ItemKind::Tasks => &[
                "queued",
                "blocked",
                "leased",
                "running",
                "succeeded",
                "failed",
                "cancelled",
            ],
            ItemKind::Incidents => &["open", "acknowledged", "mitigated", "resolved"],
            ItemKind::Approvals => &["pending", "approved", "rejected", "expired", "cancelled"],
            ItemKind::Rollouts => &[
                "progressing",
                "paused",
                "rolling_back",
                "aborted",
                "completed",
            ],
        }
    }

    /// Items of this kind come newest first and take `--state` and `--since`; agents and
    /// queues come all of them, in name order.
    pub fn dated(self) -> bool {
        !matches!(self, ItemKind::Agents | ItemKind::Queues)
    }

    /// The kind an id names by its prefix (`T-7`, `INC-3`, `APR-12`, `RO-2`, `agent-5`).
    pub fn of_id(id: &str) -> Option<ItemKind> {
        let prefix = id.split_once('-')?.0;
        match prefix {
            "T" => Some(ItemKind::Tasks),
            "INC" => Some(ItemKind::Incidents),
            "APR" => Some(ItemKind::Approvals),
            "RO" => Some(ItemKind::Rollouts),
            "agent" => Some(ItemKind::Agents),
            _ => None,
        }
    }
}

/// An item type a listing returns, and its kind.
pub trait Item: Serialize + DeserializeOwned + Send + 'static {
    const KIND: ItemKind;
}

impl Item for Agent {
    const KIND: ItemKind = ItemKind::Agents;
}
impl Item for Queue {
    const KIND: ItemKind = ItemKind::Queues;
}
impl Item for Task {
    const KIND: ItemKind = ItemKind::Tasks;
}
impl Item for Incident {
    const KIND: ItemKind = ItemKind::Incidents;
}
impl Item for Approval {
    const KIND: ItemKind = ItemKind::Approvals;
}
impl Item for Rollout {
    const KIND: ItemKind = ItemKind::Rollouts;
}

/// Most items one listing returns.
pub const LISTING_MAX: usize = 10_000;
/// Items a listing returns when no limit is given.
pub const LISTING_DEFAULT: usize = 200;

/// What a listing asks: items of one kind, optionally in one state, that reached their current
/// state at or after `since`, in one domain; the newest `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub kind: ItemKind,
    pub state: Option<String>,
    pub since: Option<Timestamp>,
    pub domain: Option<String>,
    pub limit: usize,
}

impl Listing {
    /// Checks a listing as typed (`state`, `since` as in the audit query: `2h`, a date, an RFC
    /// 3339 time); the error says what was wrong and what is expected.
    pub fn new(
        kind: ItemKind,
        state: Option<&str>,
        since: Option<&str>,
        domain: Option<&str>,
        limit: Option<usize>,
        now: DateTime<Utc>,
    ) -> Result<Listing, String> {
        if let Some(state) = state {
            let allowed = kind.states();
            if allowed.is_empty() {
                return Err(format!("{} have no state to filter on", kind.as_str()));
            }
            if !allowed.contains(&state) {
                return Err(format!(
                    "unknown state {state:?} for {}: use one of {}",
                    kind.as_str(),
                    allowed.join(", ")
                ));
            }
        }
        let since = match since {
            Some(_) if !kind.dated() => {
                return Err(format!("{} have no time to filter on", kind.as_str()));
            }
            Some(text) => Some(super::parse_time("since", text, now).map_err(|e| e.message)?),
            None => None,
        };
        let limit = limit.unwrap_or(if kind.dated() {
            LISTING_DEFAULT
        } else {
            LISTING_MAX
        });
        if !(1..=LISTING_MAX).contains(&limit) {
            return Err(format!(
                "limit must be between 1 and {LISTING_MAX}, not {limit}"
            ));
        }
        Ok(Listing {
            kind,
            state: state.map(str::to_string),
            since,
            domain: domain.map(str::to_string),
            limit,
        })
    }
}

/// A listing's query string, as the HTTP API takes it.
pub fn query_string(listing: &Listing) -> Vec<(&'static str, String)> {
    let mut pairs = vec![("limit", listing.limit.to_string())];
    if let Some(s) = &listing.state {
        pairs.push(("state", s.clone()));
    }
    if let Some(at) = listing.since {
        pairs.push(("since", crate::model::audit::millis::format(&at)));
    }
    if let Some(d) = &listing.domain {
        pairs.push(("domain", d.clone()));
    }
    pairs
}
