//! The command line, as data (clap derive). Help text here is the user's manual.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::ColorMode;
use crate::model::Severity;
use crate::protocol::{AgentAction, RolloutAction};

#[derive(Debug, Parser)]
#[command(
    name = "opsdeck",
    version,
    about = "The operations console for fleets of AI agents, and their control plane",
    long_about = "opsdeck runs the orchestration control plane (agents, queues, incidents, \
                  escalated approvals, rollouts, audit trail) on a local SQLite store, and gives \
                  on-call engineers one-shot commands and a live console to run it.",
    after_help = "Exit codes: 0 ok, 1 runtime error, 2 usage error, 3 refused (authority, conflict, stale version, already decided)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    /// Console: open the embedded orchestrator without the demo fleet (a quiet orchestrator
    /// waiting for agents)
    #[arg(long)]
    pub no_demo: bool,
    /// Console: let the mouse scroll and click (off by default so the terminal can select text)
    #[arg(long)]
    pub mouse: bool,
    /// Console: call for nothing (no bell, desktop notification, title or toast; `[attention]`
    /// in the config sets them one by one). New trouble is still listed under `i`, marked new.
    #[arg(long)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

#[derive(Debug, Args, Clone)]
pub struct Global {
    /// SQLite store to use, or a PostgreSQL database as postgres://USER@HOST:PORT/DB (its
    /// password from OPSDECK_STORE_PASSWORD; ?sslmode=require for TLS, the server's CA from
    /// OPSDECK_STORE_CA_FILE) [default: $XDG_DATA_HOME/opsdeck/opsdeck.db]
    #[arg(long, global = true, value_name = "PATH|URL", env = "OPSDECK_STORE")]
    pub store: Option<PathBuf>,
    /// Use an in-memory store that vanishes on exit
    #[arg(long, global = true, conflicts_with = "store")]
    pub ephemeral: bool,
    /// Config file [default: $XDG_CONFIG_HOME/opsdeck/config.toml]
    #[arg(long, global = true, value_name = "FILE", env = "OPSDECK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Operator name for the audit trail [default: [operator] name in config, else the OS user]
    #[arg(long = "as", global = true, value_name = "NAME")]
    pub as_operator: Option<String>,
    /// Refuse every command that would change something
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Work on a remote orchestrator (`opsdeck serve`) instead of a local store
    #[arg(long, global = true, value_name = "URL", env = "OPSDECK_URL", conflicts_with_all = ["store", "ephemeral", "context"])]
    pub connect: Option<String>,
    /// The operator token for --connect [default: $OPSDECK_TOKEN]
    #[arg(
        long,
        global = true,
        value_name = "TOKEN",
        env = "OPSDECK_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// Work on the remote orchestrator named in the config's [[contexts]]
    #[arg(long, global = true, value_name = "NAME", env = "OPSDECK_CONTEXT", conflicts_with_all = ["store", "ephemeral"])]
    pub context: Option<String>,
    /// Output format [default: table on a terminal, json otherwise]
    #[arg(short = 'o', long, global = true, value_enum)]
    pub output: Option<Format>,
    /// Console theme: default, light, high-contrast, mono, catppuccin-mocha, or NAME for
    /// $XDG_CONFIG_HOME/opsdeck/themes/NAME.toml [default: [console] theme in config]
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    /// When to use colour: auto follows NO_COLOR, COLORTERM and TERM; always overrides NO_COLOR
    /// [default: [console] color in config, else auto]
    #[arg(long, global = true, value_enum, value_name = "WHEN")]
    pub color: Option<ColorMode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Jsonl,
}

/// What a listing takes: the store is read by index, so history is there too.
#[derive(Debug, Default, Args)]
pub struct ListArgs {
    /// Only items in this state (e.g. tasks: queued, running, failed; incidents: open,
    /// resolved; approvals: pending, approved)
    #[arg(long)]
    pub state: Option<String>,
    /// Only items that reached their state at or after this time: 2h, 2026-11-20, or an RFC
    /// 3339 time
    #[arg(long)]
    pub since: Option<String>,
    /// Only items of this domain
    #[arg(long)]
    pub domain: Option<String>,
    /// At most this many, the newest (1 to 10000; default 200)
    #[arg(long)]
    pub limit: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// List agents: domain, team, status, utilization, current task
    Agents {
        /// Only agents of this domain
        #[arg(long)]
        domain: Option<String>,
    },
    /// List queues: depth, oldest age, rates, wait percentiles
    Queues,
    /// List tasks from the store, history included (newest first)
    Tasks(ListArgs),
    /// List incidents from the store, history included (newest first)
    Incidents(ListArgs),
    /// List escalated approvals from the store, history included (newest first)
    Approvals(ListArgs),
    /// List rollouts with their phases, history included (newest first)
    Rollouts(ListArgs),
    /// Show one item by id, wherever it is in its life: T-…, INC-…, APR-…, RO-… or an agent
    Show {
        /// The item's id, e.g. T-1042 or INC-7
        id: String,
    },
    /// Approve an escalated decision
    Approve(DecideArgs),
    /// Reject an escalated decision
    Reject(DecideArgs),
    /// Escalate a pending decision one level up (`escalate APR-12 -r WHY`), or, as an agent,
    /// raise one and wait for people to decide it (`escalate --category C --summary S --wait
    /// 30m`): exit 0 approved, 3 rejected, 4 expired, cancelled or still pending at the end of
    /// the wait
    #[command(
        after_help = "As a gate in a script or pipeline (with an agent token in OPSDECK_TOKEN and --connect or --context):\n  opsdeck escalate --category scope_change --summary \"deploy 4.2 to prod\" --option deploy --option wait --wait 30m\nIt prints the escalation's id and where to decide it, waits (resuming after network errors), prints the decision and reason, and exits 0 approved, 3 rejected, 4 expired or cancelled (or no decision within --wait)."
    )]
    Escalate(Box<EscalateArgs>),
    /// Act on an incident: ack, escalate, mitigate, resolve, note, or declare a new one
    #[command(subcommand)]
    Incident(IncidentCmd),
    /// Act on a rollout: promote, pause, resume, abort
    Rollout(RolloutArgs),
    /// Pause or resume an agent
    Agent(AgentArgs),
    /// Search, verify and export the audit trail
    #[command(subcommand)]
    Audit(AuditCmd),
    /// The demo fleet
    #[command(subcommand)]
    Demo(DemoCmd),
    /// Print shell completions (bash, zsh, fish, elvish, powershell)
    Completions { shell: clap_complete::Shell },
    /// Print the manual page (roff): `opsdeck man | man -l -`
    Man,
    /// Where the config file is, and the effective configuration
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Check the setup: terminal, colours, theme, config, store, audit chain, contexts
    Doctor,
    /// Serve the orchestrator over HTTP to many consoles and agents
    Serve(ServeArgs),
    /// Make tokens for the server's operators and agents
    #[command(subcommand)]
    Token(TokenCmd),
    /// Move a store between a SQLite file and a PostgreSQL database
    #[command(subcommand)]
    Store(StoreCmd),
    /// Connect Claude Code: print the settings that send its hooks to opsdeck
    #[command(subcommand)]
    Hooks(HooksCmd),
    /// Serve the agent tools over the Model Context Protocol on stdin/stdout, for an agent
    /// framework to start (`.mcp.json`); it talks to the orchestrator named by --connect or
    /// --context with the agent token in OPSDECK_TOKEN
    Mcp {
        /// Act as this agent of the token (id or name) [default: the token's one agent,
        /// registered under the token's name on first use]
        #[arg(long)]
        agent: Option<String>,
        /// The domain the agent joins on first use
        #[arg(long, default_value = "operations")]
        domain: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum HooksCmd {
    /// Print the Claude Code settings JSON to install (`.claude/settings.json`): HTTP hooks to
    /// this orchestrator with `Authorization: Bearer $OPSDECK_TOKEN`, and permissions.ask and
    /// permissions.deny rules matching the server's policy, so an unreachable opsdeck still asks
    /// or denies instead of allowing
    Print {
        /// The agent the Claude Code session acts as (registered under the token on first use)
        #[arg(long)]
        agent: String,
        /// The domain that agent joins on first use
        #[arg(long, default_value = "operations")]
        domain: String,
        /// The orchestrator's URL as Claude Code reaches it [default: --connect's or the
        /// context's URL]
        #[arg(long)]
        url: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// The config file in use, and whether it exists
    Path,
    /// The effective configuration as TOML (defaults, the file, then flags), secrets redacted
    Show,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port [default: [server] listen in config, 127.0.0.1:7300]
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// Run the demo fleet inside the server, on the real clock
    #[arg(long)]
    pub demo: bool,
    /// PEM certificate chain for HTTPS (with --tls-key) [default: [server] tls_cert]
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS [default: [server] tls_key]
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Print a fresh random token (first line, alone) and the lines to add to the server's
    /// config, which stores only its SHA-256
    New {
        /// Who the token is for: the operator's name, or the agent fleet's
        name: String,
        /// The operator's role: viewer, oncall:<domain>, lead:<domain>, enterprise, executive
        #[arg(long, required_unless_present = "agent", conflicts_with = "agent")]
        role: Option<String>,
        /// A token for agents (the /v1/agent/ endpoints only); it acts only for the agents it
        /// registers
        #[arg(long)]
        agent: bool,
        /// With --agent: limit the token to this domain (repeat for several)
        #[arg(long, requires = "agent", value_name = "DOMAIN")]
        domain: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum StoreCmd {
    /// Copy a whole store (items, the audit trail with its chain, events, idempotency answers)
    /// into a new file or an empty database, in one transaction, verified on arrival:
    /// `opsdeck store copy --from opsdeck.db --to postgres://opsdeck@db/opsdeck` (the
    /// database password from OPSDECK_STORE_PASSWORD)
    Copy {
        /// The store to copy: a SQLite file or a postgres:// URL
        #[arg(long, value_name = "PATH|URL")]
        from: String,
        /// Where to: a new SQLite file or an empty PostgreSQL database
        #[arg(long, value_name = "PATH|URL")]
        to: String,
    },
}

#[derive(Debug, Args)]
pub struct DecideArgs {
    /// Approval id, e.g. APR-12
    pub id: String,
    /// Why: mandatory, it goes into the audit trail
    #[arg(long, short = 'r')]
    pub reason: String,
    /// The version you saw (from `opsdeck approvals`); refused if it changed since
    #[arg(long)]
    pub version: Option<u64>,
    /// On approve: the option you choose among the item's options considered
    #[arg(long)]
    pub option: Option<String>,
}

/// `opsdeck escalate`: an operator escalating an approval (ID and --reason), or an agent
/// raising one (--category and --summary).
#[derive(Debug, Args)]
pub struct EscalateArgs {
    /// Approval id to escalate one level up, e.g. APR-12 (leave out to raise a new one)
    pub id: Option<String>,
    /// Why (operator escalation): mandatory, it goes into the audit trail
    #[arg(long, short = 'r')]
    pub reason: Option<String>,
    /// The version you saw (operator escalation)
    #[arg(long)]
    pub version: Option<u64>,
    #[command(flatten)]
    pub raise: RaiseArgs,
}

/// What an agent raises: the gate for scripts and pipelines.
#[derive(Debug, Args, Default)]
pub struct RaiseArgs {
    /// What it is about, which fixes who may decide it: scope_change, external_communication,
    /// resource_request (domain); budget_allocation, cross_domain_conflict, policy_exception
    /// (enterprise); strategic_change, compliance_issue, major_incident (executive); ...
    #[arg(long, value_name = "CATEGORY")]
    pub category: Option<String>,
    /// One line people see first
    #[arg(long)]
    pub summary: Option<String>,
    /// What people need to know to decide (the escalation's context; `--context` names the
    /// orchestrator to connect to, as everywhere)
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub details: String,
    /// An option considered; repeat for several (the approver may choose one)
    #[arg(long = "option", value_name = "OPTION")]
    pub options: Vec<String>,
    /// What the agent recommends [default: the first option]
    #[arg(long)]
    pub recommendation: Option<String>,
    /// public, internal or sensitive (sensitive needs two approvers)
    #[arg(long, default_value = "internal")]
    pub classification: String,
    /// A task it concerns; repeat for several
    #[arg(long = "task", value_name = "TASK")]
    pub related_tasks: Vec<String>,
    /// Act as this agent of the token (id or name) [default: the token's one agent, registered
    /// under the token's name on first use]
    #[arg(long)]
    pub agent: Option<String>,
    /// The domain to register the token's agent in, on first use
    #[arg(long, default_value = "operations")]
    pub domain: String,
    /// The session, run or trace id to show beside the request (a CI job's URL, say)
    #[arg(long)]
    pub session: Option<String>,
    /// Where the server POSTs the final decision, signed (see the README)
    #[arg(long, value_name = "URL")]
    pub callback_url: Option<String>,
    /// Wait this long for the decision: 90s, 30m, 2h (without it, raise and exit 0)
    #[arg(long, value_name = "DURATION")]
    pub wait: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum IncidentCmd {
    /// Acknowledge: you are on it
    Ack(IncidentArgs),
    /// Raise the severity one step (SEV3 → SEV2)
    Escalate(IncidentArgs),
    /// The impact is contained
    Mitigate(IncidentArgs),
    /// Resolved
    Resolve(IncidentArgs),
    /// Add a note to the timeline
    Note(IncidentArgs),
    /// Open an incident by hand
    Declare {
        #[arg(long, value_parser = parse_severity)]
        severity: Severity,
        #[arg(long)]
        domain: String,
        #[arg(long)]
        title: String,
    },
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    match s.to_ascii_uppercase().as_str() {
        "SEV1" | "1" => Ok(Severity::Sev1),
        "SEV2" | "2" => Ok(Severity::Sev2),
        "SEV3" | "3" => Ok(Severity::Sev3),
        "SEV4" | "4" => Ok(Severity::Sev4),
        _ => Err(format!(
            "{s:?} is not a severity: use SEV1, SEV2, SEV3 or SEV4"
        )),
    }
}

#[derive(Debug, Args)]
pub struct IncidentArgs {
    /// Incident id, e.g. INC-7
    pub id: String,
    /// A note for the timeline (required for `note`)
    #[arg(long, short = 'n')]
    pub note: Option<String>,
    #[arg(long)]
    pub version: Option<u64>,
}

/// The protocol's own verbs are the command line's values: one word per action everywhere.
macro_rules! value_enum {
    ($ty:ty, [$($variant:ident),*]) => {
        impl ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                &[$(<$ty>::$variant),*]
            }

            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(clap::builder::PossibleValue::new(self.as_str()))
            }
        }
    };
}

value_enum!(RolloutAction, [Promote, Pause, Resume, Abort]);
value_enum!(AgentAction, [Pause, Resume]);

#[derive(Debug, Args)]
pub struct RolloutArgs {
    #[arg(value_enum)]
    pub action: RolloutAction,
    /// Rollout id, e.g. RO-2
    pub id: String,
    /// Why (required for pause and abort)
    #[arg(long, short = 'r')]
    pub reason: Option<String>,
    #[arg(long)]
    pub version: Option<u64>,
}

#[derive(Debug, Args)]
pub struct AgentArgs {
    #[arg(value_enum)]
    pub action: AgentAction,
    /// Agent id, e.g. agent-17
    pub id: String,
    /// Why (required for pause)
    #[arg(long, short = 'r')]
    pub reason: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Search the trail, newest first: domain: type: agent: class: task: since: until:,
    /// "phrases", words and -excluded words
    Search {
        /// The query, e.g. `domain:platform type:decision since:24h budget -draft`
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
        #[arg(long, default_value_t = crate::protocol::PAGE_DEFAULT)]
        limit: usize,
    },
    /// Recompute the hash chain and report the first bad record: a changed record, a gap, a
    /// cut-off tail, a body removed without a purge record; with --checkpoint, also that the
    /// trail still holds the signed checkpoint's seq with its hash
    Verify {
        /// A checkpoint written by `audit checkpoint`: its signature is checked, then the trail
        /// against it
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
        /// The public key to trust (hex, as in audit-signing.pub) [default: the one beside the
        /// signing key in the config directory]
        #[arg(long, value_name = "FILE", requires = "checkpoint")]
        public_key: Option<PathBuf>,
    },
    /// Sign the chain head (seq, hash, time) with the audit signing key in the config
    /// directory (made on first use) and write the checkpoint as JSON
    Checkpoint {
        /// Write here instead of standard output (a copy also goes to [audit] checkpoint_dir)
        #[arg(long, value_name = "FILE")]
        output_file: Option<PathBuf>,
    },
    /// Bring in an external trail (JSONL in the public schema): every line is checked first,
    /// nothing is imported if one is bad, and the records join this trail's chain
    Import { file: PathBuf },
    /// Purge record bodies past their retention (standard 90 days, significant 1 year,
    /// compliance 7 years); headers and hashes stay, so the chain still verifies, and the purge
    /// is itself a chained record naming the classes and seqs purged
    #[command(visible_alias = "purge")]
    Prune {
        /// Count what would be purged, change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the whole trail as JSONL in the public schema, or as CSV
    ///
    /// To a file or a pipe the JSON lines are exact. CSV cells that a spreadsheet would run as
    /// a formula (starting with =, +, -, @, a tab or a carriage return) get a leading ' so they
    /// stay text (OWASP CSV injection guidance), in a file and on a terminal alike. On a
    /// terminal, control and bidi characters in the records are escaped (JSON: \uXXXX, still
    /// the same value; CSV: ^[ and <U+202E>), so no record can send the terminal a command.
    Export {
        /// Write here instead of standard output
        #[arg(long, value_name = "FILE")]
        output_file: Option<PathBuf>,
        /// Only the records this query matches (the search language)
        #[arg(long, value_name = "QUERY")]
        query: Option<String>,
        /// jsonl (the public schema, one record a line) or csv (flat columns; formula-like
        /// cells get a leading ')
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ExportFormat,
        /// Export the details of sensitive records too (otherwise withheld and marked
        /// "redacted"): only those of domains your role may reveal, and the export is itself
        /// recorded in the trail with its query and count
        #[arg(long)]
        include_sensitive: bool,
    },
    /// Show a sensitive record whole; the reveal is recorded in the trail first
    Reveal {
        /// The record's seq
        seq: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum DemoCmd {
    /// Run the demo fleet headless on a simulated clock, as fast as it can, then exit
    Run {
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Simulated time to run, e.g. 6h
        #[arg(long, default_value = "6h", value_parser = parse_duration)]
        duration: chrono::Duration,
        /// Simulated start time (RFC 3339)
        #[arg(long, default_value = "2026-11-02T00:00:00Z")]
        start: chrono::DateTime<chrono::Utc>,
        /// With --connect: the agent token the fleet joins with; the fleet then runs on the real
        /// clock through the agent endpoints for --duration (or until Ctrl-C)
        #[arg(
            long,
            value_name = "TOKEN",
            env = "OPSDECK_AGENT_TOKEN",
            hide_env_values = true
        )]
        agent_token: Option<String>,
    },
    /// Generate a realistic synthetic audit trail (for benchmarks) into an empty store
    Audit {
        #[arg(long)]
        records: u64,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// The trail ends here and spans 90 days before it (RFC 3339)
        #[arg(long, default_value = "2026-11-02T00:00:00Z")]
        end: chrono::DateTime<chrono::Utc>,
    },
}

fn parse_duration(s: &str) -> Result<chrono::Duration, String> {
    let d = crate::duration::parse(s).map_err(|e| e.to_string())?;
    if d <= chrono::Duration::zero() || d > chrono::Duration::days(30) {
        return Err("the duration must be between 1s and 30d".into());
    }
    Ok(d)
}
