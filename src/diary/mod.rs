//! Instrument A, the diary: tasks done with the copilot and, for the control group, tasks done without it.
pub mod repo;
pub mod service;

use serde::Deserialize;

/// "How much of the AI output did you use?" (Instrument A).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// No changes.
    All,
    /// Minor edits, under 2 minutes.
    Most,
    /// Significant rework, over 2 minutes.
    Some,
    /// Started over.
    None,
}

impl Outcome {
    /// The four answers in order.
    pub const ALL: [Outcome; 4] = [Outcome::All, Outcome::Most, Outcome::Some, Outcome::None];
    /// Stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::All => "all",
            Outcome::Most => "most",
            Outcome::Some => "some",
            Outcome::None => "none",
        }
    }
    /// The wording of SPEC.md.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::All => "All of it (no changes)",
            Outcome::Most => "Most of it (minor edits, under 2 minutes)",
            Outcome::Some => "Some of it (significant rework, over 2 minutes)",
            Outcome::None => "None of it (I started over)",
        }
    }
    /// Parses a stored or submitted value.
    pub fn parse(s: &str) -> Option<Self> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// A submitted diary entry.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct DiaryForm {
    /// Task category.
    #[serde(default)]
    pub category: String,
    /// Optional short description (sensitive free text).
    #[serde(default)]
    pub description: String,
    /// all / most / some / none.
    #[serde(default)]
    pub outcome: String,
    /// Minutes the task took with AI.
    #[serde(default)]
    pub minutes_with_ai: String,
    /// The participant's estimate without AI.
    #[serde(default)]
    pub minutes_without_ai: String,
    /// A control participant's minutes for the task (done without the copilot).
    #[serde(default)]
    pub minutes: String,
}

/// A valid diary entry.
#[derive(Clone, Debug, PartialEq)]
pub struct DiaryEntry {
    /// Category (one of the instrument's).
    pub category: String,
    /// Description, at most 500 characters.
    pub description: String,
    /// Outcome.
    pub outcome: Outcome,
    /// Minutes with AI.
    pub minutes_with_ai: i64,
    /// Minutes without AI (estimate).
    pub minutes_without_ai: i64,
}

fn minutes(v: &str, field: &str, problems: &mut Vec<(String, String)>) -> i64 {
    match v.trim().parse::<i64>() {
        Ok(m) if (0..=1440).contains(&m) => m,
        _ => {
            problems.push((
                field.into(),
                "enter a whole number of minutes from 0 to 1440".into(),
            ));
            0
        }
    }
}

/// Checks the category against the instrument's and the description's length; returns the description.
fn category_and_description(
    f: &DiaryForm,
    categories: &[String],
    p: &mut Vec<(String, String)>,
) -> String {
    if !categories.iter().any(|c| c == f.category.trim()) {
        p.push(("category".into(), "choose a task category".into()));
    }
    let description = f.description.trim().to_string();
    if description.chars().count() > 500 {
        p.push((
            "description".into(),
            "keep the description under 500 characters".into(),
        ));
    }
    description
}

impl DiaryEntry {
    /// Validates against the instrument's categories; problems are (field, message).
    pub fn parse(f: &DiaryForm, categories: &[String]) -> Result<Self, Vec<(String, String)>> {
        let mut p = Vec::new();
        let description = category_and_description(f, categories, &mut p);
        let outcome = Outcome::parse(f.outcome.trim());
        if outcome.is_none() {
            p.push((
                "outcome".into(),
                "choose how much of the AI output you used".into(),
            ));
        }
        let with = minutes(&f.minutes_with_ai, "minutes_with_ai", &mut p);
        let without = minutes(&f.minutes_without_ai, "minutes_without_ai", &mut p);
        match outcome {
            Some(outcome) if p.is_empty() => Ok(DiaryEntry {
                category: f.category.trim().to_string(),
                description,
                outcome,
                minutes_with_ai: with,
                minutes_without_ai: without,
            }),
            _ => Err(p),
        }
    }
}

/// A control-group task: the same categories, done without the copilot, with the minutes it took.
#[derive(Clone, Debug, PartialEq)]
pub struct ControlTask {
    /// Category (one of the instrument's).
    pub category: String,
    /// Description, at most 500 characters.
    pub description: String,
    /// Minutes the task took (1–1440).
    pub minutes: i64,
}

impl ControlTask {
    /// Validates against the instrument's categories; problems are (field, message).
    pub fn parse(f: &DiaryForm, categories: &[String]) -> Result<Self, Vec<(String, String)>> {
        let mut p = Vec::new();
        let description = category_and_description(f, categories, &mut p);
        let minutes = match f.minutes.trim().parse::<i64>() {
            Ok(m) if (1..=1440).contains(&m) => m,
            _ => {
                p.push((
                    "minutes".into(),
                    "enter a whole number of minutes from 1 to 1440".into(),
                ));
                0
            }
        };
        if p.is_empty() {
            Ok(ControlTask {
                category: f.category.trim().to_string(),
                description,
                minutes,
            })
        } else {
            Err(p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diary_entry_checks_category_outcome_and_minutes() {
        let cats = vec!["Code".to_string()];
        let ok = DiaryForm {
            category: "Code".into(),
            outcome: "most".into(),
            minutes_with_ai: "20".into(),
            minutes_without_ai: "45".into(),
            ..Default::default()
        };
        assert_eq!(
            DiaryEntry::parse(&ok, &cats).unwrap().outcome,
            Outcome::Most
        );
        let bad = DiaryForm {
            category: "Golf".into(),
            outcome: "lots".into(),
            minutes_with_ai: "-1".into(),
            ..Default::default()
        };
        assert_eq!(DiaryEntry::parse(&bad, &cats).unwrap_err().len(), 4);
        let control = DiaryForm {
            category: cats[0].clone(),
            minutes: " 25 ".into(),
            ..Default::default()
        };
        assert_eq!(ControlTask::parse(&control, &cats).unwrap().minutes, 25);
        for bad in ["0", "1441", "2.5", ""] {
            let f = DiaryForm {
                minutes: bad.into(),
                ..control.clone()
            };
            assert_eq!(
                ControlTask::parse(&f, &cats).unwrap_err()[0].0,
                "minutes",
                "{bad:?}"
            );
        }
    }
}
