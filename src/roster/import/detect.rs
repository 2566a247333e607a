//! `--format auto`: picks the usage format from the file's shape (CSV or JSON) and its header or keys.
//!
//! Only the start of the file is looked at (the CSV header; the first JSON record or the wrapping
//! object), so detection costs nothing on a large file. An organisation-level file (GitHub's
//! organisation/enterprise metrics, a Microsoft 365 summary report) is refused here with the per-user
//! report to download instead; a file matching nothing is refused with what was looked for.

use serde_json::{Map, Value};

use super::cursor::{json_type, loose};
use super::table::{Layout, WRAPPER_KEYS, decode, quote, refuse, sniff_delimiter};
use super::{ImportProblem, UsageFormat};

/// The refusal every organisation-level file gets, followed by the report to download.
const NO_PER_USER: &str = "this file has no per-user data; download the per-user report instead";

/// What auto-detection looks for, listed when nothing matches.
const LOOKED_FOR: &str = "Looked for: our plain CSV \
(employee_id or email, period, and ai_hours, active_days or usage_count); GitHub Copilot per-user \
records (user_login and day); GitHub seat assignments (seats with assignee.login); Microsoft 365 \
Copilot (User Principal Name / userPrincipalName); ChatGPT Enterprise (email with is_active, or \
messages and period_start); Cursor (JSON data records with isActive or date, or CSV Date, Email and \
Is Active); Gemini (items of kind admin#reports#activity or applicationName gemini); Amazon Q \
Developer (UserId and Date); Viva Insights (PersonId and MetricDate). Choose the format by name if \
the file is one of these";

/// The refusal for an organisation-level GitHub or Microsoft object (no per-user field), if it is one.
pub(super) fn org_level_refusal(obj: &Map<String, Value>) -> Option<String> {
    if obj.contains_key("day_totals") || obj.contains_key("daily_active_users") {
        return Some(format!(
            "{NO_PER_USER} (GitHub Copilot usage metrics: the users-28-day or users-1-day report, not \
             organization-28-day or enterprise-28-day)"
        ));
    }
    if obj.contains_key("total_active_users") || obj.contains_key("copilot_ide_code_completions") {
        return Some(format!(
            "{NO_PER_USER} (GitHub Copilot usage metrics: the users-28-day or users-1-day report; the \
             legacy organisation metrics API has no per-user data)"
        ));
    }
    None
}

/// The key columns of each CSV format, to say which one an unknown file comes closest to.
const CSV_SHAPES: [(UsageFormat, &[&str]); 6] = [
    (
        UsageFormat::PlainCsv,
        &["employee_id", "period", "active_days"],
    ),
    (
        UsageFormat::M365Copilot,
        &["User Principal Name", "Last Activity Date", "Report Period"],
    ),
    (
        UsageFormat::Viva,
        &["PersonId", "MetricDate", "Total_Copilot_active_days"],
    ),
    (UsageFormat::AmazonQ, &["UserId", "Date"]),
    (
        UsageFormat::Chatgpt,
        &["email", "period_start", "period_end", "is_active"],
    ),
    (UsageFormat::Cursor, &["Date", "Email", "Is Active"]),
];

/// Up to eight names, quoted: "\"a\", \"b\" and 3 more".
fn listed<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    let mut out: Vec<String> = names.iter().take(8).map(|n| quote(n)).collect();
    if names.len() > 8 {
        out.push(format!("and {} more", names.len() - 8));
    }
    out.join(", ")
}

/// The refusal of a CSV matching no format: what it looked like, the formats it shares columns with
/// (and what they lack), then everything looked for.
fn unknown_csv(header: &[String]) -> String {
    let mut text = if header.is_empty() {
        "a CSV without a header: not a known per-user usage report".to_string()
    } else {
        format!(
            "a CSV with columns {}: not a known per-user usage report",
            listed(header.iter().map(String::as_str))
        )
    };
    let have: Vec<String> = header.iter().map(|h| loose(h)).collect();
    let near: Vec<String> = CSV_SHAPES
        .iter()
        .filter(|(_, cols)| cols.iter().any(|c| have.contains(&loose(c))))
        .map(|(f, cols)| {
            let missing = cols.iter().copied().filter(|c| !have.contains(&loose(c)));
            format!("{} (it lacks {})", f.label(), listed(missing))
        })
        .collect();
    if !near.is_empty() {
        text.push_str(&format!("; it could be {}", near.join(", or ")));
    }
    format!("{text}. {LOOKED_FOR}")
}

/// The refusal of JSON matching no format, saying what it looked like (`value` is the first item of a
/// list when `in_list`).
fn unknown_json(value: &Value, in_list: bool) -> String {
    let shape = match value {
        other if in_list && !other.is_object() => {
            format!("a JSON list whose first item is a {}", json_type(other))
        }
        Value::Object(obj) if obj.is_empty() => "an empty JSON object".to_string(),
        Value::Object(obj) => format!(
            "a JSON object with keys {}",
            listed(obj.keys().map(String::as_str))
        ),
        other => format!("JSON holding a {}", json_type(other)),
    };
    format!("{shape}: not a known per-user usage report. {LOOKED_FOR}")
}

fn m365_summary_refusal() -> String {
    format!(
        "{NO_PER_USER} (Microsoft 365 admin center › Reports › Usage › Microsoft 365 Copilot: export \
         the per-user table, the usage user detail report, not a summary or count report)"
    )
}

/// Picks the format of a usage file, or refuses it with the reason.
pub(super) fn detect(bytes: &[u8]) -> Result<UsageFormat, Vec<ImportProblem>> {
    let text = decode(bytes, Layout::Csv)?;
    let start = text.trim_start();
    if start.starts_with('{') || start.starts_with('[') {
        detect_json(start)
    } else {
        detect_csv(start)
    }
}

fn has(obj: &Map<String, Value>, key: &str) -> bool {
    obj.keys().any(|k| k.eq_ignore_ascii_case(key))
}

/// The first JSON value of the file: the whole document, or its first line (NDJSON) or first value.
fn first_value(text: &str) -> Option<Value> {
    let first_line = text.lines().next().unwrap_or("").trim();
    if let Ok(v) = serde_json::from_str::<Value>(first_line) {
        return Some(v);
    }
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .next()
        .and_then(Result::ok)
}

fn detect_json(text: &str) -> Result<UsageFormat, Vec<ImportProblem>> {
    let Some(mut value) = first_value(text) else {
        return refuse(
            Some(1),
            None,
            "the file starts like JSON but is not valid JSON",
        );
    };
    // An array of records or of pages: look at its first element.
    let in_list = value.is_array();
    if let Value::Array(items) = &mut value {
        if items.is_empty() {
            return refuse(None, None, "the file has no records");
        }
        value = items.swap_remove(0);
    }
    let Value::Object(obj) = value else {
        return refuse(None, None, unknown_json(&value, in_list));
    };
    if let Some(m) = org_level_refusal(&obj) {
        return refuse(None, None, m);
    }
    if obj
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.starts_with("admin#reports#activit"))
    {
        return Ok(UsageFormat::Gemini);
    }
    if obj.get("seats").is_some_and(Value::is_array) || obj.contains_key("assignee") {
        return Ok(UsageFormat::GithubSeats);
    }
    // A wrapping object: decide on its first record.
    let record = WRAPPER_KEYS
        .iter()
        .find_map(|k| obj.get(*k).and_then(Value::as_array))
        .and_then(|items| items.first())
        .and_then(Value::as_object);
    if let Some(record) = record {
        if let Some(m) = org_level_refusal(record) {
            return refuse(None, None, m);
        }
        if let Some(f) = json_record_format(record) {
            return Ok(f);
        }
        if obj.contains_key("value") && has(record, "reportRefreshDate") {
            return refuse(None, None, m365_summary_refusal());
        }
        return refuse(
            None,
            None,
            unknown_json(&Value::Object(record.clone()), false),
        );
    }
    // Cursor's Admin API with an empty list is still Cursor.
    if obj.get("data").is_some_and(Value::is_array) {
        return Ok(UsageFormat::Cursor);
    }
    if let Some(f) = json_record_format(&obj) {
        return Ok(f);
    }
    // A wrapper around an unknown key holding GitHub records (e.g. with report_start_day beside it).
    for v in obj.values() {
        if let Some(first) = v
            .as_array()
            .and_then(|a| a.first())
            .and_then(Value::as_object)
            && let Some(f) = json_record_format(first)
        {
            return Ok(f);
        }
    }
    refuse(None, None, unknown_json(&Value::Object(obj), false))
}

/// The format one JSON record belongs to, by its keys.
fn json_record_format(r: &Map<String, Value>) -> Option<UsageFormat> {
    if r.contains_key("user_login") && r.contains_key("day") {
        return Some(UsageFormat::GithubCopilot);
    }
    if r.contains_key("assignee") {
        return Some(UsageFormat::GithubSeats);
    }
    if has(r, "userPrincipalName") {
        return Some(UsageFormat::M365Copilot);
    }
    if r.contains_key("isActive")
        || (r.contains_key("date") && r.get("date").is_some_and(Value::is_number))
    {
        return Some(UsageFormat::Cursor);
    }
    let gemini_app = r
        .get("id")
        .and_then(|id| id.get("applicationName"))
        .and_then(Value::as_str)
        .is_some_and(|a| a.to_ascii_lowercase().contains("gemini"));
    if gemini_app
        || r.get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k == "admin#reports#activity")
    {
        return Some(UsageFormat::Gemini);
    }
    None
}

/// The CSV header's names, trimmed and lowercased; a PowerShell `#TYPE` line before it is skipped.
fn csv_header(text: &str) -> Vec<String> {
    csv_header_as_written(text)
        .iter()
        .map(|h| h.to_lowercase())
        .collect()
}

/// The CSV header's names, trimmed, as written.
fn csv_header_as_written(text: &str) -> Vec<String> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("#TYPE"))
        .unwrap_or("");
    let delimiter = sniff_delimiter(line);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(line.as_bytes());
    let mut rec = csv::StringRecord::new();
    match rdr.read_record(&mut rec) {
        Ok(true) => rec.iter().map(|h| h.trim().to_owned()).collect(),
        _ => Vec::new(),
    }
}

fn detect_csv(text: &str) -> Result<UsageFormat, Vec<ImportProblem>> {
    let header = csv_header(text);
    let has = |name: &str| header.iter().any(|h| h == name);
    if (has("employee_id") || has("email")) && has("period") {
        return Ok(UsageFormat::PlainCsv);
    }
    if has("user principal name") || has("userprincipalname") {
        return Ok(UsageFormat::M365Copilot);
    }
    if has("personid") && has("metricdate") {
        return Ok(UsageFormat::Viva);
    }
    if has("userid") && has("date") {
        return Ok(UsageFormat::AmazonQ);
    }
    if has("email") && (has("is_active") || (has("messages") && has("period_start"))) {
        return Ok(UsageFormat::Chatgpt);
    }
    if has("date") && has("email") && has("is active") {
        return Ok(UsageFormat::Cursor);
    }
    if has("user_login") {
        return refuse(
            Some(1),
            None,
            "GitHub Copilot usage comes as JSON (NDJSON), not CSV; upload the report as downloaded",
        );
    }
    // Microsoft 365 summary and count reports: dated, per period, without a user column.
    if has("report refresh date") || has("reportrefreshdate") {
        return refuse(None, None, m365_summary_refusal());
    }
    refuse(None, None, unknown_csv(&csv_header_as_written(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(text: &str) -> UsageFormat {
        detect(text.as_bytes()).unwrap_or_else(|p| panic!("{text:?}: {p:?}"))
    }

    fn refused(text: &str) -> String {
        detect(text.as_bytes()).unwrap_err()[0].message.clone()
    }

    #[test]
    fn csv_files_are_told_apart_by_their_header() {
        let cases = [
            (
                "employee_id,period,active_days\nE1,2026-11,3\n",
                UsageFormat::PlainCsv,
            ),
            (
                "\u{feff}email;period;ai_hours\na@x.org;2026-11;3\n",
                UsageFormat::PlainCsv,
            ),
            (
                "Report Refresh Date,User Principal Name,Display Name,Last Activity Date,Report Period\n",
                UsageFormat::M365Copilot,
            ),
            (
                "#TYPE System.Management.Automation.PSCustomObject\n\"reportRefreshDate\",\"UserPrincipalName\"\n",
                UsageFormat::M365Copilot,
            ),
            (
                "cadence,period_start,period_end,account_id,public_id,name,email,role,user_role,department,groups,user_status,created_or_invited_date,is_active,first_day_active_in_period,last_day_active_in_period,messages\n",
                UsageFormat::Chatgpt,
            ),
            (
                "Date,User ID,Email,Is Active,Chat Requests\n",
                UsageFormat::Cursor,
            ),
            (
                "UserId,Date,Chat_AICodeLines,Chat_MessagesInteracted\n",
                UsageFormat::AmazonQ,
            ),
            (
                "\"UserId\",\"Date\",\"Chat_MessagesSent\"\n",
                UsageFormat::AmazonQ,
            ),
            (
                "PersonId,MetricDate,Total_Copilot_active_days\n",
                UsageFormat::Viva,
            ),
        ];
        for (text, f) in cases {
            assert_eq!(format(text), f, "{text}");
        }
    }

    #[test]
    fn json_files_are_told_apart_by_their_keys() {
        let cases = [
            (
                "{\"day\":\"2025-10-01\",\"user_login\":\"login1\"}\n{\"day\":\"2025-10-02\",\"user_login\":\"login1\"}\n",
                UsageFormat::GithubCopilot,
            ),
            (
                "[{\n  \"day\": \"2025-10-01\",\n  \"user_login\": \"login1\"\n}]",
                UsageFormat::GithubCopilot,
            ),
            (
                "{\n  \"report_start_day\": \"2025-09-04\",\n  \"report_end_day\": \"2025-10-01\",\n  \"users\": [{\"day\":\"2025-10-01\",\"user_login\":\"a\"}]\n}",
                UsageFormat::GithubCopilot,
            ),
            (
                "{\"total_seats\":1,\"seats\":[{\"assignee\":{\"login\":\"octocat\"}}]}",
                UsageFormat::GithubSeats,
            ),
            (
                "[{\"total_seats\":1,\"seats\":[]}]",
                UsageFormat::GithubSeats,
            ),
            (
                "{\"value\":[{\"reportRefreshDate\":\"2024-11-30\",\"userPrincipalName\":\"a@x.org\"}]}",
                UsageFormat::M365Copilot,
            ),
            (
                "{\"data\":[{\"date\":1710720000000,\"isActive\":true,\"email\":\"a@x.org\"}],\"period\":{}}",
                UsageFormat::Cursor,
            ),
            (
                "{\"kind\":\"admin#reports#activities\",\"items\":[]}",
                UsageFormat::Gemini,
            ),
            (
                "{\"items\":[{\"id\":{\"applicationName\":\"gemini_in_workspace_apps\"}}]}",
                UsageFormat::Gemini,
            ),
        ];
        for (text, f) in cases {
            assert_eq!(format(text), f, "{text}");
        }
    }

    #[test]
    fn organisation_level_files_are_refused_with_the_report_to_download() {
        for text in [
            "{\"day_totals\":[{\"daily_active_users\":3}],\"enterprise_id\":\"1\",\"report_start_day\":\"2025-09-04\",\"report_end_day\":\"2025-10-01\"}",
            "[{\"date\":\"2024-06-24\",\"total_active_users\":24,\"total_engaged_users\":20,\"copilot_ide_code_completions\":{}}]",
        ] {
            let m = refused(text);
            assert!(m.starts_with(NO_PER_USER), "{m}");
            assert!(m.contains("users-28-day"), "{m}");
        }
        let m = refused(
            "Report Refresh Date,Report Period,Enabled Users,Active Users\n2024-11-30,7,10,5\n",
        );
        assert!(
            m.starts_with(NO_PER_USER) && m.contains("Microsoft 365"),
            "{m}"
        );
    }

    #[test]
    fn an_unknown_file_lists_what_was_looked_for() {
        for text in ["name,hours\nx,1\n", "{\"foo\":1}", "[1,2]"] {
            let m = refused(text);
            assert!(m.contains("Looked for") && m.contains("PersonId"), "{m}");
        }
        // What the file looked like comes first, and the formats it comes close to.
        let m = refused("Name;Hours;Week\nx;1;2026-11-02\n");
        assert!(
            m.starts_with(
                "a CSV with columns \"Name\", \"Hours\", \"Week\": not a known per-user usage report. "
            ),
            "{m}"
        );
        let m = refused("PersonId,Week,Copilot actions\np1,2026-11-01,3\n");
        assert!(
            m.contains(
                "it could be Viva Insights person query (CSV) (it lacks \"MetricDate\", \"Total_Copilot_active_days\")"
            ),
            "{m}"
        );
        let m = refused("UserId,Day\nu,1\n");
        assert!(
            m.contains("Amazon Q Developer") && m.contains("lacks \"Date\""),
            "{m}"
        );
        assert!(
            refused("{\"bar\":1,\"foo\":2}")
                .starts_with("a JSON object with keys \"bar\", \"foo\"")
        );
        assert!(refused("[1,2]").starts_with("a JSON list whose first item is a number"));
        assert!(refused("user_login,day\nx,2026-01-01\n").contains("NDJSON"));
    }
}
