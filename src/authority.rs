//! The decision authority matrix (DESIGN §1) as data, and the pure checks built on it.
//!
//! Agents decide implementation matters, domains coordinate, the enterprise governs, and
//! executives (humans only) take what the enterprise must escalate. An approval's category fixes
//! the lowest level that may decide it; operators act at the level their role gives them.

pub use crate::model::role::{Level, Role, RoleParseError, Subject, operator_actor};
use crate::model::{Category, Classification};

/// One row of the matrix: what a level may decide and what it must escalate.
pub struct MatrixRow {
    pub level: Level,
    pub may_decide: &'static [Category],
    pub must_escalate: &'static [Category],
}

/// The matrix of DESIGN §1, exactly.
pub const MATRIX: [MatrixRow; 3] = [
    MatrixRow {
        level: Level::Agent,
        may_decide: &[
            Category::ImplementationDetail,
            Category::ToolSelection,
            Category::TacticalApproach,
        ],
        must_escalate: &[
            Category::ScopeChange,
            Category::ExternalCommunication,
            Category::ResourceRequest,
        ],
    },
    MatrixRow {
        level: Level::Domain,
        may_decide: &[
            Category::TaskPrioritisation,
            Category::TeamComposition,
            Category::QualityTradeoff,
        ],
        must_escalate: &[
            Category::BudgetAllocation,
            Category::CrossDomainConflict,
            Category::PolicyException,
        ],
    },
    MatrixRow {
        level: Level::Enterprise,
        may_decide: &[
            Category::ResourceAllocation,
            Category::PriorityConflict,
            Category::PolicyEnforcement,
        ],
        must_escalate: &[
            Category::StrategicChange,
            Category::ComplianceIssue,
            Category::MajorIncident,
        ],
    },
];

/// The lowest level that may decide an item of this category.
pub fn required_level(category: Category) -> Level {
    for row in &MATRIX {
        if row.may_decide.contains(&category) {
            return row.level;
        }
        if row.must_escalate.contains(&category) {
            // Escalated items go to the next level up, which decides them.
            return row
                .level
                .next()
                .expect("the matrix escalates below the top");
        }
    }
    unreachable!("every category appears in the matrix (tested)")
}

/// Distinct approvers needed: two (four eyes) for sensitive and executive items.
pub fn quorum(category: Category, classification: Classification) -> u8 {
    if classification == Classification::Sensitive || required_level(category) == Level::Executive {
        2
    } else {
        1
    }
}

/// Why an operator may not act, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("role viewer is read-only: ask for an oncall, lead, enterprise or executive role")]
    ReadOnly,
    #[error("role {role} acts for domain {role_domain} only; this item belongs to {domain}")]
    OtherDomain {
        role: String,
        role_domain: String,
        domain: String,
    },
    #[error("this item needs the {needed} level; role {role} acts at the {has} level")]
    LevelTooLow {
        role: String,
        needed: Level,
        has: Level,
    },
    #[error("{operator} raised this request and may not decide it (no self-approval)")]
    OwnRequest { operator: String },
    #[error("{operator} has already approved it; quorum needs a different operator")]
    AlreadyVoted { operator: String },
    #[error("this item is at the executive level and cannot be escalated further")]
    AtTop,
}

/// May this operator act on an item of `domain` at all (incidents, rollouts, agents)?
pub fn may_act_in(role: &Role, domain: &str) -> Result<(), Denied> {
    role.level().ok_or(Denied::ReadOnly)?;
    in_domain(role, domain)
}

/// May this operator read the withheld details of a sensitive record of `domain`? Whoever may
/// act in the domain; a viewer reads headers and summaries only.
pub fn may_reveal(role: &Role, domain: &str) -> Result<(), Denied> {
    may_act_in(role, domain)
}

/// Domain roles act for their own domain only.
fn in_domain(role: &Role, domain: &str) -> Result<(), Denied> {
    match role {
        Role::Oncall(d) | Role::Lead(d) if d != domain => Err(Denied::OtherDomain {
            role: role.to_string(),
            role_domain: d.clone(),
            domain: domain.to_string(),
        }),
        _ => Ok(()),
    }
}

/// May this operator approve or reject the item (once: a second vote is refused)? Pure; the
/// engine adds state checks.
pub fn may_decide(role: &Role, operator: &str, subject: Subject<'_>) -> Result<(), Denied> {
    let has = role.level().ok_or(Denied::ReadOnly)?;
    if has < subject.level {
        return Err(Denied::LevelTooLow {
            role: role.to_string(),
            needed: subject.level,
            has,
        });
    }
    in_domain(role, subject.domain)?;
    if subject.requested_by == operator_actor(operator) || subject.requested_by == operator {
        return Err(Denied::OwnRequest {
            operator: operator.to_string(),
        });
    }
    if subject
        .votes
        .iter()
        .any(|v| v.by == operator_actor(operator))
    {
        return Err(Denied::AlreadyVoted {
            operator: operator.to_string(),
        });
    }
    Ok(())
}

/// May this operator escalate the item one level up? Anyone who could decide it may, and it
/// must have somewhere to go.
pub fn may_escalate(role: &Role, operator: &str, subject: Subject<'_>) -> Result<Level, Denied> {
    let next = subject.level.next().ok_or(Denied::AtTop)?;
    match may_decide(role, operator, subject) {
        Ok(()) | Err(Denied::OwnRequest { .. } | Denied::AlreadyVoted { .. }) => Ok(next),
        Err(other) => Err(other),
    }
}

/// Who may decide an item at this level, in words for the decision card.
pub fn who_may_decide(level: Level, domain: &str) -> String {
    match level {
        Level::Agent => "the agent itself".to_string(),
        Level::Domain => format!("oncall:{domain}, lead:{domain}, enterprise or executive"),
        Level::Enterprise => "enterprise or executive".to_string(),
        Level::Executive => "executive".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles() -> Vec<Role> {
        vec![
            Role::Viewer,
            Role::Oncall("platform".into()),
            Role::Oncall("product".into()),
            Role::Lead("platform".into()),
            Role::Lead("operations".into()),
            Role::Enterprise,
            Role::Executive,
        ]
    }

    #[test]
    fn every_category_is_in_the_matrix_once() {
        for category in Category::ALL {
            let places = MATRIX
                .iter()
                .flat_map(|row| row.may_decide.iter().chain(row.must_escalate))
                .filter(|c| **c == category)
                .count();
            assert_eq!(places, 1, "{category:?}");
        }
    }

    #[test]
    fn required_levels_follow_the_matrix() {
        use Category::*;
        let expect = [
            (ImplementationDetail, Level::Agent),
            (ToolSelection, Level::Agent),
            (TacticalApproach, Level::Agent),
            (ScopeChange, Level::Domain),
            (ExternalCommunication, Level::Domain),
            (ResourceRequest, Level::Domain),
            (TaskPrioritisation, Level::Domain),
            (TeamComposition, Level::Domain),
            (QualityTradeoff, Level::Domain),
            (BudgetAllocation, Level::Enterprise),
            (CrossDomainConflict, Level::Enterprise),
            (PolicyException, Level::Enterprise),
            (ResourceAllocation, Level::Enterprise),
            (PriorityConflict, Level::Enterprise),
            (PolicyEnforcement, Level::Enterprise),
            (StrategicChange, Level::Executive),
            (ComplianceIssue, Level::Executive),
            (MajorIncident, Level::Executive),
        ];
        assert_eq!(expect.len(), Category::ALL.len());
        for (category, level) in expect {
            assert_eq!(required_level(category), level, "{category:?}");
        }
    }

    #[test]
    fn quorum_is_two_for_sensitive_and_executive() {
        for category in Category::ALL {
            for class in [
                Classification::Public,
                Classification::Internal,
                Classification::Sensitive,
            ] {
                let want = if class == Classification::Sensitive
                    || required_level(category) == Level::Executive
                {
                    2
                } else {
                    1
                };
                assert_eq!(quorum(category, class), want, "{category:?} {class:?}");
            }
        }
    }

    /// Every category × level (as escalated) × role × domain, against an independent statement
    /// of the rule.
    #[test]
    fn may_decide_over_every_category_level_and_role() {
        let domains = ["platform", "product", "operations"];
        let mut checked = 0;
        for category in Category::ALL {
            for level in Level::ALL
                .into_iter()
                .filter(|l| *l >= required_level(category))
            {
                for domain in domains {
                    for role in roles() {
                        let subject = Subject {
                            level,
                            domain,
                            requested_by: "agent-7",
                            votes: &[],
                        };
                        let got = may_decide(&role, "alice", subject);
                        let role_rank = match &role {
                            Role::Viewer => 0,
                            Role::Oncall(_) | Role::Lead(_) => 2,
                            Role::Enterprise => 3,
                            Role::Executive => 4,
                        };
                        let level_rank = match level {
                            Level::Agent => 1,
                            Level::Domain => 2,
                            Level::Enterprise => 3,
                            Level::Executive => 4,
                        };
                        let own_domain = match &role {
                            Role::Oncall(d) | Role::Lead(d) => d == domain,
                            _ => true,
                        };
                        let allowed = role_rank >= level_rank && own_domain;
                        assert_eq!(
                            got.is_ok(),
                            allowed,
                            "{category:?} {level:?} {domain} {role}"
                        );
                        if !allowed {
                            let message = got.unwrap_err().to_string();
                            assert!(message.len() > 20, "a reason an operator can act on");
                        }
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 500, "{checked}");
    }

    #[test]
    fn nobody_decides_their_own_request() {
        for role in roles().into_iter().filter(|r| *r != Role::Viewer) {
            let subject = Subject {
                level: Level::Domain,
                domain: "platform",
                requested_by: "operator:alice",
                votes: &[],
            };
            let got = may_decide(&role, "alice", subject);
            if role.covers_domain("platform") {
                assert_eq!(
                    got,
                    Err(Denied::OwnRequest {
                        operator: "alice".into()
                    })
                );
            } else {
                assert!(got.is_err());
            }
            assert!(may_decide(&role, "bob", subject).is_ok() || !role.covers_domain("platform"));
        }
    }

    #[test]
    fn an_operator_votes_once_but_may_still_escalate() {
        let votes = [crate::model::Vote {
            by: "operator:alice".into(),
            role: "enterprise".into(),
            at: chrono::Utc::now(),
            reason: "fine".into(),
        }];
        let subject = Subject {
            level: Level::Enterprise,
            domain: "platform",
            requested_by: "agent-1",
            votes: &votes,
        };
        assert_eq!(
            may_decide(&Role::Enterprise, "alice", subject),
            Err(Denied::AlreadyVoted {
                operator: "alice".into()
            })
        );
        assert_eq!(may_decide(&Role::Enterprise, "bob", subject), Ok(()));
        assert_eq!(
            may_escalate(&Role::Enterprise, "alice", subject),
            Ok(Level::Executive)
        );
    }

    #[test]
    fn escalation_goes_one_level_up_and_stops_at_the_top() {
        let subject = |level| Subject {
            level,
            domain: "platform",
            requested_by: "agent-1",
            votes: &[],
        };
        let lead = Role::Lead("platform".into());
        assert_eq!(
            may_escalate(&lead, "a", subject(Level::Domain)),
            Ok(Level::Enterprise)
        );
        assert!(may_escalate(&lead, "a", subject(Level::Enterprise)).is_err());
        assert_eq!(
            may_escalate(&Role::Enterprise, "a", subject(Level::Enterprise)),
            Ok(Level::Executive)
        );
        assert_eq!(
            may_escalate(&Role::Executive, "a", subject(Level::Executive)),
            Err(Denied::AtTop)
        );
        assert_eq!(
            may_escalate(&Role::Viewer, "a", subject(Level::Domain)),
            Err(Denied::ReadOnly)
        );
    }

    #[test]
    fn roles_parse_and_print() {
        for role in roles() {
            assert_eq!(role.to_string().parse::<Role>().unwrap(), role);
        }
        for bad in ["", "admin", "oncall", "oncall:", "lead:a:b", "root:x"] {
            let err = bad.parse::<Role>().unwrap_err().to_string();
            assert!(err.contains("oncall:<domain>"), "{bad}: {err}");
        }
    }
}
