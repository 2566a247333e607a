//! `spawn_app()`: a server on 127.0.0.1:0 with a fresh database file and a clock the test controls.
use chrono::{DateTime, TimeZone, Utc};
use layer2::audit::Actor;
use layer2::auth::{Email, NewPassword, Role, service as auth_service};
use layer2::clock::ManualClock;
use layer2::config::Config;
use layer2::startup::Application;
use layer2::state::AppState;
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
        let pw = NewPassword::parse(PASSWORD.to_string()).unwrap();
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
    app.upload(
        &format!("/studies/{id}/roster"),
        "r.csv",
        roster_csv(200).into_bytes(),
        &[],
    )
    .await;
    app.upload(
        &format!("/studies/{id}/usage"),
        "u.csv",
        usage_csv(200).into_bytes(),
        &[("format", "csv")],
    )
    .await;
    app.post(
        &format!("/studies/{id}/sample"),
        &[
            ("n", "60"),
            ("min_per_cohort", "5"),
            ("pilot_n", "20"),
            ("seed", "9"),
        ],
    )
    .await;
    let items: Vec<i64> = sqlx::query_scalar("SELECT id FROM approval_items WHERE study_id = ?")
        .bind(id)
        .fetch_all(&app.state.pool)
        .await
        .unwrap();
    for item in items {
        app.post(&format!("/studies/{id}/approvals/{item}"), &[])
            .await;
    }
    app.post(&format!("/studies/{id}/status"), &[("to", "setup")])
        .await;
    app.post(&format!("/studies/{id}/status"), &[("to", "pilot")])
        .await;
    id
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
