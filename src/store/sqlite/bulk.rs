//! Bulk appends (imports) in SQLite: each prepared, chained record is one row of the trail, its
//! tasks and, while indexing inline, its text, through statements prepared once.

use rusqlite::{Connection, params};

use crate::store::Prepared;
use crate::store::bulk::Part;
use crate::store::chain::{Hex, hex_str};

/// Statements a bulk append reuses for every record.
pub struct Appender<'c> {
    audit: rusqlite::CachedStatement<'c>,
    tasks: rusqlite::CachedStatement<'c>,
    text: Option<rusqlite::CachedStatement<'c>>,
}

impl<'c> Appender<'c> {
    pub fn new(conn: &'c Connection, index_text: bool) -> rusqlite::Result<Appender<'c>> {
        Ok(Appender {
            audit: conn.prepare_cached(super::write::INSERT_AUDIT)?,
            tasks: conn.prepare_cached(super::write::INSERT_TASK)?,
            text: if index_text {
                Some(conn.prepare_cached(super::write::INSERT_TEXT)?)
            } else {
                None
            },
        })
    }

    /// Appends `p` at `seq` after the record whose hash is `prev`, with its hash `hash`.
    pub fn append(
        &mut self,
        p: &Prepared,
        seq: u64,
        prev: &Hex,
        hash: &Hex,
    ) -> rusqlite::Result<()> {
        self.audit.execute(params![
            seq as i64,
            p.part(Part::Id),
            p.part(Part::Ts),
            p.part(Part::Agent),
            p.action_type,
            p.part(Part::Domain),
            p.classification,
            p.retention,
            p.part(Part::Body),
            hex_str(&p.body_sha),
            hex_str(prev),
            hex_str(hash),
        ])?;
        for task in p.tasks() {
            self.tasks.execute(params![task, seq as i64])?;
        }
        if let Some(text) = &mut self.text {
            text.execute(params![
                seq as i64,
                p.part(Part::Summary),
                p.part(Part::DetailsText),
                p.part(Part::Agent)
            ])?;
        }
        Ok(())
    }
}

/// The first record holding `p`'s id: its seq, and whether it is the same record (every
/// field the chain covers but its place: times, actor, type, domain, classes, body digest).
pub fn find_id(conn: &Connection, p: &Prepared) -> rusqlite::Result<Option<(u64, bool)>> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached(
        "SELECT seq, ts, agent_id, action_type, domain, classification, retention, body_sha256
         FROM audit INDEXED BY audit_id WHERE id = ?1 ORDER BY seq LIMIT 1",
    )?
    .query_row([p.part(Part::Id)], |r| {
        let same = r.get_ref(1)?.as_str()? == p.part(Part::Ts)
            && r.get_ref(2)?.as_str()? == p.part(Part::Agent)
            && r.get_ref(3)?.as_str()? == p.action_type
            && r.get_ref(4)?.as_str()? == p.part(Part::Domain)
            && r.get_ref(5)?.as_str()? == p.classification
            && r.get_ref(6)?.as_str()? == p.retention
            && r.get_ref(7)?.as_str()? == hex_str(&p.body_sha);
        Ok((r.get::<_, i64>(0)? as u64, same))
    })
    .optional()
}
