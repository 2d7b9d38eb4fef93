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
        Limits {
            operators: RateLimiter::keyed(operators),
            agents: RateLimiter::keyed(agents),
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
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut err = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            format!("{who} sent too many {what}: retry in {secs} s"),
        );
        err.retry_after = Some(secs.max(1));
        err
    })
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
}
