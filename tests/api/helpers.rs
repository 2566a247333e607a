//! `spawn_app()`: a server on 127.0.0.1:0 with a fresh database file and a clock the test controls.
use chrono::{DateTime, TimeZone, Utc};
use layer2::audit::Actor;
use layer2::auth::{Email, NewPassword, Role, service as auth_service};
use layer2::clock::ManualClock;
use layer2::config::Config;
use layer2::startup::Application;
use layer2::state::AppState;
use layer2::study::repo as study_repo;
use layer2::study::{Status, StudyId};
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use std::sync::Arc;

pub const ADMIN: &str = "ada@example.org";
pub const ANALYST: &str = "alan@example.org";
pub const PASSWORD: &str = "a long enough password";

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub clock: ManualClock,
    pub client: reqwest::Client,
    pub _dir: tempfile::TempDir,
}

/// 2027-01-04 09:00 UTC, a Monday.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 4, 9, 0, 0).unwrap()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server whose config a test adjusts first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    // Tests run the tick themselves, at the time they choose.
    config.run_scheduler = false;
    adjust(&mut config);
    let clock = ManualClock::new(t0());
    let app = Application::build(config, Arc::new(clock.clone()))
        .await
        .expect("build");
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run());
    TestApp {
        base,
        state,
        clock,
        client: client(),
        _dir: dir,
    }
}

/// The first `name="csrf"` value in a page.
pub fn csrf_in(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("page has a csrf field")
        + 19;
    html[at..at + 64].to_string()
}

impl TestApp {
    /// Another visitor of the same server: a fresh cookie jar, no staff session (a participant, say).
    pub fn stranger(&self) -> TestApp {
        TestApp {
            client: client(),
            base: self.base.clone(),
            state: self.state.clone(),
            clock: self.clock.clone(),
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The test clock's current time.
    pub fn clock_now(&self) -> DateTime<Utc> {
        use layer2::clock::Clock;
        self.clock.now()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn add_user(&self, email: &str, role: Role) {
        let email = Email::parse(email).unwrap();
        let pw = NewPassword::parse(PASSWORD.to_string(), &email).unwrap();
        auth_service::create_user(&self.state, &email, role, pw, &Actor::cli())
            .await
            .unwrap();
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_text(&self, path: &str) -> (StatusCode, String) {
        let r = self.get(path).await;
        (r.status(), r.text().await.unwrap())
    }

    /// A CSRF token valid for the current session (from any staff page).
    pub async fn csrf(&self) -> String {
        let (_, html) = self.get_text("/studies").await;
        csrf_in(&html)
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// Posts a form with this session's CSRF token added.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let csrf = self.csrf().await;
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_form(path, &all).await
    }

    /// Signs in through the login form; returns the response to the POST.
    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        let (_, html) = self.get_text("/login").await;
        let csrf = csrf_in(&html);
        self.post_form(
            "/login",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await
    }

    pub async fn login_admin(&self) {
        self.add_user(ADMIN, Role::Admin).await;
        let r = self.login(ADMIN, PASSWORD).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "admin login");
    }

    /// Creates a study through the form and returns its id.
    pub async fn create_study(&self, name: &str) -> i64 {
        let r = self
            .post(
                "/studies",
                &[
                    ("name", name),
                    ("vendor", "Microsoft"),
                    ("product", "Microsoft 365 Copilot"),
                    ("model_version", "GPT-5"),
                    ("time_zone", "Europe/London"),
                    ("start_date", "2027-01-04"),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        loc.trim_start_matches("/studies/").parse().unwrap()
    }

    /// Uploads a file to an import route with the session's CSRF token and extra fields.
    pub async fn upload(
        &self,
        path: &str,
        filename: &str,
        bytes: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form = reqwest::multipart::Form::new().text("csrf", self.csrf().await);
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(filename.to_string()),
        );
        self.client
            .post(self.url(path))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Posts a form that must succeed: a redirect to a page that shows no error message. Returns that page.
    pub async fn post_ok(&self, path: &str, fields: &[(&str, &str)]) -> String {
        let r = self.post(path, fields).await;
        let page = self.follow(r).await;
        assert!(
            !page.contains("class=\"flash error\""),
            "POST {path} was refused: {}",
            flash_text(&page)
        );
        page
    }

    /// Uploads a file that must be accepted (a redirect to a page with no error message).
    pub async fn upload_ok(
        &self,
        path: &str,
        filename: &str,
        bytes: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> String {
        let r = self.upload(path, filename, bytes, fields).await;
        let page = self.follow(r).await;
        assert!(
            !page.contains("class=\"flash error\""),
            "upload to {path} was refused: {}",
            flash_text(&page)
        );
        page
    }

    /// The study as the application reads it.
    pub async fn study(&self, study: i64) -> study_repo::StudyRow {
        study_repo::get(&self.state.pool, StudyId(study))
            .await
            .unwrap()
            .expect("the study exists")
    }

    /// The study's status, as the application reads it.
    pub async fn study_status(&self, study: i64) -> Status {
        self.study(study).await.status()
    }

    /// The flash message shown on the page a redirect leads to.
    pub async fn follow(&self, r: reqwest::Response) -> String {
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "expected a redirect");
        let loc = r.headers()["location"].to_str().unwrap().to_string();
        self.get_text(&loc).await.1
    }

    pub async fn audit_actions(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT action FROM audit_log ORDER BY id")
            .fetch_all(&self.state.pool)
            .await
            .unwrap()
    }

    pub async fn count(&self, sql: &'static str, study: i64) -> i64 {
        sqlx::query_scalar(sql)
            .bind(study)
            .fetch_one(&self.state.pool)
            .await
            .unwrap()
    }
}

/// A roster CSV of `n` employees over four functions, hired over ten years, in three zones.
pub fn roster_csv(n: usize) -> String {
    let functions = ["Engineering", "Sales", "Finance", "Support"];
    let zones = ["Europe/London", "America/New_York", "Asia/Singapore"];
    let mut s = String::from("employee_id,email,function,hire_date,time_zone\n");
    for i in 0..n {
        let year = 2016 + (i % 10);
        s.push_str(&format!(
            "E{i:05},e{i:05}@example.org,{},{year}-0{}-15,{}\n",
            functions[i % 4],
            1 + i % 9,
            zones[i % 3]
        ));
    }
    s
}

/// Plain-CSV usage: employee i has (i mod 5000)/10 + 0.1 hours a month; those with i % 10 == 9 have none.
pub fn usage_csv(n: usize) -> String {
    let mut s = String::from("employee_id,period,active_days,ai_hours\n");
    for i in 0..n {
        if i % 10 == 9 {
            continue;
        }
        s.push_str(&format!(
            "E{i:05},2026-11,{},{:.1}\n",
            1 + i % 20,
            (i % 5000) as f64 / 10.0 + 0.1
        ));
    }
    s
}

/// A study in pilot with a drawn sample (200 employees, 60 + pilot 20) and every approval recorded.
pub async fn study_in_pilot(app: &TestApp) -> i64 {
    app.login_admin().await;
    let id = app.create_study("Wave").await;
    app.upload_ok(
        &format!("/studies/{id}/roster"),
        "r.csv",
        roster_csv(200).into_bytes(),
        &[],
    )
    .await;
    app.upload_ok(
        &format!("/studies/{id}/usage"),
        "u.csv",
        usage_csv(200).into_bytes(),
        &[("format", "csv")],
    )
    .await;
    app.post_ok(
        &format!("/studies/{id}/sample"),
        &[
            ("n", "60"),
            ("min_per_cohort", "5"),
            ("pilot_n", "20"),
            ("seed", "9"),
        ],
    )
    .await;
    write_privacy_notice(app, id).await;
    let items = study_repo::approvals(&app.state.pool, StudyId(id))
        .await
        .unwrap();
    assert!(!items.is_empty(), "a new study has an approvals checklist");
    for item in items {
        app.post_ok(&format!("/studies/{id}/approvals/{}", item.id), &[])
            .await;
    }
    app.post_ok(
        &format!("/studies/{id}/status"),
        &[
            ("to", "setup"),
            ("confirm", "yes"),
            ("warnings_read", "yes"),
        ],
    )
    .await;
    app.post_ok(
        &format!("/studies/{id}/status"),
        &[
            ("to", "pilot"),
            ("confirm", "yes"),
            ("warnings_read", "yes"),
        ],
    )
    .await;
    assert_eq!(app.study_status(id).await, Status::Pilot);
    id
}

/// Saves a complete privacy notice for the study through its form (the pilot waits for one).
pub async fn write_privacy_notice(app: &TestApp, study: i64) {
    let page = app
        .post_ok(
            &format!("/studies/{study}/privacy"),
            &[
                ("controller", "Example Ltd"),
                ("contact_name", "Data Protection Office"),
                ("contact_email", "privacy@example.org"),
                ("purpose", "To measure how much time the copilot saves."),
            ],
        )
        .await;
    assert!(page.contains("Privacy notice saved."));
}

/// The text of the flash message on a page, for assertion messages.
pub fn flash_text(page: &str) -> &str {
    page.find("class=\"flash")
        .and_then(|at| {
            let rest = &page[at..];
            let start = rest.find('>')? + 1;
            let end = rest.find("</p>")?;
            rest.get(start..end)
        })
        .unwrap_or("")
}

/// The path of the first link in an outbox message body.
pub fn link_path(body: &str) -> String {
    let at = body.find("/p/").expect("a magic link");
    body[at..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches('"')
        .to_string()
}

// ---- roster helpers ----

impl TestApp {
    /// Uploads a file to the roster or usage import of a study, expecting it to be accepted (303), and
    /// returns the page the redirect leads to (with its flash message).
    async fn accepted_upload(
        &self,
        path: &str,
        filename: &str,
        bytes: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> String {
        let r = self.upload(path, filename, bytes, fields).await;
        let status = r.status();
        if status != StatusCode::SEE_OTHER {
            panic!(
                "{filename} was not imported ({status}): {}",
                r.text().await.unwrap()
            );
        }
        self.follow(r).await
    }

    /// Uploads a file expecting it to be refused whole (422); returns the page listing its problems.
    async fn refused_upload(
        &self,
        path: &str,
        filename: &str,
        bytes: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> String {
        let r = self.upload(path, filename, bytes, fields).await;
        assert_eq!(
            r.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{filename} should be refused"
        );
        r.text().await.unwrap()
    }

    /// Imports a roster file (must be accepted); returns the page with the flash message.
    pub async fn import_roster(&self, study: i64, filename: &str, bytes: Vec<u8>) -> String {
        let path = format!("/studies/{study}/roster");
        self.accepted_upload(&path, filename, bytes, &[]).await
    }

    /// Uploads a roster file that must be refused (422); returns the page listing its problems.
    pub async fn refused_roster(&self, study: i64, filename: &str, bytes: Vec<u8>) -> String {
        let path = format!("/studies/{study}/roster");
        self.refused_upload(&path, filename, bytes, &[]).await
    }

    /// Imports a usage file in `format` with extra form fields (must be accepted); returns the page.
    pub async fn import_usage(
        &self,
        study: i64,
        filename: &str,
        bytes: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> String {
        let path = format!("/studies/{study}/usage");
        self.accepted_upload(&path, filename, bytes, fields).await
    }

    /// Uploads a usage file that must be refused (422); returns the page listing its problems.
    pub async fn refused_usage(
        &self,
        study: i64,
        filename: &str,
        bytes: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> String {
        let path = format!("/studies/{study}/usage");
        self.refused_upload(&path, filename, bytes, fields).await
    }

    /// (heavy, moderate, light) employees of a study.
    pub async fn cohort_counts(&self, study: i64) -> (i64, i64, i64) {
        sqlx::query_as(
            "SELECT SUM(cohort = 'heavy'), SUM(cohort = 'moderate'), SUM(cohort = 'light') FROM employees WHERE study_id = ?",
        )
        .bind(study)
        .fetch_one(&self.state.pool)
        .await
        .unwrap()
    }

    /// The cohort an employee (by the roster's employee id) was assigned.
    pub async fn employee_cohort(&self, employee_id: &str) -> String {
        let sql = "SELECT cohort FROM employees WHERE employee_id = ?";
        self.employee_value(sql, employee_id).await
    }

    /// An employee's gross AI hours per month (must be known).
    pub async fn employee_gross_hours(&self, employee_id: &str) -> f64 {
        let sql = "SELECT gross_hours_month FROM employees WHERE employee_id = ?";
        self.employee_value(sql, employee_id).await
    }

    async fn employee_value<T>(&self, sql: &'static str, employee_id: &str) -> T
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + Send + Unpin,
    {
        sqlx::query_scalar(sql)
            .bind(employee_id)
            .fetch_one(&self.state.pool)
            .await
            .unwrap()
    }

    /// (employee id, usage score, gross hours) of every employee of a study, in employee-id order.
    pub async fn employee_usage(&self, study: i64) -> Vec<(String, Option<f64>, Option<f64>)> {
        sqlx::query_as(
            "SELECT employee_id, usage_score, gross_hours_month FROM employees WHERE study_id = ? ORDER BY employee_id",
        )
        .bind(study)
        .fetch_all(&self.state.pool)
        .await
        .unwrap()
    }

    /// Raw usage records kept, over every study.
    pub async fn usage_raw_rows(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM usage_raw")
            .fetch_one(&self.state.pool)
            .await
            .unwrap()
    }

    /// Employee ids in the main sample or the pilot (`role`), in employee-id order.
    pub async fn sample_members(&self, study: i64, role: &str) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT e.employee_id FROM sample_members m JOIN employees e ON e.id = m.employee
             WHERE m.study_id = ? AND m.role = ? ORDER BY e.employee_id",
        )
        .bind(study)
        .bind(role)
        .fetch_all(&self.state.pool)
        .await
        .unwrap()
    }

    /// (cohort, function, population, main sample) per cell of a study's roster.
    pub async fn sample_by_cell(&self, study: i64) -> Vec<(String, String, i64, i64)> {
        sqlx::query_as(
            "SELECT e.cohort, e.function, COUNT(*), SUM(m.role = 'main') FROM employees e
             LEFT JOIN sample_members m ON m.employee = e.id WHERE e.study_id = ? GROUP BY e.cohort, e.function",
        )
        .bind(study)
        .fetch_all(&self.state.pool)
        .await
        .unwrap()
    }

    /// Stands in for the invitation step (which needs a study in pilot): marks the sampled people of
    /// one role as invited.
    pub async fn mark_sample_invited(&self, study: i64, role: &str) {
        let done = sqlx::query(
            "UPDATE sample_members SET invited_at = '2027-01-18T09:00:00+00:00' WHERE study_id = ? AND role = ?",
        )
        .bind(study)
        .bind(role)
        .execute(&self.state.pool)
        .await
        .unwrap();
        assert!(done.rows_affected() > 0, "nobody in the {role} sample");
    }
}

// ---- participants helpers ----
// What a participant does through their link (each asserting the answer a person would see), and what the
// database then holds for participants, pings, the diary and the outbox.

/// Consents (or declines) on a participant's link: a consent redirects to their diary page, a decline thanks
/// them on the spot.
pub async fn consent(person: &TestApp, link: &str, accept: bool) {
    let decision = if accept { "accept" } else { "decline" };
    let r = person
        .post_form(&format!("{link}/consent"), &[("decision", decision)])
        .await;
    let expected = if accept {
        StatusCode::SEE_OTHER
    } else {
        StatusCode::OK
    };
    assert_eq!(r.status(), expected, "consent {decision}");
}

/// Logs a diary entry (or a control task) on a participant's link and checks that it was taken.
pub async fn log_task(person: &TestApp, link: &str, fields: &[(&str, &str)]) -> String {
    let r = person.post_form(&format!("{link}/diary"), fields).await;
    assert_eq!(r.status(), StatusCode::OK, "the entry is taken");
    let html = r.text().await.unwrap();
    assert!(html.contains("Task logged"), "{html}");
    html
}

/// Answers a ping on a participant's link and returns the status of the answer page.
pub async fn answer(person: &TestApp, link: &str, ping: i64, used: &str) -> StatusCode {
    person
        .post_form(&format!("{link}/ping/{ping}"), &[("used", used)])
        .await
        .status()
}

/// A ping's status word.
pub async fn ping_status(app: &TestApp, ping: i64) -> String {
    sqlx::query_scalar("SELECT status FROM pings WHERE id = ?")
        .bind(ping)
        .fetch_one(&app.state.pool)
        .await
        .unwrap()
}

/// A participant's pings in time order: (id, due, expires).
pub async fn pings_of(app: &TestApp, participant: i64) -> Vec<(i64, DateTime<Utc>, DateTime<Utc>)> {
    sqlx::query_as("SELECT id, due_at, expires_at FROM pings WHERE participant = ? ORDER BY due_at")
        .bind(participant)
        .fetch_all(&app.state.pool)
        .await
        .unwrap()
}

/// How many of a participant's pings were delivered (have a sending time).
pub async fn pings_delivered(app: &TestApp, participant: i64) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM pings WHERE participant = ? AND sent_at IS NOT NULL")
        .bind(participant)
        .fetch_one(&app.state.pool)
        .await
        .unwrap()
}

/// A participant's consent as stored (None before they decide).
pub async fn consent_of(app: &TestApp, participant: i64) -> Option<String> {
    sqlx::query_scalar("SELECT consent FROM participants WHERE id = ?")
        .bind(participant)
        .fetch_one(&app.state.pool)
        .await
        .unwrap()
}

/// A participant's consent history.
pub async fn consent_events(app: &TestApp, participant: i64) -> Vec<String> {
    sqlx::query_scalar("SELECT event FROM consent_events WHERE participant = ? ORDER BY id")
        .bind(participant)
        .fetch_all(&app.state.pool)
        .await
        .unwrap()
}

/// A participant's diary entries: (id, instrument version), oldest first.
pub async fn diary_of(app: &TestApp, participant: i64) -> Vec<(i64, i64)> {
    sqlx::query_as(
        "SELECT id, instrument_version FROM diary_entries WHERE participant = ? ORDER BY id",
    )
    .bind(participant)
    .fetch_all(&app.state.pool)
    .await
    .unwrap()
}

/// The answers stored for a ping: (used the copilot, verification, correction, instrument version).
pub async fn answers_to(app: &TestApp, ping: i64) -> Vec<(String, i64, i64, i64)> {
    sqlx::query_as(
        "SELECT used_copilot, verification_min, correction_min, instrument_version FROM ping_answers WHERE ping = ?",
    )
    .bind(ping)
    .fetch_all(&app.state.pool)
    .await
    .unwrap()
}

/// Messages of one kind in the outbox: (participant or 0, recipient, text body), in order. The outbox holds no
/// body: the mail due is sent first (as the tick would), and the text is read from the `.eml` file it became
/// (empty for a message not sent).
pub async fn outbox_of_kind(app: &TestApp, kind: &str) -> Vec<(i64, String, String)> {
    send_due_mail(app).await;
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT COALESCE(participant, 0), to_addr, message_id FROM outbox WHERE kind = ? ORDER BY id",
    )
    .bind(kind)
    .fetch_all(&app.state.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(p, to, id)| (p, to, sent_text(app, &id)))
        .collect()
}

/// The outbox's statuses, in order.
pub async fn outbox_statuses(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT status FROM outbox ORDER BY id")
        .fetch_all(&app.state.pool)
        .await
        .unwrap()
}

/// How many emails of these kinds went to one participant.
pub async fn mail_to(app: &TestApp, participant: i64, kinds: &[&str]) -> usize {
    outbox_to(app, participant)
        .await
        .iter()
        .filter(|k| kinds.contains(&k.as_str()))
        .count()
}

async fn outbox_to(app: &TestApp, participant: i64) -> Vec<String> {
    sqlx::query_scalar("SELECT kind FROM outbox WHERE participant = ? ORDER BY id")
        .bind(participant)
        .fetch_all(&app.state.pool)
        .await
        .unwrap()
}

/// A participant's email address (from the roster).
pub async fn email_of(app: &TestApp, participant: i64) -> String {
    sqlx::query_scalar(
        "SELECT e.email FROM participants p JOIN employees e ON e.id = p.employee WHERE p.id = ?",
    )
    .bind(participant)
    .fetch_one(&app.state.pool)
    .await
    .unwrap()
}

/// Makes a participant's address undeliverable (an SMTP server would refuse it): a state no page can reach.
pub async fn break_address(app: &TestApp, participant: i64) {
    sqlx::query("UPDATE employees SET email = 'not an address' WHERE id = (SELECT employee FROM participants WHERE id = ?)")
        .bind(participant)
        .execute(&app.state.pool)
        .await
        .unwrap();
}

/// When a ping was sent (None: never delivered).
pub async fn ping_sent_at(app: &TestApp, ping: i64) -> Option<DateTime<Utc>> {
    sqlx::query_scalar("SELECT sent_at FROM pings WHERE id = ?")
        .bind(ping)
        .fetch_one(&app.state.pool)
        .await
        .unwrap()
}

/// How many pings of every study stand at `status`.
pub async fn pings_with_status(app: &TestApp, status: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM pings WHERE status = ?")
        .bind(status)
        .fetch_one(&app.state.pool)
        .await
        .unwrap()
}

/// The moment the earliest ping of any participant falls due.
pub async fn earliest_due(app: &TestApp) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT MIN(due_at) FROM pings")
        .fetch_one(&app.state.pool)
        .await
        .unwrap()
}

/// Pings sent after their answer window closed (there must never be any).
pub async fn pings_sent_late(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM pings WHERE sent_at IS NOT NULL AND sent_at > expires_at",
    )
    .fetch_one(&app.state.pool)
    .await
    .unwrap()
}

/// How many ping answers are stored, in every study.
pub async fn answer_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM ping_answers")
        .fetch_one(&app.state.pool)
        .await
        .unwrap()
}

/// How many participants a study has in a group (`main` or `pilot`).
pub async fn participants_in_group(app: &TestApp, study: i64, group: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM participants WHERE study_id = ? AND role = ?")
        .bind(study)
        .bind(group)
        .fetch_one(&app.state.pool)
        .await
        .unwrap()
}

/// The first `n` emails to the main sample: (participant, text body), in order (sent first, as above).
pub async fn main_sample_mail(app: &TestApp, n: i64) -> Vec<(i64, String)> {
    send_due_mail(app).await;
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT o.participant, o.message_id FROM outbox o JOIN participants p ON p.id = o.participant
         WHERE p.role = 'main' ORDER BY o.id LIMIT ?",
    )
    .bind(n)
    .fetch_all(&app.state.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(p, id)| (p, sent_text(app, &id)))
        .collect()
}

/// One outbox message as stored (what it is, never its text).
#[derive(sqlx::FromRow)]
pub struct OutboxRow {
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub message_id: String,
}

/// Every outbox message, in order.
pub async fn outbox_rows(app: &TestApp) -> Vec<OutboxRow> {
    sqlx::query_as("SELECT status, attempts, last_error, message_id FROM outbox ORDER BY id")
        .fetch_all(&app.state.pool)
        .await
        .unwrap()
}

/// Leaves every outbox message as a sender that claimed it and died would (leased until `until`): a state
/// only a crash reaches.
pub async fn crash_while_sending(app: &TestApp, until: DateTime<Utc>) {
    sqlx::query("UPDATE outbox SET status = 'sending', attempts = 1, lease_until = ?")
        .bind(until)
        .execute(&app.state.pool)
        .await
        .unwrap();
}

// ---- studies helpers (owned with the participants helpers) ----

/// The details the audit log holds for one action, oldest first.
pub async fn audit_details(app: &TestApp, action: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = ? ORDER BY id")
        .bind(action)
        .fetch_all(&app.state.pool)
        .await
        .unwrap()
}

/// A study's approval items, in checklist order.
pub async fn approval_items(app: &TestApp, study: i64) -> Vec<i64> {
    sqlx::query_scalar("SELECT id FROM approval_items WHERE study_id = ? ORDER BY position")
        .bind(study)
        .fetch_all(&app.state.pool)
        .await
        .unwrap()
}

/// Who recorded an approval item and when, as stored.
pub async fn approval_recorded(app: &TestApp, item: i64) -> (Option<i64>, Option<String>) {
    sqlx::query_as("SELECT recorded_by, recorded_at FROM approval_items WHERE id = ?")
        .bind(item)
        .fetch_one(&app.state.pool)
        .await
        .unwrap()
}

// ---- statistics, reports, exports and baseline helpers ----

impl TestApp {
    /// The rows of a read-only query, its one `?` bound to `study` when given.
    pub async fn rows<T>(&self, sql: &'static str, study: Option<i64>) -> Vec<T>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
    {
        let q = sqlx::query_as(sql);
        let q = match study {
            Some(s) => q.bind(s),
            None => q,
        };
        q.fetch_all(&self.state.pool).await.unwrap()
    }

    /// The one value of a read-only query (a count, a status, an id), its `?` bound to `bind` when given.
    pub async fn value<T>(&self, sql: &'static str, bind: Option<i64>) -> T
    where
        (T,): for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
    {
        let q = sqlx::query_as::<_, (T,)>(sql);
        let q = match bind {
            Some(b) => q.bind(b),
            None => q,
        };
        q.fetch_one(&self.state.pool).await.unwrap().0
    }

    /// Writes `text` into the description of a study's first consented main-sample diary entry: a
    /// hostile description no test participant would type through the diary form in one step.
    pub async fn plant_description(&self, study: i64, text: &str) {
        let done = sqlx::query(
            "UPDATE diary_entries SET description = ? WHERE id = (SELECT MIN(d.id)
               FROM diary_entries d JOIN participants p ON p.id = d.participant WHERE p.study_id = ? AND p.role = 'main'
                 AND p.consent = 'accepted')",
        )
        .bind(text)
        .bind(study)
        .execute(&self.state.pool)
        .await
        .unwrap();
        assert_eq!(
            done.rows_affected(),
            1,
            "the study has a consented diary entry"
        );
    }
}

// ---- erasure helpers ----
// What a copy of the data folder would show: the database file and its `-wal` as bytes, and the `.eml`
// files of the file transport.

/// Whether `needle` occurs anywhere in the database file or its `-wal` (as `grep -a` would find it).
pub fn in_database_files(app: &TestApp, needle: &str) -> bool {
    let db = app.state.config.database_path();
    let mut wal = db.clone().into_os_string();
    wal.push("-wal");
    [db, wal.into()].iter().any(|path| {
        std::fs::read(path)
            .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
            .unwrap_or(false)
    })
}

/// The text of every `.eml` file in the mail folder.
pub fn eml_texts(app: &TestApp) -> Vec<String> {
    std::fs::read_dir(app.state.config.mail_dir())
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// A participant's employee id (from the roster).
pub async fn employee_id_of(app: &TestApp, participant: i64) -> String {
    sqlx::query_scalar(
        "SELECT e.employee_id FROM participants p JOIN employees e ON e.id = p.employee WHERE p.id = ?",
    )
    .bind(participant)
    .fetch_one(&app.state.pool)
    .await
    .unwrap()
}

/// Every audit row's actor and detail, as one text each.
pub async fn audit_texts(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT actor || ' ' || action || ' ' || detail FROM audit_log ORDER BY id")
        .fetch_all(&app.state.pool)
        .await
        .unwrap()
}

// ---- mail and links helpers ----
// Mail is written only when it is sent: these send what is due and read the `.eml` files back.

/// Sends the mail due now through the app's own (file) transport, as the tick would.
pub async fn send_due_mail(app: &TestApp) {
    layer2::mail::outbox::drain_once(&app.state, &app.state.mailer, 0, app.clock_now())
        .await
        .unwrap();
}

/// The mail folder of the app.
pub fn mail_dir(app: &TestApp) -> std::path::PathBuf {
    app.state.config.mail_dir()
}

/// The plain text of the `.eml` a message became (quoted-printable undone); empty if it was never sent.
pub fn sent_text(app: &TestApp, message_id: &str) -> String {
    layer2::mail::transport::read_sent_text(&mail_dir(app), message_id).unwrap_or_default()
}

// ---- staff helpers ----
// Accounts and study grants: for the staff-access tests, and for older tests whose analyst now needs a
// grant to see a study at all.

impl TestApp {
    /// Grants an existing account a study role (`analyst` or `data_analyst`) on `study`.
    pub async fn grant(&self, email: &str, study: i64, role: &str) {
        let email = Email::parse(email).unwrap();
        let user = layer2::staff::service::find(&self.state, &email)
            .await
            .unwrap();
        layer2::staff::service::grant(
            &self.state,
            &Actor::cli(),
            StudyId(study),
            user.id,
            role.parse().unwrap(),
        )
        .await
        .unwrap();
    }

    /// Another visitor, signed in as a new staff account who is not an admin (no grant yet).
    pub async fn staff_member(&self, email: &str) -> TestApp {
        let other = self.stranger();
        self.add_user(email, Role::Analyst).await;
        assert_eq!(
            other.login(email, PASSWORD).await.status(),
            StatusCode::SEE_OTHER,
            "{email} signs in"
        );
        other
    }
}

/// Audit rows of one action, for one study (or none), oldest first: (who, detail).
pub async fn audit_rows(app: &TestApp, action: &str, study: Option<i64>) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT actor, detail FROM audit_log WHERE action = ? AND study_id IS ? ORDER BY id",
    )
    .bind(action)
    .bind(study)
    .fetch_all(&app.state.pool)
    .await
    .unwrap()
}

/// The path of the setup link in a page or an email (`/welcome/<token>`).
pub fn welcome_path(text: &str) -> String {
    let at = text.find("/welcome/").expect("a setup link");
    text[at..at + "/welcome/".len() + 64].to_string()
}

// ---- study timeline helpers ----

/// The timeline form's fields for five phases given as (start, end) dates, setup to readout.
pub fn phase_fields(dates: [(&str, &str); 5]) -> Vec<(String, String)> {
    ["setup", "pilot", "collection", "analysis", "readout"]
        .iter()
        .zip(dates)
        .flat_map(|(n, (s, e))| {
            [
                (format!("{n}_start"), s.to_string()),
                (format!("{n}_end"), e.to_string()),
            ]
        })
        .collect()
}

// ---- data folder helpers ----

/// Creates study 1 (`name`) in the data folder `dir` through the library, as the CLI would find it.
pub async fn study_in_folder(dir: &std::path::Path, name: &str) {
    let config = layer2::config::Config {
        data_dir: dir.to_path_buf(),
        ..Default::default()
    };
    let pool = layer2::db::connect(&config.database_path()).await.unwrap();
    let state = layer2::state::AppState::new(
        pool.clone(),
        config,
        std::sync::Arc::new(layer2::clock::SystemClock),
    )
    .unwrap();
    let form = layer2::study::StudyForm {
        name: name.into(),
        vendor: "GitHub".into(),
        product: "Copilot".into(),
        model_version: String::new(),
        time_zone: "UTC".into(),
        start_date: "2027-01-04".into(),
    };
    let d = layer2::study::StudyDetails::parse(&form).unwrap();
    layer2::study::service::create(&state, &layer2::audit::Actor::cli(), &d)
        .await
        .unwrap();
    pool.close().await;
}

// ---- usage sources helpers ----

/// A data folder for the real binary holding one study (id 1) in setup, created through the library.
pub async fn cli_data_dir_with_study(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    study_in_folder(dir.path(), name).await;
    dir
}

// ---- messages helpers ----
// The study's editable emails: sending what is due through an in-memory mailer, and reading test sends.

/// Sends the mail due now through an in-memory mailer (the app's own is the file transport) and returns
/// what it sent.
pub async fn drain_to_memory(app: &TestApp) -> Vec<layer2::mail::transport::SentEmail> {
    let (mailer, sent) = layer2::mail::transport::Mailer::memory("Layer 2 Study <study@localhost>");
    let state = layer2::state::AppState::with_mailer(
        app.state.pool.clone(),
        (*app.state.config).clone(),
        std::sync::Arc::new(app.clock.clone()),
        mailer,
    );
    layer2::mail::outbox::drain_once(&state, &state.mailer, 0, app.clock_now())
        .await
        .unwrap();
    sent.lock().unwrap().clone()
}

/// The decoded `.eml` files of test sends (their Message-IDs start with `test-`).
pub fn test_sends(app: &TestApp) -> Vec<String> {
    let dir = mail_dir(app);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return vec![];
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name.starts_with("test-") && name.ends_with(".eml"))
        .map(|name| sent_text(app, name.trim_end_matches(".eml")))
        .collect()
}

/// Rows a participant's visit could leave behind: participants, links, consent events, diary entries,
/// control tasks, pings, answers and mail.
pub async fn participant_footprint(app: &TestApp) -> Vec<i64> {
    let mut counts = vec![];
    for sql in [
        "SELECT COUNT(*) FROM participants",
        "SELECT COUNT(*) FROM link_tokens",
        "SELECT COUNT(*) FROM consent_events",
        "SELECT COUNT(*) FROM diary_entries",
        "SELECT COUNT(*) FROM control_tasks",
        "SELECT COUNT(*) FROM pings",
        "SELECT COUNT(*) FROM ping_answers",
        "SELECT COUNT(*) FROM outbox",
    ] {
        counts.push(app.value(sql, None).await);
    }
    counts
}

/// The saved versions of a study's messages and sender (default texts are not rows).
pub async fn message_versions(app: &TestApp, study: i64) -> (i64, i64) {
    (
        app.count(
            "SELECT COUNT(*) FROM message_versions WHERE study_id = ?",
            study,
        )
        .await,
        app.count(
            "SELECT COUNT(*) FROM sender_versions WHERE study_id = ?",
            study,
        )
        .await,
    )
}

// ---- guards helpers ----

/// Moves a study's status through its confirmation: the confirm button and the warnings tick (issue 14).
pub async fn move_status(app: &TestApp, study: i64, to: &str) -> reqwest::Response {
    let fields = [("to", to), ("confirm", "yes"), ("warnings_read", "yes")];
    app.post(&format!("/studies/{study}/status"), &fields).await
}

/// Sends the phase's invitations through their confirmation (issue 14).
pub async fn send_invitations(app: &TestApp, study: i64) -> reqwest::Response {
    let fields = [("confirm", "yes"), ("warnings_read", "yes")];
    app.post(&format!("/studies/{study}/invitations"), &fields)
        .await
}

/// Draws the sample through its form; returns the page the draw leads to.
pub async fn draw_sample(
    app: &TestApp,
    study: i64,
    n: &str,
    min: &str,
    pilot: &str,
    seed: &str,
) -> String {
    let fields = [
        ("n", n),
        ("min_per_cohort", min),
        ("pilot_n", pilot),
        ("seed", seed),
    ];
    let r = app.post(&format!("/studies/{study}/sample"), &fields).await;
    app.follow(r).await
}

// ---- dashboard helpers ----
// A study with enough participants to page through, and what a redirect and the outbox say.

/// A study in collection with its pilot group (20) and main sample (60) invited: 80 participants. Returns
/// the study and every (participant, link) in invitation order.
pub async fn study_with_80_participants(app: &TestApp) -> (i64, Vec<(i64, String)>) {
    let id = study_in_pilot(app).await;
    for r in [
        send_invitations(app, id).await,
        move_status(app, id, "collection").await,
        send_invitations(app, id).await,
    ] {
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "each step confirmed");
    }
    let people: Vec<(i64, String)> = outbox_of_kind(app, "invitation")
        .await
        .into_iter()
        .map(|(p, _, body)| (p, link_path(&body)))
        .collect();
    assert_eq!(people.len(), 80, "20 pilot and 60 main invitations");
    (id, people)
}

/// Where a redirect (303) points.
pub fn location(r: &reqwest::Response) -> String {
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "expected a redirect");
    r.headers()["location"].to_str().unwrap().to_string()
}

/// How many participant rows a collection page shows.
pub fn person_rows(html: &str) -> usize {
    html.matches("<tr id=\"p-").count()
}

/// The participants as (employee id, participant), sorted by employee id (the order of `sort=id`).
pub async fn by_employee_id(app: &TestApp, people: &[(i64, String)]) -> Vec<(String, i64)> {
    let mut out = vec![];
    for (p, _) in people {
        out.push((employee_id_of(app, *p).await, *p));
    }
    out.sort();
    out
}
