//! Writing one transaction's steps: entity changes, audit records chained after the head, one
//! event per step (plain heartbeats share one), and keyed answers after them.

use rand_chacha::ChaCha8Rng;

use super::EngineError;
use crate::model::{Change, Event, State, Timestamp};
use crate::protocol::{IdempotencyKey, Outcome, Reply, answer_body};
use crate::store::{StoreError, WriteTx};

/// What one successful command changed, before it is written.
pub(crate) struct Step {
    pub(super) cause: &'static str,
    pub(super) changes: Vec<Change>,
    pub(super) audits: Vec<crate::model::AuditDraft>,
    /// The token and client of an HTTP caller, named in each of the step's records.
    pub(super) via: Option<crate::model::Via>,
    /// The idempotency key to record the answer under, with the answer's status.
    pub(super) answer_key: Option<(IdempotencyKey, u16)>,
}

pub(super) type Persisted = (Vec<Result<Outcome, EngineError>>, Vec<Event>);

pub(super) fn persist(
    write: &mut WriteTx<'_>,
    rng: &mut ChaCha8Rng,
    state: &State,
    metrics_before: &crate::model::Metrics,
    now: Timestamp,
    results: Vec<Result<(Reply, Step), EngineError>>,
) -> Result<Persisted, StoreError> {
    let mut outcomes = Vec::with_capacity(results.len());
    let mut events = Vec::new();
    // Plain heartbeats share one event per transaction, carrying each agent's last beat, so a
    // fleet reporting in does not flood the event log.
    let mut heartbeats: Vec<(usize, crate::model::Beat)> = Vec::new();
    let mut keyed: Vec<(usize, IdempotencyKey, u16)> = Vec::new();
    for result in results {
        let (reply, step) = match result {
            Ok(done) => done,
            Err(e) => {
                outcomes.push(Err(e));
                continue;
            }
        };
        if let Some((key, status)) = step.answer_key {
            keyed.push((outcomes.len(), key, status));
        }
        let mut changes = step.changes;
        for change in &changes {
            write.put(change)?;
        }
        // Only beats: one shared event. A step with no change at all is no heartbeat.
        let only_beats =
            !changes.is_empty() && changes.iter().all(|c| matches!(c, Change::Beat(_)));
        if step.audits.is_empty() && only_beats {
            for change in changes {
                if let Change::Beat(beat) = change {
                    heartbeats.push((outcomes.len(), beat));
                }
            }
            outcomes.push(Ok(Outcome {
                reply,
                event_seq: 0,
                audit_seqs: Vec::new(),
            }));
            continue;
        }
        let mut audit_seqs = Vec::with_capacity(step.audits.len());
        for draft in step.audits {
            let record =
                write.append_audit_via(audit_id(now, rng), now, draft, step.via.clone())?;
            audit_seqs.push(record.seq);
            changes.push(Change::Audit(record));
        }
        let event_seq = if changes.is_empty() {
            write.head().event_seq
        } else {
            let event = write.append_event(now, step.cause, changes)?;
            let seq = event.seq;
            events.push(event);
            seq
        };
        outcomes.push(Ok(Outcome {
            reply,
            event_seq,
            audit_seqs,
        }));
    }
    if !heartbeats.is_empty() {
        // The last beat of each agent, in agent order.
        let mut last: std::collections::BTreeMap<&str, &crate::model::Beat> = Default::default();
        for (_, beat) in &heartbeats {
            last.insert(&beat.agent, beat);
        }
        let changes = last.into_values().cloned().map(Change::Beat).collect();
        let event = write.append_event(now, HEARTBEAT, changes)?;
        for (i, _) in &heartbeats {
            if let Some(Ok(outcome)) = outcomes.get_mut(*i) {
                outcome.event_seq = event.seq;
            }
        }
        events.push(event);
    }
    // After the heartbeats' shared event: the answer recorded is the answer sent.
    for (i, key, status) in keyed {
        if let Some(Ok(outcome)) = outcomes.get(i) {
            write.record_answer(&key, status, &answer_body(outcome), now)?;
        }
    }
    write.set_ids(&state.ids);
    if state.metrics != *metrics_before {
        write.put_metrics(&state.metrics)?;
    }
    Ok((outcomes, events))
}

const HEARTBEAT: &str = "agent.heartbeat";

/// A UUIDv7 from the engine's clock and random source, so a seeded demo is reproducible.
fn audit_id(now: Timestamp, rng: &mut ChaCha8Rng) -> uuid::Uuid {
    use rand::RngExt;
    let bytes: [u8; 10] = rng.random();
    uuid::Builder::from_unix_timestamp_millis(now.timestamp_millis().max(0) as u64, &bytes)
        .into_uuid()
}
