//! Exports: the study's pseudonymous raw data (exactly the files `layer2 analyze` reads), the cohort summary
//! and a codebook, as CSV, JSON or an Excel workbook.
//!
//! What leaves the platform: a per-study keyed hash instead of any employee id, no emails, no free text
//! unless an admin asks for descriptions (audited), function and tenure generalised where a combination
//! would single out fewer than k people, and summary metrics only for groups the confidentiality rule shows.
pub mod codebook;
pub mod write;

use crate::audit::{self, Actor};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::reports::compute::{Computed, compute};
use crate::state::AppState;
use crate::stats::input::Totals;
use crate::stats::profile::{Metric, OVERALL, Profile};
use crate::study::StudyId;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Serialize;
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap};

/// What a generalised function or tenure reads in an export.
pub const SUPPRESSED: &str = "suppressed";

/// The export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One CSV file per table.
    Csv,
    /// One JSON document.
    Json,
    /// One workbook, a sheet per table.
    Xlsx,
}

impl Format {
    /// Parses `csv`, `json` or `xlsx`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "csv" => Some(Self::Csv),
            "json" => Some(Self::Json),
            "xlsx" => Some(Self::Xlsx),
            _ => None,
        }
    }
}

/// A participant row of `participants.csv`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ParticipantOut {
    /// Pseudonymous id.
    pub id: String,
    /// Cohort.
    pub cohort: String,
    /// Function (or `suppressed`).
    pub function: String,
    /// Tenure band (or `suppressed`).
    pub tenure: String,
    /// Gross AI hours per month from the vendor's analytics.
    pub gross_hours_month: f64,
}

/// A diary task.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DiaryOut {
    /// Pseudonymous participant id.
    pub participant_id: String,
    /// When it was logged (UTC).
    pub logged_at: String,
    /// all / most / some / none.
    pub outcome: String,
    /// Task category.
    pub category: String,
    /// Minutes with AI.
    pub minutes_with_ai: i64,
    /// The participant's estimate without AI.
    pub minutes_without_ai: i64,
    /// Free text, only in an admin's export with descriptions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A delivered ping.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PingOut {
    /// Pseudonymous participant id.
    pub participant_id: String,
    /// When its email was sent (UTC).
    pub sent_at: String,
    /// When it was answered, if it was.
    pub answered_at: Option<String>,
    /// 1 used the copilot, 0 did not or was not working, empty unanswered.
    pub used_copilot: Option<u8>,
    /// Verification minutes (answers with use only).
    pub verification_min: Option<i64>,
    /// Correction minutes.
    pub correction_min: Option<i64>,
    /// Context-reconstruction minutes.
    pub context_min: Option<i64>,
    /// Trust-calibration minutes.
    pub trust_min: Option<i64>,
    /// The answer deadline.
    pub expires_at: String,
}

/// A control-group task (Instrument C).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ControlOut {
    /// Pseudonymous id of the control participant.
    pub participant_id: String,
    /// When it was logged (UTC).
    pub logged_at: String,
    /// Task category.
    pub category: String,
    /// Minutes without AI.
    pub minutes: i64,
    /// Free text, only with descriptions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One metric of one group in the summary.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SummaryOut {
    /// cohort, overall, function or tenure.
    pub group: String,
    /// The group's name.
    pub name: String,
    /// Participants.
    pub n: usize,
    /// Metric key (as `layer2 analyze --json`).
    pub metric: String,
    /// Estimate, standard error, degrees of freedom and interval; empty when hidden or not enough data.
    pub estimate: Option<f64>,
    pub se: Option<f64>,
    pub df: Option<f64>,
    pub ci_lower: Option<f64>,
    pub ci_upper: Option<f64>,
    /// Hidden by the confidentiality rule.
    pub suppressed: bool,
}

/// The study an export describes.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StudyOut {
    /// Study id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Vendor, product and model version (the wave's tags).
    pub vendor: String,
    pub product: String,
    pub model_version: String,
    /// Answer window of a ping in minutes (`expires_at` carries each ping's own deadline).
    pub window_minutes: i64,
    /// Minimum cell size applied.
    pub min_cell_size: usize,
    /// When the export was made.
    pub exported_at: String,
    /// Whether free-text descriptions are included.
    pub descriptions: bool,
    /// Participants erased at their request before this export (none of their data is in it).
    pub erased_participants: i64,
}

/// Everything one export holds.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ExportData {
    /// The study.
    pub study: StudyOut,
    /// participants.csv
    pub participants: Vec<ParticipantOut>,
    /// diary.csv
    pub diary: Vec<DiaryOut>,
    /// pings.csv
    pub pings: Vec<PingOut>,
    /// population.csv: (cohort, roster size).
    pub population: Vec<(String, i64)>,
    /// control.csv
    pub control: Vec<ControlOut>,
    /// summary.csv
    pub summary: Vec<SummaryOut>,
}

fn utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A stored UTC timestamp (`2027-02-01T09:30:00+00:00`, maybe with a fraction) as an export writes it:
/// whole seconds with `Z`. Text in, text out: half a million rows need no date parsing. Truncating both an
/// answer and its deadline keeps their order, so a round trip counts the same answers in time.
fn stored_utc(s: &str) -> String {
    let base = s.get(..19).unwrap_or(s);
    match (base.get(..10), base.get(11..)) {
        (Some(day), Some(time)) => format!("{day}T{time}Z"),
        _ => format!("{base}Z"),
    }
}

/// The study's export key, created on first use.
async fn key(state: &AppState, study: StudyId) -> Result<Vec<u8>> {
    let mut tx = begin_write(&state.pool).await?;
    let existing: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT key FROM export_keys WHERE study_id = ?")
            .bind(study)
            .fetch_optional(&mut *tx)
            .await?;
    let key = match existing {
        Some(k) => k,
        None => {
            let mut k = vec![0u8; 32];
            rand::rng().fill_bytes(&mut k);
            sqlx::query("INSERT INTO export_keys (study_id, key, created_at) VALUES (?, ?, ?)")
                .bind(study)
                .bind(&k)
                .bind(state.clock.now())
                .execute(&mut *tx)
                .await?;
            k
        }
    };
    tx.commit().await?;
    Ok(key)
}

/// The pseudonym of an employee id under a study's key: 16 hex digits of HMAC-SHA-256.
pub fn pseudonym(key: &[u8], employee_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(employee_id.as_bytes());
    crate::auth::token::hex(&mac.finalize().into_bytes()[..8])
}

/// Generalises function and tenure so that no (cohort, function, tenure) combination in the file holds
/// fewer than `k` people: first the tenure of small combinations, then the function of what is still small;
/// if the fully generalised group of a cohort is still under k, the smallest other group of that cohort is
/// generalised into it, until it reaches k (or the whole cohort is generalised). A cohort is never
/// generalised (the estimates need it); a cohort under k is hidden by the summary's rule.
pub fn generalise(rows: &mut [ParticipantOut], k: usize) {
    type Key = (String, String, String);
    let key =
        |r: &ParticipantOut| -> Key { (r.cohort.clone(), r.function.clone(), r.tenure.clone()) };
    let counts = |rows: &[ParticipantOut]| {
        let mut c: HashMap<Key, usize> = HashMap::new();
        for r in rows {
            *c.entry(key(r)).or_default() += 1;
        }
        c
    };
    for pass in 0..2 {
        let c = counts(rows);
        for r in rows.iter_mut() {
            if c[&key(r)] < k {
                if pass == 0 {
                    r.tenure = SUPPRESSED.into();
                } else {
                    r.function = SUPPRESSED.into();
                }
            }
        }
    }
    loop {
        let c = counts(rows);
        // A cohort whose fully generalised group is non-empty but under k, and the smallest other group
        // of that cohort to fold into it (ties by name, so the result is stable).
        let fold = c
            .iter()
            .filter(|((_, f, t), n)| f == SUPPRESSED && t == SUPPRESSED && **n < k)
            .filter_map(|((cohort, _, _), _)| {
                c.iter()
                    .filter(|((co, f, t), _)| co == cohort && !(f == SUPPRESSED && t == SUPPRESSED))
                    .min_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(b.0)))
                    .map(|(k, _)| k.clone())
            })
            .min();
        let Some(target) = fold else {
            break;
        };
        for r in rows.iter_mut().filter(|r| key(r) == target) {
            r.function = SUPPRESSED.into();
            r.tenure = SUPPRESSED.into();
        }
    }
}

fn summary_rows(c: &Computed, k: usize) -> Vec<SummaryOut> {
    let Ok(p) = &c.profile else {
        return vec![];
    };
    let hide = c.hidden(k);
    let mut out = Vec::new();
    let mut push = |group: &str, name: &str, prof: &Profile, hidden: bool| {
        for m in Metric::ALL {
            let e = if hidden { None } else { prof.get(m) };
            out.push(SummaryOut {
                group: group.into(),
                name: name.into(),
                n: prof.n,
                metric: m.key().into(),
                estimate: e.map(|e| e.estimate),
                se: e.map(|e| e.se),
                df: e.map(|e| e.df),
                ci_lower: e.map(|e| e.ci_lower),
                ci_upper: e.map(|e| e.ci_upper),
                suppressed: hidden,
            });
        }
    };
    for (name, prof) in &p.cohorts {
        push("cohort", name, prof, hide.cohort(name));
    }
    push("overall", "overall", &p.overall, hide.cohort(OVERALL));
    for (group, seg, hidden) in [
        ("function", &c.by_function, &hide.functions),
        ("tenure", &c.by_tenure, &hide.tenures),
    ] {
        for (name, prof) in seg.iter().flatten() {
            push(group, name, prof, hidden.contains(name));
        }
    }
    out
}

/// Reads a study's export. The participants are those of the analysis (consented main sample, pilot kept
/// apart), all of them: `layer2 analyze --min-compliance` applies the rule again on the other side.
pub async fn gather(
    state: &AppState,
    study: StudyId,
    descriptions: bool,
    min_compliance: f64,
) -> Result<ExportData> {
    let s = crate::study::service::get(state, study).await?;
    let k = state.config.min_cell_size;
    let key = key(state, study).await?;
    let everyone = crate::reports::study_inputs(state, study, 0.0).await?;
    let ids: HashMap<String, String> = everyone
        .kept
        .iter()
        .map(|t| (t.id.clone(), pseudonym(&key, &t.id)))
        .collect();
    let mut participants: Vec<ParticipantOut> = everyone
        .kept
        .iter()
        .map(|t: &Totals| ParticipantOut {
            id: ids[&t.id].clone(),
            cohort: t.cohort.clone(),
            function: t.function.clone(),
            tenure: t.tenure.clone(),
            gross_hours_month: t.gross_hours,
        })
        .collect();
    generalise(&mut participants, k);
    participants.sort_by(|a, b| a.id.cmp(&b.id));
    let pseud = |e: &str| ids.get(e).cloned();

    type DiaryDb = (String, String, String, String, i64, i64, String);
    let diary_rows: Vec<DiaryDb> = sqlx::query_as(
        "SELECT e.employee_id, d.created_at, d.outcome, d.category, d.minutes_with_ai, d.minutes_without_ai, d.description
         FROM diary_entries d JOIN participants p ON p.id = d.participant JOIN employees e ON e.id = p.employee
         WHERE p.study_id = ? AND p.role = 'main' AND p.arm = 'copilot' AND p.consent = 'accepted'
         ORDER BY d.participant, d.id",
    )
    .bind(study)
    .fetch_all(&state.pool)
    .await?;
    let mut diary: Vec<DiaryOut> = diary_rows
        .into_iter()
        .filter_map(|(e, at, outcome, category, with, without, text)| {
            Some(DiaryOut {
                participant_id: pseud(&e)?,
                logged_at: stored_utc(&at),
                outcome,
                category,
                minutes_with_ai: with,
                minutes_without_ai: without,
                description: descriptions.then_some(text),
            })
        })
        .collect();

    type PingDb = (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        String,
    );
    let ping_rows: Vec<PingDb> = sqlx::query_as(
        "SELECT e.employee_id, g.sent_at, a.answered_at, a.used_copilot, a.verification_min, a.correction_min,
           a.context_min, a.trust_min, g.expires_at
         FROM pings g JOIN participants p ON p.id = g.participant JOIN employees e ON e.id = p.employee
         LEFT JOIN ping_answers a ON a.ping = g.id
         WHERE p.study_id = ? AND p.role = 'main' AND p.arm = 'copilot' AND p.consent = 'accepted'
           AND g.sent_at IS NOT NULL
         ORDER BY g.participant, g.slot",
    )
    .bind(study)
    .fetch_all(&state.pool)
    .await?;
    let mut pings: Vec<PingOut> = ping_rows
        .into_iter()
        .filter_map(|(e, sent, answered, used, v, c, x, t, expires)| {
            let yes = used.as_deref() == Some("yes");
            let minutes = |m: Option<i64>| if yes { m } else { None };
            Some(PingOut {
                participant_id: pseud(&e)?,
                sent_at: stored_utc(&sent),
                answered_at: answered.as_deref().map(stored_utc),
                used_copilot: used.map(|u| u8::from(u == "yes")),
                verification_min: minutes(v),
                correction_min: minutes(c),
                context_min: minutes(x),
                trust_min: minutes(t),
                expires_at: stored_utc(&expires),
            })
        })
        .collect();

    type ControlDb = (String, String, String, i64, String);
    let control_rows: Vec<ControlDb> = sqlx::query_as(
        "SELECT e.employee_id, t.created_at, t.category, t.minutes, t.description
         FROM control_tasks t JOIN participants p ON p.id = t.participant JOIN employees e ON e.id = p.employee
         WHERE p.study_id = ? AND p.arm = 'control' AND p.consent = 'accepted' ORDER BY t.participant, t.id",
    )
    .bind(study)
    .fetch_all(&state.pool)
    .await?;
    let mut control: Vec<ControlOut> = control_rows
        .into_iter()
        .map(|(e, at, category, minutes, text)| ControlOut {
            participant_id: pseudonym(&key, &e),
            logged_at: stored_utc(&at),
            category,
            minutes,
            description: descriptions.then_some(text),
        })
        .collect();

    // Rows in pseudonym order, then time: the database's order follows employee ids, which would tie
    // pseudonyms back to people.
    diary.sort_by(|a, b| (&a.participant_id, &a.logged_at).cmp(&(&b.participant_id, &b.logged_at)));
    pings.sort_by(|a, b| (&a.participant_id, &a.sent_at).cmp(&(&b.participant_id, &b.sent_at)));
    control
        .sort_by(|a, b| (&a.participant_id, &a.logged_at).cmp(&(&b.participant_id, &b.logged_at)));
    let mut population: Vec<(String, i64)> = crate::reports::repo::cohort_sizes(&state.pool, study)
        .await?
        .into_iter()
        .collect();
    population.sort();
    // The summary under the compliance rule, from the same participants (no second query).
    let computed = compute(everyone.with_min_compliance(min_compliance), 0.95, false).await?;
    let window_minutes: i64 =
        sqlx::query_scalar("SELECT expiry_minutes FROM collection_settings WHERE study_id = ?")
            .bind(study)
            .fetch_optional(&state.pool)
            .await?
            .unwrap_or(60);
    Ok(ExportData {
        study: StudyOut {
            id: s.id.0,
            name: s.name.clone(),
            vendor: s.vendor.clone(),
            product: s.product.clone(),
            model_version: s.model_version.clone(),
            window_minutes,
            min_cell_size: k,
            exported_at: utc(state.clock.now()),
            descriptions,
            erased_participants: crate::participants::repo::erased_count(&state.pool, study)
                .await?,
        },
        participants,
        diary,
        pings,
        population,
        control,
        summary: summary_rows(&computed, k),
    })
}

/// The file names of a CSV export, in the order a reader needs them.
pub const CSV_FILES: [&str; 7] = [
    "participants.csv",
    "diary.csv",
    "pings.csv",
    "population.csv",
    "control.csv",
    "summary.csv",
    "codebook.csv",
];

/// Records an export in the audit log: who (the actor), when, what.
pub async fn audit_export(
    state: &AppState,
    actor: &Actor,
    study: StudyId,
    what: &str,
    descriptions: bool,
) -> Result<()> {
    let now = state.clock.now();
    let mut tx = begin_write(&state.pool).await?;
    let detail = if descriptions {
        format!("{what}; free-text descriptions INCLUDED")
    } else {
        format!("{what}; no free text")
    };
    audit::record(&mut tx, now, actor, "export", Some(study.0), &detail).await?;
    tx.commit().await?;
    Ok(())
}

/// A refusal for an unknown file or format name.
pub fn unknown(what: &str) -> AppError {
    AppError::BadRequest(format!(
        "There is no export called {what:?}; choose one of the files listed on the page."
    ))
}

/// Groups summary rows the way `layer2 analyze --json` prints a profile (hidden groups left out).
pub fn summary_json(rows: &[SummaryOut]) -> serde_json::Value {
    let mut cohorts: BTreeMap<String, serde_json::Map<String, serde_json::Value>> = BTreeMap::new();
    let mut overall = serde_json::Map::new();
    for r in rows
        .iter()
        .filter(|r| !r.suppressed && (r.group == "cohort" || r.group == "overall"))
    {
        let target = if r.group == "overall" {
            &mut overall
        } else {
            cohorts.entry(r.name.clone()).or_default()
        };
        target.insert("n".into(), r.n.into());
        let value = match r.estimate {
            Some(e) => serde_json::json!({
                "estimate": e, "se": r.se, "df": r.df, "ci_lower": r.ci_lower, "ci_upper": r.ci_upper
            }),
            None => serde_json::Value::Null,
        };
        target.insert(r.metric.clone(), value);
    }
    serde_json::json!({ "cohorts": cohorts, "overall": overall })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_times_are_written_in_whole_seconds_with_z() {
        assert_eq!(
            stored_utc("2027-02-01T09:30:00+00:00"),
            "2027-02-01T09:30:00Z"
        );
        assert_eq!(
            stored_utc("2027-02-01T09:30:00.987654+00:00"),
            "2027-02-01T09:30:00Z"
        );
        assert_eq!(stored_utc("2027-02-01 09:30:00"), "2027-02-01T09:30:00Z");
    }

    #[test]
    fn pseudonyms_are_stable_under_a_key_and_unrelated_across_keys() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        assert_eq!(pseudonym(&a, "E00001"), pseudonym(&a, "E00001"));
        assert_ne!(pseudonym(&a, "E00001"), pseudonym(&a, "E00002"));
        assert_ne!(pseudonym(&a, "E00001"), pseudonym(&b, "E00001"));
        let p = pseudonym(&a, "E00001");
        assert!(p.len() == 16 && p.bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(!p.contains("E00001"));
    }

    #[test]
    fn small_combinations_lose_tenure_first_then_function() {
        let row = |f: &str, t: &str| ParticipantOut {
            id: String::new(),
            cohort: "heavy".into(),
            function: f.into(),
            tenure: t.into(),
            gross_hours_month: 1.0,
        };
        let mut rows: Vec<ParticipantOut> = std::iter::repeat_n(row("Sales", "1–3 y"), 7)
            .chain(std::iter::repeat_n(row("Sales", "3–5 y"), 2))
            .chain(std::iter::repeat_n(row("Sales", "5+ y"), 3))
            .chain(std::iter::once(row("Legal", "1–3 y")))
            .collect();
        generalise(&mut rows, 5);
        let count = |f: &str, t: &str| {
            rows.iter()
                .filter(|r| r.function == f && r.tenure == t)
                .count()
        };
        assert_eq!(count("Sales", "1–3 y"), 7, "a big group keeps its detail");
        // 2 + 3 Sales lose their tenure together (5); the lone lawyer loses both and would be alone in
        // that group, so the smallest other group (those five Sales) is folded in with them.
        assert_eq!(count("Sales", SUPPRESSED), 0);
        assert_eq!(count(SUPPRESSED, SUPPRESSED), 6);
        let mut groups: HashMap<(String, String), usize> = HashMap::new();
        for r in &rows {
            *groups
                .entry((r.function.clone(), r.tenure.clone()))
                .or_default() += 1;
        }
        assert!(groups.values().all(|&n| n >= 5), "{groups:?}");
        // A cohort smaller than k ends fully generalised, and the loop ends.
        let mut tiny = vec![row("Sales", "1–3 y"), row("HR", "5+ y")];
        generalise(&mut tiny, 5);
        assert!(
            tiny.iter()
                .all(|r| r.function == SUPPRESSED && r.tenure == SUPPRESSED)
        );
    }
}
