//! Instrument B, the pings: the pure schedule, answering inside the window, marking missed, sending due pings.
pub mod repo;
pub mod schedule;
pub mod service;
pub mod writer;

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Where a ping stands; stored as lowercase text in `pings.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(rename_all = "lowercase")]
pub enum PingStatus {
    /// Laid out at consent, not sent yet.
    Scheduled,
    /// Its email is queued: answerable until it expires.
    Sent,
    /// Answered inside its window.
    Answered,
    /// Its window passed without an answer.
    Missed,
    /// Never delivered (withdrawal, or its email could not be sent).
    Cancelled,
}

impl repo::PingRow {
    /// Whether this ping takes an answer at `now`: sent, and its window not yet closed. The SQL that stores
    /// an answer (`repo::answer_ping`) applies the same rule, so a race cannot get past it.
    pub fn open_at(&self, now: DateTime<Utc>) -> bool {
        self.status == PingStatus::Sent && self.expires_at > now
    }
}

/// "In the last hour, did you use the copilot?"
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Used {
    /// Yes.
    Yes,
    /// No.
    No,
    /// I was not working.
    NotWorking,
}

impl Used {
    /// Stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Used::Yes => "yes",
            Used::No => "no",
            Used::NotWorking => "not_working",
        }
    }
}

/// A submitted ping answer.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PingForm {
    /// yes / no / not_working.
    #[serde(default)]
    pub used: String,
    /// Minutes checking accuracy, tone, correctness.
    #[serde(default)]
    pub verification: String,
    /// Minutes fixing, rewriting, debugging.
    #[serde(default)]
    pub correction: String,
    /// Minutes re-prompting because it misunderstood.
    #[serde(default)]
    pub context: String,
    /// Minutes deciding whether to use it at all.
    #[serde(default)]
    pub trust: String,
}

/// A valid ping answer: oversight minutes only when the copilot was used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PingAnswer {
    /// The first question.
    pub used: Used,
    /// [verification, correction, context, trust], each 0–60, sum ≤ 60.
    pub minutes: [i64; 4],
}

impl PingAnswer {
    /// Validates; an empty submission is refused (and does not use up the ping).
    pub fn parse(f: &PingForm) -> Result<Self, String> {
        let used = match f.used.trim() {
            "yes" => Used::Yes,
            "no" => Used::No,
            "not_working" => Used::NotWorking,
            "" => return Err("Please choose an answer to the first question.".into()),
            _ => return Err("Please choose one of the three answers.".into()),
        };
        if used != Used::Yes {
            return Ok(PingAnswer {
                used,
                minutes: [0; 4],
            });
        }
        let mut minutes = [0i64; 4];
        for (slot, (v, name)) in minutes.iter_mut().zip([
            (&f.verification, "verification"),
            (&f.correction, "correction"),
            (&f.context, "context reconstruction"),
            (&f.trust, "trust calibration"),
        ]) {
            let v = v.trim();
            *slot = if v.is_empty() {
                0
            } else {
                match v.parse::<i64>() {
                    Ok(m) if (0..=60).contains(&m) => m,
                    _ => {
                        return Err(format!(
                            "Minutes of {name} must be a whole number from 0 to 60."
                        ));
                    }
                }
            };
        }
        if minutes.iter().sum::<i64>() > 60 {
            return Err(
                "The four kinds of minutes add up to more than the hour; please check them.".into(),
            );
        }
        Ok(PingAnswer { used, minutes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ping_answer_needs_the_first_question_and_at_most_sixty_minutes() {
        let f = |used: &str, m: [&str; 4]| PingForm {
            used: used.into(),
            verification: m[0].into(),
            correction: m[1].into(),
            context: m[2].into(),
            trust: m[3].into(),
        };
        assert!(PingAnswer::parse(&f("", ["", "", "", ""])).is_err());
        assert_eq!(
            PingAnswer::parse(&f("yes", ["10", "5", "", "0"]))
                .unwrap()
                .minutes,
            [10, 5, 0, 0]
        );
        assert!(
            PingAnswer::parse(&f("yes", ["30", "31", "", ""]))
                .unwrap_err()
                .contains("more than the hour")
        );
        assert!(PingAnswer::parse(&f("yes", ["61", "", "", ""])).is_err());
        assert_eq!(
            PingAnswer::parse(&f("no", ["50", "50", "", ""]))
                .unwrap()
                .minutes,
            [0; 4]
        );
    }
}
