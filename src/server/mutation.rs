//! The one way a request changes anything: rate limit, idempotency key, parse the body, run the
//! command (which records its answer under the key, in the store), answer or replay.

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::idempotency::{self, Begin};
use super::problem::ApiError;
use super::state::AppState;
use crate::model::EntityKind;
use crate::protocol::{
    Actor, Command, Executed, IDEMPOTENCY_KEY, IdempotencyKey, KEY_REUSED, Request, answer_body,
    fill_path,
};

/// Who is asking, for limits and key scopes.
pub enum Who<'a> {
    Operator(&'a str),
    Agent(&'a str),
}

impl Who<'_> {
    /// Whose idempotency keys these are: operators' and agent tokens' never meet.
    fn key_scope(&self) -> String {
        match self {
            Who::Operator(name) => format!("operator:{name}"),
            Who::Agent(token) => format!("token:{token}"),
        }
    }
}

/// Runs `act` with the request's idempotency key (the engine runs the command at most once per
/// key) and answers its result: a fresh outcome, or the first answer replayed.
pub async fn mutate<F, Fut>(
    state: &Arc<AppState>,
    who: Who<'_>,
    headers: &HeaderMap,
    route: &str,
    body: &Result<Bytes, BytesRejection>,
    act: F,
) -> Response
where
    F: FnOnce(Bytes, Option<IdempotencyKey>) -> Fut,
    Fut: Future<Output = Result<(StatusCode, Executed), ApiError>>,
{
    match mutate_inner(state, who, headers, route, body, act).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn mutate_inner<F, Fut>(
    state: &Arc<AppState>,
    who: Who<'_>,
    headers: &HeaderMap,
    route: &str,
    body: &Result<Bytes, BytesRejection>,
    act: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(Bytes, Option<IdempotencyKey>) -> Fut,
    Fut: Future<Output = Result<(StatusCode, Executed), ApiError>>,
{
    let key_required = match who {
        Who::Operator(name) => {
            state.limits.operator(name)?;
            true
        }
        Who::Agent(name) => {
            state.limits.agent(name)?;
            false
        }
    };
    let body = match body {
        Ok(body) => body.clone(),
        Err(rejection) => return Err(body_rejection(rejection)),
    };
    if let Who::Agent(name) = who {
        // Agents' bodies become records: a byte budget per token bounds how fast one token
        // can grow the store.
        state.limits.agent_bytes(name, body.len())?;
    }
    json_content_type(headers)?;
    let key = match headers.get(IDEMPOTENCY_KEY) {
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .filter(|k| idempotency::valid_key(k))
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "Idempotency-Key must be 1-255 printable ASCII characters (a UUID is ideal)",
                    )
                })?,
        ),
        None if key_required => {
            return Err(ApiError::bad_request(
                "every mutation needs an Idempotency-Key header (a fresh UUID per action; resend the same one to retry)",
            ));
        }
        None => None,
    };
    let scope = who.key_scope();
    let mut idempotency = None;
    let _ticket = match key {
        None => None,
        Some(key) => {
            let fingerprint = idempotency::fingerprint(route, &body);
            let ticket = match state.idempotency.begin(&scope, key, &fingerprint) {
                Begin::Fresh(ticket) => ticket,
                Begin::Mismatch => return Err(ApiError::unprocessable(KEY_REUSED)),
                Begin::InFlight => {
                    let mut err = ApiError::new(
                        StatusCode::CONFLICT,
                        "in-progress",
                        "a request with this Idempotency-Key is still in progress; retry in a moment",
                    );
                    err.retry_after = Some(1);
                    return Err(err);
                }
            };
            idempotency = Some(IdempotencyKey {
                caller: scope,
                key: key.to_string(),
                fingerprint,
            });
            Some(ticket)
        }
    };
    Ok(match act(body, idempotency).await? {
        (status, Executed::Fresh(outcome)) => {
            json_answer(status, answer_body(&outcome).into_bytes())
        }
        (_, Executed::Replayed(recorded)) => {
            let status = StatusCode::from_u16(recorded.status).unwrap_or(StatusCode::OK);
            let mut response = json_answer(status, recorded.body.into_bytes());
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            response
        }
    })
}

fn json_answer(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn json_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get(header::CONTENT_TYPE).map(|v| v.to_str()) {
        None => Ok(()),
        Some(Ok(ct)) if ct.trim().starts_with("application/json") => Ok(()),
        Some(_) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "send the body as JSON with Content-Type: application/json",
        )),
    }
}

pub fn body_rejection(rejection: &BytesRejection) -> ApiError {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            status,
            "too-large",
            "the request body is larger than the server accepts ([server] max_body_bytes)",
        );
    }
    ApiError::new(status, "bad-body", rejection.body_text())
}

/// Parses a JSON body: malformed JSON is a 400, well-formed JSON of the wrong shape a 422, both
/// saying where.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        // serde_json's message says where: "... at line 1 column 54".
        let detail = crate::text::SafeText::new(&e.to_string())
            .as_str()
            .to_string();
        match e.classify() {
            serde_json::error::Category::Data => ApiError::unprocessable(detail),
            _ => ApiError::bad_request(format!("malformed JSON: {detail}")),
        }
    })
}

/// Runs a command, at most once per key when it has one; a conflict answers with the thing as
/// it is now.
pub async fn execute(
    state: &Arc<AppState>,
    actor: Actor,
    command: Command,
    key: Option<IdempotencyKey>,
    about: Option<(EntityKind, String)>,
) -> Result<Executed, ApiError> {
    let executed = match key {
        Some(key) => state.orchestrator.execute_once(actor, command, key).await,
        None => state
            .orchestrator
            .execute(actor, command)
            .await
            .map(Executed::Fresh),
    };
    match executed {
        Ok(executed) => Ok(executed),
        Err(e) => {
            let mut err = ApiError::from(e);
            if err.status() == StatusCode::CONFLICT
                && let Some((entity, id)) = about
            {
                err.problem.current = state.orchestrator.current(entity, &id).await.ok().flatten();
                if err.problem.current_version.is_none() {
                    err.problem.current_version = err
                        .problem
                        .current
                        .as_ref()
                        .and_then(|c| c.get("version"))
                        .and_then(|v| v.as_u64());
                }
            }
            Err(err)
        }
    }
}

/// The one way an HTTP request becomes a command: parse the body as the command's own struct,
/// take the path's parameter, and run it as the actor `actor` names, at most once per key.
pub async fn command_route<T: Request>(
    state: &Arc<AppState>,
    who: Who<'_>,
    headers: &HeaderMap,
    segment: Option<&str>,
    body: &Result<Bytes, BytesRejection>,
    actor: impl FnOnce(&T) -> Actor,
) -> Response {
    let route = format!("POST {}", fill_path(T::PATH, segment.unwrap_or_default()));
    mutate(state, who, headers, &route, body, |body, key| async move {
        let mut request: T = parse(&body)?;
        if let Some(segment) = segment {
            request.set_path(segment).map_err(ApiError::bad_request)?;
        }
        let actor = actor(&request);
        let command: Command = request.into();
        if let Err(too_long) = command.check_lengths() {
            let mut err = ApiError::unprocessable(too_long.to_string());
            err.problem.field = Some(too_long.field);
            return Err(err);
        }
        if let Some((kind, _, None)) = command.versioned() {
            return Err(ApiError::unprocessable(format!(
                "missing field `version`: send the {} version you saw, so a change you have not seen is a conflict",
                kind.noun()
            )));
        }
        let status = StatusCode::from_u16(command.success_status()).unwrap_or(StatusCode::OK);
        let about = command.target().map(|(kind, id)| (kind, id.to_string()));
        Ok((status, execute(state, actor, command, key, about).await?))
    })
    .await
}
