//! The view of data collection: for admins, compliance per cohort and per participant, nudges, removals,
//! erasures and mail failures; for everyone else, counts per cohort (groups under k hidden) and the
//! distribution of compliance in bands of at least k people, never a person.
use super::extract::PathStudy;
use super::studies::StudyNav;
use super::{PageCtx, outcome, pct};
use crate::auth::extract::{AdminForm, NoFields, Staff};
use crate::error::Result;
use crate::participants::Arm;
use crate::participants::service;
use crate::roster::cohort::Cohort;
use crate::state::AppState;
use crate::stats::compliance::{Counts, Line, Track, dashboard as lines};
use crate::study::repo::StudyRow;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;

#[derive(Template)]
#[template(path = "collection/dashboard.html")]
struct Dashboard {
    ctx: PageCtx,
    nav: StudyNav,
    cohorts: Vec<CohortLine>,
    people: Vec<PersonLine>,
    mail: Vec<MailLine>,
    /// Non-admins: the main sample's compliance in bands of at least k people.
    distribution: Vec<BandLine>,
    /// Non-admins: how many messages are failing or waiting (which ones is for an admin).
    mail_problems: usize,
    min_cell: usize,
}

struct BandLine {
    label: String,
    n: i64,
}

struct CohortLine {
    label: String,
    invited: i64,
    consented: i64,
    declined: i64,
    withdrawn: i64,
    diary: i64,
    delivered: i64,
    answered: i64,
    missed: i64,
    compliance: String,
    /// Fewer than k consented (or given away by subtraction): the numbers are not shown.
    hidden: bool,
}

struct PersonLine {
    id: i64,
    who: String,
    email: String,
    cohort: &'static str,
    role: &'static str,
    consent: &'static str,
    diary: i64,
    delivered: i64,
    answered: i64,
    missed: i64,
    compliance: String,
    rate: f64,
    contactable: bool,
}

struct MailLine {
    kind: String,
    to: String,
    status: &'static str,
    attempts: i64,
    reason: String,
}

fn line(label: String, n: &Counts) -> CohortLine {
    CohortLine {
        label,
        invited: n.invited,
        consented: n.consented,
        declined: n.declined,
        withdrawn: n.withdrawn,
        diary: n.diary,
        delivered: n.delivered,
        answered: n.answered,
        missed: n.missed,
        compliance: pct(n.answered as f64, n.delivered as f64),
        hidden: false,
    }
}

/// Compliance bands: their lower limits before small bands are merged.
const COMPLIANCE_LIMITS: [f64; 4] = [0.0, 1.0 / 3.0, 0.5, 0.75];

/// The main sample's consented participants by compliance band, each band holding at least `k` people
/// (small bands merged into their neighbours), then those with nothing delivered yet (if at least `k`).
fn distribution(rates: &[Option<f64>], k: usize) -> Vec<BandLine> {
    use crate::reports::distribution::{band_counts, bands_of_at_least};
    let delivered: Vec<f64> = rates.iter().flatten().copied().collect();
    let limits = bands_of_at_least(&delivered, &COMPLIANCE_LIMITS, k);
    let counts = band_counts(&delivered, &limits);
    let mut out: Vec<BandLine> = Vec::new();
    if delivered.len() >= k {
        for (i, n) in counts.into_iter().enumerate() {
            let hi = limits.get(i + 1).copied().unwrap_or(1.0);
            let mut label = format!("{}–{}", pct(limits[i], 1.0), pct(hi, 1.0));
            if hi <= 1.0 / 3.0 + 1e-9 {
                label.push_str(" (left out of the estimates)");
            }
            out.push(BandLine { label, n: n as i64 });
        }
    }
    let waiting = rates.len() - delivered.len();
    if waiting >= k {
        out.push(BandLine {
            label: "nothing delivered yet".into(),
            n: waiting as i64,
        });
    }
    out
}

/// Compliance per cohort and per participant (lowest first), and mail that failed.
pub async fn dashboard(
    State(state): State<AppState>,
    staff: Staff,
    PathStudy(study): PathStudy,
    jar: CookieJar,
) -> Result<Response> {
    let data = service::collection(&state, study.id).await?;
    let people: Vec<_> = data
        .people
        .iter()
        .map(|r| (r.cohort(), r.track(), r.counts()))
        .collect();
    let admin = staff.is_admin();
    let k = state.config.min_cell_size;
    let all_lines = lines(&people, &Cohort::ALL);
    // Outside the admin role a line for fewer than k consented people is hidden, and so is a second cohort
    // when one alone would be given away by the main sample's total.
    let hidden: std::collections::BTreeSet<String> = if admin {
        Default::default()
    } else {
        let cells: Vec<(&str, usize)> = all_lines
            .iter()
            .filter_map(|(l, n)| match l {
                Line::Cohort(c) => Some((c.label(), n.consented as usize)),
                _ => None,
            })
            .collect();
        let main = all_lines
            .iter()
            .find(|(l, _)| *l == Line::Main)
            .map_or(0, |(_, n)| n.consented as usize);
        crate::stats::disclosure::hidden_cells(&cells, main, k)
    };
    let cohorts = all_lines
        .into_iter()
        .map(|(l, n)| {
            let label = match l {
                Line::Cohort(c) => c.label(),
                Line::Main => "Main sample",
                Line::Pilot => "Pilot group",
                Line::Control => "Control group (no pings)",
            };
            let mut line = line(label.to_string(), &n);
            line.hidden = !admin && (hidden.contains(label) || (n.consented as usize) < k);
            line
        })
        .collect();
    let distribution = if admin {
        vec![]
    } else {
        let rates: Vec<Option<f64>> = data
            .people
            .iter()
            .filter(|r| r.track() == Track::Main && r.counts().consented == 1)
            .map(|r| (r.delivered > 0).then(|| r.answered as f64 / r.delivered as f64))
            .collect();
        distribution(&rates, k)
    };
    let mail_problems = data.mail.len();
    // People and their mail are for admins only: an analyst would link the counts to the raw export.
    let (people, mail) = if admin {
        person_lines(data)
    } else {
        (vec![], vec![])
    };
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = Dashboard {
        ctx,
        nav: StudyNav::new(&study, "collection"),
        cohorts,
        people,
        mail,
        distribution,
        mail_problems,
        min_cell: k,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// The admin's lines: every participant (lowest compliance first) and every mail problem.
fn person_lines(data: service::Collection) -> (Vec<PersonLine>, Vec<MailLine>) {
    let mut people: Vec<PersonLine> = data
        .people
        .into_iter()
        .map(|r| PersonLine {
            id: r.id,
            who: r.employee_id.clone(),
            email: r.email.clone(),
            cohort: r.cohort().label(),
            role: if r.arm == Arm::Control {
                "control"
            } else {
                r.role.as_str()
            },
            consent: r.standing(),
            diary: r.diary,
            delivered: r.delivered,
            answered: r.answered,
            missed: r.missed,
            compliance: pct(r.answered as f64, r.delivered as f64),
            rate: r.counts().sort_rate(),
            contactable: r.contactable(),
        })
        .collect();
    // Lowest compliance first; people with nothing delivered yet go last.
    people.sort_by(|a, b| a.rate.total_cmp(&b.rate).then(a.who.cmp(&b.who)));
    let mail = data
        .mail
        .into_iter()
        .map(|m| MailLine {
            kind: m.kind,
            to: m.to_addr,
            status: if m.failed { "failed" } else { "retrying" },
            attempts: m.attempts,
            reason: m.last_error.unwrap_or_default(),
        })
        .collect();
    (people, mail)
}

/// Sends one participant a reminder now.
pub async fn nudge(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    Path((_, participant)): Path<(i64, i64)>,
    jar: CookieJar,
    AdminForm { staff, .. }: AdminForm<NoFields>,
) -> Result<Response> {
    let r = service::nudge(&state, &staff.actor(), study.id, participant).await;
    outcome(r, jar, &back(&study, "collection"), "Reminder queued.")
}

/// Removes a participant from the study (nothing more is sent to them).
pub async fn remove(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    Path((_, participant)): Path<(i64, i64)>,
    jar: CookieJar,
    AdminForm { staff, .. }: AdminForm<NoFields>,
) -> Result<Response> {
    let r = service::remove(&state, &staff.actor(), study.id, participant).await;
    outcome(
        r,
        jar,
        &back(&study, "collection"),
        "Participant removed; nothing more will be sent to them.",
    )
}

/// The erase form: a box the admin must tick, so that a stray click or an empty POST erases nobody.
#[derive(serde::Deserialize)]
pub struct EraseForm {
    #[serde(default)]
    confirm: String,
}

/// Erases a participant (confirmed): their answers, links, consent history and mail go for good.
pub async fn erase(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    Path((_, participant)): Path<(i64, i64)>,
    jar: CookieJar,
    AdminForm { staff, form }: AdminForm<EraseForm>,
) -> Result<Response> {
    let back = back(&study, "collection");
    if form.confirm != "erase" {
        let refused = Err(crate::error::AppError::BadRequest(
            "Tick the box to confirm the erasure; nothing was changed.".into(),
        ));
        return outcome(refused, jar, &back, "");
    }
    let r = service::erase(&state, &staff.actor(), study.id, participant).await;
    match r {
        Ok(e) => outcome(
            Ok(()),
            jar,
            &back,
            format!("Participant erased: {}.", e.summary()),
        ),
        Err(e) => outcome(Err(e), jar, &back, ""),
    }
}

fn back(study: &StudyRow, page: &str) -> String {
    format!("/studies/{}/{page}", study.id.0)
}

#[derive(Template)]
#[template(path = "collection/instrument.html")]
struct InstrumentPage {
    ctx: PageCtx,
    nav: StudyNav,
    version: i64,
    frozen: Option<String>,
    consent_text: String,
    categories: String,
    settings: crate::participants::repo::SettingsRow,
}

/// The instruments' wording and the collection settings.
pub async fn instrument_page(
    State(state): State<AppState>,
    staff: Staff,
    PathStudy(study): PathStudy,
    jar: CookieJar,
) -> Result<Response> {
    let (instrument, settings) = service::wording_and_settings(&state, study.id).await?;
    let (jar, ctx) = PageCtx::staff(&staff, jar);
    let page = InstrumentPage {
        ctx,
        nav: StudyNav::new(&study, "instrument"),
        version: instrument.version,
        frozen: instrument
            .frozen_at
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
        categories: instrument.categories().join("\n"),
        consent_text: instrument.consent_text,
        settings,
    };
    Ok((jar, Html(page.render()?)).into_response())
}

/// Saves new wording as the next version.
pub async fn edit_instrument(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form }: AdminForm<service::InstrumentForm>,
) -> Result<Response> {
    let r = service::edit_instrument(&state, &staff.actor(), study.id, &form).await;
    let back = back(&study, "instrument");
    match r {
        Ok(v) => outcome(Ok(()), jar, &back, format!("Wording saved as version {v}.")),
        Err(e) => outcome(Err(e), jar, &back, ""),
    }
}

/// Saves the collection settings.
pub async fn edit_settings(
    State(state): State<AppState>,
    PathStudy(study): PathStudy,
    jar: CookieJar,
    AdminForm { staff, form }: AdminForm<service::SettingsForm>,
) -> Result<Response> {
    let r = service::edit_settings(&state, &staff.actor(), study.id, &form).await;
    outcome(
        r,
        jar,
        &back(&study, "instrument"),
        "Settings saved; they apply to people who consent from now on.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compliance_is_shown_in_bands_of_at_least_k_people() {
        // Six under a third, two between a third and a half, five above three quarters, one waiting.
        let ends: Vec<Option<f64>> = [0.1; 5].into_iter().chain([0.9; 5]).map(Some).collect();
        let bands = distribution(&ends, 5);
        assert_eq!(bands[0].label, "0.0%–33.3% (left out of the estimates)");
        assert_eq!(bands[1].label, "33.3%–100.0%");
        let rates: Vec<Option<f64>> = [0.1; 6]
            .into_iter()
            .chain([0.4; 2])
            .chain([0.9; 5])
            .map(Some)
            .chain([None])
            .collect();
        let bands = distribution(&rates, 5);
        let shown: Vec<(&str, i64)> = bands.iter().map(|b| (b.label.as_str(), b.n)).collect();
        // The empty band joins the one above; the two merge downwards; the one waiting is not shown apart.
        assert_eq!(shown, [("0.0%–50.0%", 8), ("50.0%–100.0%", 5)]);
        assert!(shown.iter().all(|(_, n)| *n >= 5), "{shown:?}");
        assert!(
            distribution(&rates[..4], 5).is_empty(),
            "four people: nothing"
        );
    }
}
