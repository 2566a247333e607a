//! The codebook: every exported column, its type, unit and allowed values.
use serde::Serialize;

/// One column of one file.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Column {
    /// The file (or sheet) it is in.
    pub file: &'static str,
    /// Column name.
    pub column: &'static str,
    /// text, integer, number, time of day or 0/1.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Unit, if any.
    pub unit: &'static str,
    /// Allowed values or range.
    pub allowed: &'static str,
    /// What it means.
    pub description: &'static str,
}

const fn col(
    file: &'static str,
    column: &'static str,
    kind: &'static str,
    unit: &'static str,
    allowed: &'static str,
    description: &'static str,
) -> Column {
    Column {
        file,
        column,
        kind,
        unit,
        allowed,
        description,
    }
}

const PID: &str = "16 hex digits; the same person has the same id in every export of this study and a different one in other studies";
const DAY: &str = "1, 2, …";
const DAY_TEXT: &str = "Study day on the participant's own calendar: 1 is the local date they joined the study (consented), 2 the next local date, and so on (calendar days, whatever their length under daylight saving). No calendar date is exported: a date or a UTC time would tell the week someone joined and their time zone.";
const CLOCK: &str = "HH:MM, 00:00–23:59";

/// Every column of an export: the description columns only when they are exported, and of cohort,
/// function and tenure only those the file publishes.
pub fn columns(descriptions: bool, published: &super::Published) -> Vec<Column> {
    let mut c = all_columns(descriptions);
    c.retain(|c| {
        c.file != "participants.csv"
            || match c.column {
                "cohort" => published.cohort,
                "function" => published.function,
                "tenure" => published.tenure,
                _ => true,
            }
    });
    c
}

fn all_columns(descriptions: bool) -> Vec<Column> {
    let mut c = vec![
        col(
            "participants.csv",
            "id",
            "text",
            "",
            PID,
            "Pseudonymous participant id (keyed hash of the employee id; the key never leaves the platform).",
        ),
        col(
            "participants.csv",
            "cohort",
            "text",
            "",
            "heavy, moderate, light",
            "Adoption cohort from the vendor's usage analytics (stratum of the design). Left out of the whole file when a cohort would hold fewer than k rows or the summary hides one; analyse the file as one stratum then.",
        ),
        col(
            "participants.csv",
            "function",
            "text",
            "",
            "the roster's functions",
            "Business function. Published for every row or for none: left out of the whole file when a function would hold fewer than k rows, the summary hides a function, or cohort × function × tenure would single out fewer than k people.",
        ),
        col(
            "participants.csv",
            "tenure",
            "text",
            "",
            "the study's tenure bands",
            "Tenure band at the study start. Published for every row or for none, as for function (tenure is left out first).",
        ),
        col(
            "participants.csv",
            "gross_hours_band",
            "text",
            "hours per user per month",
            "bands such as 0–2.5, 2.5–5, …, 15–20, 20–25, …, 40–50, 50 + (lower limit included); a band under k people is merged with its neighbour",
            "Gross AI hours per month from the vendor's analytics, in bands (an exact figure would let the summary's per-group gross hours point at rows). An offline analysis takes the band's midpoint (the open top band's lower limit); summary.csv has the exact estimates.",
        ),
        col(
            "diary.csv",
            "participant_id",
            "text",
            "",
            PID,
            "Who logged the task (participants.csv id).",
        ),
        col("diary.csv", "study_day", "integer", "days", DAY, DAY_TEXT),
        col(
            "diary.csv",
            "local_time",
            "time of day",
            "",
            CLOCK,
            "When the task was logged, on the participant's own clock (their time zone).",
        ),
        col(
            "diary.csv",
            "outcome",
            "text",
            "",
            "all, most, some, none",
            "How much of the AI output was used: all (no changes), most (minor edits, under 2 min), some (significant rework), none (started over). Yield counts all + most.",
        ),
        col(
            "diary.csv",
            "category",
            "text",
            "",
            "the study's task categories",
            "Task category.",
        ),
        col(
            "diary.csv",
            "minutes_with_ai",
            "integer",
            "minutes",
            "0–1440",
            "Minutes the task took with the AI.",
        ),
        col(
            "diary.csv",
            "minutes_without_ai",
            "integer",
            "minutes",
            "0–1440",
            "The participant's estimate without the AI (an Instrument C method).",
        ),
        col(
            "pings.csv",
            "participant_id",
            "text",
            "",
            PID,
            "Who the ping went to.",
        ),
        col(
            "pings.csv",
            "study_day",
            "integer",
            "days",
            DAY,
            "The study day the ping was scheduled for (only delivered pings are listed). Day 1 is the local date the participant joined; no calendar date is exported.",
        ),
        col(
            "pings.csv",
            "local_time",
            "time of day",
            "",
            CLOCK,
            "The time the ping was scheduled for, on the participant's own clock (pings are drawn inside the study's local working window); it is sent then or at the platform's next round.",
        ),
        col(
            "pings.csv",
            "window_min",
            "integer",
            "minutes",
            "≥ 0",
            "Whole minutes from sending to the ping's answer deadline (the study's answer window, less any sending delay).",
        ),
        col(
            "pings.csv",
            "answer_delay_min",
            "integer",
            "minutes",
            "≥ 0; empty when unanswered",
            "Whole minutes (rounded down) from sending to the answer.",
        ),
        col(
            "pings.csv",
            "answered_in_time",
            "0/1",
            "",
            "1, 0, or empty when unanswered",
            "1: answered by the deadline (a valid answer; compliance = valid ÷ delivered), decided on the exact times; 0: answered late (counts as missed). `layer2 analyze` uses it instead of --window-minutes.",
        ),
        col(
            "pings.csv",
            "used_copilot",
            "0/1",
            "",
            "1, 0, or empty when unanswered",
            "In the last hour, did you use the copilot? 1 yes; 0 no or not working (was_working tells the two apart).",
        ),
        col(
            "pings.csv",
            "was_working",
            "0/1",
            "",
            "1, 0, or empty when unanswered",
            "0: the answer was \"I was not working\"; 1: yes or no. A \"not working\" answer is a valid answer (it counts for compliance) and adds no oversight; the share of working hours with use is used_copilot = 1 among was_working = 1.",
        ),
        col(
            "pings.csv",
            "verification_min",
            "integer",
            "minutes",
            "0–60; empty unless used_copilot = 1",
            "Checking accuracy, tone, correctness.",
        ),
        col(
            "pings.csv",
            "correction_min",
            "integer",
            "minutes",
            "0–60; empty unless used_copilot = 1",
            "Fixing, rewriting, debugging.",
        ),
        col(
            "pings.csv",
            "context_min",
            "integer",
            "minutes",
            "0–60; empty unless used_copilot = 1",
            "Re-prompting because it misunderstood.",
        ),
        col(
            "pings.csv",
            "trust_min",
            "integer",
            "minutes",
            "0–60; empty unless used_copilot = 1",
            "Deciding whether to use it at all. The four add up to at most 60.",
        ),
        col(
            "population.csv",
            "cohort",
            "text",
            "",
            "heavy, moderate, light",
            "Cohort.",
        ),
        col(
            "population.csv",
            "population",
            "integer",
            "people",
            "≥ participants of the cohort",
            "Roster size of the cohort (finite population correction and weights).",
        ),
        col(
            "control.csv",
            "participant_id",
            "text",
            "",
            PID,
            "Control-group participant (no copilot seat; not in participants.csv).",
        ),
        col("control.csv", "study_day", "integer", "days", DAY, DAY_TEXT),
        col(
            "control.csv",
            "local_time",
            "time of day",
            "",
            CLOCK,
            "When the task was logged, on the participant's own clock.",
        ),
        col(
            "control.csv",
            "category",
            "text",
            "",
            "the study's task categories",
            "Task category.",
        ),
        col(
            "control.csv",
            "minutes",
            "integer",
            "minutes",
            "1–1440",
            "Minutes the task took without the AI (Instrument C, control-group method).",
        ),
        col(
            "summary.csv",
            "group",
            "text",
            "",
            "cohort, overall, function, tenure",
            "The kind of group.",
        ),
        col("summary.csv", "name", "text", "", "", "The group."),
        col(
            "summary.csv",
            "n",
            "integer",
            "participants",
            "≥ 0",
            "Participants in the estimate (after the compliance rule).",
        ),
        col(
            "summary.csv",
            "metric",
            "text",
            "",
            "yield, oversight_min_per_hour, gross_hours_month, net_hours_month, labor_multiplier, vendor_gap",
            "The metric (yield and multiplier as shares, oversight in minutes per hour, hours per user per month).",
        ),
        col(
            "summary.csv",
            "estimate",
            "number",
            "the metric's",
            "empty when suppressed or not enough data",
            "Point estimate (linearization, stratified by cohort, clustered by participant).",
        ),
        col(
            "summary.csv",
            "se",
            "number",
            "the metric's",
            "",
            "Standard error.",
        ),
        col(
            "summary.csv",
            "df",
            "number",
            "",
            "",
            "Degrees of freedom of the t quantile.",
        ),
        col(
            "summary.csv",
            "ci_lower",
            "number",
            "the metric's",
            "",
            "Lower end of the 95% interval.",
        ),
        col(
            "summary.csv",
            "ci_upper",
            "number",
            "the metric's",
            "",
            "Upper end of the 95% interval.",
        ),
        col(
            "summary.csv",
            "interval_method",
            "text",
            "",
            "t, logit_t, log_t, rao_wu_percentile",
            "How the interval shown on the pages was computed (README, \"Intervals\"): logit_t for yield, log_t for oversight and gross hours, t for the others, Satterthwaite degrees of freedom overall. ci_lower and ci_upper stay R survey's symmetric t interval.",
        ),
        col(
            "summary.csv",
            "interval_lower",
            "number",
            "the metric's",
            "",
            "Lower end of the interval shown on the pages (inside the metric's range).",
        ),
        col(
            "summary.csv",
            "interval_upper",
            "number",
            "the metric's",
            "",
            "Upper end of the interval shown on the pages (inside the metric's range).",
        ),
        col(
            "summary.csv",
            "suppressed",
            "0/1",
            "",
            "0, 1",
            "1: fewer than k participants, or a group that could be recovered by subtraction; no metric shown.",
        ),
    ];
    if descriptions {
        let after_diary = c
            .iter()
            .rposition(|c| c.file == "diary.csv")
            .map_or(c.len(), |i| i + 1);
        c.insert(
            after_diary,
            col("diary.csv", "description", "text", "", "free text, at most 500 characters", "The participant's own description (sensitive; included by an admin's choice, which is audited)."),
        );
        c.push(col(
            "control.csv",
            "description",
            "text",
            "",
            "free text, at most 500 characters",
            "The control participant's description (sensitive).",
        ));
    }
    c
}
