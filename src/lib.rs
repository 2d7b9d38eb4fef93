//! opsdeck: the control plane for fleets of AI agents, and the console that on-call engineers
//! use to run it.
//!
//! # Layout
//!
//! Dependencies run one way, from plain data up to the composition root; `tests/layering.rs`
//! reads every `use crate::…` in `src/` and fails on an import its module's row does not allow.
//!
//! - [`model`]: plain data (agents, tasks, queues, incidents, approvals, rollouts, audit records,
//!   events, authority levels and roles). Imports nothing of the crate.
//! - [`authority`]: the decision authority matrix and the pure checks on it (who may decide,
//!   escalate, vote). Imports `model`.
//! - [`query`]: the audit query language, parsed and lowered into an [`query::AuditFilter`].
//!   Imports `model` and `duration`.
//! - [`config`]: the TOML configuration as data (server, contexts, the default key table,
//!   colour mode, alert thresholds). Imports `model` and `duration`.
//! - [`protocol`]: what both sides of the link speak: [`protocol::Actor`], one struct per
//!   command gathered in [`protocol::Command`] (each is its own HTTP body and knows its route),
//!   [`protocol::Reply`], [`protocol::Outcome`], [`protocol::Problem`], page and count limits.
//!   Imports `model`.
//! - [`store`]: persistence behind one seam ([`store::Store`], an enum over backends; SQLite
//!   today): state, the audit chain, events, search. All SQL lives here. Imports `model`,
//!   `query`, `protocol`.
//! - [`engine`]: the single writer: validates each command, commits its state change and audit
//!   record in one store transaction, publishes one event; alert rules, deadlines, rollout gates.
//!   Imports `store`, `protocol`, `authority`, `config`, `model`.
//! - [`sim`]: the demo fleet, seeded and deterministic, driving an engine in process or a remote
//!   orchestrator through the agent routes. Imports `engine`, `protocol`, `authority`, `config`,
//!   `model`.
//! - [`orchestrator`]: the engine on its own thread, with the clock, the demo fleet and the event
//!   follower that consoles and the server's stream share. Imports `engine`, `sim`, `store`,
//!   `query`, `protocol`, `model`.
//! - [`link`]: the one boundary the console and the CLI talk to, `Embedded` or `Remote` with the
//!   same methods. Imports `orchestrator`, `protocol`, `query`, `config`, `model`.
//! - [`mcp`]: the Model Context Protocol tools for agents (rmcp), each call handed to a door:
//!   the server's own handlers on `/mcp`, the HTTP agent API for `opsdeck mcp` on stdio. Imports
//!   `protocol`, `model`.
//! - [`server`]: `opsdeck serve`: axum routes over an orchestrator, auth, SSE, OpenAPI, the
//!   doors for real agents (long polls on decisions, the Claude Code hook endpoint, `/mcp`).
//!   Sits beside `link`. Imports `mcp`, `orchestrator`, `protocol`, `query`, `authority`,
//!   `config`, `model`, `text`.
//! - [`tui`]: the console: terminal setup, the event loop, the pure `update`, the pure render.
//!   Imports `link`, `protocol`, `authority`, `query`, `config`, `model`, `text`, `format`.
//! - [`cli`]: the composition root: parses the command line, builds the orchestrator and the
//!   link, runs the console, the server or a one-shot command. Only `cli` imports `tui` or
//!   `server`; one-shot commands reach the orchestrator through the link, except the local admin
//!   commands that work on the store file itself (`audit verify`, `export`, `import`, `prune`;
//!   `demo run` and `demo audit`, which fill a store; `doctor`).
//! - Leaves that import nothing of the crate: [`duration`], [`text`] (`SafeText`), [`format`],
//!   [`paths`]; [`logging`] imports `paths`.
//!
//! # Glossary
//!
//! One word per idea, in code, messages and docs alike:
//!
//! - **agent**: a worker that does tasks; **operator**: a human acting through a role.
//! - **level**: agent → domain → enterprise → executive, the authority path.
//! - **role**: what an operator may do: `viewer`, `oncall:<domain>`, `lead:<domain>`,
//!   `enterprise`, `executive`.
//! - **approval**: a decision beyond an orchestrator's authority, waiting for people. Agents
//!   *raise* it (on the agent routes it is called an *escalation*: the same item, the same id).
//! - **vote**: one operator's approve (or the reject) on an approval; an approval's list of them
//!   is its `votes`. **quorum**: how many distinct eligible votes it needs.
//! - **decide**: approve or reject. **escalate**: hand an item to people one step further up the
//!   authority path, with a reason, and nothing else: an operator escalates an approval to the
//!   next level, a pending approval escalates itself when its level's deadline passes, and an
//!   operator escalates an incident by raising its severity one step (so it pages one level
//!   further up), and the latency alert rule's level `escalate` hands a slow domain to people as
//!   an incident. The audit `action_type` `escalation` records any of these.
//! - **action**: what an operator does to an item: [`protocol::ApprovalAction`] (approve, reject,
//!   escalate), [`protocol::IncidentAction`], [`protocol::RolloutAction`],
//!   [`protocol::AgentAction`]. In the console an action is also a key's meaning (the action
//!   table), named after the same verbs.
//! - **command**: one request to change the control plane ([`protocol::Command`]); **reply**:
//!   what it returns; **outcome**: the reply with the event and audit seqs it landed at.
//! - **idempotency key**: a caller's name for one request (the `Idempotency-Key` header); the
//!   **answer** recorded under it, with the command's effect, is what a retry gets back.
//! - **event**: one committed change, with a gapless `seq`; **snapshot**: the state at a seq.
//! - **audit record**: one entry of the tamper-evident trail (DESIGN §1's schema); **trail**:
//!   all of them, chained by `prev_hash`/`hash`.
//! - **incident**: trouble triaged by **severity** (SEV1…SEV4) against a resolution **target**.
//! - **rollout**: a new version going out in **phases** (1 % → 25 % → 75 % → 100 %) behind a
//!   health **gate**.
//! - **alert rule**: a threshold on a measure that opens an incident or a warning by itself.
//! - **decision** (as agents hear it): [`protocol::Decision`], where an escalation stands, the
//!   one shape the long poll, the MCP tools, the gate command and the callback answer.
//! - **door**: a way real agents reach the control plane (the agent API, its long poll, the
//!   Claude Code hook endpoint, MCP, the gate command). **policy**: the table that answers an
//!   agent's tool call with allow, deny, defer or escalate.
//! - **link**: the console's way to an orchestrator; **context**: a named remote orchestrator in
//!   the config.

pub mod authority;
pub mod cli;
pub mod config;
pub mod duration;
pub mod engine;
pub mod format;
pub mod link;
pub mod logging;
pub mod mcp;
pub mod model;
pub mod orchestrator;
pub mod paths;
pub mod protocol;
pub mod query;
pub mod server;
pub mod sim;
pub mod store;
pub mod text;
pub mod tui;
