//! Collection progress as everyone but an admin may read it: counts per cohort (groups under k hidden, or
//! given away by subtraction) and the main sample's compliance in bands of at least k people, never a
//! person. A release freezes it (see `reports::release`); an admin's page adds every participant.
use super::Collection;
use crate::error::{AppError, Result};
use crate::participants::repo;
use crate::participants::{Arm, Group};
use crate::roster::cohort::Cohort;
use crate::state::AppState;
use crate::stats::compliance::{Counts, Line, Track, dashboard as lines};
use crate::study::StudyId;
use serde::{Deserialize, Serialize};

/// The collection page's group lines and compliance bands.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Progress {
    /// Per cohort, then the main sample, the pilot and the control group.
    pub cohorts: Vec<CohortLine>,
    /// Non-admins: the main sample's compliance in bands of at least k people.
    pub distribution: Vec<BandLine>,
}

fn pct(part: f64, whole: f64) -> String {
    crate::reports::text::pct(part, whole)
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BandLine {
    pub label: String,
    pub n: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CohortLine {
    pub label: String,
    pub invited: i64,
    pub consented: i64,
    pub declined: i64,
    pub withdrawn: i64,
    pub diary: i64,
    pub delivered: i64,
    pub answered: i64,
    pub missed: i64,
    pub compliance: String,
    /// Fewer than k consented (or given away by subtraction): the numbers are not shown.
    pub hidden: bool,
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

/// The progress lines of a study's collection; for `admin` every line is shown and no band is computed.
pub fn progress(data: &Collection, admin: bool, k: usize) -> Progress {
    let people: Vec<_> = data
        .people
        .iter()
        .map(|r| (r.cohort(), r.track(), r.counts()))
        .collect();
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
            let label = line_label(l);
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
    Progress {
        cohorts,
        distribution,
    }
}

/// The admin's group lines, counted in SQL (every line shown, no band computed): the same lines as
/// `progress(.., true, ..)` without reading every participant.
pub async fn admin_progress(state: &AppState, study: StudyId) -> Result<Progress> {
    let groups = repo::group_counts(&state.pool, study).await?;
    let people: Vec<_> = groups
        .iter()
        .map(|g| {
            let cohort = g
                .cohort
                .as_deref()
                .and_then(|c| c.parse().ok())
                .unwrap_or(Cohort::Light);
            let track = match (g.arm, g.role) {
                (Arm::Control, _) => Track::Control,
                (Arm::Copilot, Group::Pilot) => Track::Pilot,
                (Arm::Copilot, Group::Main) => Track::Main,
            };
            (cohort, track, g.counts)
        })
        .collect();
    let cohorts = lines(&people, &Cohort::ALL)
        .into_iter()
        .map(|(l, n)| line(line_label(l).to_string(), &n))
        .collect();
    Ok(Progress {
        cohorts,
        distribution: vec![],
    })
}

fn line_label(l: Line<Cohort>) -> &'static str {
    match l {
        Line::Cohort(c) => c.label(),
        Line::Main => "Main sample",
        Line::Pilot => "Pilot group",
        Line::Control => "Control group (no pings)",
    }
}

// ---- the admin's table of participants: search, filters, sort and pages, bounded in SQL ----

/// Participants per page of the collection table.
pub const PEOPLE_PER_PAGE: i64 = 50;

/// The collection page's query string, as typed (a link reproduces the view).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PeopleFilter {
    /// Part of an employee id or email.
    pub q: Option<String>,
    /// `heavy`, `moderate` or `light`.
    pub cohort: Option<String>,
    /// `waiting`, `consented`, `declined` or `withdrawn`.
    pub status: Option<String>,
    /// `main`, `pilot` or `control`.
    pub group: Option<String>,
    /// Compliance below this many percent.
    pub below: Option<String>,
    /// `compliance`, `id`, `activity` or `nudged`.
    pub sort: Option<String>,
    /// 1-based page.
    pub page: Option<String>,
    /// The participant an action was about (its result is shown on their row).
    pub at: Option<String>,
}

/// The sorts the table offers: (value, words).
pub const SORTS: [(&str, &str); 4] = [
    ("compliance", "lowest compliance first"),
    ("id", "by employee id"),
    ("activity", "longest quiet first"),
    ("nudged", "longest since a nudge first"),
];

/// The filters as understood: every field is one of its allowed values or empty.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PeopleView {
    /// The search text (trimmed, at most 100 characters).
    pub q: String,
    /// Cohort or empty.
    pub cohort: String,
    /// Status or empty.
    pub status: String,
    /// Group or empty.
    pub group: String,
    /// Compliance limit in percent as written back into the form, or empty.
    pub below: String,
    /// The sort.
    pub sort: &'static str,
    /// What could not be understood (and was left out of the view).
    pub problems: Vec<(&'static str, String)>,
}

impl PeopleView {
    /// The view's query string without the page (the same filters and sort).
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("q", self.q.clone()),
            ("cohort", self.cohort.clone()),
            ("status", self.status.clone()),
            ("group", self.group.clone()),
            ("below", self.below.clone()),
            (
                "sort",
                if self.sort == SORTS[0].0 {
                    String::new()
                } else {
                    self.sort.to_string()
                },
            ),
        ]
    }

    fn query(&self) -> repo::PeopleQuery {
        repo::PeopleQuery {
            search: self.q.clone(),
            cohort: self.cohort.clone(),
            status: self.status.clone(),
            group: self.group.clone(),
            below: self.below.parse::<f64>().ok().map(|b| b / 100.0),
            participant: None,
            sort: self.sort,
            limit: PEOPLE_PER_PAGE,
            offset: 0,
        }
    }
}

/// Reads the query string: a value outside its list is dropped with a message, never guessed at.
impl PeopleView {
    /// The message about the filter control `field`, or `""`.
    pub fn problem(&self, field: &str) -> &str {
        self.problems
            .iter()
            .find(|(f, _)| *f == field)
            .map_or("", |(_, m)| m.as_str())
    }
}

pub fn people_view(f: &PeopleFilter) -> PeopleView {
    let mut problems = vec![];
    let mut pick =
        |value: &Option<String>, allowed: &[&str], field: &'static str, what: &str| -> String {
            let v = value.as_deref().unwrap_or("").trim().to_lowercase();
            if v.is_empty() || allowed.contains(&v.as_str()) {
                v
            } else {
                problems.push((
                    field,
                    format!(
                        "There is no {what} \"{}\"; that filter was left out.",
                        value
                            .as_deref()
                            .unwrap_or("")
                            .chars()
                            .take(40)
                            .collect::<String>()
                    ),
                ));
                String::new()
            }
        };
    let cohort = pick(
        &f.cohort,
        &["heavy", "moderate", "light"],
        "f-cohort",
        "cohort",
    );
    let status = pick(
        &f.status,
        &["waiting", "consented", "declined", "withdrawn"],
        "f-status",
        "status",
    );
    let group = pick(&f.group, &["main", "pilot", "control"], "f-group", "group");
    let sort_word = pick(&f.sort, &SORTS.map(|(v, _)| v), "f-sort", "sort");
    let sort = SORTS
        .iter()
        .find(|(v, _)| *v == sort_word)
        .map_or(SORTS[0].0, |(v, _)| v);
    let raw = f
        .below
        .as_deref()
        .unwrap_or("")
        .trim()
        .trim_end_matches('%')
        .trim();
    let below = match raw.parse::<f64>() {
        _ if raw.is_empty() => String::new(),
        Ok(b) if (0.0..=100.0).contains(&b) => raw.to_string(),
        _ => {
            problems.push((
                "f-below",
                format!(
                    "\"Compliance below\" takes a number of percent from 0 to 100, not \"{}\"; that filter was left out.",
                    raw.chars().take(40).collect::<String>()
                ),
            ));
            String::new()
        }
    };
    PeopleView {
        q: f.q
            .as_deref()
            .unwrap_or("")
            .trim()
            .chars()
            .take(100)
            .collect(),
        cohort,
        status,
        group,
        below,
        sort,
        problems,
    }
}

/// One page of the admin's table.
pub struct PeoplePage {
    /// The rows of the page.
    pub rows: Vec<repo::PersonRow>,
    /// How many match the filters.
    pub matching: i64,
    /// The page shown (moved inside the pages there are).
    pub page: i64,
}

/// The page of participants the filters ask for: counted and cut in SQL, never all read and sliced.
pub async fn people(
    state: &AppState,
    study: StudyId,
    view: &PeopleView,
    page: Option<&str>,
) -> Result<PeoplePage> {
    let mut conn = state.pool.acquire().await?;
    let mut q = view.query();
    let matching = repo::people_count(&mut *conn, study, &q).await?;
    let last = ((matching + PEOPLE_PER_PAGE - 1) / PEOPLE_PER_PAGE).max(1);
    let page = page
        .and_then(|p| p.trim().parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, last);
    q.offset = (page - 1) * PEOPLE_PER_PAGE;
    let rows = repo::people_page(&mut *conn, study, &q).await?;
    Ok(PeoplePage {
        rows,
        matching,
        page,
    })
}

/// What the admin's collection page shows.
pub struct AdminDashboard {
    /// Every group line, live.
    pub progress: Progress,
    /// The page of participants the filters ask for.
    pub people: PeoplePage,
    /// Mail of the study that failed or waits for a retry.
    pub mail: Vec<crate::mail::repo::MailProblemRow>,
}

/// The admin's collection page: group lines, a page of people, and mail problems.
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn admin_dashboard(
    state: &AppState,
    study: StudyId,
    view: &PeopleView,
    page: Option<&str>,
) -> Result<AdminDashboard> {
    Ok(AdminDashboard {
        progress: admin_progress(state, study).await?,
        people: people(state, study, view, page).await?,
        mail: crate::mail::repo::mail_problems(&state.pool, study).await?,
    })
}

/// What the removal and erasure confirmation pages say about one participant.
pub struct PersonSummary {
    /// Their employee id (what the collection page calls them).
    pub employee_id: String,
    /// Their email.
    pub email: String,
    /// Where they stand, in words.
    pub standing: &'static str,
    /// What an erasure would delete, row by row.
    pub erasure: repo::ErasureCounts,
}

/// One participant of a study, for a confirmation page (reads only).
pub async fn person(state: &AppState, study: StudyId, participant: i64) -> Result<PersonSummary> {
    let mut conn = state.pool.acquire().await?;
    let q = repo::PeopleQuery {
        participant: Some(participant),
        sort: SORTS[0].0,
        limit: 1,
        ..Default::default()
    };
    let target = repo::erasure_target(&mut conn, study, participant)
        .await?
        .ok_or(AppError::NotFound)?;
    let erasure = repo::erasure_counts(&mut conn, study, &target).await?;
    let row = repo::people_page(&mut *conn, study, &q)
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    Ok(PersonSummary {
        employee_id: row.counts.employee_id.clone(),
        email: row.counts.email.clone(),
        standing: row.counts.standing(),
        erasure,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filters_keep_only_values_they_know_and_say_what_they_dropped() {
        let f = PeopleFilter {
            q: Some("  E0001 ".into()),
            cohort: Some("Heavy".into()),
            status: Some("asleep".into()),
            below: Some("50%".into()),
            sort: Some("activity".into()),
            ..Default::default()
        };
        let v = people_view(&f);
        assert_eq!(
            (v.q.as_str(), v.cohort.as_str(), v.status.as_str()),
            ("E0001", "heavy", "")
        );
        assert_eq!((v.below.as_str(), v.sort), ("50", "activity"));
        assert_eq!(v.problems.len(), 1, "{:?}", v.problems);
        let bad = people_view(&PeopleFilter {
            below: Some("120".into()),
            ..Default::default()
        });
        assert!(
            bad.below.is_empty()
                && bad.problems[0].1.contains("from 0 to 100")
                && bad.problems[0].0 == "f-below"
        );
        assert_eq!(bad.sort, "compliance");
    }

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
