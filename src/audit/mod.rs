//! The append-only audit log: who did what, when.
//!
//! Each entry is written in the same transaction as the change it records. An entry about a participant
//! stores their row id (nothing personal); the log names them as the collection page does (their employee
//! id) while they exist, and as "an erased participant" once they are erased, so the log never ties an
//! erasure, or anything before it, to a person.
mod repo;

pub use repo::{AuditFilter, AuditRow, actions, count, record};

use crate::auth::UserId;

/// Who acted: a staff member, or the command line / system.
#[derive(Clone, Debug)]
pub struct Actor {
    /// The staff account, when there is one.
    pub user_id: Option<UserId>,
    /// What the log shows as "who" (an email for staff, `cli` or `system` otherwise).
    pub label: String,
}

impl Actor {
    /// A staff member.
    pub fn staff(user_id: UserId, email: &str) -> Self {
        Self {
            user_id: Some(user_id),
            label: email.to_string(),
        }
    }
    /// The command line (whoever runs it on the server).
    pub fn cli() -> Self {
        Self {
            user_id: None,
            label: "cli".into(),
        }
    }
    /// The server itself (demo seeding, scheduled jobs).
    pub fn system() -> Self {
        Self {
            user_id: None,
            label: "system".into(),
        }
    }
}

/// A request path as the audit log keeps it: a participant's row id in it (`/participants/418/remove`)
/// becomes `…`, so that a refused request never ties a row id to a time (row ids follow employee ids, and
/// an erasure must leave nothing that places the person).
pub fn path_without_ids(path: &str) -> String {
    let mut out = Vec::new();
    let mut after_participants = false;
    for segment in path.split('/') {
        if after_participants && !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit())
        {
            out.push("…");
        } else {
            out.push(segment);
        }
        after_participants = segment == "participants";
    }
    out.join("/")
}

/// Where an entry's detail names a participant by row id ("participant 418", "participant #418"): the
/// byte range of the whole mention and the id.
pub fn participant_mention(detail: &str) -> Option<(std::ops::Range<usize>, i64)> {
    let mut from = 0;
    while let Some(at) = detail[from..].find("participant ") {
        let start = from + at;
        let mut end = start + "participant ".len();
        if detail[end..].starts_with('#') {
            end += 1;
        }
        let digits = detail[end..].bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0
            && let Ok(id) = detail[end..end + digits].parse()
        {
            return Some((start..end + digits, id));
        }
        from = start + 1;
    }
    None
}

/// An entry as the log shows it: its detail with the participant it names, if any, as a link.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The stored entry.
    pub row: AuditRow,
    /// The detail before the participant's name (all of it when it names nobody).
    pub before: String,
    /// The participant's employee id and their row on the collection page; `None` for nobody or for
    /// someone erased (then `before`/`after` say so).
    pub person: Option<(String, String)>,
    /// The detail after the name.
    pub after: String,
}

impl Entry {
    /// The detail in words, as in the CSV.
    pub fn detail(&self) -> String {
        let name = self.person.as_ref().map_or("", |(n, _)| n.as_str());
        format!("{}{name}{}", self.before, self.after)
    }
}

fn entry(row: AuditRow, names: &std::collections::HashMap<i64, repo::ParticipantName>) -> Entry {
    // Entries written before paths were stored without ids are shown without them too.
    let mut row = row;
    if row.detail.contains("/participants/") {
        row.detail = path_without_ids(&row.detail);
    }
    let Some((range, id)) = participant_mention(&row.detail) else {
        let before = row.detail.clone();
        return Entry {
            row,
            before,
            person: None,
            after: String::new(),
        };
    };
    // The row id belongs to this person only if they are of the entry's study and were invited by then;
    // a row id of an erased person may since have gone to someone else.
    let found = names
        .get(&id)
        .filter(|p| Some(p.study_id) == row.study_id && p.invited_at <= row.at);
    let (head, tail) = (&row.detail[..range.start], &row.detail[range.end..]);
    match found {
        Some(p) => Entry {
            before: format!("{head}participant "),
            person: Some((
                p.employee_id.clone(),
                format!(
                    "/studies/{}/collection?q={}&at={}#p-{}",
                    p.study_id,
                    p.employee_id
                        .bytes()
                        .map(|b| if b.is_ascii_alphanumeric() {
                            (b as char).to_string()
                        } else {
                            format!("%{b:02X}")
                        })
                        .collect::<String>(),
                    p.id,
                    p.id
                ),
            )),
            after: tail.to_string(),
            row,
        },
        None if head.is_empty() && tail.starts_with(" erased") => Entry {
            before: format!("a participant was{tail}"),
            person: None,
            after: String::new(),
            row,
        },
        None => Entry {
            before: format!("{head}an erased participant{tail}"),
            person: None,
            after: String::new(),
            row,
        },
    }
}

/// Names the participants of a page of entries (one query for the page).
pub async fn named(pool: &sqlx::SqlitePool, rows: Vec<AuditRow>) -> sqlx::Result<Vec<Entry>> {
    let ids: Vec<i64> = rows
        .iter()
        .filter_map(|r| participant_mention(&r.detail).map(|(_, id)| id))
        .collect();
    let names = if ids.is_empty() {
        Default::default()
    } else {
        repo::participant_names(pool, &ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect()
    };
    Ok(rows.into_iter().map(|r| entry(r, &names)).collect())
}

/// The filtered log older than entry `before` (newest first), `limit` entries after skipping `offset`,
/// with its participants named (a page skips; the CSV reads on from its last entry).
pub async fn entries(
    pool: &sqlx::SqlitePool,
    f: &AuditFilter,
    before: i64,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<Entry>> {
    named(pool, repo::rows(pool, f, before, limit, offset).await?).await
}

/// Entries the CSV reads per query.
const CSV_BATCH: i64 = 1000;

/// The filtered log as CSV, newest first, participants named as on the page; the download is recorded.
#[tracing::instrument(skip_all)]
pub async fn export_csv(
    state: &crate::state::AppState,
    actor: &Actor,
    f: &AuditFilter,
) -> crate::error::Result<Vec<u8>> {
    use crate::export::write::{Cell, Table, csv};
    let mut rows = vec![];
    let mut before = i64::MAX;
    loop {
        let batch = entries(&state.pool, f, before, CSV_BATCH, 0).await?;
        let Some(last) = batch.last() else { break };
        before = last.row.id;
        let full = batch.len() as i64 == CSV_BATCH;
        rows.extend(batch.into_iter().map(|e| {
            vec![
                Cell::Text(e.row.at.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
                Cell::Text(e.row.actor.clone()),
                Cell::Text(e.row.action.clone()),
                e.row.study_id.map_or(Cell::Empty, Cell::Int),
                Cell::Text(e.row.study_name.clone().unwrap_or_default()),
                Cell::Text(e.detail()),
            ]
        }));
        if !full {
            break;
        }
    }
    let n = rows.len();
    let bytes = csv(&Table {
        name: "audit-log.csv",
        header: vec!["at", "actor", "action", "study_id", "study", "detail"],
        rows,
    });
    let mut tx = crate::db::begin_write(&state.pool).await?;
    record(
        &mut tx,
        state.clock.now(),
        actor,
        "audit.export",
        f.study,
        &format!("downloaded {n} audit entries as CSV"),
    )
    .await?;
    tx.commit().await?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_refused_path_keeps_no_participant_row_id() {
        assert_eq!(
            path_without_ids("GET /studies/3/participants/411/remove: the role does not allow it"),
            "GET /studies/3/participants/…/remove: the role does not allow it"
        );
        assert_eq!(path_without_ids("/studies/3/report"), "/studies/3/report");
        // Old entries are shown without the id too, and name nobody.
        let e = entry(
            row(
                3,
                "POST /studies/3/participants/411/erase: the role does not allow it (answered 403)",
            ),
            &Default::default(),
        );
        assert!(
            !e.detail().contains("411") && e.person.is_none(),
            "{}",
            e.detail()
        );
    }

    fn row(study: i64, detail: &str) -> AuditRow {
        AuditRow {
            id: 1,
            at: chrono::Utc.with_ymd_and_hms(2027, 2, 1, 9, 0, 0).unwrap(),
            actor: "ada@example.org".into(),
            action: "participant.nudge".into(),
            study_id: Some(study),
            study_name: None,
            detail: detail.into(),
        }
    }

    #[test]
    fn a_participant_is_named_by_employee_id_and_an_erased_one_is_not_named_at_all() {
        assert_eq!(
            participant_mention("participant #418 erased: 1 diary entries"),
            Some((0..16, 418))
        );
        assert_eq!(
            participant_mention("nudged participant 7").map(|m| m.1),
            Some(7)
        );
        assert_eq!(participant_mention("3 participants invited"), None);
        let alive = repo::ParticipantName {
            id: 7,
            study_id: 2,
            employee_id: "E00007".into(),
            invited_at: chrono::Utc.with_ymd_and_hms(2027, 1, 5, 9, 0, 0).unwrap(),
        };
        let names = [(7, alive.clone())].into_iter().collect();
        let e = entry(row(2, "nudged participant 7"), &names);
        assert_eq!(e.detail(), "nudged participant E00007");
        assert!(e.person.unwrap().1.ends_with("#p-7"));
        // Another study's participant 7, or one invited after the entry (a reused row id): not them.
        assert_eq!(
            entry(row(3, "nudged participant 7"), &names).detail(),
            "nudged an erased participant"
        );
        let later = repo::ParticipantName {
            invited_at: chrono::Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap(),
            ..alive
        };
        let names = [(7, later)].into_iter().collect();
        assert_eq!(
            entry(row(2, "participant #7 erased: 2 pings"), &names).detail(),
            "a participant was erased: 2 pings"
        );
    }
}
