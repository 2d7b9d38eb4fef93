//! Errors as RFC 9457 problem documents: a status, a kind, and a detail that says what was
//! wrong and what to do.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::orchestrator::OrchestratorError;
use crate::protocol::{Failure, PROBLEM_BASE, Problem};

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    pub problem: Box<Problem>,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u64>,
    /// For 401 and 403: why, as a short label for the log and the metric.
    pub reason: Option<&'static str>,
}

/// Why a request was refused (401 or 403), attached to the response for the request log.
#[derive(Debug, Clone, Copy)]
pub struct Denial(pub &'static str);

impl ApiError {
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> ApiError {
        ApiError {
            problem: Box::new(Problem {
                kind: format!("{PROBLEM_BASE}{kind}"),
                title: status.canonical_reason().unwrap_or("error").to_string(),
                status: status.as_u16(),
                detail: detail.into(),
                current: None,
                current_version: None,
                column: None,
                field: None,
            }),
            retry_after: None,
            reason: None,
        }
    }

    /// Labels a refusal (401, 403) for the log and the `opsdeck_http_denied_total` metric.
    pub fn because(mut self, reason: &'static str) -> ApiError {
        self.reason = Some(reason);
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    pub fn unprocessable(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", detail)
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<OrchestratorError> for ApiError {
    fn from(e: OrchestratorError) -> ApiError {
        match e {
            OrchestratorError::Engine(e) => refused(e.failure(), e.to_string()),
            OrchestratorError::Query(q) => {
                let mut err =
                    ApiError::new(StatusCode::BAD_REQUEST, "bad-query", format!("q: {q}"));
                err.problem.column = Some(q.column);
                err
            }
            OrchestratorError::Stopped => {
                let mut err = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the orchestrator is stopping; retry shortly",
                );
                err.retry_after = Some(1);
                err
            }
            OrchestratorError::Store(e) => store_unavailable(&e.to_string()),
            OrchestratorError::Halted(why) => store_unavailable(&why),
        }
    }
}

/// A command the engine refused or could not take, by its [`Failure`].
fn refused(failure: Failure, detail: String) -> ApiError {
    match failure {
        Failure::NotFound => ApiError::not_found(detail),
        Failure::Denied => ApiError::forbidden(detail).because("role"),
        Failure::Refused => {
            ApiError::new(StatusCode::FORBIDDEN, "refused", detail).because("refused")
        }
        Failure::Conflict { current_version } => {
            let mut err = ApiError::new(StatusCode::CONFLICT, "conflict", detail);
            err.problem.current_version = current_version;
            err
        }
        Failure::Invalid => ApiError::unprocessable(detail),
        Failure::Unavailable => store_unavailable(&detail),
    }
}

/// The store's own message names files and SQL: it goes to the log, never to the client.
fn store_unavailable(detail: &str) -> ApiError {
    tracing::error!("store: {detail}");
    let mut err = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "store-unavailable",
        "the store could not take the request and nothing was changed; retry shortly (the server's log says why)",
    );
    err.retry_after = Some(5);
    err
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem).unwrap_or_default();
        let mut response = (self.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(reason) = self.reason {
            response.extensions_mut().insert(Denial(reason));
        }
        response
    }
}

/// Unknown routes are problems too.
pub async fn no_route(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!(
        "no route {}: see /openapi.json for the routes",
        crate::text::SafeText::new(uri.path()).as_str()
    ))
}
