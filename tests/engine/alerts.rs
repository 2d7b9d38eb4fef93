//! Alert rules: error rate, queue depth, latency and utilization, from live metrics.

use chrono::Duration;
use opsdeck::config::Config;
use opsdeck::engine::Engine;
use opsdeck::model::{Category, IncidentSource, Severity};

use super::{advance, complete, fresh, heartbeat, lease, register, submit};

fn by_rule(engine: &Engine, rule: &str) -> Option<opsdeck::model::Incident> {
    engine
        .state()
        .incidents
        .values()
        .find(|i| matches!(&i.source, IncidentSource::AlertRule { rule: r } if r == rule))
        .cloned()
}

#[test]
fn alert_rules_fire_from_live_metrics_with_configured_thresholds() {
    let mut config = Config::default();
    config.alerts.queue_depth = 3;
    config.alerts.error_rate_min_samples = 4;
    config.alerts.latency_sla = Duration::seconds(60);
    // Keep the breaker from taking the worker out before the rule has its samples.
    config.engine.breaker_failures = 100;
    let (_dir, mut engine) = fresh(config);
    let worker = register(&mut engine, "platform", "infra", &[]);
    // Queue depth: five tasks wait with nobody free in product.
    for _ in 0..5 {
        submit(&mut engine, "product", "checkout", &[], vec![]);
    }
    // Error rate: four of five platform tasks fail.
    for i in 0..5 {
        let task = submit(&mut engine, "platform", "infra", &[], vec![]);
        assert_eq!(lease(&mut engine, &worker), Some(task.clone()));
        complete(&mut engine, &worker, &task, i == 0);
    }
    engine.tick().unwrap();
    let page = by_rule(&engine, "error_rate").expect("error rate pages");
    assert_eq!(
        page.severity,
        Severity::Sev1,
        "80% is over twice the 25% threshold"
    );
    let warn = by_rule(&engine, "queue_depth").expect("queue depth warns");
    assert_eq!(warn.severity, Severity::Sev4);
    assert!(engine.state().alerts["queue_depth:product/checkout"].firing);
    // The same reading does not open a second incident.
    advance(&engine, Duration::seconds(31));
    heartbeat(&mut engine, &worker);
    engine.tick().unwrap();
    let warnings = engine
        .state()
        .incidents
        .values()
        .filter(|i| i.dedup_key.as_deref() == Some("queue_depth:product/checkout"))
        .count();
    assert_eq!(warnings, 1);

    // Latency: a checkout agent arrives and leases work that waited past the SLA.
    let late = register(&mut engine, "product", "checkout", &[]);
    advance(&engine, Duration::minutes(3));
    heartbeat(&mut engine, &late);
    heartbeat(&mut engine, &worker);
    engine.tick().unwrap();
    advance(&engine, Duration::seconds(31));
    heartbeat(&mut engine, &late);
    heartbeat(&mut engine, &worker);
    engine.tick().unwrap();
    let slow = by_rule(&engine, "latency").expect("latency over the SLA escalates");
    assert_eq!(slow.severity, Severity::Sev3);
}

#[test]
fn utilization_over_the_limit_plans_scaling() {
    let mut config = Config::default();
    config.alerts.utilization = 0.5;
    config.engine.metrics_window = Duration::minutes(1);
    let (_dir, mut engine) = fresh(config);
    let agent = register(&mut engine, "operations", "billing", &[]);
    let task = submit(&mut engine, "operations", "billing", &[], vec![]);
    assert_eq!(lease(&mut engine, &agent), Some(task));
    for _ in 0..4 {
        advance(&engine, Duration::seconds(30));
        heartbeat(&mut engine, &agent);
        engine.tick().unwrap();
    }
    let request = engine
        .state()
        .approvals
        .values()
        .find(|a| a.category == Category::ResourceRequest)
        .expect("a capacity request");
    assert_eq!(request.requested_by, "orchestrator:operations");
    assert!(engine.state().alerts["utilization:operations"].firing);
}

#[test]
fn a_fleet_gone_quiet_is_an_incident_sev2_once_no_agent_is_live() {
    let mut config = Config::default();
    config.alerts.agents_down = 0.5;
    let (_dir, mut engine) = fresh(config);
    let agents: Vec<String> = (0..3)
        .map(|_| register(&mut engine, "operations", "support", &[]))
        .collect();
    engine.tick().unwrap();
    assert!(
        by_rule(&engine, "agents_down").is_none(),
        "all live: nothing"
    );
    // Two of three stop beating: 67% down, over the 50% threshold.
    advance(&engine, Duration::seconds(20));
    heartbeat(&mut engine, &agents[0]);
    advance(&engine, Duration::seconds(20));
    engine.tick().unwrap();
    let quiet = by_rule(&engine, "agents_down").expect("a fleet going quiet pages");
    assert_eq!(quiet.severity, Severity::Sev3);
    assert_eq!(quiet.domain, "operations");
    assert!(
        quiet.title.contains("67% of agents down"),
        "{}",
        quiet.title
    );
    // The last one goes quiet too: the same incident, raised to SEV2.
    advance(&engine, Duration::seconds(40));
    engine.tick().unwrap();
    let dead = by_rule(&engine, "agents_down").unwrap();
    assert_eq!(dead.id, quiet.id, "one incident per domain");
    assert_eq!(dead.severity, Severity::Sev2, "{dead:?}");
    let incidents = engine
        .state()
        .incidents
        .values()
        .filter(
            |i| matches!(&i.source, IncidentSource::AlertRule { rule } if rule == "agents_down"),
        )
        .count();
    assert_eq!(incidents, 1);
}
