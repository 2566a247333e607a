//! Staff management (invite, set up, roles, disable, delete; the last admin kept) and per-study access
//! (grants, 404 for studies not granted, 403 for raw files without the data analyst role), all audited.
use crate::helpers::*;
use layer2::auth::Role;
use reqwest::StatusCode;

const NEW: &str = "grace@example.org";
const NEW_PASSWORD: &str = "tea at four, then the compiler";

/// The id of the account with this email.
async fn user_id(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
        .bind(email)
        .fetch_one(&app.state.pool)
        .await
        .unwrap()
}

/// Sets a password through a setup link, as the invited person would.
async fn set_password(app: &TestApp, path: &str) -> reqwest::Response {
    let (status, html) = app.get_text(path).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    app.post_form(
        path,
        &[
            ("csrf", &csrf_in(&html)),
            ("password", NEW_PASSWORD),
            ("confirm", NEW_PASSWORD),
        ],
    )
    .await
}

#[tokio::test]
async fn an_invited_staff_member_sets_a_password_through_the_link_and_signs_in() {
    let app = spawn_app().await;
    app.login_admin().await;
    let r = app
        .post(
            "/admin/users",
            &[("email", "Grace@Example.org"), ("role", "analyst")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Invitation to grace@example.org queued"),
        "{page}"
    );
    // Under the file transport the admin sees the link once; the email carries another one.
    let shown = welcome_path(&page);
    let mail = outbox_of_kind(&app, "staff_invite").await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].1, NEW);
    let mailed = welcome_path(&mail[0].2);
    assert_ne!(shown, mailed, "each link is minted on its own");
    assert!(
        !app.get_text("/admin/users").await.1.contains("/welcome/"),
        "shown once"
    );

    let person = app.stranger();
    assert_eq!(
        person.login(NEW, NEW_PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED,
        "no password yet"
    );
    // A bad password changes nothing and says why.
    let (_, html) = person.get_text(&mailed).await;
    assert!(html.contains(NEW));
    let r = person
        .post_form(
            &mailed,
            &[
                ("csrf", &csrf_in(&html)),
                ("password", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("at least 12 characters"));

    let r = set_password(&person, &mailed).await;
    assert_eq!(r.headers()["location"], "/login");
    assert!(person.follow(r).await.contains("Your password is set"));
    assert_eq!(
        person.login(NEW, NEW_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(person.get_text("/studies").await.0, StatusCode::OK);
    // Both links died with the first use.
    assert_eq!(person.get_text(&mailed).await.0, StatusCode::NOT_FOUND);
    assert_eq!(person.get_text(&shown).await.0, StatusCode::NOT_FOUND);

    let invite = audit_rows(&app, "user.invite", None).await;
    assert_eq!(
        invite,
        [(
            ADMIN.to_string(),
            format!("invited {NEW} as staff (per-study grants)")
        )]
    );
    assert_eq!(audit_rows(&app, "user.setup", None).await.len(), 1);
    let token = &mailed["/welcome/".len()..];
    assert!(
        audit_texts(&app)
            .await
            .iter()
            .all(|t| !t.contains(token) && !t.contains(NEW_PASSWORD)),
        "no link or password in the audit log"
    );
    let again = app
        .post("/admin/users", &[("email", NEW), ("role", "admin")])
        .await;
    assert!(app.follow(again).await.contains("already exists"));
}

#[tokio::test]
async fn a_role_change_applies_to_the_next_request_and_is_audited() {
    let app = spawn_app().await;
    app.login_admin().await;
    let grace = app.staff_member(NEW).await;
    assert_eq!(
        grace.get_text("/admin/users").await.0,
        StatusCode::FORBIDDEN
    );
    let id = user_id(&app, NEW).await;
    let r = app
        .post(&format!("/admin/users/{id}/role"), &[("role", "admin")])
        .await;
    assert!(app.follow(r).await.contains("Role changed."));
    assert_eq!(
        grace.get_text("/admin/users").await.0,
        StatusCode::OK,
        "same session, new role"
    );
    let r = app
        .post(&format!("/admin/users/{id}/role"), &[("role", "analyst")])
        .await;
    assert!(app.follow(r).await.contains("Role changed."));
    assert_eq!(
        grace.get_text("/admin/users").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        audit_rows(&app, "user.role", None).await,
        [
            (
                ADMIN.to_string(),
                format!("{NEW}: staff (per-study grants) → admin")
            ),
            (
                ADMIN.to_string(),
                format!("{NEW}: admin → staff (per-study grants)")
            ),
        ]
    );
    let r = app
        .post(&format!("/admin/users/{id}/role"), &[("role", "owner")])
        .await;
    assert!(app.follow(r).await.contains("Choose admin or staff."));
}

#[tokio::test]
async fn disabling_ends_an_open_session_at_once_until_the_account_is_enabled() {
    let app = spawn_app().await;
    app.login_admin().await;
    let grace = app.staff_member(NEW).await;
    assert_eq!(grace.get_text("/studies").await.0, StatusCode::OK);
    let id = user_id(&app, NEW).await;
    let html = app
        .follow(app.post(&format!("/admin/users/{id}/disable"), &[]).await)
        .await;
    assert!(
        html.contains("Account disabled") && html.contains("disabled"),
        "{html}"
    );

    let r = grace.get("/studies").await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "the open session is refused"
    );
    assert_eq!(r.headers()["location"], "/login");
    assert_eq!(
        grace.login(NEW, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let html = app
        .follow(app.post(&format!("/admin/users/{id}/enable"), &[]).await)
        .await;
    assert!(html.contains("Account enabled."));
    assert_eq!(
        grace.login(NEW, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(grace.get_text("/studies").await.0, StatusCode::OK);
    assert_eq!(
        audit_rows(&app, "user.disable", None).await,
        [(
            ADMIN.to_string(),
            format!("disabled {NEW}; their sessions were ended")
        )]
    );
    assert_eq!(audit_rows(&app, "user.enable", None).await.len(), 1);
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_disabled_demoted_or_deleted() {
    let app = spawn_app().await;
    app.login_admin().await;
    let me = user_id(&app, ADMIN).await;
    for (path, fields) in [
        ("disable", vec![]),
        ("role", vec![("role", "analyst")]),
        ("delete", vec![("confirm", "yes")]),
    ] {
        let r = app
            .post(&format!("/admin/users/{me}/{path}"), &fields)
            .await;
        let html = app.follow(r).await;
        assert!(
            flash_text(&html).contains("This is the last active admin")
                && flash_text(&html).contains("Nothing was changed"),
            "{path}: {}",
            flash_text(&html)
        );
    }
    assert_eq!(
        app.get_text("/admin/users").await.0,
        StatusCode::OK,
        "still an admin, still signed in"
    );
    // A second admin who is disabled does not count.
    app.add_user("second@example.org", Role::Admin).await;
    let second = user_id(&app, "second@example.org").await;
    app.follow(
        app.post(&format!("/admin/users/{second}/disable"), &[])
            .await,
    )
    .await;
    let html = app
        .follow(app.post(&format!("/admin/users/{me}/disable"), &[]).await)
        .await;
    assert!(flash_text(&html).contains("last active admin"));
    let actions = app.audit_actions().await;
    assert!(
        !actions
            .iter()
            .any(|a| a == "user.role" || a == "user.delete"),
        "{actions:?}"
    );
    assert_eq!(
        audit_rows(&app, "user.disable", None).await.len(),
        1,
        "only the second admin's"
    );
}

#[tokio::test]
async fn a_deleted_account_cannot_sign_in_and_its_address_can_be_invited_again() {
    let app = spawn_app().await;
    app.login_admin().await;
    let grace = app.staff_member(NEW).await;
    let id = user_id(&app, NEW).await;
    let html = app
        .follow(app.post(&format!("/admin/users/{id}/delete"), &[]).await)
        .await;
    assert!(
        flash_text(&html).contains("Tick the box"),
        "unconfirmed: nothing deleted"
    );
    assert_eq!(grace.get_text("/studies").await.0, StatusCode::OK);
    let html = app
        .follow(
            app.post(&format!("/admin/users/{id}/delete"), &[("confirm", "yes")])
                .await,
        )
        .await;
    assert!(
        html.contains("Account deleted.") && !html.contains(NEW),
        "{html}"
    );
    assert_eq!(grace.get("/studies").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        grace.login(NEW, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        audit_rows(&app, "user.delete", None).await,
        [(ADMIN.to_string(), format!("deleted the account of {NEW}"))]
    );
    let r = app
        .post("/admin/users", &[("email", NEW), ("role", "analyst")])
        .await;
    assert_eq!(r.status(), StatusCode::OK, "the address is free again");
}

#[tokio::test]
async fn staff_who_are_not_admins_cannot_manage_staff_and_the_refusal_is_audited_once() {
    let app = spawn_app().await;
    app.login_admin().await;
    let grace = app.staff_member(NEW).await;
    let me = user_id(&app, ADMIN).await;
    for _ in 0..3 {
        let r = grace.post(&format!("/admin/users/{me}/disable"), &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    let r = grace
        .post(
            "/admin/users",
            &[("email", "x@example.org"), ("role", "admin")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get_text("/admin/users").await.0, StatusCode::OK);
    let refused = audit_rows(&app, "access.forbidden", None).await;
    assert_eq!(refused.len(), 1, "rate-limited: {refused:?}");
    assert_eq!(refused[0].0, NEW);
    assert!(
        refused[0]
            .1
            .starts_with(&format!("POST /admin/users/{me}/disable"))
    );
    app.clock.advance(chrono::Duration::minutes(11));
    grace
        .post(
            "/admin/users",
            &[("email", "x@example.org"), ("role", "admin")],
        )
        .await;
    assert_eq!(
        audit_rows(&app, "access.forbidden", None).await.len(),
        2,
        "a new window"
    );
}

/// Every route of one study as the router declares it: (method, path with `{id}` and any other
/// parameter filled in), read from the router's source so that a new route is covered too.
fn study_routes(study: i64) -> Vec<(&'static str, String)> {
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/web/mod.rs")).unwrap();
    let mut routes = vec![];
    for (at, _) in source.match_indices(".route(") {
        // The call's arguments: up to its closing parenthesis.
        let mut depth = 0;
        let call: String = source[at + ".route".len()..]
            .chars()
            .take_while(|c| {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                depth > 0
            })
            .collect();
        let path = call.split('"').nth(1).unwrap();
        if !path.starts_with("/studies/{id}") {
            continue;
        }
        let path = path
            .replace("{id}", &study.to_string())
            .replace("{item}", "1")
            .replace("{pid}", "1");
        let handlers = call.split('"').nth(2).unwrap();
        if handlers.contains("get(") {
            routes.push(("GET", path.clone()));
        }
        if handlers.contains("post(") {
            routes.push(("POST", path));
        }
    }
    routes
}

#[tokio::test]
async fn a_study_not_granted_is_a_404_on_every_route_and_never_listed() {
    let app = spawn_app().await;
    app.login_admin().await;
    let mine = app.create_study("Granted wave").await;
    let other = app.create_study("Secret wave").await;
    let grace = app.staff_member(NEW).await;
    app.grant(NEW, mine, "analyst").await;

    let routes = study_routes(other);
    assert!(routes.len() >= 41, "every route of a study: {routes:?}");
    let csrf = grace.csrf().await;
    for (method, path) in &routes {
        let r = match *method {
            "GET" => grace.get(path).await,
            _ => grace.post_form(path, &[("csrf", &csrf)]).await,
        };
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{method} {path}");
        assert!(
            !r.text().await.unwrap().contains("Secret wave"),
            "{method} {path}"
        );
    }
    // The same person sees the study granted, and an admin sees both.
    assert_eq!(
        grace.get_text(&format!("/studies/{mine}")).await.0,
        StatusCode::OK
    );
    let (_, list) = grace.get_text("/studies").await;
    assert!(
        list.contains("Granted wave") && !list.contains("Secret wave"),
        "{list}"
    );
    let (_, waves) = grace.get_text("/waves").await;
    assert!(
        waves.contains("Granted wave") && !waves.contains("Secret wave"),
        "{waves}"
    );
    let (status, _) = grace
        .get_text(&format!("/waves?ids={mine}&ids={other}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = app.get_text("/studies").await;
    assert!(list.contains("Granted wave") && list.contains("Secret wave"));
    // A study that does not exist looks the same as one not granted.
    assert_eq!(
        grace.get_text("/studies/999").await.0,
        StatusCode::NOT_FOUND
    );

    // Audited, once per window however many probes.
    let probes = audit_rows(&app, "access.not_granted", Some(other)).await;
    assert_eq!(probes.len(), 1, "{probes:?}");
    assert_eq!(probes[0].0, NEW);
    assert!(
        probes[0].1.contains("no grant for this study"),
        "{probes:?}"
    );
    assert_eq!(
        audit_rows(&app, "access.not_granted", Some(999))
            .await
            .len(),
        1
    );
    // Probing study numbers one after another is audited a bounded number of times.
    for probe in 1000..1040 {
        assert_eq!(
            grace.get_text(&format!("/studies/{probe}")).await.0,
            StatusCode::NOT_FOUND
        );
    }
    let probes: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'access.not_granted' AND user_id = (SELECT id FROM users WHERE email = ?)",
    )
    .bind(NEW)
    .fetch_one(&app.state.pool)
    .await
    .unwrap();
    assert_eq!(
        probes,
        layer2::staff::service::REFUSAL_AUDIT_MAX,
        "forty probes of other numbers add at most the cap"
    );
    app.clock.advance(chrono::Duration::minutes(11));
    grace.get(&format!("/studies/{other}/report")).await;
    assert_eq!(
        audit_rows(&app, "access.not_granted", Some(other))
            .await
            .len(),
        2
    );

    // Revoked: gone again.
    let id = user_id(&app, NEW).await;
    let html = app
        .follow(
            app.post(
                &format!("/studies/{mine}/access/revoke"),
                &[("user", &id.to_string())],
            )
            .await,
        )
        .await;
    assert!(html.contains("Access revoked."));
    assert_eq!(
        grace.get_text(&format!("/studies/{mine}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert!(!grace.get_text("/studies").await.1.contains("Granted wave"));
}

#[tokio::test]
async fn grants_are_given_on_the_study_page_by_admins_only_and_audited() {
    let app = spawn_app().await;
    app.login_admin().await;
    let study = app.create_study("Wave").await;
    let grace = app.staff_member(NEW).await;
    let id = user_id(&app, NEW).await.to_string();
    let access = format!("/studies/{study}/access");
    let (status, page) = app.get_text(&access).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("No staff member besides the admins") && page.contains(NEW),
        "{page}"
    );
    let html = app
        .follow(
            app.post(&access, &[("user", &id), ("role", "data_analyst")])
                .await,
        )
        .await;
    assert!(
        html.contains("Access granted.") && html.contains("data analyst (also the raw files)"),
        "{html}"
    );
    // An admin needs no grant; a made-up role is refused.
    let me = user_id(&app, ADMIN).await.to_string();
    let html = app
        .follow(
            app.post(&access, &[("user", &me), ("role", "analyst")])
                .await,
        )
        .await;
    assert!(flash_text(&html).contains("is an admin and sees every study already"));
    let html = app
        .follow(app.post(&access, &[("user", &id), ("role", "owner")]).await)
        .await;
    assert!(flash_text(&html).contains("Choose analyst or data analyst"));

    // The grantee sees the study, but not its Access tab.
    assert_eq!(
        grace.get_text(&format!("/studies/{study}")).await.0,
        StatusCode::OK
    );
    assert_eq!(grace.get_text(&access).await.0, StatusCode::FORBIDDEN);
    let r = grace
        .post(&access, &[("user", &id), ("role", "data_analyst")])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        audit_rows(&app, "study.grant", Some(study)).await,
        [(
            ADMIN.to_string(),
            format!("{NEW} granted data analyst (also the raw files)")
        )]
    );
    assert_eq!(
        audit_rows(&app, "access.forbidden", Some(study))
            .await
            .len(),
        1
    );
}

/// Downloads one export file; returns the status and the body.
async fn download(who: &TestApp, study: i64, file: &str) -> (StatusCode, String) {
    let r = who
        .post(&format!("/studies/{study}/export"), &[("file", file)])
        .await;
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn an_aggregate_analyst_gets_the_summary_but_403_on_raw_files_and_a_data_analyst_gets_them() {
    let app = spawn_app().await;
    let info = layer2::demo::seed(&app.state, 600).await.unwrap();
    let study = info.analysis_study_id;
    let viewer = app.stranger();
    viewer
        .login(layer2::demo::VIEWER_EMAIL, layer2::demo::VIEWER_PASSWORD)
        .await;
    let analyst = app.stranger();
    analyst
        .login(layer2::demo::ANALYST_EMAIL, layer2::demo::ANALYST_PASSWORD)
        .await;

    let (status, csv) = download(&viewer, study, "summary.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.contains("cohort"), "{csv}");
    let raw = [
        "participants.csv",
        "diary.csv",
        "pings.csv",
        "population.csv",
        "control.csv",
        "codebook.csv",
        "export.json",
        "workbook.xlsx",
    ];
    for file in raw {
        assert_eq!(
            download(&viewer, study, file).await.0,
            StatusCode::FORBIDDEN,
            "{file}"
        );
        assert_eq!(
            download(&analyst, study, file).await.0,
            StatusCode::OK,
            "{file}"
        );
    }
    let (_, page) = viewer.get_text(&format!("/studies/{study}/export")).await;
    assert!(
        page.contains("summary.csv") && !page.contains("participants.csv"),
        "{page}"
    );
    for path in ["report", "readout", "analysis"] {
        let (status, _) = viewer.get_text(&format!("/studies/{study}/{path}")).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    let refused = audit_rows(&app, "access.forbidden", Some(study)).await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, layer2::demo::VIEWER_EMAIL);
    assert!(refused[0].1.contains("participants.csv"), "{refused:?}");
}

#[tokio::test]
async fn the_cli_disables_enables_and_changes_roles_but_keeps_the_last_admin() {
    use crate::cli::{layer2, text};
    let dir = tempfile::tempdir().unwrap();
    let pw = "a long enough password\n";
    let run = |args: &[&str]| layer2(dir.path(), args, "");
    let add = |email: &str, role: &str| {
        let o = layer2(
            dir.path(),
            &["user", "add", "--email", email, "--role", role],
            pw,
        );
        assert!(o.status.success(), "{}", text(&o));
    };
    add("boss@example.org", "admin");
    for args in [
        ["user", "disable", "--email", "boss@example.org", "", ""],
        [
            "user",
            "role",
            "--email",
            "boss@example.org",
            "--role",
            "analyst",
        ],
    ] {
        let args: Vec<&str> = args.into_iter().filter(|a| !a.is_empty()).collect();
        let o = run(&args);
        assert!(
            !o.status.success() && text(&o).contains("last active admin"),
            "{args:?}: {}",
            text(&o)
        );
    }
    add("ops@example.org", "analyst");
    let o = run(&["user", "disable", "--email", "Ops@Example.org"]);
    assert!(
        o.status.success() && text(&o).contains("Disabled ops@example.org"),
        "{}",
        text(&o)
    );
    assert!(text(&run(&["user", "list"])).contains("analyst  ops@example.org (disabled)"));
    let o = run(&["user", "disable", "--email", "ops@example.org"]);
    assert!(!o.status.success() && text(&o).contains("already disabled"));
    let o = layer2(
        dir.path(),
        &["user", "password", "--email", "ops@example.org"],
        "another long password\n",
    );
    assert!(
        o.status.success(),
        "a disabled account's password can be reset: {}",
        text(&o)
    );
    assert!(
        text(&run(&["user", "list"])).contains("ops@example.org (disabled)"),
        "and it stays disabled"
    );
    let o = run(&["user", "enable", "--email", "ops@example.org"]);
    assert!(o.status.success() && text(&o).contains("Enabled ops@example.org"));
    let o = run(&[
        "user",
        "role",
        "--email",
        "ops@example.org",
        "--role",
        "admin",
    ]);
    assert!(
        o.status.success() && text(&o).contains("ops@example.org is now admin"),
        "{}",
        text(&o)
    );
    // With a second admin the first may go.
    let o = run(&["user", "disable", "--email", "boss@example.org"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&["user", "enable", "--email", "nobody@example.org"]);
    assert!(!o.status.success() && text(&o).contains("there is no staff account"));
    let list = text(&run(&["user", "list"]));
    assert!(
        list.contains("admin    boss@example.org (disabled)")
            && list.contains("admin    ops@example.org (active)"),
        "{list}"
    );

    let db = layer2::config::Config {
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    }
    .database_path();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let audited: Vec<(String, String)> = sqlx::query_as(
        "SELECT actor, action FROM audit_log WHERE action IN ('user.disable', 'user.enable', 'user.role') ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let cli = |a: &str| ("cli".to_string(), a.to_string());
    assert_eq!(
        audited,
        [
            cli("user.disable"),
            cli("user.enable"),
            cli("user.role"),
            cli("user.disable")
        ]
    );
}

#[tokio::test]
async fn an_invitation_is_dead_while_the_account_is_disabled_and_lives_again_once_enabled() {
    let app = spawn_app().await;
    app.login_admin().await;
    let r = app
        .post("/admin/users", &[("email", NEW), ("role", "analyst")])
        .await;
    let link = welcome_path(&r.text().await.unwrap());
    let id = user_id(&app, NEW).await;
    app.follow(app.post(&format!("/admin/users/{id}/disable"), &[]).await)
        .await;
    let person = app.stranger();
    assert_eq!(person.get_text(&link).await.0, StatusCode::NOT_FOUND);
    app.follow(app.post(&format!("/admin/users/{id}/enable"), &[]).await)
        .await;
    let (_, list) = app.get_text("/admin/users").await;
    assert!(list.contains("invited"), "no password yet: invited again");
    assert_eq!(
        set_password(&person, &link).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        person.login(NEW, NEW_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}
