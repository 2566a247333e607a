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

/// The admin's right password is refused now (paused) and accepted once the window has passed.
async fn paused_for_a_while(app: &TestApp) {
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
async fn many_failures_from_one_address_pause_that_address() {
    let app = spawn_app().await;
    app.add_user(ADMIN, Role::Admin).await;
    for i in 0..20 {
        let r = app
            .login(&format!("guess{i}@example.org"), "wrong password guess")
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    paused_for_a_while(&app).await;
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
                ("confirm", "shorter"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("at least 12 characters"));
    // Each refusal is marked at its own field, and a valid field is not.
    assert!(html.contains("aria-describedby=\"password-err\""));
    assert!(html.contains("id=\"confirm-err\">Password again: the two passwords differ."));
    assert!(!html.contains("email-err"));
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
    // Both refusals (the 7th guess and the admin's own try) fall in one window: audited once, so a script
    // hammering the form cannot flood the append-only log.
    assert_eq!(
        throttled, 1,
        "refused attempts are audited, once per window"
    );
    let attacker = elsewhere.stranger();
    for _ in 0..30 {
        attacker
            .login("nobody@example.org", "attacker guess 123")
            .await;
    }
    let throttled = elsewhere
        .audit_actions()
        .await
        .iter()
        .filter(|a| *a == "login.throttled")
        .count();
    assert_eq!(
        throttled, 2,
        "thirty guesses at an unknown account add one row (for unknown accounts), not twenty-five"
    );
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

/// A count from the database.
async fn rows(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.state.pool)
        .await
        .unwrap()
}

/// Posts the first-admin setup form with one password; returns the status and the page.
async fn setup_with(app: &TestApp, token: &str, password: &str) -> (StatusCode, String) {
    let (_, html) = app.get_text(&format!("/setup/{token}")).await;
    let r = app
        .post_form(
            &format!("/setup/{token}"),
            &[
                ("csrf", &csrf_in(&html)),
                ("email", "Ada.Lovelace@example.org"),
                ("password", password),
                ("confirm", password),
            ],
        )
        .await;
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn the_setup_form_refuses_common_passwords_and_ones_with_the_email_or_name() {
    let app = spawn_app().await;
    let token = setup_token_if_needed(&app.state).await.unwrap().unwrap();
    // From the shipped list, whatever the case.
    for common in [
        "password1234",
        "123456789012",
        "QwertyUIOP12",
        "iloveyou1234",
    ] {
        let (status, page) = setup_with(&app, &token, common).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{common}");
        assert!(page.contains("list of commonly used passwords"), "{common}");
    }
    for personal in [
        "ada.lovelace@example.org",
        "i am Ada.Lovelace, hello",
        "LOVELACE forever and ever",
    ] {
        let (status, page) = setup_with(&app, &token, personal).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{personal}");
        assert!(
            page.contains("must not contain your email address or name"),
            "{personal}"
        );
    }
    assert_eq!(
        rows(&app, "SELECT COUNT(*) FROM users").await,
        0,
        "nothing was created"
    );
    let (status, _) = setup_with(&app, &token, PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[test]
fn the_cli_refuses_common_passwords_and_ones_with_the_email_for_new_and_changed_passwords() {
    use crate::cli::{layer2, text};
    let dir = tempfile::tempdir().unwrap();
    let add = |pw: &str| {
        layer2(
            dir.path(),
            &[
                "user",
                "add",
                "--email",
                "ops.lead@example.org",
                "--role",
                "admin",
            ],
            &format!("{pw}\n"),
        )
    };
    let o = add("Password1234");
    assert!(!o.status.success());
    assert!(text(&o).contains("commonly used"), "{}", text(&o));
    let o = add("ops.lead@example.org!");
    assert!(!o.status.success());
    assert!(text(&o).contains("email address or name"), "{}", text(&o));
    assert!(add(PASSWORD).status.success(), "a good password is taken");
    let change = |pw: &str| {
        layer2(
            dir.path(),
            &["user", "password", "--email", "ops.lead@example.org"],
            &format!("{pw}\n"),
        )
    };
    let o = change("123456789012");
    assert!(!o.status.success() && text(&o).contains("commonly used"));
    let o = change("my name is lead, ok?");
    assert!(!o.status.success() && text(&o).contains("email address or name"));
    assert!(change("another long enough one").status.success());
}

/// Posts the login form for the admin from `client` with a CSRF token, a password and extra headers.
async fn post_login(
    client: &reqwest::Client,
    url: String,
    csrf: &str,
    password: &str,
    headers: &[(&str, String)],
) -> reqwest::Response {
    let mut request =
        client
            .post(url)
            .form(&[("csrf", csrf), ("email", ADMIN), ("password", password)]);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.unwrap()
}

/// Signs in (or tries to) through the login form, as a browser behind the proxy at address `ip`.
async fn login_via_proxy(browser: &TestApp, ip: &str, password: &str) -> StatusCode {
    let (_, html) = browser.get_text("/login").await;
    let headers = [("x-forwarded-for", ip.to_string())];
    post_login(
        &browser.client,
        browser.url("/login"),
        &csrf_in(&html),
        password,
        &headers,
    )
    .await
    .status()
}

#[tokio::test]
async fn a_distributed_guessing_attack_does_not_lock_the_admin_out_of_a_browser_that_signed_in_before()
 {
    let app = spawn_app_with(|c| c.behind_proxy = true).await;
    app.add_user(ADMIN, Role::Admin).await;
    // The admin's own browser signed in once (and got its device cookie), then signed out.
    assert_eq!(
        login_via_proxy(&app, "198.51.100.7", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    let r = app.post("/logout", &[]).await;
    assert_eq!(r.headers()["location"], "/login");
    // Five wrong guesses from each of four addresses: the account is paused for everyone else.
    for ip in ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"] {
        let attacker = app.stranger();
        for _ in 0..5 {
            assert_eq!(
                login_via_proxy(&attacker, ip, "attacker guess 123").await,
                StatusCode::UNAUTHORIZED
            );
        }
    }
    let new_browser = app.stranger();
    assert_eq!(
        login_via_proxy(&new_browser, "203.0.113.50", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "without a device cookie the lockout holds, even with the right password"
    );
    // The admin's browser still signs in, from home and from a new address alike.
    assert_eq!(
        login_via_proxy(&app, "198.51.100.7", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.get("/studies").await.status(), StatusCode::OK);
    assert_eq!(
        login_via_proxy(&app, "203.0.113.99", PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    // Its sign-in forgave nothing the attackers did.
    assert_eq!(
        login_via_proxy(&new_browser, "203.0.113.50", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_browser_with_a_device_cookie_is_paused_by_its_own_failures_and_its_cookie_is_single_use()
{
    let app = spawn_app().await;
    app.add_user(ADMIN, Role::Admin).await;
    let r = app.login(ADMIN, PASSWORD).await;
    let device = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("layer2_device="))
        .expect("a device cookie at sign-in");
    assert!(
        device.contains("HttpOnly") && device.contains("SameSite=Strict"),
        "{device}"
    );
    let old = device["layer2_device=".len()..].split(';').next().unwrap();
    // A copy of the cookie, replayed after the browser signed in again with it, is no longer honoured:
    // from a throttled address it gets the address's pause.
    assert_eq!(
        app.login(ADMIN, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    for i in 0..20 {
        app.stranger()
            .login(&format!("guess{i}@example.org"), "wrong password guess")
            .await;
    }
    let copy = app.stranger();
    let (_, html) = copy.get_text("/login").await;
    let csrf = csrf_in(&html);
    let cookie = format!("layer2_csrf={csrf}; layer2_device={old}");
    let replay = post_login(
        &copy.client,
        copy.url("/login"),
        &csrf,
        PASSWORD,
        &[("cookie", cookie)],
    )
    .await;
    assert_eq!(replay.status(), StatusCode::TOO_MANY_REQUESTS);
    // The browser that holds the current cookie is not paused by the address's failures...
    assert_eq!(
        app.login(ADMIN, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    // ...but five wrong passwords of its own pause it.
    for _ in 0..5 {
        assert_eq!(
            app.login(ADMIN, "my own typo 123").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    paused_for_a_while(&app).await;
}

/// The `Set-Cookie` header that sets `name`.
fn set_cookie(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie"))
}

#[tokio::test]
async fn over_https_the_cookies_are_host_prefixed_and_secure_and_over_http_they_are_plain() {
    let app = spawn_app_with(|c| c.public_url = "https://study.example.org".into()).await;
    app.add_user(ADMIN, Role::Admin).await;
    // A browser keeps Secure cookies off plain http, so the test sends them back by hand.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = plain.get(app.url("/login")).send().await.unwrap();
    let csrf_cookie = set_cookie(&page, "__Host-layer2_csrf");
    let csrf = csrf_in(&page.text().await.unwrap());
    let cookie = format!("__Host-layer2_csrf={csrf}");
    let r = post_login(
        &plain,
        app.url("/login"),
        &csrf,
        PASSWORD,
        &[("cookie", cookie)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let session = set_cookie(&r, "__Host-layer2_session");
    let device = set_cookie(&r, "__Host-layer2_device");
    for c in [&csrf_cookie, &session, &device] {
        assert!(
            c.contains("Secure") && c.contains("HttpOnly") && c.contains("Path=/"),
            "{c}"
        );
        assert!(!c.contains("Domain"), "{c}");
    }
    assert!(session.contains("SameSite=Lax"), "{session}");
    let token = session["__Host-layer2_session=".len()..]
        .split(';')
        .next()
        .unwrap();
    let studies = |cookie: String| {
        plain
            .get(app.url("/studies"))
            .header("cookie", cookie)
            .send()
    };
    assert_eq!(
        studies(format!("__Host-layer2_session={token}"))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        studies(format!("layer2_session={token}"))
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER,
        "over https only the __Host- cookie counts"
    );

    // Plain http (the local demo): browsers refuse __Host- without Secure, so the plain names are used.
    let local = spawn_app().await;
    local.add_user(ADMIN, Role::Admin).await;
    let r = local.login(ADMIN, PASSWORD).await;
    for name in ["layer2_session", "layer2_device"] {
        let c = set_cookie(&r, name);
        assert!(c.contains("HttpOnly") && !c.contains("Secure"), "{c}");
    }
}

#[tokio::test]
async fn a_post_from_another_site_is_refused_even_with_a_valid_csrf_token() {
    let app = spawn_app().await;
    app.login_admin().await;
    let csrf = app.csrf().await;
    let create = |header: &'static str, value: String| {
        app.client
            .post(app.url("/studies"))
            .header(header, value)
            .form(&[
                ("csrf", csrf.as_str()),
                ("name", "Wave 1"),
                ("vendor", "Microsoft"),
                ("product", "Microsoft 365 Copilot"),
                ("model_version", "GPT-5"),
                ("time_zone", "Europe/London"),
                ("start_date", "2027-01-04"),
            ])
            .send()
    };
    let port = app.base.rsplit(':').next().unwrap().to_string();
    for (header, value) in [
        ("origin", "https://evil.example".to_string()),
        ("origin", format!("http://localhost:{port}")),
        ("origin", format!("https://127.0.0.1:{port}")),
        (
            "referer",
            "https://evil.example/study-form.html".to_string(),
        ),
    ] {
        let r = create(header, value.clone()).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{header}: {value}");
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("sent from a page of another site"),
            "{value}"
        );
    }
    assert_eq!(
        rows(&app, "SELECT COUNT(*) FROM studies").await,
        0,
        "nothing was created"
    );
    // The login form too, before its own token is looked at.
    let r = app
        .client
        .post(app.url("/login"))
        .header("origin", "https://evil.example")
        .form(&[("email", ADMIN), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("another site"));
    // This site (with or without its default port spelled out), `Origin: null` (what browsers send for
    // a page with `Referrer-Policy: no-referrer`), and no header at all go on to the CSRF check.
    for (header, value) in [
        ("origin", app.base.clone()),
        ("origin", "null".to_string()),
        ("referer", format!("{}/studies/new", app.base)),
        ("x-none", String::new()),
    ] {
        let r = create(header, value.clone()).await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{header}: {value}");
    }
    // GET requests are never refused for their Origin.
    let r = app
        .client
        .get(app.url("/studies"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn behind_a_proxy_the_origin_is_compared_with_the_forwarded_scheme_and_host() {
    let app = spawn_app_with(|c| c.behind_proxy = true).await;
    app.add_user(ADMIN, Role::Admin).await;
    let app = &app;
    let attempt = |origin: &'static str| async move {
        let browser = app.stranger();
        let (_, html) = browser.get_text("/login").await;
        let headers = [
            ("host", "study.example.org".to_string()),
            ("x-forwarded-proto", "https".to_string()),
            ("x-forwarded-for", "198.51.100.7".to_string()),
            ("origin", origin.to_string()),
        ];
        post_login(
            &browser.client,
            browser.url("/login"),
            &csrf_in(&html),
            PASSWORD,
            &headers,
        )
        .await
        .status()
    };
    assert_eq!(
        attempt("https://study.example.org").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        attempt("https://study.example.org:443").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        attempt("http://study.example.org").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(attempt("https://evil.example").await, StatusCode::FORBIDDEN);
}
