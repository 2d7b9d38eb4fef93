//! Incidents: their states, severities and resolution targets, on the timeline.

use chrono::Duration;
use opsdeck::authority::Role;
use opsdeck::config::Config;
use opsdeck::engine::{Engine, EngineError};
use opsdeck::model::{IncidentState, Severity};
use opsdeck::protocol::{ActOnIncident, Actor, Command, DeclareIncident, IncidentAction, Reply};

use super::fresh;

#[test]
fn incidents_move_through_their_states_on_the_timeline() {
    let (_dir, mut engine) = fresh(Config::default());
    let oncall = Actor::operator("omar", Role::Oncall("platform".into()));
    let Reply::Incident(i) = engine
        .execute(
            &oncall,
            Command::DeclareIncident(DeclareIncident {
                severity: Severity::Sev3,
                title: "disk filling".into(),
                domain: "platform".into(),
            }),
        )
        .unwrap()
        .reply
    else {
        panic!()
    };
    assert_eq!(i.target_at - i.opened_at, Duration::hours(24));
    let act = |engine: &mut Engine, action, note: Option<&str>| {
        engine.execute(
            &oncall,
            Command::ActOnIncident(ActOnIncident {
                id: i.id.clone(),
                action,
                note: note.map(String::from),
                version: None,
            }),
        )
    };
    act(&mut engine, IncidentAction::Ack, None).unwrap();
    let again = act(&mut engine, IncidentAction::Ack, None).unwrap_err();
    assert!(again.is_refusal(), "{again}");
    assert!(
        again.to_string().contains("already acknowledged"),
        "{again}"
    );
    act(&mut engine, IncidentAction::Escalate, Some("spreading")).unwrap();
    let now = &engine.state().incidents[&i.id];
    assert_eq!(now.severity, Severity::Sev2);
    assert_eq!(now.target_at - now.opened_at, Duration::hours(4));
    assert!(matches!(
        act(&mut engine, IncidentAction::Note, None),
        Err(EngineError::Invalid(_))
    ));
    act(&mut engine, IncidentAction::Note, Some("found the culprit")).unwrap();
    act(&mut engine, IncidentAction::Mitigate, None).unwrap();
    act(&mut engine, IncidentAction::Resolve, Some("cleaned up")).unwrap();
    let done = &engine.state().incidents[&i.id];
    assert_eq!(done.state, IncidentState::Resolved);
    let kinds: Vec<&str> = done.timeline.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "opened",
            "acknowledged",
            "escalated",
            "note",
            "mitigated",
            "resolved"
        ]
    );
    for action in [
        IncidentAction::Ack,
        IncidentAction::Escalate,
        IncidentAction::Mitigate,
        IncidentAction::Resolve,
    ] {
        let err = act(&mut engine, action, None).unwrap_err();
        assert!(err.is_refusal(), "{action:?}: {err}");
        for needle in [i.id.as_str(), "already resolved"] {
            assert!(err.to_string().contains(needle), "{err}: {needle}");
        }
    }
    let other = Actor::operator("dana", Role::Lead("product".into()));
    let err = engine
        .execute(
            &other,
            Command::ActOnIncident(ActOnIncident {
                id: i.id.clone(),
                action: IncidentAction::Note,
                note: Some("x".into()),
                version: None,
            }),
        )
        .unwrap_err();
    assert!(err.to_string().contains("domain product only"), "{err}");
}

#[test]
fn incident_actions_respect_roles() {
    let (_dir, mut engine) = fresh(Config::default());
    let Reply::Incident(i) = engine
        .execute(
            &Actor::operator("alice", Role::Enterprise),
            Command::DeclareIncident(DeclareIncident {
                severity: Severity::Sev3,
                title: "queue stuck".into(),
                domain: "platform".into(),
            }),
        )
        .unwrap()
        .reply
    else {
        panic!("an incident")
    };
    let ack = |engine: &mut Engine, who: Actor| {
        engine.execute(
            &who,
            Command::ActOnIncident(ActOnIncident {
                id: i.id.clone(),
                action: IncidentAction::Ack,
                note: None,
                version: None,
            }),
        )
    };
    let viewer = ack(&mut engine, Actor::operator("vic", Role::Viewer)).unwrap_err();
    assert!(viewer.is_refusal(), "{viewer}");
    assert!(viewer.to_string().contains("viewer"), "{viewer}");
    let stranger = Actor::operator("olga", Role::Oncall("product".into()));
    let err = ack(&mut engine, stranger).unwrap_err();
    assert!(err.is_refusal(), "{err}");
    assert!(err.to_string().contains("belongs to platform"), "{err}");
    assert_eq!(engine.state().incidents[&i.id].state, IncidentState::Open);
    let own = Actor::operator("olga", Role::Oncall("platform".into()));
    let Reply::Incident(acked) = ack(&mut engine, own).unwrap().reply else {
        panic!("an incident")
    };
    assert_eq!(acked.acked_by.as_deref(), Some("operator:olga"));
}
