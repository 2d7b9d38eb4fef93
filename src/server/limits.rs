//! Rate limits per caller (GCRA, via governor): operators get a few mutations a minute with a
//! burst, agent fleets many requests a second. Over the limit → 429 with Retry-After.

use std::num::NonZeroU32;

use axum::http::StatusCode;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::problem::ApiError;
use crate::config::server::ServerConfig;

pub struct Limits {
    operators: DefaultKeyedRateLimiter<String>,
    agents: DefaultKeyedRateLimiter<String>,
    /// Request bytes per agent token per minute: what one token may make the store grow by.
    agent_bytes: DefaultKeyedRateLimiter<String>,
    bytes_per_minute: u32,
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN)
}

impl Limits {
    pub fn from_config(config: &ServerConfig) -> Limits {
        let operators = Quota::per_minute(nonzero(config.operator_rate_per_minute))
            .allow_burst(nonzero(config.operator_burst));
        let agents = Quota::per_second(nonzero(config.agent_rate_per_second))
            .allow_burst(nonzero(config.agent_burst));
        let bytes = Quota::per_minute(nonzero(config.agent_bytes_per_minute));
        Limits {
            operators: RateLimiter::keyed(operators),
            agents: RateLimiter::keyed(agents),
            agent_bytes: RateLimiter::keyed(bytes),
            bytes_per_minute: config.agent_bytes_per_minute,
        }
    }

    /// Spends `bytes` of the agent token's budget; over it, 429 with when to retry.
    pub fn agent_bytes(&self, name: &str, bytes: usize) -> Result<(), ApiError> {
        let n = nonzero(u32::try_from(bytes).unwrap_or(u32::MAX));
        let over = |secs: u64| {
            let mut err = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "byte-budget",
                format!(
                    "agent token {name} sent more than its {} bytes a minute ([server] agent_bytes_per_minute): retry in {secs} s",
                    self.bytes_per_minute
                ),
            );
            err.retry_after = Some(secs.max(1));
            err
        };
        match self.agent_bytes.check_key_n(&name.to_string(), n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(over(seconds(
                not_until.wait_time_from(DefaultClock::default().now()),
            ))),
            // Larger than a whole minute's budget (the config checks it cannot be).
            Err(_) => Err(over(60)),
        }
    }

    pub fn operator(&self, name: &str) -> Result<(), ApiError> {
        check(&self.operators, name, "mutations")
    }

    pub fn agent(&self, name: &str) -> Result<(), ApiError> {
        check(&self.agents, name, "agent requests")
    }
}

fn check(limiter: &DefaultKeyedRateLimiter<String>, who: &str, what: &str) -> Result<(), ApiError> {
    limiter.check_key(&who.to_string()).map_err(|not_until| {
        let secs = seconds(not_until.wait_time_from(DefaultClock::default().now()));
        let mut err = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            format!("{who} sent too many {what}: retry in {secs} s"),
        );
        err.retry_after = Some(secs.max(1));
        err
    })
}

/// Whole seconds, rounded up.
fn seconds(wait: std::time::Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_429_with_retry_after_per_operator() {
        let config = ServerConfig {
            operator_rate_per_minute: 6,
            operator_burst: 2,
            ..ServerConfig::default()
        };
        let limits = Limits::from_config(&config);
        limits.operator("alice").unwrap();
        limits.operator("alice").unwrap();
        let err = limits.operator("alice").unwrap_err();
        assert_eq!(err.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!((1..=10).contains(&err.retry_after.unwrap()));
        // Another operator has a bucket of their own.
        limits.operator("bob").unwrap();
    }

    #[test]
    fn an_agent_token_has_a_byte_budget_a_minute() {
        let config = ServerConfig {
            agent_bytes_per_minute: 10_000,
            ..ServerConfig::default()
        };
        let limits = Limits::from_config(&config);
        limits.agent_bytes("fleet", 6_000).unwrap();
        let err = limits.agent_bytes("fleet", 6_000).unwrap_err();
        assert_eq!(err.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!((1..=60).contains(&err.retry_after.unwrap()));
        assert!(err.problem.detail.contains("agent_bytes_per_minute"));
        limits.agent_bytes("other-fleet", 6_000).unwrap();
    }
}
