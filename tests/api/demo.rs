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
    let cohorts: Vec<(String, i64)> =
        sqlx::query_as("SELECT cohort, COUNT(*) FROM employees GROUP BY cohort ORDER BY cohort")
            .fetch_all(&app.state.pool)
            .await
            .unwrap();
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
    let functions: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT function) FROM employees")
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(functions, 8);
}
