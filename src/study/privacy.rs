//! The privacy notice of a study: controller, contact, purpose and the retention date. Pure.
use super::{Phase, PhaseDates, text};
use crate::auth::Email;
use chrono::{Datelike, Months, NaiveDate};

/// How long raw data is kept after the readout ends, unless an admin sets another date.
pub const DEFAULT_RETENTION_MONTHS: u32 = 12;

/// The notice as submitted.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct PrivacyForm {
    /// The organisation responsible for the data (GDPR's controller).
    #[serde(default)]
    pub controller: String,
    /// Whom participants can ask.
    #[serde(default)]
    pub contact_name: String,
    /// Their address.
    #[serde(default)]
    pub contact_email: String,
    /// Why the data is collected.
    #[serde(default)]
    pub purpose: String,
    /// YYYY-MM-DD, or empty for the default.
    #[serde(default)]
    pub retention_until: String,
}

/// A checked notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivacyNotice {
    /// The organisation responsible for the data.
    pub controller: String,
    /// Whom participants can ask.
    pub contact_name: String,
    /// Their address (lower-cased).
    pub contact_email: String,
    /// Why the data is collected.
    pub purpose: String,
    /// A date the admin chose; `None` keeps the default after the readout.
    pub retention_until: Option<NaiveDate>,
}

/// The day raw data is purged: the admin's date, or twelve months after the readout phase ends.
pub fn retention_date(chosen: Option<NaiveDate>, timeline: &[PhaseDates]) -> Option<NaiveDate> {
    chosen.or_else(|| {
        timeline
            .iter()
            .find(|p| p.phase == Phase::Readout)
            .and_then(|p| {
                p.ends_on
                    .checked_add_months(Months::new(DEFAULT_RETENTION_MONTHS))
            })
    })
}

impl PrivacyNotice {
    /// Validates the form; problems are (field, message) pairs. A chosen retention date must fall after
    /// the readout ends (the analysis needs the data until then) and before 2100.
    pub fn parse(
        form: &PrivacyForm,
        timeline: &[PhaseDates],
    ) -> Result<Self, Vec<(String, String)>> {
        let mut p = Vec::new();
        let controller = text("controller", &form.controller, 200, true, &mut p);
        let contact_name = text("contact_name", &form.contact_name, 120, true, &mut p);
        let contact_email = match Email::parse(&form.contact_email) {
            Ok(e) => e.as_str().to_string(),
            Err(e) => {
                p.push(("contact_email".into(), e));
                String::new()
            }
        };
        let purpose = text("purpose", &form.purpose, 600, true, &mut p);
        let readout_end = timeline
            .iter()
            .find(|d| d.phase == Phase::Readout)
            .map(|d| d.ends_on);
        let retention_until = match form.retention_until.trim() {
            "" => None,
            v => match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
                Ok(d) if readout_end.is_some_and(|end| d <= end) => {
                    p.push((
                        "retention_until".into(),
                        format!(
                            "must be after the readout ends ({})",
                            readout_end.map(|e| e.to_string()).unwrap_or_default()
                        ),
                    ));
                    None
                }
                Ok(d) if d.year() >= 2100 => {
                    p.push(("retention_until".into(), "must be before 2100".into()));
                    None
                }
                Ok(d) => Some(d),
                Err(_) => {
                    p.push((
                        "retention_until".into(),
                        "enter a date as YYYY-MM-DD, or leave it empty".into(),
                    ));
                    None
                }
            },
        };
        if p.is_empty() {
            Ok(Self {
                controller,
                contact_name,
                contact_email,
                purpose,
                retention_until,
            })
        } else {
            Err(p)
        }
    }
}

/// What may change in a saved notice. A retention date must lie after today (deleting now is the early
/// purge's job, with its confirmation). Once someone has consented, the purpose they agreed to stays, and
/// the retention date they were told may move earlier but never later (that would need their consent
/// again); an empty date then keeps the one they were told.
pub fn check_change(
    current_purpose: Option<&str>,
    current_until: Option<NaiveDate>,
    new: &mut PrivacyNotice,
    timeline: &[PhaseDates],
    today: NaiveDate,
    consented: i64,
) -> Result<(), Vec<(String, String)>> {
    let mut p = Vec::new();
    if let Some(d) = new.retention_until
        && d <= today
    {
        p.push((
            "retention_until".into(),
            format!(
                "must be after today ({today}); to delete the raw data now, use the early purge below"
            ),
        ));
    }
    if consented > 0 {
        let people = if consented == 1 {
            "1 person".to_string()
        } else {
            format!("{consented} people")
        };
        if current_purpose.is_some_and(|c| c != new.purpose) {
            p.push((
                "purpose".into(),
                format!(
                    "{people} consented to the purpose as written; it cannot change under them (a new purpose needs a new study)"
                ),
            ));
        }
        let told = retention_date(current_until, timeline);
        if new.retention_until.is_none() {
            new.retention_until = told;
        }
        if let (Some(told), Some(new_until)) = (told, new.retention_until)
            && new_until > told
        {
            p.push((
                "retention_until".into(),
                format!(
                    "{people} were told their raw data is kept until {told}; a later date would need their consent again. Choose {told} or earlier"
                ),
            ));
        }
    }
    if p.is_empty() { Ok(()) } else { Err(p) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::Timeline;

    fn timeline() -> Vec<PhaseDates> {
        Timeline::from_start(NaiveDate::from_ymd_opt(2027, 1, 4).unwrap())
            .phases()
            .to_vec()
    }

    fn form() -> PrivacyForm {
        PrivacyForm {
            controller: "Example Ltd".into(),
            contact_name: "Data Protection Office".into(),
            contact_email: "DPO@Example.org".into(),
            purpose: "Measure the time the copilot saves".into(),
            retention_until: String::new(),
        }
    }

    #[test]
    fn the_default_retention_is_twelve_months_after_the_readout() {
        let t = timeline();
        let end = t
            .iter()
            .find(|p| p.phase == Phase::Readout)
            .unwrap()
            .ends_on;
        let n = PrivacyNotice::parse(&form(), &t).unwrap();
        assert_eq!(n.contact_email, "dpo@example.org");
        assert_eq!(
            retention_date(n.retention_until, &t),
            end.checked_add_months(Months::new(12))
        );
        let chosen = NaiveDate::from_ymd_opt(2028, 6, 30).unwrap();
        assert_eq!(retention_date(Some(chosen), &t), Some(chosen));
    }

    #[test]
    fn every_field_is_checked_and_named() {
        let t = timeline();
        let bad = PrivacyForm {
            controller: " ".into(),
            contact_name: "x\ny".into(),
            contact_email: "not an address".into(),
            purpose: "p".repeat(601),
            retention_until: "2027-02-01".into(),
        };
        let fields: Vec<String> = PrivacyNotice::parse(&bad, &t)
            .unwrap_err()
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(
            fields,
            [
                "controller",
                "contact_name",
                "contact_email",
                "purpose",
                "retention_until"
            ]
        );
        for date in ["31/12/2028", "2100-01-01"] {
            let f = PrivacyForm {
                retention_until: date.into(),
                ..form()
            };
            assert!(PrivacyNotice::parse(&f, &t).is_err(), "{date}");
        }
    }
}
