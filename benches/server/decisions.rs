//! The decisions the bench posts: notes on an incident of its own, escalations raised as an
//! agent, and their approvals.

use serde_json::json;

use crate::BenchResult;
use crate::api::{Api, Posted};

/// Every note's event carries its whole incident, timeline included: a fresh incident every so
/// many notes keeps events the size a real incident's are.
pub const NOTES_PER_INCIDENT: u32 = 20;

/// The incident the bench writes notes on; renewed every `NOTES_PER_INCIDENT` notes.
pub struct Notepad {
    id: String,
    version: u64,
    notes: u32,
}

pub async fn open_notepad(api: &Api) -> BenchResult<Notepad> {
    let declared = api
        .post(
            "/v1/incidents",
            &json!({"severity": "SEV4", "title": "bench: notes", "domain": "platform"}),
        )
        .await?;
    let id = declared.body["reply"]["value"]["id"]
        .as_str()
        .ok_or_else(|| format!("declaring an incident answered {}", declared.body))?
        .to_string();
    let version = incident_version(api, &id).await?;
    Ok(Notepad {
        id,
        version,
        notes: 0,
    })
}

async fn incident_version(api: &Api, id: &str) -> BenchResult<u64> {
    let snapshot = api.get("/v1/snapshot").await?;
    snapshot["incidents"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["id"] == id)
        .and_then(|i| i["version"].as_u64())
        .ok_or_else(|| format!("incident {id} is not in the snapshot"))
}

/// Posts one note; a conflict (something else touched the incident) is retried once at the
/// version the server reports.
pub async fn note(api: &Api, pad: &mut Notepad) -> BenchResult<Posted> {
    if pad.notes >= NOTES_PER_INCIDENT {
        *pad = open_notepad(api).await?;
    }
    let path = format!("/v1/incidents/{}/actions", pad.id);
    for _ in 0..2 {
        let body =
            json!({"action": "note", "note": "bench: still looking", "version": pad.version});
        let posted = api.post(&path, &body).await?;
        match posted.status {
            200 => {
                pad.notes += 1;
                pad.version = posted.body["reply"]["value"]["version"]
                    .as_u64()
                    .unwrap_or(pad.version + 1);
                return Ok(posted);
            }
            409 => {
                pad.version = posted.body["current_version"]
                    .as_u64()
                    .unwrap_or(pad.version)
            }
            status => return Err(format!("a note answered {status}: {}", posted.body)),
        }
    }
    Err(format!("notes on {} keep conflicting", pad.id))
}

pub fn event_seq(posted: &Posted) -> BenchResult<u64> {
    posted.body["event_seq"]
        .as_u64()
        .ok_or_else(|| format!("no event_seq in {}", posted.body))
}

/// Pending approvals (id, version), oldest last so `pop` takes the newest, least likely to
/// expire mid-request.
pub async fn pending_approvals(api: &Api) -> BenchResult<Vec<(String, u64)>> {
    let snapshot = api.get("/v1/snapshot").await?;
    let pending = snapshot["approvals"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["state"] == "pending")
        .filter_map(|a| Some((a["id"].as_str()?.to_string(), a["version"].as_u64()?)))
        .collect();
    Ok(pending)
}

/// Raises `count` escalations as one of the demo fleet's agents: resource requests, which an
/// executive decides alone (no quorum).
pub async fn raise_escalations(api: &Api, count: usize) -> BenchResult<()> {
    let snapshot = api.get("/v1/snapshot").await?;
    let agent = snapshot["agents"][0]["id"]
        .as_str()
        .ok_or("the snapshot holds no agent")?
        .to_string();
    for _ in 0..count {
        let body = json!({
            "agent": agent, "category": "resource_request", "summary": "bench: two more workers",
            "context": "the queue is deep", "options_considered": ["wait", "scale"],
            "recommendation": "scale", "classification": "internal"
        });
        let posted = api
            .post_as(&api.agent_token, "/v1/agent/escalations", &body)
            .await?;
        if posted.status != 200 {
            return Err(format!(
                "raising an escalation answered {}: {}",
                posted.status, posted.body
            ));
        }
    }
    Ok(())
}

pub async fn approve(api: &Api, id: &str, version: u64) -> BenchResult<Posted> {
    let body = json!({"decision": "approve", "reason": "bench: within budget", "version": version});
    api.post(&format!("/v1/approvals/{id}/decision"), &body)
        .await
}
