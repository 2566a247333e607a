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
    /// `yes` once the participant was asked back about an answer of "No" (or "not working") with minutes
    /// filled in and sent it again: the minutes are then dropped.
    #[serde(default)]
    pub drop_minutes: String,
}

/// Why a ping answer was refused: the form field to mark (`used`, `minutes` for the four together, or
/// one of `verification`, `correction`, `context`, `trust`) and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PingProblem {
    /// The field's id on the page.
    pub field: &'static str,
    /// The message, naming the field.
    pub message: String,
}

fn problem(field: &'static str, message: impl Into<String>) -> PingProblem {
    PingProblem {
        field,
        message: message.into(),
    }
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
    /// Validates; an empty submission is refused (and does not use up the ping). An answer of "No" or "I was
    /// not working" with minutes filled in is asked back once (the minutes would otherwise be lost without a
    /// word); sent again with `drop_minutes`, it is taken as it reads and the minutes are dropped.
    pub fn parse(f: &PingForm) -> Result<Self, PingProblem> {
        let used = match f.used.trim() {
            "yes" => Used::Yes,
            "no" => Used::No,
            "not_working" => Used::NotWorking,
            "" => {
                return Err(problem(
                    "used",
                    "Did you use the copilot: please choose Yes, No or I was not working.",
                ));
            }
            _ => {
                return Err(problem(
                    "used",
                    "Did you use the copilot: please choose one of the three answers.",
                ));
            }
        };
        if used != Used::Yes {
            let filled = [&f.verification, &f.correction, &f.context, &f.trust]
                .iter()
                .any(|v| !matches!(v.trim(), "" | "0"));
            if filled && f.drop_minutes.trim() != "yes" {
                let answer = if used == Used::No {
                    "No"
                } else {
                    "I was not working"
                };
                return Err(problem(
                    "used",
                    format!(
                        "You answered \u{201c}{answer}\u{201d} but also entered minutes. If you used the copilot, \
                         choose Yes and send again to keep them; to keep \u{201c}{answer}\u{201d}, send again and \
                         the minutes will not be counted."
                    ),
                ));
            }
            return Ok(PingAnswer {
                used,
                minutes: [0; 4],
            });
        }
        let mut minutes = [0i64; 4];
        for (slot, (v, name)) in minutes.iter_mut().zip([
            (&f.verification, ("verification", "Verification")),
            (&f.correction, ("correction", "Correction")),
            (&f.context, ("context", "Context reconstruction")),
            (&f.trust, ("trust", "Trust calibration")),
        ]) {
            let (field, label) = name;
            let v = v.trim();
            *slot = if v.is_empty() {
                0
            } else {
                match v.parse::<i64>() {
                    Ok(m) if (0..=60).contains(&m) => m,
                    _ => {
                        return Err(problem(
                            field,
                            format!("{label}: enter a whole number of minutes from 0 to 60."),
                        ));
                    }
                }
            };
        }
        if minutes.iter().sum::<i64>() > 60 {
            return Err(problem(
                "minutes",
                "Minutes in the last hour: the four add up to more than 60; please check them.",
            ));
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
            drop_minutes: String::new(),
        };
        assert_eq!(
            PingAnswer::parse(&f("", ["", "", "", ""]))
                .unwrap_err()
                .field,
            "used"
        );
        assert_eq!(
            PingAnswer::parse(&f("yes", ["10", "5", "", "0"]))
                .unwrap()
                .minutes,
            [10, 5, 0, 0]
        );
        assert!(
            PingAnswer::parse(&f("yes", ["30", "31", "", ""]))
                .unwrap_err()
                .message
                .contains("more than 60")
        );
        let e = PingAnswer::parse(&f("yes", ["", "", "61", ""])).unwrap_err();
        assert_eq!(e.field, "context");
        assert!(e.message.starts_with("Context reconstruction: "), "{e:?}");
        // "No" with minutes is asked back, not silently stripped; a second send drops them.
        for used in ["no", "not_working"] {
            let e = PingAnswer::parse(&f(used, ["50", "", "", ""])).unwrap_err();
            assert_eq!(e.field, "used");
            assert!(e.message.contains("also entered minutes"), "{e:?}");
            let again = PingForm {
                drop_minutes: "yes".into(),
                ..f(used, ["50", "", "", ""])
            };
            assert_eq!(PingAnswer::parse(&again).unwrap().minutes, [0; 4]);
        }
        // Zeros or blanks are not "minutes filled in".
        assert_eq!(
            PingAnswer::parse(&f("no", ["0", "", " ", "0"]))
                .unwrap()
                .used,
            Used::No
        );
    }
}
