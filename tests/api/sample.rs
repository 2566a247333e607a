//! The sample size calculator and the stratified, reproducible draw.
use crate::helpers::*;
use reqwest::StatusCode;
use std::collections::BTreeMap;

async fn setup(n: usize) -> (TestApp, i64) {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Wave").await;
    app.import_roster(id, "r.csv", roster_csv(n).into_bytes())
        .await;
    app.import_usage(id, "u.csv", usage_csv(n).into_bytes(), &[("format", "csv")])
        .await;
    (app, id)
}

async fn draw(app: &TestApp, id: i64, n: &str, min: &str, pilot: &str, seed: &str) -> String {
    let r = app
        .post(
            &format!("/studies/{id}/sample"),
            &[
                ("n", n),
                ("min_per_cohort", min),
                ("pilot_n", pilot),
                ("seed", seed),
            ],
        )
        .await;
    app.follow(r).await
}

#[tokio::test]
async fn the_calculator_gives_379_for_5_percent_at_95_percent_of_25000() {
    let (app, id) = setup(25_000).await;
    let (status, html) = app
        .get_text(&format!("/studies/{id}/sample?margin=5&confidence=95"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("n = 379 of 25,000 employees gives ±5.0% at 95% confidence"),
        "calculator result missing"
    );
    // Per-cohort margins: the small heavy cohort is widest.
    assert!(
        html.contains("Heavy") && html.contains("±15."),
        "heavy cohort of 2,500 with n≈38 is about ±15.8%"
    );
    let (_, html) = app.get_text(&format!("/studies/{id}/sample?n=300")).await;
    assert!(html.contains("n = 300 of 25,000 employees gives ±5.6%"));
    // The per-cohort margins follow the chosen n: 30 of the 2,500 heavy users is about ±17.8%.
    assert!(
        html.contains("<td class=\"num\">30</td><td class=\"num\">±17.8%</td>"),
        "per-cohort margin for n = 300"
    );
    let (_, html) = app.get_text(&format!("/studies/{id}/sample?n=500")).await;
    assert!(html.contains("n = 500 of 25,000 employees gives ±4.3%"));
    let (_, html) = app
        .get_text(&format!("/studies/{id}/sample?margin=abc"))
        .await;
    assert!(html.contains("is not a number of percent"));
}

#[tokio::test]
async fn the_same_seed_and_roster_draw_the_same_people_and_another_seed_does_not() {
    let (app, id) = setup(2000).await;
    let html = draw(&app, id, "300", "30", "50", "7").await;
    assert!(html.contains("Sample drawn."), "{html}");
    let (main, pilot) = (
        app.sample_members(id, "main").await,
        app.sample_members(id, "pilot").await,
    );
    assert_eq!((main.len(), pilot.len()), (300, 50));
    assert!(
        main.iter().all(|m| !pilot.contains(m)),
        "the pilot never overlaps the main sample"
    );
    draw(&app, id, "300", "30", "50", "7").await;
    assert_eq!(app.sample_members(id, "main").await, main);
    assert_eq!(app.sample_members(id, "pilot").await, pilot);
    draw(&app, id, "300", "30", "50", "8").await;
    assert_ne!(app.sample_members(id, "main").await, main);
    let actions = app.audit_actions().await;
    assert_eq!(actions.iter().filter(|a| *a == "sample.draw").count(), 3);
}

#[tokio::test]
async fn the_draw_is_stratified_by_cohort_and_function_with_a_minimum_per_cohort() {
    let (app, id) = setup(2000).await;
    draw(&app, id, "400", "60", "50", "11").await;
    let rows = app.sample_by_cell(id).await;
    let mut by_cohort: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (cohort, _, pop, main) in &rows {
        let e = by_cohort.entry(cohort.clone()).or_default();
        e.0 += pop;
        e.1 += main;
    }
    // Proportional 400 × 10% = 40 heavy would be under the minimum of 60: heavy gets 60, the others share 340.
    assert_eq!(by_cohort["heavy"], (200, 60));
    let moderate = by_cohort["moderate"].1;
    let light = by_cohort["light"].1;
    assert_eq!(moderate + light, 340);
    assert!(
        (moderate - 189).abs() <= 1 && (light - 151).abs() <= 1,
        "moderate {moderate}, light {light}"
    );
    // Within each cohort, functions are represented in proportion (±1).
    for (cohort, function, pop, main) in rows {
        let (cpop, cmain) = by_cohort[&cohort];
        let expected = cmain as f64 * pop as f64 / cpop as f64;
        assert!(
            (main as f64 - expected).abs() <= 1.0,
            "{cohort}/{function}: {main} vs {expected:.1}"
        );
    }
    let (_, html) = app.get_text(&format!("/studies/{id}/sample")).await;
    assert!(html.contains("Sample against population") && html.contains("% of population"));
}

#[tokio::test]
async fn impossible_draws_are_refused_with_a_reason() {
    let (app, id) = setup(200).await;
    for (n, min, pilot, expect) in [
        ("190", "5", "50", "200"),
        ("0", "5", "10", "sample"),
        ("abc", "5", "10", "whole number"),
    ] {
        let html = draw(&app, id, n, min, pilot, "1").await;
        assert!(
            html.contains("flash error") && html.contains(expect),
            "{n}/{pilot}: {expect}"
        );
    }
    assert!(app.sample_members(id, "main").await.is_empty());
}

#[tokio::test]
async fn redrawing_after_invitations_have_gone_out_is_refused() {
    let (app, id) = setup(500).await;
    draw(&app, id, "100", "10", "20", "3").await;
    let main = app.sample_members(id, "main").await;
    // The invitation step (data-collection issue) stamps invited_at; stand in for it here.
    app.mark_sample_invited(id, "pilot").await;
    let html = draw(&app, id, "100", "10", "20", "4").await;
    assert!(html.contains("Invitations have gone out"), "{html}");
    assert_eq!(app.sample_members(id, "main").await, main);
    let r = app
        .post(&format!("/studies/{id}/sample/discard"), &[])
        .await;
    assert!(app.follow(r).await.contains("Invitations have gone out"));
}

#[tokio::test]
async fn the_frame_is_fixed_while_a_sample_exists_until_it_is_discarded() {
    let (app, id) = setup(300).await;
    draw(&app, id, "100", "10", "20", "3").await;
    let r = app
        .upload(
            &format!("/studies/{id}/roster"),
            "r.csv",
            roster_csv(10).into_bytes(),
            &[],
        )
        .await;
    assert!(
        app.follow(r)
            .await
            .contains("discard it on the sample page")
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM employees WHERE study_id = ?", id)
            .await,
        300
    );
    let html = app
        .follow(
            app.post(&format!("/studies/{id}/sample/discard"), &[])
                .await,
        )
        .await;
    assert!(html.contains("Sample discarded."));
    let html = app
        .import_roster(id, "r.csv", roster_csv(10).into_bytes())
        .await;
    assert!(html.contains("Imported 10 employees"));
}
