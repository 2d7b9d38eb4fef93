use serde::{Deserialize, Serialize};

use super::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    Queued,
    Leased,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    Blocked,
}

impl TaskState {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Succeeded | TaskState::Failed | TaskState::Cancelled
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Queued => "queued",
            TaskState::Leased => "leased",
            TaskState::Running => "running",
            TaskState::Succeeded => "succeeded",
            TaskState::Failed => "failed",
            TaskState::Cancelled => "cancelled",
            TaskState::Blocked => "blocked",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub title: String,
    pub domain: String,
    pub team: String,
    /// 1 is the most urgent, 4 the least.
    pub priority: u8,
    pub skills: Vec<String>,
    pub state: TaskState,
    pub agent: Option<String>,
    pub created_at: Timestamp,
    /// When it last entered its queue (creation, unblocking, a retry or a lost lease).
    pub enqueued_at: Timestamp,
    pub leased_at: Option<Timestamp>,
    pub lease_expires_at: Option<Timestamp>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub attempts: u32,
    pub max_attempts: u32,
    /// A retry waits in the queue until this time (exponential backoff with jitter).
    pub not_before: Option<Timestamp>,
    pub depends_on: Vec<String>,
    pub last_error: Option<String>,
}

impl Task {
    /// The queue a task waits in: one per domain and team.
    pub fn queue_name(&self) -> String {
        format!("{}/{}", self.domain, self.team)
    }
}
