//! Staff accounts: login, throttling, sessions, roles, CSRF, setup link, audit.
use crate::helpers::*;
use chrono::Duration;
use layer2::auth::Role;
use layer2::auth::service::setup_token_if_needed;
use reqwest::StatusCode;

#[tokio::test]
async fn an_admin_signs_in_and_sees_the_studies() {
    let app = spawn_app().await;
    app.add_user(ADMIN, Role::Admin).await;
    let r = app.login(ADMIN, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/studies");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("layer2_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http on localhost: no Secure flag"
    );
    let (status, html) = app.get_text("/studies").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(ADMIN) && html.contains("New study"));
}

#[tokio::test]
async fn an_unknown_user_and_a_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    app.add_user(ADMIN, Role::Admin).await;
    let wrong = app.login(ADMIN, "not the password at all").await;
    let unknown = app
        .login("nobody@example.org", "not the password at all")
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let strip = |s: String, email: &str| s.replace(email, "EMAIL").replace(&csrf_in(&s), "CSRF");
    let a = strip(wrong.text().await.unwrap(), ADMIN);
    let b = strip(unknown.text().await.unwrap(), "nobody@example.org");
    assert_eq!(a, b);
    assert!(a.contains("Wrong email or password."));
}

#[tokio::test]
async fn a_page_without_a_session_redirects_to_login() {
    let app = spawn_app().await;
    for path in [
        "/studies",
        "/studies/1",
        "/studies/1/roster",
        "/admin/audit",
        "/studies/new",
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.headers()["location"], "/login", "{path}");
    }
    let r = app.post_form("/studies", &[("name", "x")]).await;
    assert_eq!(r.headers()["location"], "/login");
}

/// Every route that changes something, with a study id 1 in place.
pub const POST_ROUTES: [&str; 22] = [
    "/studies",
    "/studies/1/edit",
    "/studies/1/phases",
    "/studies/1/status",
    "/studies/1/approvals",
    "/studies/1/approvals/1",
    "/studies/1/roster",
    "/studies/1/usage",
    "/studies/1/usage/conversion",
    "/studies/1/cohorts",
    "/studies/1/sample",
    "/studies/1/sample/discard",
    "/studies/1/invitations",
    "/studies/1/participants/1/nudge",
    "/studies/1/participants/1/remove",
    "/studies/1/instrument",
    "/studies/1/collection/settings",
    "/studies/1/baseline/historical",
    "/studies/1/baseline/expert",
    "/studies/1/baseline/control",
    "/studies/1/economics",
    "/studies/1/privacy",
];

#[tokio::test]
async fn an_analyst_reads_but_gets_403_on_every_change_and_admin_page() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Wave 1").await;
    assert_eq!(id, 1);
    let analyst = TestApp {
        client: client(),
        ..app
    };
    analyst.add_user(ANALYST, Role::Analyst).await;
    // A non-admin sees a study only with a grant (the staff tests check the 404 without one).
    analyst.grant(ANALYST, 1, "data_analyst").await;
    assert_eq!(
        analyst.login(ANALYST, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    for path in [
        "/studies",
        "/studies/1",
        "/studies/1/roster",
        "/studies/1/usage",
        "/studies/1/cohorts",
        "/studies/1/sample",
    ] {
        let (status, html) = analyst.get_text(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            !html.contains("Record as approved") && !html.contains("Import roster"),
            "{path} shows admin forms"
        );
    }
    for path in [
        "/studies/new",
        "/studies/1/edit",
        "/admin/audit",
        "/admin/users",
    ] {
        assert_eq!(
            analyst.get(path).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let csrf = analyst.csrf().await;
    for path in POST_ROUTES {
        let r = analyst
            .post_form(
                path,
                &[("csrf", &csrf), ("name", "hijack"), ("to", "setup")],
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(analyst.study(1).await.name, "Wave 1");
}

#[tokio::test]
async fn a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    app.login_admin().await;
    app.create_study("Wave 1").await;
    let before = app.audit_actions().await.len();
    for path in POST_ROUTES {
        for fields in [
            vec![("name", "changed")],
            vec![("csrf", "0".repeat(64).leak() as &str), ("name", "changed")],
        ] {
            let r = app.post_form(path, &fields).await;
            // Upload routes refuse a non-multipart body outright (400) before looking at any field.
            let expected = if path.ends_with("/roster") || path.ends_with("/usage") {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(r.status(), expected, "{path}");
        }
        let form = reqwest::multipart::Form::new().text("csrf", "wrong").part(
            "file",
            reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("f.csv"),
        );
        let r = app
            .client
            .post(app.url(path))
            .multipart(form)
            .send()
            .await
            .unwrap();
        // A multipart body with a wrong token: upload routes check the token (403); form routes refuse the type (415).
        let expected = if path.ends_with("/roster") || path.ends_with("/usage") {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        };
        assert_eq!(r.status(), expected, "{path}");
    }
    // The export is a staff form analysts use too: it needs the session's token all the same.
    for fields in [
        vec![("file", "participants.csv")],
        vec![
            ("csrf", "0".repeat(64).leak() as &str),
            ("file", "participants.csv"),
        ],
    ] {
        let r = app.post_form("/studies/1/export", &fields).await;
        assert_eq!(
            r.status(),
            StatusCode::FORBIDDEN,
            "export without a valid token"
        );
    }
    let r = app.post_form("/logout", &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "logout without token");
    assert_eq!(
        app.audit_actions().await.len(),
        before,
        "nothing was recorded, so nothing changed"
    );
    assert_eq!(app.study(1).await.name, "Wave 1");
    // The login form needs its token too.
    let fresh = TestApp {
        client: client(),
        ..app
    };
    let r = fresh
        .post_form("/login", &[("email", ADMIN), ("password", PASSWORD)])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn repeated_failures_pause_the_account_for_a_while_but_not_for_ever() {
    let app = spawn_app().await;
    app.add_user(ADMIN, Role::Admin).await;
    for _ in 0..5 {
        assert_eq!(
            app.login(ADMIN, "wrong password guess").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let r = app.login(ADMIN, PASSWORD).await;
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    assert!(r.text().await.unwrap().contains("Too many failed sign-ins"));
    // An unknown account is paused the same way: nothing tells the two apart.
    for _ in 0..5 {
        app.login("ghost@example.org", "wrong password guess").await;
    }
    assert_eq!(
        app.login("ghost@example.org", "x").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    app.clock.advance(Duration::minutes(16));
    assert_eq!(
        app.login(ADMIN, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn many_failures_from_one_address_pause_that_address() {
    let app = spawn_app().await;
    app.add_user(ADMIN, Role::Admin).await;
    for i in 0..20 {
        let r = app
            .login(&format!("guess{i}@example.org"), "wrong password guess")
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        app.login(ADMIN, PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    app.clock.advance(Duration::minutes(16));
    assert_eq!(
        app.login(ADMIN, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_session_ends_after_idle_time_and_after_its_absolute_lifetime() {
    let app = spawn_app().await;
    app.login_admin().await;
    app.clock.advance(Duration::minutes(59));
    assert_eq!(
        app.get("/studies").await.status(),
        StatusCode::OK,
        "59 idle minutes are fine"
    );
    app.clock.advance(Duration::minutes(61));
    assert_eq!(
        app.get("/studies").await.status(),
        StatusCode::SEE_OTHER,
        "61 idle minutes end it"
    );

    let r = app.login(ADMIN, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    for _ in 0..14 {
        app.clock.advance(Duration::minutes(50));
        assert_eq!(app.get("/studies").await.status(), StatusCode::OK);
    }
    app.clock.advance(Duration::minutes(50)); // 12.5 hours after login, never idle for long
    assert_eq!(app.get("/studies").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_session_id_changes_at_login_and_dies_at_logout() {
    let app = spawn_app().await;
    app.add_user(ADMIN, Role::Admin).await;
    let session_of = |r: &reqwest::Response| {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.starts_with("layer2_session="))
            .unwrap()
    };
    let first = session_of(&app.login(ADMIN, PASSWORD).await);
    let second = session_of(&app.login(ADMIN, PASSWORD).await);
    assert_ne!(first, second);
    let token = second
        .trim_start_matches("layer2_session=")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = app.csrf().await;
    let r = app.post_form("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.headers()["location"], "/login");
    // Replaying the old cookie after logout does not work.
    let replay = client()
        .get(app.url("/studies"))
        .header("cookie", format!("layer2_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE id_hash = ?")
        .bind(&token)
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "only hashes are stored");
}

#[tokio::test]
async fn the_one_time_setup_link_creates_the_first_admin_once() {
    let app = spawn_app().await;
    let token = setup_token_if_needed(&app.state)
        .await
        .unwrap()
        .expect("no admin yet");
    assert_eq!(app.get("/setup/0123").await.status(), StatusCode::NOT_FOUND);
    let (status, html) = app.get_text(&format!("/setup/{token}")).await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_in(&html);
    let r = app
        .post_form(
            &format!("/setup/{token}"),
            &[
                ("csrf", &csrf),
                ("email", ADMIN),
                ("password", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("at least 12 characters"));
    let r = app
        .post_form(
            &format!("/setup/{token}"),
            &[
                ("csrf", &csrf),
                ("email", ADMIN),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/admin/audit").await.status(),
        StatusCode::OK,
        "signed in as the new admin"
    );
    assert_eq!(
        app.get(&format!("/setup/{token}")).await.status(),
        StatusCode::NOT_FOUND,
        "the link is used up"
    );
    assert!(setup_token_if_needed(&app.state).await.unwrap().is_none());
}

#[tokio::test]
async fn the_audit_log_records_logins_and_failed_logins_without_passwords() {
    let app = spawn_app().await;
    app.add_user(ADMIN, Role::Admin).await;
    app.login(ADMIN, "wrong password guess").await;
    app.login("typo-password-in-email@example.org", "x").await;
    app.login(ADMIN, PASSWORD).await;
    let (status, html) = app.get_text("/admin/audit").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("login.failed") && html.contains("unknown account"));
    assert!(
        !html.contains("typo-password-in-email"),
        "an unknown email is not kept"
    );
    assert!(!html.contains("wrong password guess"));
    let actions = app.audit_actions().await;
    assert_eq!(
        &actions[actions.len() - 3..],
        ["login.failed", "login.failed", "login"]
    );
    // Append-only: the database itself refuses to rewrite history.
    assert!(
        sqlx::query("DELETE FROM audit_log")
            .execute(&app.state.pool)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("UPDATE audit_log SET actor = 'x'")
            .execute(&app.state.pool)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_burst_of_parallel_guesses_gets_no_more_tries_than_the_limit() {
    let app = spawn_app().await;
    app.add_user(ADMIN, Role::Admin).await;
    let (_, html) = app.get_text("/login").await;
    let csrf = csrf_in(&html);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (client, url, csrf) = (app.client.clone(), app.url("/login"), csrf.clone());
        tasks.push(tokio::spawn(async move {
            let guess = format!("parallel guess {i}");
            client
                .post(url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("email", ADMIN),
                    ("password", guess.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut checked = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(
        checked, 5,
        "exactly the limit of guesses reached the password check"
    );
}

#[tokio::test]
async fn guesses_from_one_address_do_not_lock_the_admin_out_elsewhere() {
    let app = spawn_app().await;
    app.add_user(ADMIN, Role::Admin).await;
    for _ in 0..6 {
        app.login(ADMIN, "attacker guess 123").await;
    }
    assert_eq!(
        app.login(ADMIN, PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // The real admin at another address (127.0.0.2 is loopback too) still gets in.
    let elsewhere = TestApp {
        client: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
            .build()
            .unwrap(),
        ..app
    };
    assert_eq!(
        elsewhere.login(ADMIN, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let throttled = elsewhere
        .audit_actions()
        .await
        .iter()
        .filter(|a| *a == "login.throttled")
        .count();
    assert_eq!(throttled, 2, "refused attempts are audited");
}

#[tokio::test]
async fn behind_a_proxy_the_forwarded_address_is_throttled_not_the_proxy() {
    let app = spawn_app_with(|c| c.behind_proxy = true).await;
    app.add_user(ADMIN, Role::Admin).await;
    let login_from = |ip: &'static str, password: &'static str| {
        let app = &app;
        async move {
            let (_, html) = app.get_text("/login").await;
            let csrf = csrf_in(&html);
            app.client
                .post(app.url("/login"))
                // A client-supplied entry first, then the one the proxy appended: only the last counts.
                .header("x-forwarded-for", format!("203.0.113.9, {ip}"))
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("email", ADMIN),
                    ("password", password),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for _ in 0..5 {
        assert_eq!(
            login_from("192.0.2.1", "attacker guess 123").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login_from("192.0.2.1", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login_from("198.51.100.7", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
}
