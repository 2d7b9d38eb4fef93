//! Listings and single items, read from the store by index (history included): what the
//! snapshot no longer carries once an item closed and left the live set.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde_json::Value;

use super::auth::Operator;
use super::problem::ApiError;
use super::state::AppState;
use crate::protocol::{ItemParams, Problem};
use crate::query::{ItemKind, Listing};

fn kind(name: &str) -> Result<ItemKind, ApiError> {
    ItemKind::parse(name).map_err(ApiError::not_found)
}

/// Items of one kind (agents, queues, tasks, incidents, approvals, rollouts), newest first.
#[utoipa::path(get, path = "/v1/items/{kind}", params(("kind" = String, Path, description = "agents, queues, tasks, incidents, approvals or rollouts"), ItemParams), responses((status = 200, description = "the items, newest first (agents and queues by name)", body = [Object]), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, description = "an agent token", body = Problem), (status = 404, description = "no such kind", body = Problem)))]
pub async fn items(
    State(state): State<Arc<AppState>>,
    _operator: Operator,
    Path(name): Path<String>,
    params: Result<Query<ItemParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let kind = kind(&name)?;
    let Query(p) = params
        .map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))?;
    let listing = Listing::new(
        kind,
        p.state.as_deref(),
        p.since.as_deref(),
        p.domain.as_deref(),
        p.limit,
        state.orchestrator.now(),
    )
    .map_err(ApiError::bad_request)?;
    Ok(Json(state.orchestrator.list_json(listing).await?))
}

/// One item by id, wherever it is in its life.
#[utoipa::path(get, path = "/v1/items/{kind}/{id}", params(("kind" = String, Path, description = "agents, queues, tasks, incidents, approvals or rollouts"), ("id" = String, Path, description = "T-…, INC-…, APR-…, RO-…, an agent's id or a queue's name")), responses((status = 200, body = Object), (status = 401, body = Problem), (status = 403, description = "an agent token", body = Problem), (status = 404, body = Problem)))]
pub async fn item(
    State(state): State<Arc<AppState>>,
    _operator: Operator,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let kind = kind(&name)?;
    let found = state.orchestrator.item_json(kind, &id).await?;
    found.map(Json).ok_or_else(|| {
        let id: String = id.chars().take(80).collect();
        ApiError::not_found(format!(
            "no {} {:?} in this store",
            kind.as_str().trim_end_matches('s'),
            crate::text::SafeText::new(&id).as_str()
        ))
    })
}
