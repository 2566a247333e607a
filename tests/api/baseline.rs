//! Instrument C through HTTP: historical and expert baselines, the participants' own estimates, the bound.
use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn baselines_from_records_experts_and_participants_are_compared_per_category() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Wave").await;
    let html = app
        .follow(
            app.post(
                &format!("/studies/{id}/baseline/historical"),
                &[
                    ("category", "Code"),
                    ("minutes", "60"),
                    ("source", "<b>Jira 2025</b>"),
                ],
            )
            .await,
        )
        .await;
    assert!(
        html.contains("Historical baseline saved.") && html.contains("&#60;b&#62;Jira 2025"),
        "{html}"
    );
    app.post(
        &format!("/studies/{id}/baseline/expert"),
        &[
            ("expert", "Dana"),
            ("category", "Code"),
            ("low", "30"),
            ("likely", "45"),
            ("high", "90"),
        ],
    )
    .await;
    let html = app
        .follow(
            app.post(
                &format!("/studies/{id}/baseline/expert"),
                &[
                    ("expert", "Eve"),
                    ("category", "Code"),
                    ("low", "50"),
                    ("likely", "40"),
                    ("high", "60"),
                ],
            )
            .await,
        )
        .await;
    assert!(html.contains("in that order"), "low > likely is refused");
    let html = app
        .follow(
            app.post(
                &format!("/studies/{id}/baseline/historical"),
                &[
                    ("category", "Email and messages"),
                    ("minutes", "-3"),
                    ("source", "x"),
                ],
            )
            .await,
        )
        .await;
    assert!(html.contains("positive number of minutes"));
    app.post(
        &format!("/studies/{id}/baseline/historical"),
        &[
            ("category", "Email and messages"),
            ("minutes", "12"),
            ("source", "time study"),
        ],
    )
    .await;
    let (status, html) = app.get_text(&format!("/studies/{id}/baseline")).await;
    assert_eq!(status, StatusCode::OK);
    // Code: historical 60, experts PERT (30 + 180 + 90) / 6 = 50: bound 50–60, two methods.
    assert!(html.contains("50.0–60.0"), "{html}");
    assert!(
        html.contains("Email and messages <span class=\"warn\">(fewer than two methods)</span>")
    );
    assert!(!html.contains("Code <span class=\"warn\">"));
    let actions = app.audit_actions().await;
    assert_eq!(
        actions
            .iter()
            .filter(|a| a.starts_with("baseline."))
            .count(),
        3
    );
}
