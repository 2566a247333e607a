//! Making an export: the study's key, the rows read once and pseudonymised, the summary under the
//! compliance rule, and the audit record of who took what.
use super::pseudonymise::{
    HiddenGroups, Published, Quasi, choose_columns, gross_bands, pseudonym, publish, utc,
};
use super::{ExportData, Member, ParticipantOut, Rows, StudyOut, SummaryOut, repo};
use crate::audit::{self, Actor};
use crate::db::begin_write;
use crate::error::{AppError, Result};
use crate::reports::compute::{Audience, Computed, compute};
use crate::staff::{StudyAccess, StudyRole};
use crate::state::AppState;
use crate::stats::input::{Inputs, Totals};
use crate::stats::oversight::OVERALL;
use crate::stats::profile::{Metric, Profile};
use crate::study::StudyId;
use rand::RngCore;
use std::collections::HashMap;

/// The study's export key, created on first use.
async fn key(state: &AppState, study: StudyId) -> Result<Vec<u8>> {
    let mut tx = begin_write(&state.pool).await?;
    let key = match repo::key(&mut tx, study).await? {
        Some(k) => k,
        None => {
            let mut k = vec![0u8; 32];
            rand::rng().fill_bytes(&mut k);
            repo::insert_key(&mut tx, study, &k, state.clock.now()).await?;
            k
        }
    };
    tx.commit().await?;
    Ok(key)
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
                interval: e.and_then(|e| e.interval),
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

fn quasi(everyone: &Inputs) -> Vec<Quasi> {
    everyone
        .kept
        .iter()
        .map(|t: &Totals| Quasi {
            cohort: t.cohort.clone(),
            function: t.function.clone(),
            tenure: t.tenure.clone(),
        })
        .collect()
}

/// The quasi-identifying columns the raw files carry, from everyone in the analysis (`everyone`: no
/// compliance rule) and the groups the summary hides under the study's rule (`at_rule`).
pub fn raw_columns(everyone: &Inputs, at_rule: &Computed, k: usize) -> Published {
    let hide = at_rule.hidden(k);
    let hidden = HiddenGroups {
        cohorts: hide.cohorts,
        functions: hide.functions,
        tenures: hide.tenures,
        overall: hide.overall,
    };
    choose_columns(&quasi(everyone), &hidden, k)
}

/// Reads a study's export; its summary is for `audience` (with the raw rows: [`Audience::RawFiles`]). The
/// participants are those of the analysis (consented main sample, pilot kept
/// apart), all of them: `layer2 analyze --min-compliance` applies the rule again on the other side.
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn gather(
    state: &AppState,
    study: StudyId,
    descriptions: bool,
    min_compliance: f64,
    audience: Audience,
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
    // The summary under the compliance rule, from the same participants (no second query): the raw file
    // must not rebuild what it hides.
    let computed = compute(
        everyone.with_min_compliance(min_compliance),
        crate::stats::LEVEL,
        false,
    )
    .await?;
    let columns = raw_columns(&everyone, &computed, k);
    let mut computed = computed;
    if audience == Audience::RawFiles {
        computed.withhold(&columns);
    }
    let quasi = quasi(&everyone);
    let hours: Vec<f64> = everyone.kept.iter().map(|t| t.gross_hours).collect();
    let limits = gross_bands(&hours, k);
    let mut participants: Vec<ParticipantOut> = everyone
        .kept
        .iter()
        .zip(&quasi)
        .map(|(t, q)| publish(ids[&t.id].clone(), q, t.gross_hours, &columns, &limits))
        .collect();
    participants.sort_by(|a, b| a.id.cmp(&b.id));
    let members = |list: Vec<repo::Member>, keep: &dyn Fn(&str) -> Option<String>| {
        let mut out: Vec<Member> = list
            .into_iter()
            .filter_map(|m| {
                Some(Member {
                    pseudonym: keep(&m.employee_id)?,
                    participant: m.id,
                    employee_id: m.employee_id,
                })
            })
            .collect();
        // Rows in pseudonym order: the database's order follows employee ids, which would tie
        // pseudonyms back to people.
        out.sort_by(|a, b| a.pseudonym.cmp(&b.pseudonym));
        out
    };
    let rows = Rows {
        main: members(repo::main_sample(&state.pool, study).await?, &|e| {
            ids.get(e).cloned()
        }),
        control: members(repo::control_group(&state.pool, study).await?, &|e| {
            Some(pseudonym(&key, e))
        }),
    };
    let mut population: Vec<(String, i64)> = crate::reports::repo::cohort_sizes(&state.pool, study)
        .await?
        .into_iter()
        .collect();
    population.sort();
    let window_minutes = repo::window_minutes(&state.pool, study)
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
        columns,
        participants,
        rows,
        population,
        summary: summary_rows(&computed, k),
        tco: None,
    })
}

/// Records an export in the audit log: who (the actor), when, what.
#[tracing::instrument(skip_all, fields(study = study.0))]
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

/// Whether the raw files are withheld from this caller: from every non-admin when the rows can't carry the
/// cohort (see [`raw_withheld`]). Admins always get them; aggregate analysts never do anyway.
pub async fn raw_withheld_from(
    state: &AppState,
    study: StudyId,
    access: StudyAccess,
) -> Result<bool> {
    if access == StudyAccess::Admin
        || crate::retention::service::purged(state, study)
            .await?
            .is_some()
    {
        return Ok(false);
    }
    let everyone = crate::reports::study_inputs(state, study, 0.0).await?;
    let at_rule = compute(
        everyone.with_min_compliance(crate::stats::MIN_COMPLIANCE),
        crate::stats::LEVEL,
        false,
    )
    .await?;
    Ok(!raw_columns(&everyone, &at_rule, state.config.min_cell_size).cohort)
}

/// Why a data analyst gets no raw file when the rows can't carry the cohort.
pub fn raw_withheld(k: usize) -> String {
    format!(
        "The raw files are withheld for this study: a cohort has fewer than {k} participants (or the study is too small), so the rows could not carry the cohort, and next to the report's cohort figures they would give it away. The summary and every page stay available; an admin can export the files."
    )
}

/// A file of an export, ready to send.
pub struct Download {
    /// Its content type.
    pub mime: &'static str,
    /// Its bytes.
    pub body: Body,
}

/// A download's bytes: whole (a summary kept from a release or a purge, the workbook), or streamed as they
/// are written (every other file).
pub enum Body {
    /// The whole file.
    Whole(Vec<u8>),
    /// Pieces in order; an `Err` means the file stopped part way (logged) and the response must fail.
    Streamed(tokio::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>),
}

const CSV_MIME: &str = "text/csv; charset=utf-8";

/// One file of a study's export, recorded in the audit log: a CSV file name of [`super::CSV_FILES`],
/// `export.json` or `workbook.xlsx`; anything else is refused. Every check runs before the first byte:
/// once a streamed file has started, a failure can only cut it short.
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn file(
    state: &AppState,
    actor: &Actor,
    access: StudyAccess,
    study: StudyId,
    name: &str,
    descriptions: bool,
) -> Result<Download> {
    // Free text is the most identifying thing a participant gives: only an admin may take it out.
    if descriptions && access != StudyAccess::Admin {
        return Err(AppError::Forbidden);
    }
    let known =
        super::CSV_FILES.contains(&name) || name == "export.json" || name == "workbook.xlsx";
    if !known {
        return Err(super::unknown(name));
    }
    // After a purge only the frozen summary remains; every other file needs the raw data.
    if let Some(p) = crate::retention::service::purged(state, study).await? {
        if name != "summary.csv" {
            crate::retention::service::require_raw_data(state, study).await?;
        }
        audit_export(state, actor, study, name, false).await?;
        // Non-admins keep the newest release (see `reports::release`), or the purge's own non-admin summary.
        if access != StudyAccess::Admin
            && let Some((_, r)) = crate::reports::release::latest(state, study).await?
        {
            return Ok(whole(r.summary_csv.into_bytes(), CSV_MIME));
        }
        let summary = match p.snapshot.raw_summary_csv {
            Some(csv) if access != StudyAccess::Admin => csv,
            None if access != StudyAccess::Admin => p
                .snapshot
                .summary_csv
                .lines()
                .filter(|l| !l.starts_with("function,") && !l.starts_with("tenure,"))
                .map(|l| format!("{l}\n"))
                .collect(),
            _ => p.snapshot.summary_csv,
        };
        return Ok(whole(summary.into_bytes(), CSV_MIME));
    }
    // Every file breaks down only by the columns the raw rows carry (see `Audience`): a bundle carries the
    // rows, and an analyst's summary can reach someone who holds them. Two exceptions read every group of
    // k: an admin's summary, and anyone's when no non-admin gets raw rows (they can't carry the cohort).
    let data_analyst = access == StudyAccess::Granted(StudyRole::DataAnalyst);
    // Non-admins read released figures only (see `reports::release`): the summary is the release's, and
    // no file is handed out before the first release.
    let released = if access == StudyAccess::Admin {
        None
    } else {
        Some(crate::reports::release::summary(state, study).await?)
    };
    if let Some((csv, _)) = &released
        && name == "summary.csv"
    {
        audit_export(state, actor, study, name, false).await?;
        return Ok(whole(csv.clone().into_bytes(), CSV_MIME));
    }
    let audience = if name == "summary.csv"
        && (access == StudyAccess::Admin || raw_withheld_from(state, study, access).await?)
    {
        Audience::Aggregates
    } else {
        Audience::RawFiles
    };
    let data = gather(
        state,
        study,
        descriptions,
        crate::stats::MIN_COMPLIANCE,
        audience,
    )
    .await?;
    if data_analyst && name != "summary.csv" && !data.columns.cohort {
        return Err(AppError::Conflict(raw_withheld(state.config.min_cell_size)));
    }
    let mut data = data;
    if let Some((_, rows)) = released {
        data.summary = rows;
        data.tco = crate::reports::release::view(state, study)
            .await?
            .and_then(|v| v.tco)
            .map(|t| t.out);
    } else if name == "export.json" || name == "workbook.xlsx" {
        data.tco = crate::tco::service::section(state, study)
            .await?
            .map(|t| t.out);
    }
    if name == "workbook.xlsx" {
        let rows = repo::raw_rows(&state.pool, study).await?;
        if rows > super::stream::WORKBOOK_MAX_ROWS {
            return Err(AppError::Conflict(super::stream::workbook_too_large(rows)));
        }
        let mut bytes = vec![];
        super::stream::write_file(&state.pool, &data, name, &mut bytes).await?;
        audit_export(state, actor, study, name, descriptions).await?;
        return Ok(whole(
            bytes,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ));
    }
    // Recorded before the first byte leaves: no data goes out without its audit row.
    audit_export(state, actor, study, name, descriptions).await?;
    let mime = if name == "export.json" {
        "application/json"
    } else {
        CSV_MIME
    };
    // A few pieces in flight at most: the writer waits for the reader.
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let (pool, name) = (state.pool.clone(), name.to_string());
    tokio::spawn(async move {
        let mut sink = super::stream::Channel(tx.clone());
        if let Err(e) = super::stream::write_file(&pool, &data, &name, &mut sink).await {
            tracing::warn!(study = study.0, file = %name, error = %e, "export stopped part way");
            let _ = tx
                .send(Err(std::io::Error::other("the export stopped part way")))
                .await;
        }
    });
    Ok(Download {
        mime,
        body: Body::Streamed(rx),
    })
}

fn whole(bytes: Vec<u8>, mime: &'static str) -> Download {
    Download {
        mime,
        body: Body::Whole(bytes),
    }
}

/// `summary.csv` as an export writes it now (the retention snapshot keeps it).
pub async fn summary_csv(state: &AppState, study: StudyId, audience: Audience) -> Result<String> {
    let data = gather(state, study, false, crate::stats::MIN_COMPLIANCE, audience).await?;
    Ok(summary_csv_of(&data))
}

/// `summary.csv` of gathered export data.
pub fn summary_csv_of(data: &ExportData) -> String {
    super::write::tables(data)
        .into_iter()
        .find(|t| t.name == "summary.csv")
        .map(|t| String::from_utf8_lossy(&super::write::csv(&t)).into_owned())
        .unwrap_or_default()
}
