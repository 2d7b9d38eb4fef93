use serde::{Deserialize, Serialize};

use super::Timestamp;
use super::role::Level;

/// What an escalated decision is about; it fixes the lowest level that may decide it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    // Agent level: an agent decides these itself.
    ImplementationDetail,
    ToolSelection,
    TacticalApproach,
    // Escalated by agents to their domain.
    ScopeChange,
    ExternalCommunication,
    ResourceRequest,
    // Domain level.
    TaskPrioritisation,
    TeamComposition,
    QualityTradeoff,
    // Escalated by domains to the enterprise.
    BudgetAllocation,
    CrossDomainConflict,
    PolicyException,
    // Enterprise level.
    ResourceAllocation,
    PriorityConflict,
    PolicyEnforcement,
    // Escalated by the enterprise to executives (humans only).
    StrategicChange,
    ComplianceIssue,
    MajorIncident,
}

impl Category {
    /// A category by its name, or an error listing every name.
    pub fn parse(name: &str) -> Result<Category, String> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == name)
            .ok_or_else(|| {
                let all: Vec<_> = Category::ALL.iter().map(|c| c.as_str()).collect();
                format!("{name:?} is not a category: use one of {}", all.join(", "))
            })
    }

    pub const ALL: [Category; 18] = [
        Category::ImplementationDetail,
        Category::ToolSelection,
        Category::TacticalApproach,
        Category::ScopeChange,
        Category::ExternalCommunication,
        Category::ResourceRequest,
        Category::TaskPrioritisation,
        Category::TeamComposition,
        Category::QualityTradeoff,
        Category::BudgetAllocation,
        Category::CrossDomainConflict,
        Category::PolicyException,
        Category::ResourceAllocation,
        Category::PriorityConflict,
        Category::PolicyEnforcement,
        Category::StrategicChange,
        Category::ComplianceIssue,
        Category::MajorIncident,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::ImplementationDetail => "implementation_detail",
            Category::ToolSelection => "tool_selection",
            Category::TacticalApproach => "tactical_approach",
            Category::ScopeChange => "scope_change",
            Category::ExternalCommunication => "external_communication",
            Category::ResourceRequest => "resource_request",
            Category::TaskPrioritisation => "task_prioritisation",
            Category::TeamComposition => "team_composition",
            Category::QualityTradeoff => "quality_tradeoff",
            Category::BudgetAllocation => "budget_allocation",
            Category::CrossDomainConflict => "cross_domain_conflict",
            Category::PolicyException => "policy_exception",
            Category::ResourceAllocation => "resource_allocation",
            Category::PriorityConflict => "priority_conflict",
            Category::PolicyEnforcement => "policy_enforcement",
            Category::StrategicChange => "strategic_change",
            Category::ComplianceIssue => "compliance_issue",
            Category::MajorIncident => "major_incident",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    Public,
    Internal,
    Sensitive,
}

impl Classification {
    /// A classification by its name, or an error naming the three.
    pub fn parse(name: &str) -> Result<Classification, String> {
        [
            Classification::Public,
            Classification::Internal,
            Classification::Sensitive,
        ]
        .into_iter()
        .find(|c| c.as_str() == name)
        .ok_or_else(|| {
            format!("{name:?} is not a classification: use public, internal or sensitive")
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Public => "public",
            Classification::Internal => "internal",
            Classification::Sensitive => "sensitive",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    Pending,
    Approved,
    Rejected,
    Expired,
    Cancelled,
}

impl ApprovalState {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Approved => "approved",
            ApprovalState::Rejected => "rejected",
            ApprovalState::Expired => "expired",
            ApprovalState::Cancelled => "cancelled",
        }
    }
}

/// One operator's approval, or the rejection that decided the item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vote {
    pub by: String,
    pub role: String,
    pub at: Timestamp,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub id: String,
    pub requested_by: String,
    pub domain: String,
    pub category: Category,
    /// The level that must decide it now: the category's level, or higher once escalated.
    pub level: Level,
    pub summary: String,
    pub context: String,
    pub options_considered: Vec<String>,
    pub recommendation: String,
    pub classification: Classification,
    pub related_tasks: Vec<String>,
    pub state: ApprovalState,
    /// Bumped by every change; a decision names the version its operator saw.
    pub version: u64,
    /// Distinct eligible approvers needed (2 for sensitive and executive items).
    pub quorum: u8,
    /// The approving votes so far (a rejection decides at once and is kept apart).
    #[serde(alias = "approvals")]
    pub votes: Vec<Vote>,
    pub rejection: Option<Vote>,
    pub created_at: Timestamp,
    /// When it escalates itself to the next level if still pending.
    pub level_deadline_at: Option<Timestamp>,
    pub expires_at: Timestamp,
    pub decided_at: Option<Timestamp>,
    /// SHA-256 of the request as raised, so a decision is tied to what was seen.
    pub payload_digest: String,
    /// Where the request came from, when an agent framework said: the tool call it wants to
    /// make, its session, the policy rule that escalated it, where to send the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Box<Origin>>,
    /// The option the approving operator chose, among `options_considered`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen_option: Option<String>,
}

/// A tool call an agent wants to make and asks people about (Claude Code's `tool_name`,
/// `tool_input`, `tool_use_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub name: String,
    #[serde(default)]
    pub input: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
}

/// Where an approval came from, beyond the agent that raised it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Origin {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call: Option<ToolCall>,
    /// The agent's session or trace id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The policy rule that escalated it (set by the server's policy, never by the agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_rule: Option<String>,
    /// Where the final decision is POSTed once, signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<Callback>,
}

impl Origin {
    pub fn is_empty(&self) -> bool {
        self == &Origin::default()
    }
}

/// A callback URL and how its delivery went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Callback {
    pub url: String,
    /// When the receiver acknowledged it (a 2xx), or when delivery was given up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<Timestamp>,
    /// The receiver's last HTTP status, or why nothing was received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(default)]
    pub attempts: u32,
}

impl Approval {
    pub fn is_pending(&self) -> bool {
        self.state == ApprovalState::Pending
    }

    /// What happens to it next if nobody decides, and when: it escalates to the next level at
    /// its level deadline, or expires (at the top level, or if that comes first). This is the
    /// "time to escalation" approvals are sorted by.
    pub fn next_deadline(&self) -> (Timestamp, &'static str) {
        match self.level_deadline_at {
            Some(d) if d < self.expires_at => (d, "escalates"),
            _ => (self.expires_at, "expires"),
        }
    }

    /// The facts the authority checks look at.
    pub fn subject(&self) -> super::role::Subject<'_> {
        super::role::Subject {
            level: self.level,
            domain: &self.domain,
            requested_by: &self.requested_by,
            votes: &self.votes,
        }
    }
}
