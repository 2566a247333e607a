//! A study: the AI tool under study, its 90-day timeline, status and approvals checklist.
pub mod guards;
pub mod privacy;
pub mod repo;
pub mod service;

use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;
use std::fmt;
use std::str::FromStr;

/// A study's database id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type, serde::Deserialize)]
#[sqlx(transparent)]
#[serde(transparent)]
pub struct StudyId(pub i64);

impl fmt::Display for StudyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a study is in its life: forward one step at a time (and back from the pilot to setup while nobody
/// is invited), or cancelled from any step before it closes. `Cancelled` sorts after `Closed`: every
/// "collection has ended" check (`>= Analysis`) holds for it, so nothing more is collected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Being written; nothing has started.
    Draft,
    /// Weeks 1–2: roster, usage, cohorts, sample, approvals.
    Setup,
    /// Weeks 3–4: the pilot group uses the instruments.
    Pilot,
    /// Weeks 5–8: the main sample; instruments frozen.
    Collection,
    /// Weeks 9–10.
    Analysis,
    /// Weeks 11–12.
    Readout,
    /// Finished; read-only.
    Closed,
    /// Stopped before its end by an admin: no mail, no pings, nothing more collected; read-only.
    Cancelled,
}

impl Status {
    /// Every status of the forward path, in order (`Cancelled` stands beside it).
    pub const ALL: [Status; 7] = [
        Status::Draft,
        Status::Setup,
        Status::Pilot,
        Status::Collection,
        Status::Analysis,
        Status::Readout,
        Status::Closed,
    ];
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Setup => "setup",
            Status::Pilot => "pilot",
            Status::Collection => "collection",
            Status::Analysis => "analysis",
            Status::Readout => "readout",
            Status::Closed => "closed",
            Status::Cancelled => "cancelled",
        }
    }
    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Status::Draft => "Draft",
            Status::Setup => "Setup",
            Status::Pilot => "Pilot",
            Status::Collection => "Collection",
            Status::Analysis => "Analysis",
            Status::Readout => "Readout",
            Status::Closed => "Closed",
            Status::Cancelled => "Cancelled",
        }
    }
    /// The only status this one may move to.
    pub fn next(self) -> Option<Status> {
        let i = Status::ALL.iter().position(|s| *s == self)?;
        Status::ALL.get(i + 1).copied()
    }
    /// Whether the study is over (closed or cancelled): read-only, and it may be archived.
    pub fn is_over(self) -> bool {
        matches!(self, Status::Closed | Status::Cancelled)
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Status::ALL
            .into_iter()
            .chain([Status::Cancelled])
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown status {s:?}"))
    }
}

/// The five phases of the 90-day timeline (Appendix A §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Weeks 1–2.
    Setup,
    /// Weeks 3–4.
    Pilot,
    /// Weeks 5–8.
    Collection,
    /// Weeks 9–10.
    Analysis,
    /// Weeks 11–12 and the rest of the 90 days.
    Readout,
}

impl Phase {
    /// The phases in order.
    pub const ALL: [Phase; 5] = [
        Phase::Setup,
        Phase::Pilot,
        Phase::Collection,
        Phase::Analysis,
        Phase::Readout,
    ];
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Setup => "setup",
            Phase::Pilot => "pilot",
            Phase::Collection => "collection",
            Phase::Analysis => "analysis",
            Phase::Readout => "readout",
        }
    }
    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Setup => "Setup (weeks 1–2)",
            Phase::Pilot => "Pilot (weeks 3–4)",
            Phase::Collection => "Collection (weeks 5–8)",
            Phase::Analysis => "Analysis (weeks 9–10)",
            Phase::Readout => "Readout (weeks 11–12)",
        }
    }
    /// Default first and last day, counted from the start date (day 0).
    fn default_days(self) -> (i64, i64) {
        match self {
            Phase::Setup => (0, 13),
            Phase::Pilot => (14, 27),
            Phase::Collection => (28, 55),
            Phase::Analysis => (56, 69),
            // The readout takes weeks 11–12 and the remaining days of the 90.
            Phase::Readout => (70, 89),
        }
    }
}

impl FromStr for Phase {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Phase::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("unknown phase {s:?}"))
    }
}

/// One phase with its dates (inclusive, in the study's time zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhaseDates {
    /// Which phase.
    pub phase: Phase,
    /// First day.
    pub starts_on: NaiveDate,
    /// Last day.
    pub ends_on: NaiveDate,
}

/// The five phases, checked to be in order and not overlapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeline(Vec<PhaseDates>);

impl Timeline {
    /// The default 90-day layout from a start date.
    pub fn from_start(start: NaiveDate) -> Self {
        Timeline(
            Phase::ALL
                .iter()
                .map(|&phase| {
                    let (a, b) = phase.default_days();
                    PhaseDates {
                        phase,
                        starts_on: start + Duration::days(a),
                        ends_on: start + Duration::days(b),
                    }
                })
                .collect(),
        )
    }

    /// Checks five phases given in order: each starts on or before it ends, and after the previous one ends.
    pub fn parse(phases: Vec<PhaseDates>) -> Result<Self, Vec<String>> {
        Self::parse_marked(phases).map_err(|p| p.into_iter().map(|(_, m)| m).collect())
    }

    /// [`Timeline::parse`], each problem with the form control it is about (`{phase}_start` or
    /// `{phase}_end`, `""` for the form as a whole).
    pub fn parse_marked(phases: Vec<PhaseDates>) -> Result<Self, Vec<(String, String)>> {
        let mut problems = Vec::new();
        if phases.len() != Phase::ALL.len()
            || phases.iter().zip(Phase::ALL).any(|(p, q)| p.phase != q)
        {
            return Err(vec![(
                String::new(),
                "all five phases are needed, in order".into(),
            )]);
        }
        let control = |p: &PhaseDates, end: &str| format!("{}_{end}", p.phase.as_str());
        for p in &phases {
            if !in_range(p.starts_on) || !in_range(p.ends_on) {
                problems.push((
                    control(
                        p,
                        if in_range(p.starts_on) {
                            "end"
                        } else {
                            "start"
                        },
                    ),
                    format!(
                        "{} must lie between the years 2000 and 2100",
                        p.phase.label()
                    ),
                ));
            } else if p.ends_on < p.starts_on {
                problems.push((
                    control(p, "end"),
                    format!("{} ends before it starts", p.phase.label()),
                ));
            }
        }
        for w in phases.windows(2) {
            if w[1].starts_on <= w[0].ends_on {
                problems.push((
                    control(&w[1], "start"),
                    format!(
                        "{} must start after {} ends",
                        w[1].phase.label(),
                        w[0].phase.label()
                    ),
                ));
            }
        }
        if problems.is_empty() {
            Ok(Timeline(phases))
        } else {
            Err(problems)
        }
    }

    /// The phases in order.
    pub fn phases(&self) -> &[PhaseDates] {
        &self.0
    }

    /// Moves every phase by the same number of days (when the start date changes).
    pub fn shifted(&self, days: i64) -> Self {
        Timeline(
            self.0
                .iter()
                .map(|p| PhaseDates {
                    phase: p.phase,
                    starts_on: p.starts_on + Duration::days(days),
                    ends_on: p.ends_on + Duration::days(days),
                })
                .collect(),
        )
    }
}

/// The editable fields of a study, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct StudyDetails {
    /// Name shown everywhere.
    pub name: String,
    /// The AI tool's vendor, e.g. Microsoft.
    pub vendor: String,
    /// The product, e.g. Microsoft 365 Copilot.
    pub product: String,
    /// Model version, for comparing waves.
    pub model_version: String,
    /// The study's time zone (phase dates are days in it).
    pub time_zone: Tz,
    /// Day 1 of the 90 days.
    pub start_date: NaiveDate,
}

/// The study form as submitted.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct StudyForm {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Vendor.
    #[serde(default)]
    pub vendor: String,
    /// Product.
    #[serde(default)]
    pub product: String,
    /// Model version.
    #[serde(default)]
    pub model_version: String,
    /// IANA time zone.
    #[serde(default)]
    pub time_zone: String,
    /// YYYY-MM-DD.
    #[serde(default)]
    pub start_date: String,
}

pub(crate) fn text(
    field: &str,
    value: &str,
    max: usize,
    required: bool,
    problems: &mut Vec<(String, String)>,
) -> String {
    let v = value.trim();
    if required && v.is_empty() {
        problems.push((field.into(), "is required".into()));
    } else if v.chars().count() > max {
        problems.push((field.into(), format!("must be at most {max} characters")));
    } else if v.chars().any(char::is_control) {
        problems.push((field.into(), "must be one line of text".into()));
    }
    v.to_string()
}

impl StudyDetails {
    /// Validates the form; problems are (field, message) pairs for the page.
    pub fn parse(form: &StudyForm) -> Result<Self, Vec<(String, String)>> {
        let mut p = Vec::new();
        let name = text("name", &form.name, 120, true, &mut p);
        let vendor = text("vendor", &form.vendor, 80, true, &mut p);
        let product = text("product", &form.product, 80, true, &mut p);
        let model_version = text("model_version", &form.model_version, 80, false, &mut p);
        let time_zone = match form.time_zone.trim().parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                let close = zones_like(&form.time_zone);
                let hint = if close.is_empty() {
                    String::new()
                } else {
                    format!("; did you mean {}?", close.join(", "))
                };
                p.push((
                    "time_zone".into(),
                    format!(
                        "must be an IANA time zone such as Europe/London (pick one from the list){hint}"
                    ),
                ));
                None
            }
        };
        let start_date = match NaiveDate::parse_from_str(form.start_date.trim(), "%Y-%m-%d") {
            Ok(d) if in_range(d) => Some(d),
            Ok(_) => {
                p.push((
                    "start_date".into(),
                    "must be between the years 2000 and 2100".into(),
                ));
                None
            }
            Err(_) => {
                p.push(("start_date".into(), "must be a date as YYYY-MM-DD".into()));
                None
            }
        };
        match (time_zone, start_date) {
            (Some(time_zone), Some(start_date)) if p.is_empty() => Ok(StudyDetails {
                name,
                vendor,
                product,
                model_version,
                time_zone,
                start_date,
            }),
            _ => Err(p),
        }
    }
}

/// Every IANA zone name (chrono-tz's list), for the study form's choice list.
pub fn zone_names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|z| z.name())
}

/// Up to five IANA zones close to what someone typed ("Berlin", "new york", "europe/berlin "): names
/// that contain it (spaces read as underscores, any case), else names whose city starts like it.
pub fn zones_like(typed: &str) -> Vec<&'static str> {
    let want = typed.trim().to_lowercase().replace(' ', "_");
    if want.is_empty() {
        return vec![];
    }
    let city = |name: &str| name.rsplit('/').next().unwrap_or(name).to_lowercase();
    // Exact city first ("Berlin" → Europe/Berlin), then any name containing it, then a shared start.
    let mut out: Vec<&'static str> = zone_names().filter(|n| city(n) == want).collect();
    for n in zone_names().filter(|n| n.to_lowercase().contains(&want)) {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    if out.is_empty() && want.rsplit('/').next().unwrap_or("").chars().count() >= 3 {
        let typed_city = want.rsplit('/').next().unwrap_or(&want);
        let start: String = typed_city.chars().take(3).collect();
        out = zone_names()
            .filter(|n| city(n).starts_with(&start))
            .collect();
    }
    out.truncate(5);
    out
}

/// Dates a study may use: wide enough for any real study, narrow enough that date arithmetic never overflows.
fn in_range(d: NaiveDate) -> bool {
    (2000..=2100).contains(&chrono::Datelike::year(&d))
}

/// The approvals every new study starts with (an admin can add more).
pub const DEFAULT_APPROVALS: [&str; 4] = [
    "Legal review",
    "HR / works council",
    "Information security",
    "Vendor data access agreement",
];

/// The tool under study as people say it: "GitHub Copilot Business (2026-10)". The vendor is left out when the
/// product already starts with it ("GitHub" + "GitHub Copilot Business"), and the model only when given.
pub fn tool_label(vendor: &str, product: &str, model: &str) -> String {
    let (vendor, product, model) = (vendor.trim(), product.trim(), model.trim());
    let starts_with_vendor = product
        .get(..vendor.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(vendor));
    let name = if vendor.is_empty() || starts_with_vendor {
        product.to_string()
    } else if product.is_empty() {
        vendor.to_string()
    } else {
        format!("{vendor} {product}")
    };
    if model.is_empty() {
        name
    } else {
        format!("{name} ({model})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_default_timeline_covers_ninety_days_in_five_phases() {
        let t = Timeline::from_start(d("2027-01-04"));
        let p = t.phases();
        assert_eq!(p[0].starts_on, d("2027-01-04"));
        assert_eq!(p[1].starts_on, d("2027-01-18"));
        assert_eq!(p[2].starts_on, d("2027-02-01"));
        assert_eq!(p[3].starts_on, d("2027-03-01"));
        assert_eq!(p[4].ends_on, d("2027-04-03"));
        assert_eq!((p[4].ends_on - p[0].starts_on).num_days() + 1, 90);
        assert!(Timeline::parse(p.to_vec()).is_ok());
    }

    #[test]
    fn overlapping_or_reversed_phases_are_refused() {
        let mut p = Timeline::from_start(d("2027-01-04")).phases().to_vec();
        p[1].starts_on = p[0].ends_on;
        p[3].ends_on = p[3].starts_on - Duration::days(1);
        let err = Timeline::parse(p).unwrap_err();
        assert_eq!(err.len(), 2, "{err:?}");
    }

    #[test]
    fn status_moves_forward_one_step() {
        assert_eq!(Status::Draft.next(), Some(Status::Setup));
        assert_eq!(Status::Readout.next(), Some(Status::Closed));
        assert_eq!(Status::Closed.next(), None);
    }

    #[test]
    fn a_city_alone_names_the_zones_it_may_mean() {
        assert_eq!(zones_like("Berlin"), ["Europe/Berlin"]);
        assert_eq!(zones_like("new york"), ["America/New_York"]);
        assert!(zones_like("Mars/Olympus").is_empty());
        assert!(zone_names().any(|z| z == "Europe/London"));
        let form = StudyForm {
            time_zone: "Berlin".into(),
            ..Default::default()
        };
        let problems = StudyDetails::parse(&form).unwrap_err();
        let tz = problems.iter().find(|(f, _)| f == "time_zone").unwrap();
        assert!(tz.1.contains("did you mean Europe/Berlin?"), "{}", tz.1);
    }

    #[test]
    fn the_study_form_names_each_bad_field() {
        let form = StudyForm {
            name: " ".into(),
            time_zone: "Mars/Olympus".into(),
            start_date: "4/1/2027".into(),
            ..Default::default()
        };
        let fields: Vec<String> = StudyDetails::parse(&form)
            .unwrap_err()
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(
            fields,
            ["name", "vendor", "product", "time_zone", "start_date"]
        );
    }

    #[test]
    fn the_tool_is_named_once_and_without_empty_brackets() {
        assert_eq!(
            tool_label("GitHub", "GitHub Copilot Business", ""),
            "GitHub Copilot Business"
        );
        assert_eq!(
            tool_label("Microsoft", "365 Copilot", "GPT-5"),
            "Microsoft 365 Copilot (GPT-5)"
        );
        assert_eq!(
            tool_label("microsoft", "Microsoft 365 Copilot", " "),
            "Microsoft 365 Copilot"
        );
        assert_eq!(tool_label("Cursor", "", ""), "Cursor");
    }
}
