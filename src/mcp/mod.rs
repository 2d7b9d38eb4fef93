//! The Model Context Protocol server for agents (rmcp): the same tools on stdio (`opsdeck mcp`,
//! which talks to a served orchestrator with an agent token) and on `/mcp` in `opsdeck serve`
//! (authenticated by the agent's bearer token). Each tool is one [`Call`] handed to a [`Door`]:
//! the HTTP agent API for stdio, the server's own handlers for `/mcp`.

use std::sync::Arc;

use futures::future::BoxFuture;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, Extensions, Implementation, ServerCapabilities, ServerConfig,
};
use rmcp::{ErrorData, ServerHandler, schemars, tool, tool_handler, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::model::{Category, Classification, Severity, ToolCall};
use crate::protocol::{
    Command, CompleteTask, LeaseTask, Outcome, PermissionAnswer, RaiseEscalation, RecordExecution,
    Reply, ReportIncident, TaskOutcome,
};

/// One tool call, as the door runs it.
#[derive(Debug, Clone)]
pub enum Call {
    Raise(RaiseParams),
    Wait { id: String, wait_s: u64 },
    Permission(PermissionParams),
    Incident { severity: String, title: String },
    Record(RecordParams),
    Lease,
    Complete(CompleteParams),
}

/// What a tool asks of the control plane. `who` is the HTTP request the call came in (its
/// bearer token and `?agent=`), `None` on stdio.
pub trait Door: Send + Sync + 'static {
    fn call(
        &self,
        who: Option<axum::http::request::Parts>,
        call: Call,
    ) -> BoxFuture<'_, Result<Value, String>>;
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct ToolCallParam {
    /// The tool the agent wants to call, e.g. Bash
    pub name: String,
    /// Its input, as the agent would pass it
    #[serde(default)]
    pub input: Value,
    #[serde(default)]
    pub tool_use_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct RaiseParams {
    /// What it is about; it fixes who may decide: scope_change, external_communication,
    /// resource_request (a domain's people); budget_allocation, cross_domain_conflict,
    /// policy_exception (the enterprise); strategic_change, compliance_issue, major_incident
    /// (executives)
    pub category: String,
    /// One line people see first on the decision card
    pub summary: String,
    /// What people need to know to decide
    #[serde(default)]
    pub context: String,
    /// The options you considered; the approver may choose one
    #[serde(default)]
    pub options_considered: Vec<String>,
    /// What you recommend
    #[serde(default)]
    pub recommendation: String,
    /// public, internal (default) or sensitive (needs two approvers; people see only the
    /// summary until one reveals it)
    #[serde(default)]
    pub classification: Option<String>,
    /// Task ids it concerns
    #[serde(default)]
    pub related_tasks: Vec<String>,
    /// The tool call you want to make, shown to people as is
    #[serde(default)]
    pub tool_call: Option<ToolCallParam>,
    /// Your session or trace id, shown beside the request
    #[serde(default)]
    pub session: Option<String>,
    /// Seconds to wait for the decision before answering (at most 50; default 0)
    #[serde(default)]
    pub wait_s: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct WaitParams {
    /// The escalation's id, as escalation_raise answered (APR-…)
    pub id: String,
    /// Seconds to wait for a final decision (at most 50; default 50)
    #[serde(default)]
    pub wait_s: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct PermissionParams {
    /// The tool Claude Code wants to call
    pub tool_name: String,
    /// Its input
    #[serde(default)]
    pub input: Value,
    #[serde(default)]
    pub tool_use_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct IncidentParams {
    /// SEV1 (most urgent) to SEV4
    pub severity: String,
    /// What is wrong, in one line people see first
    pub title: String,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct RecordParams {
    /// What you did, in one line
    pub summary: String,
    /// Why, and what you looked at
    #[serde(default)]
    pub context: String,
    /// What came of it
    #[serde(default)]
    pub outcome: String,
    /// Task ids it concerns
    #[serde(default)]
    pub related_tasks: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct CompleteParams {
    /// The task's id, as task_lease answered
    pub task: String,
    /// Whether it succeeded
    pub succeeded: bool,
    /// Why it failed
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
pub struct NoParams {}

/// The command a raise asks for, as `agent`; its category and classification checked.
pub fn raise_escalation(agent: &str, p: RaiseParams) -> Result<RaiseEscalation, String> {
    let category = Category::parse(&p.category)?;
    let classification = match &p.classification {
        None => Classification::Internal,
        Some(c) => Classification::parse(c)?,
    };
    Ok(RaiseEscalation {
        agent: agent.to_string(),
        category,
        summary: p.summary,
        context: p.context,
        options_considered: p.options_considered,
        recommendation: p.recommendation,
        classification,
        related_tasks: p.related_tasks,
        tool_call: p.tool_call.map(|t| {
            Box::new(ToolCall {
                name: t.name,
                input: t.input,
                tool_use_id: t.tool_use_id,
            })
        }),
        session: p.session,
        callback_url: None,
        policy_rule: None,
    })
}

/// The command a plain tool call (incident_report, audit_record, task_lease, task_complete)
/// asks for, as `agent`; `None` for the calls each door runs its own way (raise, wait,
/// permission).
pub fn command(agent: &str, call: &Call) -> Option<Result<Command, String>> {
    let agent = agent.to_string();
    Some(Ok(match call.clone() {
        Call::Incident { severity, title } => {
            let severity: Severity =
                match serde_json::from_value(json!(severity.to_ascii_uppercase())) {
                    Ok(s) => s,
                    Err(_) => return Some(Err("severity is SEV1, SEV2, SEV3 or SEV4".into())),
                };
            Command::ReportIncident(ReportIncident {
                agent,
                severity,
                title,
            })
        }
        Call::Record(p) => Command::RecordExecution(RecordExecution {
            agent,
            summary: p.summary,
            context: p.context,
            outcome: p.outcome,
            related_tasks: p.related_tasks,
        }),
        Call::Lease => Command::LeaseTask(LeaseTask { agent }),
        Call::Complete(p) => Command::CompleteTask(CompleteTask {
            agent,
            task: p.task,
            outcome: match p.succeeded {
                true => TaskOutcome::Succeeded,
                false => TaskOutcome::Failed {
                    error: p.error.unwrap_or_else(|| "failed".into()),
                },
            },
        }),
        Call::Raise(_) | Call::Wait { .. } | Call::Permission(_) => return None,
    }))
}

/// What a plain tool call answers: the leased task (or null) for a lease, else the outcome.
pub fn answer(outcome: Outcome) -> Value {
    match outcome.reply {
        Reply::Lease(task) => json!(task),
        _ => json!(outcome),
    }
}

/// What Claude Code's `--permission-prompt-tool` expects back: allow with the input to run,
/// or deny with a message. Only an allow runs the call; nobody deciding is a deny.
pub fn prompt_answer(answer: &PermissionAnswer, input: Value) -> Value {
    match answer.behavior.as_str() {
        "allow" => json!({ "behavior": "allow", "updatedInput": input }),
        "defer" => json!({
            "behavior": "deny",
            "message": "no opsdeck policy rule allows this call and nobody is here to ask; ask your operator to add a rule, or raise an escalation",
        }),
        _ => {
            let id = answer
                .decision
                .as_ref()
                .map(|d| format!(" (escalation {}: call escalation_wait with this id, then try again once approved)", d.escalation_id))
                .unwrap_or_default();
            json!({ "behavior": "deny", "message": format!("{}{id}", answer.message) })
        }
    }
}

/// The tools, over a door.
#[derive(Clone)]
pub struct Tools {
    door: Arc<dyn Door>,
}

impl Tools {
    pub fn new(door: Arc<dyn Door>) -> Tools {
        Tools { door }
    }

    async fn run(&self, ext: &Extensions, call: Call) -> Result<CallToolResult, ErrorData> {
        let who = ext.get::<axum::http::request::Parts>().cloned();
        Ok(match self.door.call(who, call).await {
            Ok(value) => CallToolResult::success(vec![ContentBlock::text(
                serde_json::to_string(&value).unwrap_or_default(),
            )]),
            Err(message) => CallToolResult::error(vec![ContentBlock::text(message)]),
        })
    }
}

#[tool_router]
impl Tools {
    #[tool(
        description = "Ask people to decide something beyond your authority. They see your summary first, then the context, the options, your recommendation and the tool call you want to make, on a decision card in the on-call console; who may decide follows from the category. Answers the decision as {escalation_id, state: pending|approved|rejected|expired|cancelled, votes, quorum, expires_at, chosen_option}. If still pending, call escalation_wait with the id; do not act until it is approved."
    )]
    async fn escalation_raise(
        &self,
        ext: Extensions,
        Parameters(p): Parameters<RaiseParams>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&ext, Call::Raise(p)).await
    }

    #[tool(
        description = "Wait for people to decide an escalation you raised (up to 50 s per call). Answers the decision; while its state is pending, call again. expired means nobody decided in time: treat it as no."
    )]
    async fn escalation_wait(
        &self,
        ext: Extensions,
        Parameters(p): Parameters<WaitParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let wait_s = p.wait_s.unwrap_or(50);
        self.run(&ext, Call::Wait { id: p.id, wait_s }).await
    }

    #[tool(
        description = "Claude Code's --permission-prompt-tool: decides a tool call by the orchestrator's policy table, and where the policy escalates it, people decide it in the console (they see the tool name and input). Answers {\"behavior\":\"allow\",\"updatedInput\":…} or {\"behavior\":\"deny\",\"message\":…}; a call still pending is denied with the escalation's id in the message."
    )]
    async fn permission_prompt(
        &self,
        ext: Extensions,
        Parameters(p): Parameters<PermissionParams>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&ext, Call::Permission(p)).await
    }

    #[tool(
        description = "Report an incident you see. People on call for your domain are paged by severity (SEV1 most urgent) and see your title first."
    )]
    async fn incident_report(
        &self,
        ext: Extensions,
        Parameters(p): Parameters<IncidentParams>,
    ) -> Result<CallToolResult, ErrorData> {
        let call = Call::Incident {
            severity: p.severity,
            title: p.title,
        };
        self.run(&ext, call).await
    }

    #[tool(
        description = "Record something notable you did in the tamper-evident audit trail: people searching the trail see your summary, context and outcome under your agent's name."
    )]
    async fn audit_record(
        &self,
        ext: Extensions,
        Parameters(p): Parameters<RecordParams>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&ext, Call::Record(p)).await
    }

    #[tool(
        description = "Take the best-fitting waiting task from your team's queue (null when there is none). People see it running under your name."
    )]
    async fn task_lease(
        &self,
        ext: Extensions,
        Parameters(_): Parameters<NoParams>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&ext, Call::Lease).await
    }

    #[tool(
        description = "Finish a task you leased, succeeded or failed (with the error people will read)."
    )]
    async fn task_complete(
        &self,
        ext: Extensions,
        Parameters(p): Parameters<CompleteParams>,
    ) -> Result<CallToolResult, ErrorData> {
        self.run(&ext, Call::Complete(p)).await
    }
}

#[tool_handler]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("opsdeck", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "opsdeck is where this agent asks people. Before a risky or out-of-scope step, call escalation_raise and act only on approved; report incidents you see; record notable actions in the audit trail.",
            )
    }
}
