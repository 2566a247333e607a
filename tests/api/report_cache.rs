//! The analysis, report and readout figures are computed once and reused until the study's data changes:
//! a change made after a view shows up at the very next one.
use crate::helpers::*;
use layer2::tick::run_due;
use reqwest::StatusCode;

/// The analysis page's count line ("N participants in the estimates; M left out ...").
async fn counted(app: &TestApp, study: i64) -> String {
    let (status, html) = app.get_text(&format!("/studies/{study}/analysis")).await;
    assert_eq!(status, StatusCode::OK);
    let at = html
        .find("participants in the estimates;")
        .expect("the count line");
    let start = html[..at].rfind('>').map(|i| i + 1).unwrap_or(0);
    html[start..at + 60].to_string()
}

#[tokio::test]
async fn an_answer_given_after_a_view_shows_in_the_next_view_at_once() {
    let app = spawn_app().await;
    let study = study_in_pilot(&app).await;
    move_status(&app, study, "collection").await;
    app.follow(send_invitations(&app, study).await).await;
    let (participant, body) = main_sample_mail(&app, 1).await.remove(0);
    let link = link_path(&body);
    let person = app.stranger();
    consent(&person, &link, true).await;
    let (ping, due, _) = pings_of(&app, participant).await[0];
    app.clock.set(due);
    run_due(&app.state, app.clock_now()).await.unwrap();
    // Days have passed: the admin signs in again.
    app.login(ADMIN, PASSWORD).await;

    // Viewed twice (the second from the cache): the one participant has not answered yet.
    let before = counted(&app, study).await;
    assert!(
        before.starts_with("0 participants in the estimates; 1 left out"),
        "{before}"
    );
    assert_eq!(counted(&app, study).await, before);

    assert_eq!(answer(&person, &link, ping, "no").await, StatusCode::OK);
    let after = counted(&app, study).await;
    assert!(
        after.starts_with("1 participants in the estimates; 0 left out"),
        "{after}"
    );

    // A change that bypasses every page (the CLI, the tick, another process) counts too: the version is
    // bumped by the database itself.
    sqlx::query("UPDATE pings SET status = 'missed' WHERE id = ?")
        .bind(ping)
        .execute(&app.state.pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM ping_answers WHERE ping = ?")
        .bind(ping)
        .execute(&app.state.pool)
        .await
        .unwrap();
    let reverted = counted(&app, study).await;
    assert!(
        reverted.starts_with("0 participants in the estimates; 1 left out"),
        "{reverted}"
    );
}
