//! The intervals as people see them (issue 15): the analysis page, the report, the readout and the
//! export name the method, mark small cohorts "approximate" with the simulated coverage, and the
//! analysis page's bootstrap is the Rao–Wu one.
use crate::helpers::*;
use reqwest::StatusCode;

async fn download(app: &TestApp, study: i64, file: &str) -> reqwest::Response {
    app.post(&format!("/studies/{study}/export"), &[("file", file)])
        .await
}

#[tokio::test]
async fn pages_and_exports_show_the_recommended_interval_and_mark_small_cohorts() {
    let app = spawn_app().await;
    let info = layer2::demo::seed(&app.state, 150).await.unwrap();
    app.login(layer2::demo::ADMIN_EMAIL, layer2::demo::ADMIN_PASSWORD)
        .await;
    let study = info.analysis_study_id;
    // export.json's summary carries the interval beside R's fields.
    let json: serde_json::Value = download(&app, study, "export.json")
        .await
        .json()
        .await
        .unwrap();
    let summary = json["summary"].as_array().unwrap();
    let row = summary
        .iter()
        .find(|r| r["group"] == "overall" && r["metric"] == "yield")
        .unwrap();
    assert_eq!(row["interval"]["method"], "logit_t", "{row}");
    let (lo, hi) = (
        row["interval"]["lower"].as_f64().unwrap(),
        row["interval"]["upper"].as_f64().unwrap(),
    );
    let est = row["estimate"].as_f64().unwrap();
    assert!(0.0 <= lo && lo < est && est < hi && hi <= 1.0, "{row}");
    assert!(row["ci_lower"].as_f64().is_some(), "R's fields stay");
    let gross = summary
        .iter()
        .find(|r| r["group"] == "overall" && r["metric"] == "gross_hours_month")
        .unwrap();
    assert_eq!(gross["interval"]["method"], "log_t");
    assert_eq!(
        json["profile"]["overall"]["yield"]["interval"]["method"],
        "logit_t"
    );
    // summary.csv (the workbook's summary sheet has the same columns) and its codebook.
    let csv = download(&app, study, "summary.csv")
        .await
        .text()
        .await
        .unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.contains("ci_upper,interval_method,interval_lower,interval_upper,suppressed"),
        "{header}"
    );
    let line = csv
        .lines()
        .find(|l| l.starts_with("overall,overall,") && l.contains(",yield,"))
        .unwrap();
    assert!(line.contains(",logit_t,"), "{line}");
    let codebook = download(&app, study, "codebook.csv")
        .await
        .text()
        .await
        .unwrap();
    for column in ["interval_method", "interval_lower", "interval_upper"] {
        assert!(
            codebook.contains(&format!("summary.csv,{column},")),
            "{column}"
        );
    }

    // Cohorts under 30 shown with a figure are marked approximate with the simulated coverage.
    let small: Vec<(String, u64)> = summary
        .iter()
        .filter(|r| r["group"] == "cohort" && r["metric"] == "yield" && r["suppressed"] == false)
        .filter(|r| r["estimate"].is_number())
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["n"].as_u64().unwrap(),
            )
        })
        .filter(|(_, n)| *n < 30)
        .collect();
    // The demo's analysis study is small: every cohort under 30, so the overall figures are marked too.
    assert!(row["n"].as_u64().unwrap() < 90, "{row}");
    let (code, analysis) = app
        .get_text(&format!("/studies/{study}/analysis?bootstrap=1"))
        .await;
    assert_eq!(code, StatusCode::OK);
    let (_, report) = app.get_text(&format!("/studies/{study}/report")).await;
    let (_, readout) = app.get_text(&format!("/studies/{study}/readout")).await;
    for (page, html) in [
        ("analysis", &analysis),
        ("report", &report),
        ("readout", &readout),
    ] {
        for (name, n) in &small {
            let note = format!("approximate: {n} participants, under 30; in the coverage study");
            assert!(html.contains(&note), "{page}: cohort {name} of {n}: {html}");
        }
        assert!(
            html.contains("in the smallest cohort, under 30; in the coverage study these 95% intervals covered"),
            "{page}: {html}"
        );
        assert!(
            html.contains("% at 10 per cohort")
                || html.contains("% at 5 per cohort")
                || html.contains("% at 20 per cohort"),
            "{page} names the size it simulated"
        );
    }
    // The analysis page's bootstrap is the Rao–Wu one, and says so.
    assert!(
        analysis.contains(">Rao–Wu bootstrap</td>")
            && analysis.contains("finite population corrected"),
        "{analysis}"
    );
    let (_, plain) = app.get_text(&format!("/studies/{study}/analysis")).await;
    assert!(
        !plain.contains(">Rao–Wu bootstrap</td>"),
        "only when asked for"
    );
}
