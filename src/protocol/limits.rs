//! How long each field of a command may be: one table, so the server (422 naming the field), the
//! console's dialogs and the CLI all use the same numbers. Lengths count characters; lists also
//! have a most-items count.

use super::agent::*;
use super::command::Command;

/// One kind of field and its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldLimit {
    pub kind: &'static str,
    /// Characters in one value.
    pub max_chars: usize,
    /// Items in a list of such values (1 for a single value).
    pub max_items: usize,
}

const fn limit(kind: &'static str, max_chars: usize, max_items: usize) -> FieldLimit {
    FieldLimit {
        kind,
        max_chars,
        max_items,
    }
}

/// Ids of items and agents (`APR-12`, `agent-17`, `T-301`).
pub const ID: FieldLimit = limit("id", 64, 1);
/// Domains, teams, agent and rollout names, skills.
pub const NAME: FieldLimit = limit("name", 80, 1);
/// Version strings.
pub const VERSION: FieldLimit = limit("version", 40, 1);
/// Titles of tasks and incidents.
pub const TITLE: FieldLimit = limit("title", 200, 1);
/// One-line summaries of escalations (they head the approvals list).
pub const SUMMARY: FieldLimit = limit("summary", 300, 1);
/// Summaries of executions an agent records.
pub const EXECUTION_SUMMARY: FieldLimit = limit("execution summary", 500, 1);
/// Reasons, notes, recommendations, outcomes, errors.
pub const REASON: FieldLimit = limit("reason", 4_000, 1);
/// The context of an escalation or an execution.
pub const CONTEXT: FieldLimit = limit("context", 8_000, 1);
/// Options an agent considered, each.
pub const OPTION: FieldLimit = limit("option", 500, 20);
/// Skills an agent has or a task needs.
pub const SKILLS: FieldLimit = limit("skill", 80, 32);
/// Tasks a record or a task refers to.
pub const RELATED: FieldLimit = limit("related task", 64, 64);

/// Every limit, for documentation and dialogs.
pub const ALL: [FieldLimit; 11] = [
    ID,
    NAME,
    VERSION,
    TITLE,
    SUMMARY,
    EXECUTION_SUMMARY,
    REASON,
    CONTEXT,
    OPTION,
    SKILLS,
    RELATED,
];

/// A field over its limit: the field's name (as in the JSON body) and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {why}")]
pub struct TooLong {
    pub field: String,
    pub why: String,
}

fn one(field: &str, value: &str, l: FieldLimit) -> Result<(), TooLong> {
    let chars = value.chars().count();
    if chars > l.max_chars {
        return Err(TooLong {
            field: field.to_string(),
            why: format!("{chars} characters; at most {} are accepted", l.max_chars),
        });
    }
    Ok(())
}

fn list(field: &str, values: &[String], l: FieldLimit) -> Result<(), TooLong> {
    if values.len() > l.max_items {
        return Err(TooLong {
            field: field.to_string(),
            why: format!(
                "{} items; at most {} are accepted",
                values.len(),
                l.max_items
            ),
        });
    }
    for (i, v) in values.iter().enumerate() {
        one(&format!("{field}[{i}]"), v, l)?;
    }
    Ok(())
}

fn opt(field: &str, value: &Option<String>, l: FieldLimit) -> Result<(), TooLong> {
    value.as_deref().map_or(Ok(()), |v| one(field, v, l))
}

impl Command {
    /// Checks every text field of the command against [`ALL`]'s limits, naming the first one
    /// that is too long.
    pub fn check_lengths(&self) -> Result<(), TooLong> {
        match self {
            Command::ActOnApproval(c) => {
                one("id", &c.id, ID)?;
                one("reason", &c.reason, REASON)
            }
            Command::ActOnIncident(c) => {
                one("id", &c.id, ID)?;
                opt("note", &c.note, REASON)
            }
            Command::DeclareIncident(c) => {
                one("title", &c.title, TITLE)?;
                one("domain", &c.domain, NAME)
            }
            Command::ActOnRollout(c) => {
                one("id", &c.id, ID)?;
                opt("reason", &c.reason, REASON)
            }
            Command::StartRollout(c) => {
                one("name", &c.name, NAME)?;
                one("target_version", &c.target_version, VERSION)?;
                one("domain", &c.domain, NAME)
            }
            Command::ActOnAgent(c) => {
                one("id", &c.id, ID)?;
                opt("reason", &c.reason, REASON)
            }
            Command::RevealRecord(_) => Ok(()),
            Command::SubmitTask(c) => check_submit(c),
            Command::RegisterAgent(c) => check_register(c),
            Command::Heartbeat(c) => one("agent", &c.agent, ID),
            Command::LeaseTask(c) => one("agent", &c.agent, ID),
            Command::CompleteTask(c) => {
                one("agent", &c.agent, ID)?;
                one("task", &c.task, ID)?;
                match &c.outcome {
                    TaskOutcome::Failed { error } => one("outcome.error", error, REASON),
                    TaskOutcome::Succeeded => Ok(()),
                }
            }
            Command::RaiseEscalation(c) => check_escalation(c),
            Command::ReportIncident(c) => {
                one("agent", &c.agent, ID)?;
                one("title", &c.title, TITLE)
            }
            Command::RecordExecution(c) => {
                one("agent", &c.agent, ID)?;
                one("summary", &c.summary, EXECUTION_SUMMARY)?;
                one("context", &c.context, CONTEXT)?;
                one("outcome", &c.outcome, REASON)?;
                list("related_tasks", &c.related_tasks, RELATED)
            }
        }
    }
}

fn check_submit(c: &SubmitTask) -> Result<(), TooLong> {
    one("title", &c.title, TITLE)?;
    one("domain", &c.domain, NAME)?;
    one("team", &c.team, NAME)?;
    list("skills", &c.skills, SKILLS)?;
    list("depends_on", &c.depends_on, RELATED)
}

fn check_register(c: &RegisterAgent) -> Result<(), TooLong> {
    one("name", &c.name, NAME)?;
    one("domain", &c.domain, NAME)?;
    one("team", &c.team, NAME)?;
    list("skills", &c.skills, SKILLS)?;
    one("version", &c.version, VERSION)
}

fn check_escalation(c: &RaiseEscalation) -> Result<(), TooLong> {
    one("agent", &c.agent, ID)?;
    one("summary", &c.summary, SUMMARY)?;
    one("context", &c.context, CONTEXT)?;
    list("options_considered", &c.options_considered, OPTION)?;
    one("recommendation", &c.recommendation, REASON)?;
    list("related_tasks", &c.related_tasks, RELATED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_field_over_its_limit_is_named() {
        let mut c = RecordExecution {
            agent: "agent-1".into(),
            summary: "ok".into(),
            context: String::new(),
            outcome: String::new(),
            related_tasks: vec![],
        };
        assert_eq!(Command::from(c.clone()).check_lengths(), Ok(()));
        c.summary = "é".repeat(EXECUTION_SUMMARY.max_chars);
        assert_eq!(
            Command::from(c.clone()).check_lengths(),
            Ok(()),
            "characters, not bytes"
        );
        c.summary.push('x');
        let err = Command::from(c.clone()).check_lengths().unwrap_err();
        assert_eq!(err.field, "summary");
        c.summary = "ok".into();
        c.related_tasks = vec!["T".repeat(65)];
        assert_eq!(
            Command::from(c).check_lengths().unwrap_err().field,
            "related_tasks[0]"
        );
    }
}
