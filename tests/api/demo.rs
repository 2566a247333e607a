//! The demo seed: what a new user clicks through first.
use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn the_demo_seeds_an_organisation_and_a_study_in_setup_with_a_drawn_sample() {
    let app = spawn_app().await;
    let info = layer2::demo::seed(&app.state, 600).await.unwrap();
    let r = app
        .login(layer2::demo::ANALYST_EMAIL, layer2::demo::ANALYST_PASSWORD)
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = app.get_text(&format!("/studies/{}", info.study_id)).await;
    assert!(
        html.contains("Setup") && html.contains("600 employees"),
        "{html}"
    );
    let cohorts: Vec<(String, i64)> = app
        .rows(
            "SELECT cohort, COUNT(*) FROM employees WHERE study_id = 1 GROUP BY cohort ORDER BY cohort",
            None,
        )
        .await;
    assert_eq!(
        cohorts,
        [
            ("heavy".to_string(), 60),
            ("light".to_string(), 240),
            ("moderate".to_string(), 300)
        ]
    );
    let (_, html) = app
        .get_text(&format!("/studies/{}/sample", info.study_id))
        .await;
    assert!(html.contains("Sample against population"));
    let functions: i64 = app
        .value(
            "SELECT COUNT(DISTINCT function) FROM employees WHERE study_id = 1",
            None,
        )
        .await;
    assert_eq!(functions, 8);

    // The second study is in collection, with a spread of consent, diary entries and pings: the admin
    // follows it live; analysts wait for its results to be released at the end of collection.
    let (_, html) = app
        .get_text(&format!("/studies/{}/collection", info.collection_study_id))
        .await;
    assert!(html.contains("No results released yet"), "{html}");
    let admin = app.stranger();
    admin
        .login(layer2::demo::ADMIN_EMAIL, layer2::demo::ADMIN_PASSWORD)
        .await;
    let (_, html) = admin
        .get_text(&format!("/studies/{}/collection", info.collection_study_id))
        .await;
    assert!(
        html.contains("Collection") && html.contains("Main sample") && html.contains("Pilot group"),
        "{html}"
    );
    let spread: Vec<(String, i64)> = app
        .rows(
            "SELECT status, COUNT(*) FROM pings GROUP BY status ORDER BY status",
            None,
        )
        .await;
    let count = |s: &str| {
        spread
            .iter()
            .find(|(k, _)| k == s)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    assert!(
        count("answered") > 0 && count("missed") > 0 && count("scheduled") > 0,
        "{spread:?}"
    );
    let consents: Vec<(Option<String>, i64)> = app
        .rows(
            "SELECT consent, COUNT(*) FROM participants GROUP BY consent",
            None,
        )
        .await;
    assert_eq!(consents.len(), 3, "yes, no and no answer: {consents:?}");
    let diary: i64 = app.value("SELECT COUNT(*) FROM diary_entries", None).await;
    assert!(diary > 0);
    // The invitations are real .eml files with the magic link in them.
    let invited: i64 = app.value("SELECT COUNT(*) FROM participants", None).await;
    let emls: Vec<_> = std::fs::read_dir(app._dir.path().join("mail"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(emls.len() as i64, invited);
    let eml = std::fs::read_to_string(&emls[0]).unwrap();
    assert!(eml.contains("/p/") && eml.contains("Message-ID: <invitation-"));
    // Readable by the service only: the folder 0700, every file 0600.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&app._dir.path().join("mail")), 0o700);
        assert!(emls.iter().all(|f| mode(f) == 0o600));
    }

    // The earlier wave is in analysis, with a profile that comes out.
    let status: String = app
        .value(
            "SELECT status FROM studies WHERE id = ?",
            Some(info.analysis_study_id),
        )
        .await;
    assert_eq!(status, "analysis");
    let (code, html) = app
        .get_text(&format!("/studies/{}/analysis", info.analysis_study_id))
        .await;
    assert_eq!(code, StatusCode::OK);
    assert!(
        html.contains("Layer 2 profile of the main sample") && html.contains("Overall"),
        "{html}"
    );
    assert!(!html.contains("cannot be computed"), "{html}");
    // The raw files carry no function or tenure in this study: beyond the admins those breakdowns are
    // withheld (with the reason); the admin sees them.
    assert!(!html.contains("By function") && html.contains("id=\"withheld\""));
    let admin = app.stranger();
    admin
        .login(layer2::demo::ADMIN_EMAIL, layer2::demo::ADMIN_PASSWORD)
        .await;
    let (_, seen) = admin
        .get_text(&format!("/studies/{}/analysis", info.analysis_study_id))
        .await;
    assert!(seen.contains("By function") && seen.contains("By tenure"));
    for section in [
        "Oversight by kind",
        "Design effects",
        "Compliance",
        "Counterfactual baseline",
        "The baseline against the vendor's figure",
    ] {
        assert!(html.contains(section), "{section}");
    }
    // Instrument C in the demo: a control group with its estimate, records and experts, and the vendor check.
    assert!(html.contains("minutes per task</strong>"), "{html}");
    assert!(!html.contains("Not enough data yet: the comparison"));
    let control_tasks: i64 = app
        .value(
            "SELECT COUNT(*) FROM control_tasks t JOIN participants p ON p.id = t.participant WHERE p.study_id = ?",
            Some(info.analysis_study_id),
        )
        .await;
    assert!(control_tasks > 20, "{control_tasks}");
    let code_row = html
        .split("<tr>")
        .find(|r| r.contains("<th scope=\"row\">Code"))
        .expect("a Code row");
    assert!(
        !code_row.contains("fewer than two methods") && code_row.matches("n = ").count() == 4,
        "control, historical, experts and participants: {code_row}"
    );

    // The setup study's usage came from a real vendor shape: a Microsoft 365 Copilot usage report, read
    // by the importer an admin's upload goes through, and the import says which source it read.
    let read: Vec<(String, String, String)> = app
        .rows(
            "SELECT source, version, filename FROM usage_imports WHERE study_id = ?",
            Some(info.study_id),
        )
        .await;
    let want = (
        "m365".to_string(),
        "usage report v2, CSV".to_string(),
        "microsoft-365-copilot-usage-report.csv".to_string(),
    );
    assert_eq!(read, [want]);
    assert_eq!(
        info.usage_read,
        "Microsoft 365 Copilot usage report (CSV) — usage report v2, CSV; UTF-8"
    );
    let (_, usage) = admin
        .get_text(&format!("/studies/{}/usage", info.study_id))
        .await;
    assert!(
        usage.contains("Microsoft 365 Copilot usage report (CSV)")
            && usage.contains("usage report v2, CSV"),
        "{usage}"
    );

    // A study to try the import preview on: roster loaded, no usage, no sample, example files named.
    let preview = info.preview_study_id;
    for (sql, want) in [
        ("SELECT COUNT(*) FROM employees WHERE study_id = ?", 600),
        ("SELECT COUNT(*) FROM usage_imports WHERE study_id = ?", 0),
        ("SELECT COUNT(*) FROM sample_members WHERE study_id = ?", 0),
    ] {
        let got: i64 = app.value(sql, Some(preview)).await;
        assert_eq!(got, want, "{sql}");
    }
    let names: Vec<String> = info
        .examples
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["microsoft-365-copilot-usage-report.csv", "plain-usage.csv"]
    );
    let example = std::fs::read(&info.examples[0]).unwrap();
    let r = admin
        .upload(
            &format!("/studies/{preview}/usage/preview"),
            "microsoft-365-copilot-usage-report.csv",
            example,
            &[("format", "auto")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Microsoft 365 Copilot usage report (CSV)")
            && page.contains("600 in the file: 600 matched to the roster, 0 not on it"),
        "{page}"
    );
    let imported: i64 = app
        .value(
            "SELECT COUNT(*) FROM usage_imports WHERE study_id = ?",
            Some(preview),
        )
        .await;
    assert_eq!(imported, 0, "a preview changes nothing");
}
