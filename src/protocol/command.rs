//! Everything that changes the control plane goes through one [`Command`]: one variant per
//! command struct, and in this file alone the route each one takes over HTTP.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::agent::*;
use super::operator::*;
use crate::model::EntityKind;

/// A command that travels as the JSON body of a `POST` to its route.
pub trait Request: Serialize + DeserializeOwned + Into<Command> {
    /// The route, as the server registers it (`{id}` and `{seq}` come from the path).
    const PATH: &'static str;

    /// Sets the field that travels in the URL from the path's one parameter.
    fn set_path(&mut self, _segment: &str) -> Result<(), String> {
        Ok(())
    }
}

macro_rules! commands {
    ($($name:ident),* $(,)?) => {
        #[derive(Debug, Clone, PartialEq)]
        pub enum Command {
            $($name($name),)*
        }

        $(impl From<$name> for Command {
            fn from(c: $name) -> Command {
                Command::$name(c)
            }
        })*

        impl Command {
            /// The command's body as it travels over HTTP.
            pub fn body(&self) -> serde_json::Value {
                match self {
                    $(Command::$name(c) => serde_json::to_value(c),)*
                }
                .unwrap_or_default()
            }
        }
    };
}

commands!(
    ActOnApproval,
    ActOnIncident,
    DeclareIncident,
    ActOnRollout,
    StartRollout,
    ActOnAgent,
    RevealRecord,
    SubmitTask,
    RegisterAgent,
    Heartbeat,
    LeaseTask,
    CompleteTask,
    RaiseEscalation,
    ReportIncident,
    RecordExecution,
);

macro_rules! route {
    ($name:ident, $path:literal) => {
        impl Request for $name {
            const PATH: &'static str = $path;
        }
    };
    ($name:ident, $path:literal, |$c:ident, $s:ident| $set:expr) => {
        impl Request for $name {
            const PATH: &'static str = $path;

            fn set_path(&mut self, $s: &str) -> Result<(), String> {
                let $c = self;
                $set
            }
        }
    };
}

route!(ActOnApproval, "/v1/approvals/{id}/decision", |c, s| {
    c.id = s.to_string();
    Ok(())
});
route!(ActOnIncident, "/v1/incidents/{id}/actions", |c, s| {
    c.id = s.to_string();
    Ok(())
});
route!(DeclareIncident, "/v1/incidents");
route!(ActOnRollout, "/v1/rollouts/{id}/actions", |c, s| {
    c.id = s.to_string();
    Ok(())
});
route!(ActOnAgent, "/v1/agents/{id}/actions", |c, s| {
    c.id = s.to_string();
    Ok(())
});
route!(RevealRecord, "/v1/audit/{seq}/reveal", |c, s| {
    c.seq = s
        .parse()
        .map_err(|_| "the seq in the path must be a whole number".to_string())?;
    Ok(())
});
route!(RegisterAgent, "/v1/agent/register");
route!(Heartbeat, "/v1/agent/heartbeat");
route!(LeaseTask, "/v1/agent/lease");
route!(CompleteTask, "/v1/agent/complete");
route!(RaiseEscalation, "/v1/agent/escalations");
route!(ReportIncident, "/v1/agent/incidents");
route!(SubmitTask, "/v1/agent/tasks");
route!(RecordExecution, "/v1/agent/executions");

/// Fills a route's one `{…}` parameter with a path segment.
pub fn fill_path(template: &str, segment: &str) -> String {
    match (template.find('{'), template.find('}')) {
        (Some(open), Some(close)) => {
            format!("{}{segment}{}", &template[..open], &template[close + 1..])
        }
        _ => template.to_string(),
    }
}

impl Command {
    /// The event `cause` and metric label of this command.
    pub fn name(&self) -> &'static str {
        match self {
            Command::ActOnApproval(c) if c.decision == ApprovalAction::Escalate => {
                "approval.escalate"
            }
            Command::ActOnApproval(_) => "approval.decide",
            Command::ActOnIncident(_) => "incident.action",
            Command::DeclareIncident(_) => "incident.declare",
            Command::ActOnRollout(_) => "rollout.action",
            Command::StartRollout(_) => "rollout.start",
            Command::ActOnAgent(c) if c.action == AgentAction::Pause => "agent.pause",
            Command::ActOnAgent(_) => "agent.resume",
            Command::RevealRecord(_) => "audit.reveal",
            Command::SubmitTask(_) => "task.submit",
            Command::RegisterAgent(_) => "agent.register",
            Command::Heartbeat(_) => "agent.heartbeat",
            Command::LeaseTask(_) => "task.lease",
            Command::CompleteTask(_) => "task.complete",
            Command::RaiseEscalation(_) => "approval.raise",
            Command::ReportIncident(_) => "incident.report",
            Command::RecordExecution(_) => "audit.execution",
        }
    }

    /// The command's route and the value of its one path parameter, if it has one (`None`: the
    /// command has no route and runs only in process).
    pub fn route(&self) -> Option<(&'static str, Option<String>)> {
        Some(match self {
            Command::ActOnApproval(c) => (ActOnApproval::PATH, Some(c.id.clone())),
            Command::ActOnIncident(c) => (ActOnIncident::PATH, Some(c.id.clone())),
            Command::DeclareIncident(_) => (DeclareIncident::PATH, None),
            Command::ActOnRollout(c) => (ActOnRollout::PATH, Some(c.id.clone())),
            Command::StartRollout(_) => return None,
            Command::ActOnAgent(c) => (ActOnAgent::PATH, Some(c.id.clone())),
            Command::RevealRecord(c) => (RevealRecord::PATH, Some(c.seq.to_string())),
            Command::SubmitTask(_) => (SubmitTask::PATH, None),
            Command::RegisterAgent(_) => (RegisterAgent::PATH, None),
            Command::Heartbeat(_) => (Heartbeat::PATH, None),
            Command::LeaseTask(_) => (LeaseTask::PATH, None),
            Command::CompleteTask(_) => (CompleteTask::PATH, None),
            Command::RaiseEscalation(_) => (RaiseEscalation::PATH, None),
            Command::ReportIncident(_) => (ReportIncident::PATH, None),
            Command::RecordExecution(_) => (RecordExecution::PATH, None),
        })
    }

    /// The route's path segments, the parameter filled in unencoded (a client percent-encodes
    /// each segment, so an id cannot add a segment of its own).
    pub fn segments(&self) -> Option<Vec<String>> {
        let (template, param) = self.route()?;
        Some(
            template
                .trim_start_matches('/')
                .split('/')
                .map(|s| match (s.starts_with('{'), &param) {
                    (true, Some(p)) => p.clone(),
                    _ => s.to_string(),
                })
                .collect(),
        )
    }

    /// Where the command goes over HTTP, for messages and idempotency fingerprints.
    pub fn path(&self) -> Option<String> {
        let (template, param) = self.route()?;
        Some(fill_path(template, param.as_deref().unwrap_or_default()))
    }

    /// Agents' commands go to `/v1/agent/…` with an agent token; the rest are operators'.
    pub fn is_agents(&self) -> bool {
        self.path().is_some_and(|p| p.starts_with("/v1/agent/"))
    }

    /// The item a versioned action acts on, and the version the operator saw, if given.
    pub fn versioned(&self) -> Option<(EntityKind, &str, Option<u64>)> {
        match self {
            Command::ActOnApproval(c) => Some((EntityKind::Approval, &c.id, c.version)),
            Command::ActOnIncident(c) => Some((EntityKind::Incident, &c.id, c.version)),
            Command::ActOnRollout(c) => Some((EntityKind::Rollout, &c.id, c.version)),
            _ => None,
        }
    }

    /// Sets the version a versioned action expects (the remote link fills in the current one
    /// when the caller gave none).
    pub fn set_version(&mut self, version: u64) {
        match self {
            Command::ActOnApproval(c) => c.version = Some(version),
            Command::ActOnIncident(c) => c.version = Some(version),
            Command::ActOnRollout(c) => c.version = Some(version),
            _ => {}
        }
    }

    /// The item an operator's action is about, for the `current` of a conflict.
    pub fn target(&self) -> Option<(EntityKind, &str)> {
        match self {
            Command::ActOnAgent(c) => Some((EntityKind::Agent, &c.id)),
            other => other.versioned().map(|(kind, id, _)| (kind, id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_travel_in_the_url_not_the_body() {
        let c = Command::from(ActOnApproval {
            id: "APR-5".into(),
            decision: ApprovalAction::Escalate,
            reason: "needs the enterprise".into(),
            option: None,
            version: Some(3),
        });
        assert_eq!(c.path().as_deref(), Some("/v1/approvals/APR-5/decision"));
        assert_eq!(
            c.body(),
            serde_json::json!({"decision": "escalate", "reason": "needs the enterprise", "version": 3})
        );
        assert_eq!(c.name(), "approval.escalate");
        let mut parsed: ActOnApproval = serde_json::from_value(c.body()).unwrap();
        parsed.set_path("APR-5").unwrap();
        assert_eq!(Command::from(parsed), c);
        let reveal = Command::from(RevealRecord { seq: 42 });
        assert_eq!(reveal.path().as_deref(), Some("/v1/audit/42/reveal"));
        assert_eq!(
            reveal.segments().unwrap(),
            ["v1", "audit", "42", "reveal"].map(String::from)
        );
        let mut r: RevealRecord = serde_json::from_value(reveal.body()).unwrap();
        assert!(r.set_path("x").is_err());
        r.set_path("42").unwrap();
        assert_eq!(Command::from(r), reveal);
    }

    #[test]
    fn an_id_in_the_body_is_refused() {
        let body = serde_json::json!({"id": "APR-9", "decision": "approve", "reason": "ok"});
        assert!(serde_json::from_value::<ActOnApproval>(body).is_err());
    }

    #[test]
    fn agents_commands_take_the_agent_routes() {
        let beat = Command::from(Heartbeat {
            agent: "agent-1".into(),
        });
        assert!(beat.is_agents());
        assert_eq!(beat.path().as_deref(), Some("/v1/agent/heartbeat"));
        let declare = Command::from(DeclareIncident {
            severity: crate::model::Severity::Sev2,
            title: "t".into(),
            domain: "platform".into(),
        });
        assert!(!declare.is_agents());
    }
}
