//! Queue depth, waits and rates, and agent utilization, refreshed on the engine's clock.

use std::collections::BTreeMap;

use super::txn::Txn;
use crate::model::{AgentStatus, Change, DomainStats, Queue, TaskState};

pub fn due(txn: &Txn<'_>) -> bool {
    txn.state
        .metrics
        .refreshed_at
        .is_none_or(|at| txn.now - at >= txn.config.engine.metrics_interval)
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

pub fn refresh(txn: &mut Txn<'_>) {
    let now = txn.now;
    let dt = txn
        .state
        .metrics
        .refreshed_at
        .map(|at| (now - at).num_milliseconds() as f64 / 1000.0)
        .unwrap_or(0.0);
    let window = txn.config.engine.metrics_window.num_seconds().max(1) as f64;
    txn.state
        .metrics
        .forget_before(now - txn.config.engine.metrics_window);

    // Waiting work per queue, and the flow in and out since the last refresh, read off the
    // tasks themselves so that commands need not touch the queue.
    let since = txn.state.metrics.refreshed_at;
    let mut flow: BTreeMap<String, Flow> = BTreeMap::new();
    for task in txn.state.tasks.values() {
        let f = flow.entry(task.queue_name()).or_default();
        match task.state {
            TaskState::Queued => {
                f.depth += 1;
                f.oldest = f.oldest.max((now - task.enqueued_at).num_seconds());
            }
            TaskState::Blocked => f.blocked += 1,
            _ => {}
        }
        let fresh = |t: Option<crate::model::Timestamp>| {
            t.is_some_and(|t| since.is_none_or(|s| t > s) && t <= now)
        };
        if task.state != TaskState::Blocked && fresh(Some(task.enqueued_at)) {
            f.inflow += 1;
        }
        if fresh(task.leased_at) {
            f.outflow += 1;
            let wait = task
                .leased_at
                .map(|l| l - task.enqueued_at)
                .unwrap_or_default();
            f.waits
                .push(round(wait.num_milliseconds().max(0) as f64 / 1000.0, 1));
        }
    }
    txn.state.metrics.refreshed_at = Some(now);
    let queues: Vec<Queue> = txn.state.queues.values().cloned().collect();
    for mut q in queues {
        let f = flow.remove(&q.name).unwrap_or_default();
        let (depth, blocked, oldest) = (f.depth, f.blocked, f.oldest);
        let before = q.clone();
        q.enqueued_total += f.inflow;
        q.dequeued_total += f.outflow;
        q.recent_waits.extend(f.waits);
        let excess = q.recent_waits.len().saturating_sub(Queue::WAITS_LEN);
        q.recent_waits.drain(..excess);
        q.depth = depth;
        q.blocked = blocked;
        q.oldest_age_s = oldest.max(0) as u64;
        q.history.push(depth);
        let excess = q.history.len().saturating_sub(Queue::HISTORY_LEN);
        q.history.drain(..excess);
        if dt > 0.0 {
            // Rates are per minute, smoothed over the metrics window.
            let alpha = (dt / window).min(1.0);
            let inflow = f.inflow as f64 * 60.0 / dt;
            let outflow = f.outflow as f64 * 60.0 / dt;
            q.enqueue_rate = round(q.enqueue_rate + (inflow - q.enqueue_rate) * alpha, 3);
            q.dequeue_rate = round(q.dequeue_rate + (outflow - q.dequeue_rate) * alpha, 3);
        }
        let mut waits = q.recent_waits.clone();
        waits.sort_by(f64::total_cmp);
        q.wait_p50_s = round(percentile(&waits, 0.5), 1);
        q.wait_p95_s = round(percentile(&waits, 0.95), 1);
        if q != before {
            txn.put(Change::Queue(q));
        }
    }

    // Utilization: the share of time busy, as a moving average over the window.
    if dt > 0.0 {
        let alpha = (dt / window).min(1.0);
        let agents: Vec<_> = txn.state.agents.values().cloned().collect();
        for mut agent in agents {
            let busy = if agent.status == AgentStatus::Busy {
                1.0
            } else {
                0.0
            };
            let u = round(agent.utilization + (busy - agent.utilization) * alpha, 4);
            if u != agent.utilization {
                agent.utilization = u;
                txn.put(Change::Agent(agent));
            }
        }
    }
    refresh_domains(txn);
}

#[derive(Default)]
struct Flow {
    depth: u32,
    blocked: u32,
    oldest: i64,
    inflow: u64,
    outflow: u64,
    waits: Vec<f64>,
}

/// Per-domain utilization, agent counts and error rate, with a utilization history.
fn refresh_domains(txn: &mut Txn<'_>) {
    let window_start = txn.now - txn.config.engine.metrics_window;
    for name in txn.config.engine.domains.clone() {
        let (utilization, in_rotation) = domain_utilization(txn, &name);
        let (agents, busy) = txn
            .state
            .agents
            .values()
            .filter(|a| a.domain == name)
            .fold((0, 0), |(n, b), a| {
                (n + 1, b + u32::from(a.status == AgentStatus::Busy))
            });
        let (failed, finished) = txn.state.metrics.outcomes_since(&name, window_start);
        let mut stats = txn
            .state
            .domains
            .get(&name)
            .cloned()
            .unwrap_or(DomainStats {
                name: name.clone(),
                utilization: 0.0,
                agents: 0,
                in_rotation: 0,
                busy: 0,
                error_rate: 0.0,
                finished: 0,
                history: Vec::new(),
            });
        stats.utilization = round(utilization, 4);
        stats.agents = agents;
        stats.in_rotation = in_rotation as u32;
        stats.busy = busy;
        stats.finished = finished;
        stats.error_rate = if finished == 0 {
            0.0
        } else {
            round(failed as f64 / finished as f64, 4)
        };
        stats.history.push((utilization * 100.0).round() as u8);
        let excess = stats.history.len().saturating_sub(Queue::HISTORY_LEN);
        stats.history.drain(..excess);
        txn.put(Change::Domain(stats));
    }
}

/// Mean utilization of the domain's agents in rotation.
pub fn domain_utilization(txn: &Txn<'_>, domain: &str) -> (f64, usize) {
    let (sum, n) = txn
        .state
        .agents
        .values()
        .filter(|a| a.domain == domain && a.in_rotation())
        .fold((0.0, 0), |(s, n), a| (s + a.utilization, n + 1));
    if n == 0 {
        (0.0, 0)
    } else {
        (sum / n as f64, n)
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 10.0);
        assert_eq!(percentile(&v, 0.95), 19.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
