//! The orchestrator in this process: the console's operator acts on it directly.

use tokio::sync::mpsc;

use super::{LinkError, LinkEvent, LinkInfo};
use crate::model::{AuditRecord, Snapshot};
use crate::orchestrator::Orchestrator;
use crate::orchestrator::follow;
use crate::protocol::{Actor, Command, Outcome};
use crate::query::{Item, ItemKind, Listing};

pub struct EmbeddedOptions {
    pub actor: Actor,
    pub read_only: bool,
}

pub struct Embedded {
    orchestrator: Orchestrator,
    actor: Actor,
    info: LinkInfo,
}

impl Embedded {
    /// A console on an orchestrator that is already running.
    pub fn on(orchestrator: Orchestrator, options: EmbeddedOptions) -> Embedded {
        let (name, role) = match &options.actor {
            Actor::Operator { name, role, .. } => (name.clone(), role.to_string()),
            other => (other.audit_id(), String::new()),
        };
        Embedded {
            info: LinkInfo {
                name: "embedded".into(),
                context: None,
                remote: false,
                operator: name,
                role,
                role_note: None,
                read_only: options.read_only,
                frozen_at: orchestrator.frozen_at(),
                demo: orchestrator.demo(),
                replica: None,
            },
            orchestrator,
            actor: options.actor,
        }
    }

    /// Says in the console's header where the operator's role comes from.
    pub fn with_role_note(mut self, note: &str) -> Embedded {
        self.info.role_note = Some(note.to_string());
        self
    }

    pub fn info(&self) -> LinkInfo {
        self.info.clone()
    }

    pub async fn snapshot(&self) -> Result<Snapshot, LinkError> {
        Ok(self.orchestrator.snapshot().await?)
    }

    pub async fn send(&self, command: Command) -> Result<Outcome, LinkError> {
        if self.info.read_only {
            return Err(LinkError::Refused(
                "read-only: this console does not act".into(),
            ));
        }
        Ok(self
            .orchestrator
            .execute(self.actor.clone(), command)
            .await?)
    }

    pub async fn search_audit(
        &self,
        query: &str,
        cursor: Option<u64>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, LinkError> {
        Ok(self.orchestrator.search_audit(query, cursor, limit).await?)
    }

    pub async fn list<T: Item>(&self, listing: Listing) -> Result<Vec<T>, LinkError> {
        Ok(self.orchestrator.list(listing).await?)
    }

    pub async fn item_json(
        &self,
        kind: ItemKind,
        id: &str,
    ) -> Result<Option<serde_json::Value>, LinkError> {
        Ok(self.orchestrator.item_json(kind, id).await?)
    }

    pub fn now(&self) -> crate::model::Timestamp {
        self.orchestrator.now()
    }

    pub async fn claim(&self, id: &str) -> Result<(), LinkError> {
        Ok(self.orchestrator.claim(id).await?)
    }

    pub async fn count_audit(&self, query: &str, cap: u64) -> Result<(u64, bool), LinkError> {
        Ok(self.orchestrator.count_audit(query, cap).await?)
    }

    pub async fn subscribe(&self, since: u64) -> Result<mpsc::Receiver<LinkEvent>, LinkError> {
        let (tx, rx) = mpsc::channel(follow::BUFFER);
        for notice in self.orchestrator.notices() {
            let _ = tx.try_send(LinkEvent::Notice(notice.clone()));
        }
        let orchestrator = self.orchestrator.clone();
        // Subscribe before reading the backlog so nothing falls between the two.
        let live = orchestrator.subscribe();
        let backlog = orchestrator.events_since(since).await?;
        tokio::spawn(async move {
            let mut followed = follow::follow(since, backlog, live);
            let mut heartbeat = tokio::time::interval(follow::HEARTBEAT);
            heartbeat.tick().await;
            loop {
                let event = tokio::select! {
                    item = followed.next() => match item {
                        Some(follow::Item::Event(event)) => LinkEvent::Event(Box::new(event)),
                        Some(follow::Item::Reset) => LinkEvent::Reset,
                        None => return,
                    },
                    _ = heartbeat.tick() => LinkEvent::Heartbeat,
                    // The stream ends, with why: the console must not look live on a dead engine.
                    why = orchestrator.halted() => {
                        let _ = tx.send(LinkEvent::Notice(format!("the orchestrator stopped: {why}"))).await;
                        return;
                    }
                };
                let last = event == LinkEvent::Reset;
                if tx.send(event).await.is_err() || last {
                    return;
                }
            }
        });
        Ok(rx)
    }
}
