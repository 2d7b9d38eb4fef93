//! Listings and single items read by index, history included.

use rusqlite::Connection;
use rusqlite::types::Value;

use super::entities::{body_of, decode, rows};
use crate::model::audit::millis;
use crate::model::ids::natural_key;
use crate::query::{Item, ItemKind, Listing};

/// The table and key column of a kind.
fn table(kind: ItemKind) -> (&'static str, &'static str) {
    match kind {
        ItemKind::Queues => ("queues", "name"),
        other => (other.as_str(), "id"),
    }
}

/// The items a listing asks for: dated kinds newest first through their `(state, at)` or `at`
/// index, agents and queues all of them in name order.
pub fn list<T: Item>(conn: &Connection, listing: &Listing) -> rusqlite::Result<Vec<T>> {
    let (name, key) = table(T::KIND);
    let mut clauses: Vec<(&str, Value)> = Vec::new();
    if let Some(state) = &listing.state {
        clauses.push(("state", Value::Text(state.clone())));
    }
    if let Some(since) = listing.since {
        clauses.push(("at >", Value::Text(millis::format(&since))));
    }
    if let Some(domain) = listing
        .domain
        .as_ref()
        .filter(|_| T::KIND != ItemKind::Queues)
    {
        clauses.push(("domain", Value::Text(domain.clone())));
    }
    let mut sql = format!("SELECT {key}, {} FROM {name} WHERE 1", body_of(name));
    for (i, (column, _)) in clauses.iter().enumerate() {
        sql.push_str(&format!(" AND {column}= ?{}", i + 1));
    }
    let args = rusqlite::params_from_iter(clauses.into_iter().map(|(_, v)| v));
    if T::KIND.dated() {
        sql.push_str(&format!(
            " ORDER BY at DESC, rowid DESC LIMIT {}",
            listing.limit
        ));
        let found = rows::<T>(conn, name, &sql, args)?;
        return Ok(found.into_iter().map(|(_, item)| item).collect());
    }
    let mut found = rows::<T>(conn, name, &sql, args)?;
    found.sort_by(|a, b| natural_key(&a.0).cmp(&natural_key(&b.0)));
    found.truncate(listing.limit);
    Ok(found.into_iter().map(|(_, item)| item).collect())
}

/// One item by its id (a queue by its name), wherever it is in its life.
pub fn by_id<T: Item>(conn: &Connection, id: &str) -> rusqlite::Result<Option<T>> {
    let (name, key) = table(T::KIND);
    let body: Option<String> = rusqlite::OptionalExtension::optional(
        conn.prepare_cached(&format!(
            "SELECT {} FROM {name} WHERE {key} = ?1",
            body_of(name)
        ))?
        .query_row([id], |r| r.get(0)),
    )?;
    body.map(|b| decode(name, id, &b)).transpose()
}
