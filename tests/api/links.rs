//! No usable link at rest: links exist only in the emails sent, every link expires, a ping link answers only
//! its own ping, a resend carries a fresh link, and the mail files are private.
use crate::helpers::*;
use chrono::{DateTime, Duration, TimeZone, Utc};
use layer2::auth::token::hash_token;
use layer2::tick::run_due;
use reqwest::StatusCode;

/// Every `/p/<token>` in a text, as (path, token).
fn links_in(text: &str) -> Vec<(String, String)> {
    text.match_indices("/p/")
        .filter_map(|(at, _)| {
            let token = text.get(at + 3..at + 67)?;
            token
                .bytes()
                .all(|b| b.is_ascii_hexdigit())
                .then(|| (format!("/p/{token}"), token.to_string()))
        })
        .collect()
}

/// Every run of exactly 64 hex digits in some bytes (what a regular expression for tokens would find).
fn hex64_runs(bytes: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut start = None;
    for (i, b) in bytes.iter().chain(std::iter::once(&b' ')).enumerate() {
        match (b.is_ascii_hexdigit(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if i - s == 64 {
                    found.push(String::from_utf8_lossy(&bytes[s..i]).to_lowercase());
                }
                start = None;
            }
            _ => {}
        }
    }
    found
}

/// The database file and its `-wal`, as raw bytes (`grep -a`).
fn database_bytes(app: &TestApp) -> Vec<u8> {
    let db = app.state.config.database_path();
    let mut bytes = std::fs::read(&db).unwrap();
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    bytes.extend(std::fs::read(std::path::Path::new(&wal)).unwrap_or_default());
    bytes
}

/// Every link in every `.eml` file of the app.
fn links_in_mail_folder(app: &TestApp) -> Vec<(String, String)> {
    let mut links = Vec::new();
    for entry in std::fs::read_dir(mail_dir(app)).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "eml") {
            let raw = std::fs::read(&path).unwrap();
            // Undo quoted-printable soft line breaks, which may split a long link.
            let text = String::from_utf8_lossy(&raw)
                .replace("=\r\n", "")
                .replace("=3D", "=");
            links.extend(links_in(&text));
        }
    }
    links.sort();
    links.dedup();
    links
}

async fn works(person: &TestApp, path: &str) -> bool {
    let (status, html) = person.get_text(path).await;
    let bad = html.contains("This link does not work");
    assert_eq!(status == StatusCode::NOT_FOUND, bad, "{status}: {html}");
    !bad
}

/// The pilot group invited and their invitations sent; the first participant consents. Returns the study,
/// the participant, their invitation link and a stranger's client.
async fn consented(app: &TestApp) -> (i64, i64, String, TestApp) {
    let id = study_in_pilot(app).await;
    app.post_ok(
        &format!("/studies/{id}/invitations"),
        &[("confirm", "yes"), ("warnings_read", "yes")],
    )
    .await;
    let (participant, _, body) = outbox_of_kind(app, "invitation").await.remove(0);
    let person = app.stranger();
    let link = link_path(&body);
    consent(&person, &link, true).await;
    (id, participant, link, person)
}

/// The participant's first ping sent by the tick; returns (ping, its closing time, the ping link).
async fn first_ping_sent(app: &TestApp, participant: i64) -> (i64, DateTime<Utc>, String) {
    let (ping, due, closes) = pings_of(app, participant).await[0];
    app.clock.advance(due - app.clock_now());
    run_due(&app.state, app.clock_now()).await.unwrap();
    let mails = outbox_of_kind(app, "ping").await;
    let (_, _, body) = mails
        .into_iter()
        .find(|(p, _, _)| *p == participant)
        .unwrap();
    (ping, closes, link_path(&body))
}

#[tokio::test]
async fn after_the_tick_has_sent_mail_no_live_link_can_be_read_from_the_database_file() {
    let app = spawn_app().await;
    let (_, participant, _, _) = consented(&app).await;
    first_ping_sent(&app, participant).await;
    let sent = links_in_mail_folder(&app);
    assert!(
        sent.len() >= 21,
        "20 invitations and a ping: {}",
        sent.len()
    );

    let bytes = database_bytes(&app);
    let runs = hex64_runs(&bytes);
    let live: Vec<String> =
        sqlx::query_scalar("SELECT token_hash FROM link_tokens WHERE expires_at > ?")
            .bind(app.clock_now())
            .fetch_all(&app.state.pool)
            .await
            .unwrap();
    // The scan does see 64-hex values in the file: the links' hashes are there...
    assert!(
        live.iter().any(|h| runs.contains(h)),
        "the scan finds the stored hashes"
    );
    // ...but no value in it is a token whose hash opens anything.
    for run in &runs {
        assert!(
            !live.contains(&hash_token(run)),
            "a live link's token is in the database file"
        );
    }
    // And none of the tokens the emails carry is in the file, even as a fragment of text.
    let text = String::from_utf8_lossy(&bytes);
    for (_, token) in &sent {
        assert!(!text.contains(token.as_str()));
    }
}

#[tokio::test]
async fn an_invitation_not_yet_answered_works_until_seven_days_after_the_collection_phase() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    app.post_ok(
        &format!("/studies/{id}/invitations"),
        &[("confirm", "yes"), ("warnings_read", "yes")],
    )
    .await;
    let (_, _, body) = outbox_of_kind(&app, "invitation").await.remove(0);
    let (link, person) = (link_path(&body), app.stranger());
    assert!(works(&person, &link).await);
    // The study starts 2027-01-04 in London: collection ends on 2027-02-28, so the link closes 2027-03-08.
    let closes = Utc.with_ymd_and_hms(2027, 3, 8, 0, 0, 0).unwrap();
    app.clock
        .advance(closes - app.clock_now() - Duration::minutes(1));
    assert!(works(&person, &link).await, "still open a minute before");
    app.clock.advance(Duration::minutes(2));
    assert!(!works(&person, &link).await, "closed after");
}

#[tokio::test]
async fn every_link_in_the_mail_works_now_and_stops_working_when_it_says() {
    let app = spawn_app().await;
    let (_, participant, link, person) = consented(&app).await;
    let (_, closes, ping_link) = first_ping_sent(&app, participant).await;
    for (path, _) in links_in_mail_folder(&app) {
        assert!(works(&person, &path).await, "{path}");
    }
    // The ping link: its window plus 30 minutes to read the page behind it.
    app.clock
        .advance(closes + Duration::minutes(29) - app.clock_now());
    assert!(works(&person, &ping_link).await);
    app.clock.advance(Duration::minutes(2));
    assert!(!works(&person, &ping_link).await);
    assert!(works(&person, &link).await, "the invitation link lives on");
    // The invitation link after consent: the diary (14 days from today, in the participant's time zone) and
    // the ping week, plus 7 days.
    let last_ping_closes = pings_of(&app, participant).await.last().unwrap().2;
    let zone: String = sqlx::query_scalar(
        "SELECT e.time_zone FROM participants p JOIN employees e ON e.id = p.employee WHERE p.id = ?",
    )
    .bind(participant)
    .fetch_one(&app.state.pool)
    .await
    .unwrap();
    let zone: chrono_tz::Tz = zone.parse().unwrap();
    let diary_end = zone
        .with_ymd_and_hms(2027, 1, 18, 0, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    let end = diary_end.max(last_ping_closes) + Duration::days(7);
    app.clock
        .advance(end - app.clock_now() - Duration::minutes(1));
    assert!(works(&person, &link).await);
    app.clock.advance(Duration::minutes(2));
    assert!(!works(&person, &link).await);
}

#[tokio::test]
async fn a_ping_link_answers_its_own_ping_and_no_other() {
    let app = spawn_app().await;
    let (_, participant, _, person) = consented(&app).await;
    let (first, _, first_link) = first_ping_sent(&app, participant).await;
    // The second ping is due and open; the first ping's link still works (its window or its grace).
    let (second, due, _) = pings_of(&app, participant).await[1];
    let (_, _, first_closes) = pings_of(&app, participant).await[0];
    app.clock.advance(due.min(first_closes) - app.clock_now());
    sqlx::query("UPDATE pings SET status = 'sent', sent_at = ? WHERE id = ?")
        .bind(app.clock_now())
        .bind(second)
        .execute(&app.state.pool)
        .await
        .unwrap();
    assert!(works(&person, &first_link).await);

    let r = person
        .post_form(&format!("{first_link}/ping/{second}"), &[("used", "no")])
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("This link does not work"));
    assert!(answers_to(&app, second).await.is_empty());
    // Its own ping it answers (here: closed or still open, but never "not valid").
    assert_ne!(
        answer(&person, &first_link, first, "no").await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_resend_after_a_crash_keeps_the_message_id_and_carries_a_fresh_working_link() {
    use layer2::mail::outbox::drain_once;
    use layer2::mail::transport::Mailer;
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    app.post_ok(
        &format!("/studies/{id}/invitations"),
        &[("confirm", "yes"), ("warnings_read", "yes")],
    )
    .await;
    let (mailer, sent) = Mailer::memory("study@example.org");
    drain_once(&app.state, &mailer, 0, app.clock_now())
        .await
        .unwrap();
    // The sender died after handing the messages over and before recording it: they are leased again.
    crash_while_sending(&app, app.clock_now() + Duration::minutes(5)).await;
    app.clock.advance(Duration::minutes(6));
    drain_once(&app.state, &mailer, 0, app.clock_now())
        .await
        .unwrap();

    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 40);
    let (first, again) = (&sent[0], &sent[20]);
    assert_eq!(first.message_id, again.message_id);
    let (a, b) = (
        links_in(&first.text)[0].0.clone(),
        links_in(&again.text)[0].0.clone(),
    );
    assert_ne!(a, b, "the resend carries a fresh link");
    let person = app.stranger();
    assert!(works(&person, &b).await);
    // The first copy may have arrived: its link stays valid until its own expiry (documented).
    assert!(works(&person, &a).await);
}

#[tokio::test]
async fn each_email_names_the_studys_privacy_contact_as_it_stands_when_sent() {
    let app = spawn_app_with(|c| c.privacy_contact = "Works council, wc@example.org".into()).await;
    let id = study_in_pilot(&app).await;
    app.post_ok(
        &format!("/studies/{id}/invitations"),
        &[("confirm", "yes"), ("warnings_read", "yes")],
    )
    .await;
    // The pilot cannot start without the study's notice (written by `study_in_pilot`): its contact wins
    // over the organisation's, which only studies from before notices existed fall back to.
    let (_, _, body) = outbox_of_kind(&app, "invitation").await.remove(0);
    assert!(
        body.contains(
            "Questions about your data: Data Protection Office, privacy@example.org (for Example Ltd)"
        ),
        "{body}"
    );
    assert!(!body.contains("Works council"), "{body}");

    app.post_ok(
        &format!("/studies/{id}/privacy"),
        &[
            ("controller", "Example Ltd"),
            ("contact_name", "Dana Privacy"),
            ("contact_email", "dpo@example.org"),
            ("purpose", "Measure the copilot's net time saved."),
            ("retention_until", ""),
        ],
    )
    .await;
    let participant: i64 = sqlx::query_scalar("SELECT MIN(participant) FROM outbox")
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    app.post_ok(
        &format!("/studies/{id}/participants/{participant}/nudge"),
        &[],
    )
    .await;
    let (_, _, nudge) = outbox_of_kind(&app, "nudge").await.remove(0);
    assert!(
        nudge
            .contains("Questions about your data: Dana Privacy, dpo@example.org (for Example Ltd)"),
        "{nudge}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_mail_folder_and_every_eml_are_private_even_where_the_folder_was_open() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let app = spawn_app_with(|c| {
        let dir = c.data_dir.join("mail");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let old = dir.join("old.eml");
        std::fs::write(&old, "From: x").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    })
    .await;
    let id = study_in_pilot(&app).await;
    app.post_ok(
        &format!("/studies/{id}/invitations"),
        &[("confirm", "yes"), ("warnings_read", "yes")],
    )
    .await;
    send_due_mail(&app).await;
    let dir = mail_dir(&app);
    assert_eq!(mode(&dir), 0o700);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 21, "20 invitations and the old file");
    for f in files {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
}

#[tokio::test]
async fn an_upgraded_database_keeps_no_stored_mail_body_and_its_old_links_get_an_expiry() {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
    let dir = tempfile::tempdir().unwrap();
    // The schema as shipped before this change: migrations 0001 to 0009.
    let old = dir.path().join("old-migrations");
    std::fs::create_dir(&old).unwrap();
    for entry in std::fs::read_dir("migrations").unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.as_str() < "0010" {
            std::fs::copy(&path, old.join(&name)).unwrap();
        }
    }
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let db = data.join("layer2.sqlite3");
    let token = "ab".repeat(32);
    {
        let options = SqliteConnectOptions::new()
            .filename(&db)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        sqlx::migrate::Migrator::new(old.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        for sql in [
            "INSERT INTO studies (id, name, vendor, product, time_zone, start_date, status, created_at, updated_at)
             VALUES (1, 'Old', 'V', 'P', 'Europe/London', '2027-01-04', 'collection', '2027-01-01T00:00:00+00:00', '2027-01-01T00:00:00+00:00')",
            "INSERT INTO study_phases VALUES (1, 'collection', '2027-02-01', '2027-02-28')",
            "INSERT INTO employees (id, study_id, employee_id, email, function, time_zone) VALUES (1, 1, 'E1', 'ann@example.org', 'IT', 'Europe/London')",
            "INSERT INTO participants (id, study_id, employee, role, invited_at) VALUES (1, 1, 1, 'main', '2027-02-01T09:00:00+00:00')",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        sqlx::query("INSERT INTO link_tokens (token_hash, participant, created_at) VALUES (?, 1, '2027-02-01T09:00:00+00:00')")
            .bind(hash_token(&token))
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO outbox (study_id, participant, kind, to_addr, subject, text_body, html_body, message_id, status,
               next_attempt_at, created_at) VALUES (1, 1, 'invitation', 'ann@example.org', 'Hi', ?, ?, 'm-1@x', 'sent',
               '2027-02-01T09:00:00+00:00', '2027-02-01T09:00:00+00:00')",
        )
        .bind(format!("Open http://localhost/p/{token}"))
        .bind(format!("<a href=\"http://localhost/p/{token}\">open</a>"))
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    let before = std::fs::read(&db).unwrap();
    assert!(
        String::from_utf8_lossy(&before).contains(&token),
        "the old database holds the link"
    );

    let config = layer2::config::Config {
        data_dir: data.clone(),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    let clock = layer2::clock::ManualClock::new(t0());
    let app = layer2::startup::Application::build(config, std::sync::Arc::new(clock))
        .await
        .unwrap();
    let pool = &app.state().pool;
    let expires: Option<String> = sqlx::query_scalar("SELECT expires_at FROM link_tokens")
        .fetch_one(pool)
        .await
        .unwrap();
    // Not consented: the end of the collection phase (2027-02-28, taken as ending by 2027-03-02 UTC for
    // every time zone) plus seven days.
    assert_eq!(expires.as_deref(), Some("2027-03-09T00:00:00+00:00"));
    let mut bytes = std::fs::read(&db).unwrap();
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    bytes.extend(std::fs::read(std::path::Path::new(&wal)).unwrap_or_default());
    assert!(
        !String::from_utf8_lossy(&bytes).contains(&token),
        "the old body is gone from the file"
    );
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(n, 1, "the message itself is still listed");
}

#[tokio::test]
async fn a_study_without_its_own_notice_names_the_organisations_contact_in_every_email() {
    let app = spawn_app_with(|c| c.privacy_contact = "Works council, wc@example.org".into()).await;
    let id = study_in_pilot(&app).await;
    app.post_ok(
        &format!("/studies/{id}/invitations"),
        &[("confirm", "yes"), ("warnings_read", "yes")],
    )
    .await;
    // A study begun before per-study notices existed has none: its mail falls back to the configuration's.
    sqlx::query("DELETE FROM privacy_notices WHERE study_id = ?")
        .bind(id)
        .execute(&app.state.pool)
        .await
        .unwrap();
    let sent: Vec<String> = outbox_of_kind(&app, "invitation")
        .await
        .into_iter()
        .map(|(_, _, text)| text)
        .collect();
    assert_eq!(sent.len(), 20);
    for text in &sent {
        assert!(
            text.contains("Questions about your data: Works council, wc@example.org"),
            "{text}"
        );
        assert!(!text.contains("privacy@example.org"), "{text}");
    }
}
