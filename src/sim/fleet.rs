//! The demo organisation: who works where, what they can do, and what they escalate.

use crate::model::{Category, RolloutKind};

pub struct TeamSpec {
    pub domain: &'static str,
    pub team: &'static str,
    pub skills: &'static [&'static str],
    /// Task titles this team works on.
    pub work: &'static [&'static str],
}

pub const TEAMS: [TeamSpec; 9] = [
    TeamSpec {
        domain: "product",
        team: "checkout",
        skills: &["typescript", "payments", "testing"],
        work: &[
            "fix cart rounding bug",
            "add wallet payment method",
            "speed up checkout page",
            "write checkout e2e tests",
        ],
    },
    TeamSpec {
        domain: "product",
        team: "search",
        skills: &["python", "ranking", "indexing"],
        work: &[
            "reindex product catalogue",
            "tune ranking weights",
            "add synonym dictionary",
            "evaluate search relevance",
        ],
    },
    TeamSpec {
        domain: "product",
        team: "growth",
        skills: &["analytics", "experiments", "copywriting"],
        work: &[
            "analyse signup funnel",
            "launch onboarding experiment",
            "draft release notes",
            "segment churned users",
        ],
    },
    TeamSpec {
        domain: "platform",
        team: "infra",
        skills: &["kubernetes", "terraform", "networking"],
        work: &[
            "resize node pool",
            "rotate TLS certificates",
            "upgrade ingress controller",
            "patch base images",
        ],
    },
    TeamSpec {
        domain: "platform",
        team: "data",
        skills: &["sql", "spark", "python"],
        work: &[
            "backfill events table",
            "compact parquet partitions",
            "migrate warehouse schema",
            "repair late data pipeline",
        ],
    },
    TeamSpec {
        domain: "platform",
        team: "identity",
        skills: &["oauth", "go", "security"],
        work: &[
            "rotate signing keys",
            "audit service accounts",
            "add SSO provider",
            "fix token refresh race",
        ],
    },
    TeamSpec {
        domain: "operations",
        team: "billing",
        skills: &["finance", "sql", "reconciliation"],
        work: &[
            "reconcile daily invoices",
            "refund duplicate charges",
            "close monthly ledger",
            "update tax rates",
        ],
    },
    TeamSpec {
        domain: "operations",
        team: "support",
        skills: &["triage", "writing", "crm"],
        work: &[
            "triage ticket backlog",
            "draft outage notice",
            "merge duplicate tickets",
            "update help centre article",
        ],
    },
    TeamSpec {
        domain: "operations",
        team: "compliance",
        skills: &["policy", "audit", "reporting"],
        work: &[
            "collect SOC 2 evidence",
            "review data retention",
            "answer vendor questionnaire",
            "check access reviews",
        ],
    },
];

pub const AGENTS_PER_TEAM: usize = 4;

pub const AGENT_NAMES: [&str; 36] = [
    "ada", "basil", "cora", "dax", "echo", "fern", "gus", "hazel", "ivo", "juno", "kit", "lumen",
    "mira", "nox", "orla", "pip", "quill", "rhea", "sol", "tam", "una", "vex", "wren", "xan",
    "yara", "zed", "arlo", "bea", "cyd", "dune", "elm", "fia", "gray", "hux", "iris", "jet",
];

/// An escalation an agent might raise: category, summary, context, options, recommendation.
pub struct EscalationSpec {
    pub category: Category,
    /// Relative frequency.
    pub weight: u32,
    pub summary: &'static str,
    pub context: &'static str,
    pub options: &'static [&'static str],
    pub recommendation: &'static str,
}

/// Mostly domain-level items, some enterprise, a few executive.
pub const ESCALATIONS: [EscalationSpec; 15] = [
    EscalationSpec {
        category: Category::ScopeChange,
        weight: 14,
        summary: "extend {task} to cover legacy clients",
        context: "While working on {task} the agent found legacy clients that the change would break.",
        options: &[
            "extend the scope by one day",
            "ship without legacy support",
            "split into a follow-up task",
        ],
        recommendation: "split into a follow-up task",
    },
    EscalationSpec {
        category: Category::ExternalCommunication,
        weight: 10,
        summary: "email affected customers about {team} delay",
        context: "{task} slipped past the date promised to customers.",
        options: &[
            "send the drafted email now",
            "wait for the fix and send one update",
            "let account managers call",
        ],
        recommendation: "send the drafted email now",
    },
    EscalationSpec {
        category: Category::ResourceRequest,
        weight: 12,
        summary: "two more agents for {team} this week",
        context: "The {team} queue has grown for three days; wait p95 is above target.",
        options: &[
            "borrow two agents from another team",
            "defer low-priority work",
            "accept the delay",
        ],
        recommendation: "borrow two agents from another team",
    },
    EscalationSpec {
        category: Category::TaskPrioritisation,
        weight: 12,
        summary: "put {task} ahead of the sprint plan",
        context: "A customer escalation depends on {task}.",
        options: &["reprioritise now", "keep the plan"],
        recommendation: "reprioritise now",
    },
    EscalationSpec {
        category: Category::TeamComposition,
        weight: 6,
        summary: "move a reviewer agent into {team}",
        context: "{team} has no agent with review skills on shift.",
        options: &[
            "move one reviewer for a week",
            "hire a contractor agent",
            "skip review for low-risk changes",
        ],
        recommendation: "move one reviewer for a week",
    },
    EscalationSpec {
        category: Category::QualityTradeoff,
        weight: 8,
        summary: "ship {task} with reduced test coverage",
        context: "Full test coverage adds two days; the change is behind a flag.",
        options: &["ship behind the flag now", "wait for full coverage"],
        recommendation: "ship behind the flag now",
    },
    EscalationSpec {
        category: Category::BudgetAllocation,
        weight: 6,
        summary: "raise {domain} model-inference budget by 15%",
        context: "Token spend for {domain} is at 92% of the monthly budget on day 20.",
        options: &[
            "raise the budget 15%",
            "throttle low-priority agents",
            "switch to a smaller model",
        ],
        recommendation: "switch to a smaller model for low-priority work",
    },
    EscalationSpec {
        category: Category::CrossDomainConflict,
        weight: 4,
        summary: "{domain} and another domain both claim the shared database window",
        context: "Two maintenance tasks need the same database window on Saturday.",
        options: &[
            "give {domain} the window",
            "split the window",
            "move one to next week",
        ],
        recommendation: "split the window",
    },
    EscalationSpec {
        category: Category::PolicyException,
        weight: 4,
        summary: "exception to the change freeze for {task}",
        context: "{task} fixes a security issue during the freeze.",
        options: &["grant a one-off exception", "wait until the freeze ends"],
        recommendation: "grant a one-off exception",
    },
    EscalationSpec {
        category: Category::ResourceAllocation,
        weight: 3,
        summary: "reassign GPU quota from research to {domain}",
        context: "{domain} inference queue is starved of GPUs.",
        options: &["move 20% of research quota", "buy on-demand capacity"],
        recommendation: "move 20% of research quota",
    },
    EscalationSpec {
        category: Category::PriorityConflict,
        weight: 3,
        summary: "resolve competing deadlines between {domain} and sales launch",
        context: "The launch and {task} both need the same release train.",
        options: &["launch first", "{task} first"],
        recommendation: "launch first",
    },
    EscalationSpec {
        category: Category::PolicyEnforcement,
        weight: 2,
        summary: "block deployments from {team} until reviews catch up",
        context: "{team} has 14 unreviewed production changes.",
        options: &["block until reviewed", "warn only"],
        recommendation: "block until reviewed",
    },
    EscalationSpec {
        category: Category::StrategicChange,
        weight: 1,
        summary: "retire the legacy {team} product line",
        context: "Legacy usage is under 2% and costs 18% of {domain} effort.",
        options: &["retire in Q1", "retire in Q3", "keep"],
        recommendation: "retire in Q3",
    },
    EscalationSpec {
        category: Category::ComplianceIssue,
        weight: 1,
        summary: "personal data found in {team} debug logs",
        context: "An agent found customer emails in debug logs retained for 90 days.",
        options: &["purge logs and notify the DPO", "purge only"],
        recommendation: "purge logs and notify the DPO",
    },
    EscalationSpec {
        category: Category::MajorIncident,
        weight: 1,
        summary: "declare a major incident for {domain} data loss risk",
        context: "Replication lag on the {domain} primary passed 30 minutes.",
        options: &["declare and fail over", "keep watching"],
        recommendation: "declare and fail over",
    },
];

pub struct RolloutSpec {
    pub name: &'static str,
    pub kind: RolloutKind,
    pub target_version: &'static str,
    pub domain: &'static str,
    pub auto_promote: bool,
    /// Extra failure probability of canary agents: a bad build.
    pub canary_penalty: f64,
    /// Minutes after the start of the demo.
    pub starts_after_min: i64,
}

pub const ROLLOUTS: [RolloutSpec; 4] = [
    RolloutSpec {
        name: "agent-runtime 2.4",
        kind: RolloutKind::AgentVersion,
        target_version: "2.4.0",
        domain: "platform",
        auto_promote: true,
        canary_penalty: 0.0,
        starts_after_min: 0,
    },
    RolloutSpec {
        name: "search skill pack v3",
        kind: RolloutKind::SkillPack,
        target_version: "search-v3",
        domain: "product",
        auto_promote: false,
        canary_penalty: 0.5,
        starts_after_min: 10,
    },
    RolloutSpec {
        name: "policy bundle 2026.11",
        kind: RolloutKind::PolicyBundle,
        target_version: "2026.11",
        domain: "operations",
        auto_promote: false,
        canary_penalty: 0.0,
        starts_after_min: 5,
    },
    RolloutSpec {
        name: "agent-runtime 2.5",
        kind: RolloutKind::AgentVersion,
        target_version: "2.5.0",
        domain: "platform",
        auto_promote: true,
        canary_penalty: 0.0,
        starts_after_min: 240,
    },
];

/// A stretch of time in which a domain's dependency fails a share of its tasks.
pub struct OutageSpec {
    pub domain: &'static str,
    pub starts_after_min: i64,
    pub minutes: i64,
    pub failure: f64,
}

pub const OUTAGES: [OutageSpec; 2] = [
    OutageSpec {
        domain: "platform",
        starts_after_min: 70,
        minutes: 20,
        failure: 0.4,
    },
    OutageSpec {
        domain: "operations",
        starts_after_min: 200,
        minutes: 15,
        failure: 0.85,
    },
];

/// Operators who act in the demo: name, role.
pub const OPERATORS: [(&str, &str); 9] = [
    ("dana", "lead:product"),
    ("noor", "oncall:product"),
    ("omar", "oncall:platform"),
    ("lin", "lead:platform"),
    ("lee", "oncall:operations"),
    ("priya", "enterprise"),
    ("sam", "enterprise"),
    ("kim", "executive"),
    ("ray", "executive"),
];

pub const REASONS_APPROVE: [&str; 6] = [
    "matches the recommendation; risk is contained",
    "cost is within this quarter's plan",
    "customer impact outweighs the delay",
    "reviewed the context; the safer option",
    "agreed with the owning team on the call",
    "reversible and behind a flag",
];

pub const REASONS_REJECT: [&str; 4] = [
    "not enough evidence; resubmit with numbers",
    "conflicts with the freeze policy",
    "the cheaper option was not tried first",
    "out of scope for this quarter",
];
