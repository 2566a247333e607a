//! Issue 11, after review: raw files carry no calendar time, the aggregate viewer sees no small cell,
//! passwords are checked after normalising, and a deleted account takes its device cookies with it.
use crate::helpers::*;
use crate::reidentify::{analysed_offline, demo, download, pseudonyms_of, table};
use layer2::demo::{ANALYST_EMAIL, ANALYST_PASSWORD};
use reqwest::StatusCode;
use std::collections::HashMap;

/// Whether a value looks like a calendar date or a clock time with a zone (2027-02-01, 09:30:00Z,
/// +00:00, a Unix time in seconds or milliseconds).
fn calendar_like(v: &str) -> bool {
    let b = v.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let date = b.windows(10).any(|w| {
        digits(&w[..4]) && w[4] == b'-' && digits(&w[5..7]) && w[7] == b'-' && digits(&w[8..])
    });
    let zoned = v.contains(':') && (v.ends_with('Z') || v.contains("+00") || v.contains('T'));
    let seconds = v.matches(':').count() >= 2;
    let unix = (v.len() == 10 || v.len() == 13) && digits(b);
    date || zoned || seconds || unix
}

/// A consented main-sample participant of the study with delivered pings: (participant, employee id).
async fn two_with_pings(app: &TestApp, study: i64) -> [(i64, String); 2] {
    let found: Vec<(i64, String)> = app
        .rows(
            "SELECT p.id, e.employee_id FROM participants p JOIN employees e ON e.id = p.employee
             WHERE p.study_id = ? AND p.role = 'main' AND p.arm = 'copilot' AND p.consent = 'accepted'
               AND EXISTS (SELECT 1 FROM pings g JOIN ping_answers a ON a.ping = g.id WHERE g.participant = p.id)
               AND EXISTS (SELECT 1 FROM diary_entries d WHERE d.participant = p.id)
             ORDER BY p.id LIMIT 2",
            Some(study),
        )
        .await;
    [found[0].clone(), found[1].clone()]
}

async fn exec(app: &TestApp, sql: &'static str, binds: &[&str]) {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(*b);
    }
    q.execute(&app.state.pool).await.unwrap();
}

/// Makes `b` live `a`'s study on a clock `hours` earlier: b's consent, diary and pings are a's, shifted
/// in UTC by `-hours`, and a lives in Africa/Lagos (UTC+1) while b lives in Asia/Singapore (UTC+8), neither
/// with daylight saving: the same local schedule in two time zones.
async fn same_local_schedule(app: &TestApp, a: i64, b: i64) {
    let (a, b) = (a.to_string(), b.to_string());
    let (a, b) = (a.as_str(), b.as_str());
    exec(app, "UPDATE employees SET time_zone = 'Africa/Lagos' WHERE id = (SELECT employee FROM participants WHERE id = ?)", &[a]).await;
    exec(app, "UPDATE employees SET time_zone = 'Asia/Singapore' WHERE id = (SELECT employee FROM participants WHERE id = ?)", &[b]).await;
    // a's times in milliseconds, so that a's and b's durations round alike.
    exec(app, "UPDATE participants SET consent_at = strftime('%Y-%m-%dT%H:%M:%fZ', consent_at) WHERE id = ?", &[a]).await;
    exec(app, "UPDATE diary_entries SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at) WHERE participant = ?", &[a]).await;
    exec(app, "UPDATE pings SET due_at = strftime('%Y-%m-%dT%H:%M:%fZ', due_at), expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', expires_at), sent_at = strftime('%Y-%m-%dT%H:%M:%fZ', sent_at) WHERE participant = ?", &[a]).await;
    exec(app, "UPDATE ping_answers SET answered_at = strftime('%Y-%m-%dT%H:%M:%fZ', answered_at) WHERE ping IN (SELECT id FROM pings WHERE participant = ?)", &[a]).await;
    exec(app, "UPDATE participants SET consent_at = (SELECT strftime('%Y-%m-%dT%H:%M:%fZ', consent_at, '-7 hours') FROM participants WHERE id = ?) WHERE id = ?", &[a, b]).await;
    exec(app, "DELETE FROM diary_entries WHERE participant = ?", &[b]).await;
    exec(app, "DELETE FROM pings WHERE participant = ?", &[b]).await;
    exec(
        app,
        "INSERT INTO diary_entries (participant, category, description, outcome, minutes_with_ai, minutes_without_ai, instrument_version, created_at, updated_at)
         SELECT ?, category, description, outcome, minutes_with_ai, minutes_without_ai, instrument_version,
                strftime('%Y-%m-%dT%H:%M:%fZ', created_at, '-7 hours'), updated_at
         FROM diary_entries WHERE participant = ? ORDER BY id",
        &[b, a],
    )
    .await;
    exec(
        app,
        "INSERT INTO pings (participant, slot, due_at, expires_at, status, sent_at)
         SELECT ?, slot, strftime('%Y-%m-%dT%H:%M:%fZ', due_at, '-7 hours'), strftime('%Y-%m-%dT%H:%M:%fZ', expires_at, '-7 hours'),
                status, strftime('%Y-%m-%dT%H:%M:%fZ', sent_at, '-7 hours')
         FROM pings WHERE participant = ? ORDER BY slot",
        &[b, a],
    )
    .await;
    exec(
        app,
        "INSERT INTO ping_answers (ping, used_copilot, verification_min, correction_min, context_min, trust_min, instrument_version, answered_at)
         SELECT nb.id, x.used_copilot, x.verification_min, x.correction_min, x.context_min, x.trust_min, x.instrument_version,
                strftime('%Y-%m-%dT%H:%M:%fZ', x.answered_at, '-7 hours')
         FROM ping_answers x JOIN pings ga ON ga.id = x.ping JOIN pings nb ON nb.slot = ga.slot AND nb.participant = ?
         WHERE ga.participant = ?",
        &[b, a],
    )
    .await;
}

#[tokio::test]
async fn a_data_analysts_raw_files_carry_no_date_or_utc_time_and_two_zones_look_alike() {
    let (app, info) = demo().await;
    let study = info.analysis_study_id;
    let [(a, a_employee), (b, b_employee)] = two_with_pings(&app, study).await;
    same_local_schedule(&app, a, b).await;

    let analyst = app.stranger();
    analyst.login(ANALYST_EMAIL, ANALYST_PASSWORD).await;
    let mut files = HashMap::new();
    for file in [
        "participants.csv",
        "diary.csv",
        "pings.csv",
        "population.csv",
        "control.csv",
    ] {
        let (status, text) = download(&analyst, study, file).await;
        assert_eq!(status, StatusCode::OK, "{file}");
        let (header, rows) = table(&text);
        assert!(
            header.iter().all(|h| !h.ends_with("_at")),
            "{file}: {header:?}"
        );
        for row in &rows {
            for (h, v) in header.iter().zip(row) {
                assert!(!calendar_like(v), "{file}, {h}: {v}");
            }
        }
        files.insert(file, (header, rows));
    }
    // Study days count from 1 on the participant's own calendar; times of day are HH:MM on their clock.
    for file in ["diary.csv", "pings.csv"] {
        let (header, rows) = &files[file];
        let day = header.iter().position(|h| h == "study_day").unwrap();
        let time = header.iter().position(|h| h == "local_time").unwrap();
        assert!(rows.len() > 100, "{file}: {}", rows.len());
        for r in rows {
            assert!(r[day].parse::<i64>().unwrap() >= 1, "{file}: {r:?}");
            assert!(
                chrono::NaiveTime::parse_from_str(&r[time], "%H:%M").is_ok(),
                "{file}: {r:?}"
            );
        }
    }
    // The JSON export's raw tables too.
    let (_, json) = download(&analyst, study, "export.json").await;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    for t in ["participants", "diary", "pings", "control"] {
        for row in json[t].as_array().unwrap() {
            for (k, v) in row.as_object().unwrap() {
                let v = v.to_string();
                assert!(!calendar_like(v.trim_matches('"')), "{t}.{k}: {v}");
            }
        }
    }

    // Two people in Lagos and Singapore with the same local schedule have the same time columns.
    let [pa, pb]: [String; 2] = pseudonyms_of(&analyst, study, &[a_employee, b_employee])
        .await
        .try_into()
        .unwrap();
    for file in ["diary.csv", "pings.csv"] {
        let rows = &files[file].1;
        let of = |p: &str| -> Vec<Vec<String>> {
            rows.iter()
                .filter(|r| r[0] == p)
                .map(|r| r[1..].to_vec())
                .collect()
        };
        assert!(!of(&pa).is_empty(), "{file}");
        assert_eq!(of(&pa), of(&pb), "{file}");
    }
    // And the files still give the platform's numbers (the round trip in readout.rs checks the profile).
    let offline = analysed_offline(
        &analyst,
        study,
        layer2::stats::input::Rules {
            window_minutes: 1,
            min_compliance: 0.0,
        },
    )
    .await;
    let (ta, tb) = (
        offline.kept.iter().find(|t| t.id == pa).unwrap(),
        offline.kept.iter().find(|t| t.id == pb).unwrap(),
    );
    assert!(
        ta.valid > 0.0,
        "answers counted by their own deadline, not a 1-minute window"
    );
    assert_eq!(
        (ta.delivered, ta.valid, ta.n_tasks, ta.oversight_min),
        (tb.delivered, tb.valid, tb.n_tasks, tb.oversight_min)
    );
}

/// A study of 200 employees over four functions plus one lawyer (a heavy user), with a drawn sample, and a
/// staff member granted the aggregate `analyst` role on it.
async fn study_with_a_lawyer() -> (TestApp, TestApp, i64) {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Small function").await;
    let roster = roster_csv(200) + "E90000,lex@example.org,Legal,2025-06-01,Europe/Berlin\n";
    app.import_roster(id, "r.csv", roster.into_bytes()).await;
    let usage = usage_csv(200) + "E90000,2026-11,20,700.0\n";
    app.import_usage(id, "u.csv", usage.into_bytes(), &[("format", "csv")])
        .await;
    let draw = [
        ("n", "60"),
        ("min_per_cohort", "5"),
        ("pilot_n", "20"),
        ("seed", "9"),
    ];
    app.post_ok(&format!("/studies/{id}/sample"), &draw).await;
    let viewer = app.staff_member("viewer@example.org").await;
    app.grant("viewer@example.org", id, "analyst").await;
    (app, viewer, id)
}

/// The whole numbers of a page's number cells (counts; shares, means and text are left out).
fn counts_in(html: &str) -> Vec<i64> {
    html.split("<td class=\"num\">")
        .skip(1)
        .filter_map(|c| c.split("</td>").next())
        .filter_map(|c| c.replace(',', "").parse::<i64>().ok())
        .collect()
}

/// The rows of the table under a heading: (label, number cells).
fn rows_under(html: &str, heading: &str) -> Vec<(String, Vec<String>)> {
    let at = html.find(&format!("<h2>{heading}</h2>")).expect(heading);
    let body = &html[at..];
    let body = &body[body.find("<tbody>").unwrap()..body.find("</tbody>").unwrap()];
    body.split("<tr")
        .skip(1)
        .map(|r| {
            let label = r
                .split("<th scope=\"row\">")
                .nth(1)
                .unwrap()
                .split("</th>")
                .next()
                .unwrap();
            let cells = r
                .split("<td class=\"num\">")
                .skip(1)
                .map(|c| c.split("</td>").next().unwrap().to_string())
                .collect();
            (label.to_string(), cells)
        })
        .collect()
}

#[tokio::test]
async fn the_aggregate_viewer_sees_no_group_under_k_on_the_cohorts_and_sample_pages() {
    let (app, viewer, id) = study_with_a_lawyer().await;
    let k = app.state.config.min_cell_size as i64;

    // The admin sees everything, the lawyer too: the test can fail.
    let (_, admin_page) = app.get_text(&format!("/studies/{id}/cohorts")).await;
    assert!(
        admin_page.contains("Cohort × function × tenure")
            && admin_page.contains("Usage score range")
    );
    let legal = rows_under(&admin_page, "By function")
        .into_iter()
        .find(|(l, _)| l == "Legal")
        .unwrap();
    assert_eq!(legal.1.last().unwrap(), "1", "{legal:?}");

    let (status, page) = viewer.get_text(&format!("/studies/{id}/cohorts")).await;
    assert_eq!(status, StatusCode::OK);
    for n in counts_in(&page) {
        assert!(
            n == 0 || n >= k,
            "a count of {n} on the viewer's cohorts page"
        );
    }
    assert!(!page.contains("Cohort × function × tenure") && !page.contains("Usage score range"));
    assert!(!page.contains("700.0"), "no one's usage score");
    // The lawyer is merged with others, and the lines still add up: nothing follows by subtraction.
    let functions = rows_under(&page, "By function");
    let merged = functions.iter().find(|(l, _)| l.contains("Legal")).unwrap();
    assert!(merged.0.contains(", "), "Legal is not alone: {merged:?}");
    let sum: i64 = functions
        .iter()
        .map(|(_, c)| c[0].replace(',', "").parse::<i64>().unwrap())
        .sum();
    assert_eq!(sum, 201);
    for (_, cells) in rows_under(&page, "Adoption cohorts") {
        assert!(cells.len() <= 3, "count, share and mean only: {cells:?}");
    }

    let (status, page) = viewer.get_text(&format!("/studies/{id}/sample")).await;
    assert_eq!(status, StatusCode::OK);
    let composition = &page[page.find("id=\"composition\"").unwrap()..];
    for n in counts_in(composition) {
        assert!(
            n == 0 || n >= k,
            "a count of {n} in the viewer's sample composition"
        );
    }
    assert!(!composition.contains("By cohort and function") && !composition.contains(">Pilot<"));
    let (_, admin_sample) = app.get_text(&format!("/studies/{id}/sample")).await;
    let admin_composition = &admin_sample[admin_sample.find("id=\"composition\"").unwrap()..];
    assert!(
        counts_in(admin_composition).iter().any(|&n| n > 0 && n < k),
        "the admin's composition has small cells"
    );
    assert!(admin_composition.contains("By cohort and function"));
}

/// Device cookies stored for an account.
async fn devices_of(app: &TestApp, user: i64) -> i64 {
    app.value(
        "SELECT COUNT(*) FROM device_tokens WHERE user_id = ?",
        Some(user),
    )
    .await
}

#[tokio::test]
async fn deleting_or_disabling_a_staff_account_forgets_its_device_cookies() {
    let app = spawn_app().await;
    app.login_admin().await;
    for (email, action, fields) in [
        ("grace@example.org", "delete", vec![("confirm", "yes")]),
        ("alan.t@example.org", "disable", vec![]),
    ] {
        let _browser = app.staff_member(email).await;
        let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
            .bind(email)
            .fetch_one(&app.state.pool)
            .await
            .unwrap();
        assert_eq!(
            devices_of(&app, id).await,
            1,
            "signing in left a device cookie"
        );
        let r = app
            .post(&format!("/admin/users/{id}/{action}"), &fields)
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{action}");
        assert_eq!(devices_of(&app, id).await, 0, "after {action}");
    }
    // The admin's own device cookie is untouched.
    let admin: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
        .bind(ADMIN)
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(devices_of(&app, admin).await, 1);
}
