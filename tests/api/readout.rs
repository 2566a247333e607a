//! The readout: exports (round trip, pseudonyms, neutralisation, roles, audit), the report and readout
//! pages, the renewal economics, and `layer2 export` / `layer2 report` from the real binary.
use crate::helpers::*;
use layer2::stats::input::{Rules, read_dir};
use layer2::stats::profile::{StudyProfile, profile};
use layer2::study::StudyId;
use reqwest::StatusCode;
use std::path::Path;

const THIRD: f64 = 1.0 / 3.0;

/// The demo's organisation (600 people) and its replayed studies, signed in as the analyst.
async fn demo() -> (TestApp, layer2::demo::DemoInfo) {
    let app = spawn_app().await;
    let info = layer2::demo::seed(&app.state, 600).await.unwrap();
    app.login(layer2::demo::ANALYST_EMAIL, layer2::demo::ANALYST_PASSWORD)
        .await;
    (app, info)
}

async fn download(app: &TestApp, study: i64, file: &str) -> reqwest::Response {
    app.post(&format!("/studies/{study}/export"), &[("file", file)])
        .await
}

/// The in-app profile at the default compliance rule; `banded`: with each person's gross hours taken as
/// the raw files give them, their band's value (raw files carry bands; summary.csv has the exact figures).
async fn app_profile(app: &TestApp, study: i64, banded: bool) -> StudyProfile {
    use layer2::export::pseudonymise::{gross_band_label, gross_bands};
    use layer2::stats::input::gross_band_value;
    let everyone = layer2::reports::study_inputs(&app.state, StudyId(study), 0.0)
        .await
        .unwrap();
    let hours: Vec<f64> = everyone.kept.iter().map(|t| t.gross_hours).collect();
    let limits = gross_bands(&hours, app.state.config.min_cell_size);
    let mut inputs = everyone.with_min_compliance(THIRD);
    for t in inputs.kept.iter_mut().filter(|_| banded) {
        t.gross_hours = gross_band_value(&gross_band_label(&limits, t.gross_hours)).unwrap();
    }
    let data: Vec<_> = inputs.kept.iter().map(layer2::reports::to_data).collect();
    profile(&data, &inputs.populations, 0.95).unwrap()
}

fn assert_same(a: &StudyProfile, b: &StudyProfile) {
    assert_eq!(
        a.cohorts.keys().collect::<Vec<_>>(),
        b.cohorts.keys().collect::<Vec<_>>()
    );
    let pairs = a
        .cohorts
        .iter()
        .map(|(k, p)| (k.as_str(), p, &b.cohorts[k]))
        .chain(std::iter::once(("overall", &a.overall, &b.overall)));
    for (name, x, y) in pairs {
        assert_eq!(x.n, y.n, "{name}");
        for m in layer2::stats::profile::Metric::ALL {
            match (x.get(m), y.get(m)) {
                (Some(p), Some(q)) => {
                    assert!(
                        (p.estimate - q.estimate).abs() <= 1e-9 * p.estimate.abs().max(1.0),
                        "{name} {m:?}: {} vs {}",
                        p.estimate,
                        q.estimate
                    );
                    assert!(
                        (p.se - q.se).abs() <= 1e-9 * p.se.abs().max(1.0),
                        "{name} {m:?} se"
                    );
                }
                (None, None) => {}
                other => panic!("{name} {m:?}: {other:?}"),
            }
        }
    }
}

fn ids(csv: &str) -> Vec<String> {
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn an_export_analysed_again_gives_the_apps_numbers_and_names_nobody() {
    let (app, info) = demo().await;
    let study = info.analysis_study_id;
    let (status, html) = app.get_text(&format!("/studies/{study}/export")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("participants.csv") && !html.contains("With free-text descriptions"));
    let dir = tempfile::tempdir().unwrap();
    for file in [
        "participants.csv",
        "diary.csv",
        "pings.csv",
        "population.csv",
    ] {
        let r = download(&app, study, file).await;
        assert_eq!(r.status(), StatusCode::OK, "{file}");
        let h = r.headers();
        assert_eq!(h["content-type"], "text/csv; charset=utf-8");
        assert_eq!(
            h["content-disposition"],
            format!("attachment; filename=\"study-{study}-{file}\"").as_str()
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        std::fs::write(dir.path().join(file), r.bytes().await.unwrap()).unwrap();
    }
    // The round trip: the files through the offline reader give the app's profile.
    let offline = read_dir(
        dir.path(),
        Rules {
            window_minutes: 30,
            min_compliance: THIRD,
        },
    )
    .unwrap();
    let data: Vec<_> = offline.kept.iter().map(layer2::reports::to_data).collect();
    let again = profile(&data, &offline.populations, 0.95).unwrap();
    let inside = app_profile(&app, study, true).await;
    assert!(inside.overall.n > 50, "a real sample: {}", inside.overall.n);
    assert_same(&inside, &again);

    // Nobody is named: no employee id, no email; the same person keeps their id across exports of the
    // study and has another in the other study (the demo's waves sample the same people).
    let participants = std::fs::read_to_string(dir.path().join("participants.csv")).unwrap();
    assert!(
        !participants.contains("E0") && !participants.contains('@'),
        "{participants}"
    );
    let first = ids(&participants);
    let again = download(&app, study, "participants.csv")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(first, ids(&again), "stable within a study");
    let other = download(&app, info.collection_study_id, "participants.csv")
        .await
        .text()
        .await
        .unwrap();
    assert!(!ids(&other).is_empty());
    assert!(
        ids(&other).iter().all(|id| !first.contains(id)),
        "different in another study"
    );
    let diary = std::fs::read_to_string(dir.path().join("diary.csv")).unwrap();
    assert!(!diary.lines().next().unwrap().contains("description"));
    // Rows come in pseudonym order: the database's order follows employee ids and would tie them back.
    for file in ["diary.csv", "pings.csv"] {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        let order = ids(&text);
        assert!(order.is_sorted(), "{file} is in pseudonym order");
    }
    // "No" and "I was not working" are told apart: was_working is 0 only beside used_copilot = 0, and
    // empty exactly when the ping went unanswered.
    let pings = std::fs::read_to_string(dir.path().join("pings.csv")).unwrap();
    let header: Vec<&str> = pings.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (used, working) = (col("used_copilot"), col("was_working"));
    let mut seen = std::collections::BTreeSet::new();
    for line in pings.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let pair = (cells[used], cells[working]);
        assert!(
            matches!(pair, ("1", "1") | ("0", "1") | ("0", "0") | ("", "")),
            "{line}"
        );
        seen.insert(pair);
    }
    assert!(
        seen.contains(&("0", "0")) && seen.contains(&("0", "1")),
        "the demo has both kinds of 0: {seen:?}"
    );
    // Analysts see the study's compliance rule only: two thresholds a person apart would single them out.
    let r = app.get(&format!("/studies/{study}/analysis?min=0")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Only an admin changes the compliance threshold")
    );

    // The summary agrees with the app and the codebook documents every column.
    let summary = download(&app, study, "summary.csv")
        .await
        .text()
        .await
        .unwrap();
    let exact = app_profile(&app, study, false).await;
    let net = exact.overall.net_hours_month.as_ref().unwrap().estimate;
    let line = summary
        .lines()
        .find(|l| l.starts_with("overall,overall,") && l.contains(",net_hours_month,"))
        .unwrap();
    let value: f64 = line.split(',').nth(4).unwrap().parse().unwrap();
    assert!((value - net).abs() < 1e-9, "{line}");
    let codebook = download(&app, study, "codebook.csv")
        .await
        .text()
        .await
        .unwrap();
    for column in [
        "gross_hours_month",
        "answered_in_time",
        "used_copilot",
        "was_working",
        "suppressed",
    ] {
        assert!(codebook.contains(column), "{column}");
    }
    let json: serde_json::Value = download(&app, study, "export.json")
        .await
        .json()
        .await
        .unwrap();
    let j = json["profile"]["overall"]["net_hours_month"]["estimate"]
        .as_f64()
        .unwrap();
    assert!((j - net).abs() < 1e-9);
    let xlsx = download(&app, study, "workbook.xlsx").await;
    assert_eq!(
        xlsx.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(&xlsx.bytes().await.unwrap()[..2], b"PK");

    // Refusals change nothing; every export is in the audit log with who and what.
    let before = app
        .count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'export' AND study_id = ?",
            study,
        )
        .await;
    let r = app
        .post(
            &format!("/studies/{study}/export"),
            &[("file", "diary.csv"), ("descriptions", "1")],
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "an analyst never gets free text"
    );
    let r = download(&app, study, "../layer2.sqlite3").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let stranger = app.stranger();
    let r = stranger
        .post_form(
            &format!("/studies/{study}/export"),
            &[("file", "diary.csv")],
        )
        .await;
    assert_ne!(r.status(), StatusCode::OK, "no session, no export");
    assert_eq!(
        stranger
            .get(&format!("/studies/{study}/export"))
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'export' AND study_id = ?",
            study
        )
        .await,
        before
    );
    let rows: Vec<(String, String)> = app
        .rows(
            "SELECT actor, detail FROM audit_log WHERE action = 'export' AND study_id = ? ORDER BY id",
            Some(study),
        )
        .await;
    // Four raw files, participants again, summary, codebook, JSON and workbook.
    assert_eq!(rows.len(), 9);
    assert!(
        rows.iter()
            .all(|(who, _)| who == layer2::demo::ANALYST_EMAIL)
    );
    assert!(
        rows[0].1.starts_with("participants.csv; no free text"),
        "{:?}",
        rows[0]
    );
}

#[tokio::test]
async fn an_admin_may_include_descriptions_deliberately_and_it_is_logged() {
    let app = spawn_app().await;
    let info = layer2::demo::seed(&app.state, 600).await.unwrap();
    app.login(layer2::demo::ADMIN_EMAIL, layer2::demo::ADMIN_PASSWORD)
        .await;
    let study = info.analysis_study_id;
    // A description a spreadsheet would run as a formula.
    app.plant_description(study, "=HYPERLINK(\"http://evil\",\"x\")")
        .await;
    let (_, html) = app.get_text(&format!("/studies/{study}/export")).await;
    assert!(html.contains("With free-text descriptions"));
    let r = app
        .post(
            &format!("/studies/{study}/export"),
            &[("file", "diary.csv"), ("descriptions", "1")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let csv = r.text().await.unwrap();
    assert!(csv.lines().next().unwrap().ends_with(",description"));
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\""),
        "neutralised and quoted"
    );
    assert!(!csv.contains(",=HYPERLINK"));
    let detail: String = app
        .value(
            "SELECT detail FROM audit_log WHERE action = 'export' ORDER BY id DESC LIMIT 1",
            None,
        )
        .await;
    assert_eq!(detail, "diary.csv; free-text descriptions INCLUDED");
}

#[tokio::test]
async fn the_report_and_readout_show_charts_tables_economics_and_caveats() {
    let (app, info) = demo().await;
    let study = info.analysis_study_id;
    let (status, html) = app.get_text(&format!("/studies/{study}/report")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        html.matches("<svg role=\"img\"").count(),
        5,
        "four profile charts and the cost per unit stack"
    );
    for text in [
        "The headline",
        "below the vendor",
        "Yield per cohort (95% CI)",
        "Oversight minutes per hour of AI output, by kind",
        "s hours beside the hours really saved",
        "Compliance by day",
        "Renewal economics",
        "seat price USD 39 per user per month",
        "Return per seat",
    ] {
        assert!(html.contains(text), "{text}");
    }
    assert!(
        !html.contains("Save assumptions"),
        "analysts read the assumptions"
    );
    // The raw files leave function and tenure out in this study: beyond the admins the report breaks down
    // only by what they carry, and says why (for the aggregate viewer too, whose figures could reach
    // someone holding the rows). The admin sees both breakdowns.
    assert!(!html.contains("By function") && !html.contains("By tenure"));
    assert!(html.contains("id=\"withheld\""), "the reason is given");
    let viewer = app.stranger();
    viewer
        .login(layer2::demo::VIEWER_EMAIL, layer2::demo::VIEWER_PASSWORD)
        .await;
    let (_, seen) = viewer.get_text(&format!("/studies/{study}/report")).await;
    assert!(!seen.contains("By function") && seen.contains("id=\"withheld\""));
    let admin = app.stranger();
    admin
        .login(layer2::demo::ADMIN_EMAIL, layer2::demo::ADMIN_PASSWORD)
        .await;
    let (_, seen) = admin.get_text(&format!("/studies/{study}/report")).await;
    assert!(seen.contains("By function") && seen.contains("By tenure"));
    assert!(!seen.contains("id=\"withheld\""));
    let (status, readout) = app.get_text(&format!("/studies/{study}/readout")).await;
    assert_eq!(status, StatusCode::OK);
    for text in [
        "/static/print.css",
        "net hours saved per user per month",
        "Decision acceleration is not automation",
        "Pilot data are excluded",
        "Low-compliance participants are left out",
        "How this was measured",
        "Renewal economics",
    ] {
        assert!(readout.contains(text), "{text}");
    }
    let css = app.get("/static/print.css").await.text().await.unwrap();
    assert!(css.contains("@media print") && css.contains("@page"));
}

#[tokio::test]
async fn renewal_assumptions_are_checked_saved_audited_and_priced() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Wave").await;
    for (fields, message) in [
        (["0", "100", "50", "USD"], "seat price must be a positive"),
        (["30", "10.5", "50", "USD"], "whole number"),
        (
            ["30", "100", "lots", "USD"],
            "hourly labor cost must be a number",
        ),
        (["30", "100", "50", "dollars"], "three-letter ISO 4217 code"),
    ] {
        let html = app
            .follow(
                app.post(
                    &format!("/studies/{id}/economics"),
                    &[
                        ("seat_price", fields[0]),
                        ("seats", fields[1]),
                        ("hourly_cost", fields[2]),
                        ("currency", fields[3]),
                    ],
                )
                .await,
            )
            .await;
        assert!(html.contains(message), "{message}: {html}");
    }
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM study_economics WHERE study_id = ?",
            id
        )
        .await,
        0
    );
    let html = app
        .follow(
            app.post(
                &format!("/studies/{id}/economics"),
                &[
                    ("seat_price", "30"),
                    ("seats", "1,000"),
                    ("hourly_cost", "80"),
                    ("currency", "eur"),
                ],
            )
            .await,
        )
        .await;
    assert!(html.contains("Renewal assumptions saved."), "{html}");
    assert!(html.contains("seat price EUR 30 per user per month · 1000 seats licensed · loaded labor cost EUR 80 per hour"), "{html}");
    assert!(
        app.audit_actions()
            .await
            .contains(&"economics.set".to_string())
    );
}

fn layer2(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_layer2"))
        .args(args)
        .env("LAYER2_DATA_DIR", dir)
        .env("LAYER2_LOG", "warn")
        .output()
        .unwrap()
}

#[tokio::test]
async fn layer2_export_then_analyze_gives_the_apps_numbers_and_report_prints_the_readout() {
    let (app, info) = demo().await;
    let study = info.analysis_study_id.to_string();
    let data = app._dir.path();
    let out = tempfile::tempdir().unwrap();
    let o = layer2(
        data,
        &[
            "export",
            "--study",
            &study,
            "--format",
            "csv",
            "--out",
            out.path().to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.contains("participants.csv") && said.contains("layer2 analyze"),
        "{said}"
    );
    for f in layer2::export::CSV_FILES {
        assert!(out.path().join(f).exists(), "{f}");
    }
    let o = layer2(
        data,
        &[
            "analyze",
            out.path().to_str().unwrap(),
            "--json",
            "--min-compliance",
            &THIRD.to_string(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let offline: StudyProfile = serde_json::from_slice(&o.stdout).unwrap();
    assert_same(
        &app_profile(&app, info.analysis_study_id, true).await,
        &offline,
    );
    let o = layer2(
        data,
        &[
            "export",
            "--study",
            &study,
            "--format",
            "xlsx",
            "--out",
            out.path().to_str().unwrap(),
        ],
    );
    assert!(o.status.success() && out.path().join("workbook.xlsx").exists());
    let o = layer2(
        data,
        &["export", "--study", &study, "--format", "pdf", "--out", "x"],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--format must be csv, json or xlsx"));
    let o = layer2(data, &["report", "--study", &study]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    for s in ["Overall", "multiplier", "Renewal economics", "seat USD 39"] {
        assert!(text.contains(s), "{s}: {text}");
    }
    let o = layer2(data, &["report", "--study", "99"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("no study 99"));
    let cli_exports = app
        .count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'export' AND actor = 'cli' AND study_id = ?",
            info.analysis_study_id,
        )
        .await;
    assert_eq!(cli_exports, 2);
}

#[tokio::test]
async fn two_waves_line_up_with_a_trend_and_the_change_between_them() {
    let (app, info) = demo().await;
    let (a, b) = (info.analysis_study_id, info.collection_study_id);
    let (status, html) = app.get_text("/waves").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("GitHub Copilot study, wave 0") && !html.contains("The waves"));
    // Wave 1 is still collecting: analysts compare released results only, so they wait for it.
    let (status, html) = app.get_text(&format!("/waves?ids={a}&ids={b}")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        html.contains("No results of GitHub Copilot study, wave 1 have been released yet"),
        "{html}"
    );
    // An admin compares the live figures.
    let app = app.stranger();
    app.login(layer2::demo::ADMIN_EMAIL, layer2::demo::ADMIN_PASSWORD)
        .await;
    let (status, html) = app.get_text(&format!("/waves?ids={a}&ids={b}")).await;
    assert_eq!(status, StatusCode::OK);
    for text in [
        "The waves",
        "GPT-4.1 (2026-06)",
        "GPT-5 (2026-08)",
        "Labor multiplier",
        "Net hours saved per user per month",
        // Wave 1 is still collecting: its live figures are marked interim wherever it is named.
        "GitHub Copilot study, wave 1 (interim: still collecting) minus GitHub Copilot study, wave 0",
    ] {
        assert!(html.contains(text), "{text}");
    }
    assert_eq!(
        html.matches("<svg role=\"img\"").count(),
        5,
        "a trend per metric, and the cost per unit's"
    );
    // The change is signed and has an interval; a change of yield is in percentage points; nothing
    // reads "-0.00".
    assert!(html.contains("<td>+") || html.contains("<td>−"), "{html}");
    let yield_rows = html.split("<h2>Yield</h2>").nth(1).unwrap();
    let yield_rows = yield_rows.split("</table>").next().unwrap();
    assert!(yield_rows.contains(" pp ["), "{yield_rows}");
    assert!(
        !yield_rows.contains("% [+") && !yield_rows.contains("% [−"),
        "no change in %: {yield_rows}"
    );
    assert!(!html.contains("-0.0") && !html.contains("−0.0 ") && !html.contains("+0.0 "));
    // The waves are ordered oldest first whatever order they are asked in.
    let (_, reversed) = app.get_text(&format!("/waves?ids={b}&ids={a}")).await;
    assert!(reversed.contains(
        "GitHub Copilot study, wave 1 (interim: still collecting) minus GitHub Copilot study, wave 0"
    ));
    // One wave alone: the page says what to do instead of doing nothing.
    let (status, one) = app.get_text(&format!("/waves?ids={a}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(one.contains("id=\"waves-hint\"") && one.contains("Choose at least two studies"));
    assert!(!one.contains("The waves"));
    assert_eq!(
        app.get("/waves?ids=x").await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.get("/waves?ids=2&ids=999").await.status(),
        StatusCode::NOT_FOUND
    );
}
