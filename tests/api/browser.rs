//! The admin's and the analyst's set-up flows, and a participant on a phone, in a real headless Chromium
//! driven through chromedriver. Its helpers (driver, sessions, `fill`, `click`, `shot`, width checks) are
//! `pub(crate)` so that other files can hold their own browser tests. Screenshots are kept in `target/browser-artifacts/` for a person to look at.
use crate::helpers::*;
use fantoccini::key::Key;
use fantoccini::wd::{PrintConfiguration, PrintSize};
use fantoccini::{Client, ClientBuilder, Locator};
use layer2::tick::run_due;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A chromedriver on a free loopback port, stopped when dropped.
pub(crate) struct Driver {
    child: Child,
    pub(crate) url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn find(env: &str, default: &str) -> Option<PathBuf> {
    let p = PathBuf::from(std::env::var(env).unwrap_or_else(|_| default.to_string()));
    p.exists().then_some(p)
}

/// Starts chromedriver and waits for its "started successfully" line (no sleeping).
/// Without Chromium: fails under CI (`.ci/run` installs it), and is skipped with a notice elsewhere.
pub(crate) fn start_driver() -> Option<Driver> {
    let (Some(driver), Some(_)) = (
        find("LAYER2_CHROMEDRIVER", "/usr/bin/chromedriver"),
        find("LAYER2_CHROMIUM", "/usr/bin/chromium"),
    ) else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must have chromium and chromium-driver (see .ci/run)"
        );
        eprintln!("SKIPPED browser test: install Debian's chromium and chromium-driver to run it");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    // Owned by the guard from here on, so it is killed and reaped on every path.
    let mut driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let out = BufReader::new(driver.child.stdout.take().unwrap());
    for line in out.lines() {
        if line
            .expect("chromedriver output")
            .contains("started successfully")
        {
            return Some(driver);
        }
    }
    panic!("chromedriver exited before it was ready");
}

pub(crate) async fn browser(driver: &Driver) -> Client {
    session(driver, serde_json::json!({})).await
}

/// A phone: a 360 × 800 touch screen honouring `<meta name=viewport>`. Emulated, because a headless
/// Chromium window does not get narrower than 500 px.
pub(crate) async fn phone(driver: &Driver) -> Client {
    let metrics = serde_json::json!({"width": 360, "height": 800, "pixelRatio": 1.0, "mobile": true, "touch": true});
    session(
        driver,
        serde_json::json!({"mobileEmulation": {"deviceMetrics": metrics}}),
    )
    .await
}

/// A Chromium session with extra `goog:chromeOptions`.
pub(crate) async fn session(driver: &Driver, extra: serde_json::Value) -> Client {
    let chromium = std::env::var("LAYER2_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut options = serde_json::json!({
        "binary": chromium,
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1280,1000"]
    });
    if let (Some(options), serde_json::Value::Object(extra)) = (options.as_object_mut(), extra) {
        options.extend(extra);
    }
    let caps = serde_json::json!({ "goog:chromeOptions": options });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

pub(crate) async fn shot(c: &Client, name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{name}.png")),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
}

pub(crate) async fn fill(c: &Client, id: &str, value: &str) {
    let e = c.find(Locator::Id(id)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

/// Clicks something that loads a new page, and returns once the old page is gone and the new one is there.
pub(crate) async fn click(c: &Client, css: &str) {
    let old = c.find(Locator::Css("html")).await.unwrap();
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    new_page(c, old, css).await;
}

/// Sends keys to a field where they submit its form (Enter), and returns once the new page is there.
pub(crate) async fn keys_and_load(c: &Client, id: &str, keys: &str) {
    let old = c.find(Locator::Css("html")).await.unwrap();
    c.find(Locator::Id(id))
        .await
        .unwrap()
        .send_keys(keys)
        .await
        .unwrap();
    new_page(c, old, id).await;
}

pub(crate) async fn new_page(c: &Client, old: fantoccini::elements::Element, what: &str) {
    // Bounded poll of the browser (not of our server): the old document goes stale on navigation.
    for _ in 0..500 {
        if old.tag_name().await.is_err() {
            c.wait().for_element(Locator::Css("main")).await.unwrap();
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{what} did not load a page within 10 s");
}

pub(crate) async fn text(c: &Client) -> String {
    c.find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_admin_sets_up_a_study_in_the_browser_and_an_analyst_can_only_look() {
    let Some(driver) = start_driver() else { return };
    let app = spawn_app().await;
    let c = browser(&driver).await;
    let files = tempfile::tempdir().unwrap();

    // First run: the one-time setup link creates the admin and signs them in.
    let token = layer2::auth::service::setup_token_if_needed(&app.state)
        .await
        .unwrap()
        .unwrap();
    c.goto(&app.url(&format!("/setup/{token}"))).await.unwrap();
    fill(&c, "email", ADMIN).await;
    fill(&c, "password", PASSWORD).await;
    fill(&c, "confirm", PASSWORD).await;
    click(&c, "main button[type=submit]").await;
    assert!(text(&c).await.contains("Your admin account is ready"));

    // A study.
    click(&c, "a.button[href='/studies/new']").await;
    fill(&c, "name", "Browser wave <1>").await;
    fill(&c, "vendor", "GitHub").await;
    fill(&c, "product", "Copilot Business").await;
    fill(&c, "time_zone", "Europe/Berlin").await;
    c.execute(
        "document.getElementById('start_date').value = '2027-01-04'",
        vec![],
    )
    .await
    .unwrap();
    click(&c, "main button[type=submit]").await;
    let page = text(&c).await;
    assert!(
        page.contains("Study created") && page.contains("Browser wave <1>"),
        "{page}"
    );
    shot(&c, "01-study-overview").await;

    // Roster, then a broken usage file, then a good one.
    let roster = files.path().join("roster.csv");
    std::fs::write(&roster, roster_csv(400)).unwrap();
    click(&c, "nav.tabs a[href$='/roster']").await;
    c.find(Locator::Id("file"))
        .await
        .unwrap()
        .send_keys(roster.to_str().unwrap())
        .await
        .unwrap();
    click(&c, "form[enctype] button[type=submit]").await;
    assert!(text(&c).await.contains("Imported 400 employees"));

    let bad = files.path().join("usage-bad.csv");
    std::fs::write(
        &bad,
        "employee_id,period,active_days,ai_hours\nE00001,2026-13,3,<b>x</b>\n",
    )
    .unwrap();
    click(&c, "nav.tabs a[href$='/usage']").await;
    c.find(Locator::Id("ufile"))
        .await
        .unwrap()
        .send_keys(bad.to_str().unwrap())
        .await
        .unwrap();
    click(&c, "form[enctype] button[type=submit]").await;
    let page = text(&c).await;
    assert!(
        page.contains("was not imported") && page.contains("ai_hours") && page.contains("<b>x</b>"),
        "{page}"
    );
    shot(&c, "02-usage-refused").await;
    let usage = files.path().join("usage.csv");
    std::fs::write(&usage, usage_csv(400)).unwrap();
    c.find(Locator::Id("ufile"))
        .await
        .unwrap()
        .send_keys(usage.to_str().unwrap())
        .await
        .unwrap();
    click(&c, "form[enctype] button[type=submit]").await;
    // The preview (issue 12): nothing is imported until the admin confirms.
    assert!(text(&c).await.contains("Nothing has changed yet"));
    click(&c, "form.confirm button[type=submit]").await;
    assert!(text(&c).await.contains("360 people matched"));

    // Cohorts and the sample.
    click(&c, "nav.tabs a[href$='/cohorts']").await;
    let page = text(&c).await;
    assert!(
        page.contains("Heavy 40 10.0%") && page.contains("Moderate 200 50.0%"),
        "{page}"
    );
    click(&c, "nav.tabs a[href$='/sample']").await;
    fill(&c, "n", "150").await;
    fill(&c, "min_per_cohort", "20").await;
    fill(&c, "pilot_n", "30").await;
    fill(&c, "seed", "2027").await;
    click(
        &c,
        "form[action$='/sample'][method=post] button[type=submit]",
    )
    .await;
    let page = text(&c).await;
    assert!(
        page.contains("Sample drawn.") && page.contains("seed 2027: main sample 150"),
        "{page}"
    );
    shot(&c, "03-sample").await;

    // Staff management: the admin invites an analyst (under the file transport the page shows the
    // setup link once) and grants them this study on its Access tab.
    click(&c, "header nav a[href='/admin/users']").await;
    fill(&c, "invite-email", ANALYST).await;
    click(&c, "form[action='/admin/users'] button[type=submit]").await;
    let page = text(&c).await;
    assert!(page.contains("Setup link for alan@example.org"), "{page}");
    let link = c
        .find(Locator::Id("link"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    shot(&c, "03b-staff-invited").await;
    c.goto(&app.url("/studies/1")).await.unwrap();
    click(&c, "nav.tabs a[href$='/access']").await;
    click(&c, "form[action$='/access'] button[type=submit]").await;
    let page = text(&c).await;
    assert!(
        page.contains("Access granted.") && page.contains(ANALYST),
        "{page}"
    );

    // The analyst, in their own browser: the link, a password, then the login.
    let a = browser(&driver).await;
    a.goto(&link).await.unwrap();
    assert!(text(&a).await.contains("Choose your password"));
    fill(&a, "password", PASSWORD).await;
    fill(&a, "confirm", PASSWORD).await;
    click(&a, "main button[type=submit]").await;
    assert!(text(&a).await.contains("Your password is set"));
    fill(&a, "email", ANALYST).await;
    fill(&a, "password", PASSWORD).await;
    click(&a, "main button[type=submit]").await;
    // Reads everything granted, changes nothing.
    click(&a, "table a[href='/studies/1']").await;
    let page = text(&a).await;
    assert!(
        page.contains("Browser wave <1>")
            && !page.contains("Edit details")
            && !page.contains("Record as approved")
    );
    click(&a, "nav.tabs a[href$='/sample']").await;
    let page = text(&a).await;
    assert!(
        page.contains("Sample against population")
            && !page.contains("Redraw")
            && !page.contains("Discard")
    );
    a.goto(&app.url("/admin/audit")).await.unwrap();
    assert!(text(&a).await.contains("Your role does not allow this"));
    shot(&a, "04-analyst-refused").await;

    // The admin disables the analyst: their open session ends at once.
    let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
        .bind(ANALYST)
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    c.goto(&app.url("/admin/users")).await.unwrap();
    click(&c, &format!("#user-{id} form[action$='/disable'] button")).await;
    let page = text(&c).await;
    assert!(page.contains("Account disabled"), "{page}");
    shot(&c, "04b-staff-disabled").await;
    a.goto(&app.url("/studies")).await.unwrap();
    assert_eq!(
        a.current_url().await.unwrap().path(),
        "/login",
        "the session is refused"
    );
    a.close().await.unwrap();
    c.close().await.unwrap();
}

/// The page's layout width and the window's: no horizontal scrolling when the first is not larger.
pub(crate) async fn widths(c: &Client) -> (u64, u64) {
    let v = c
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth]",
            vec![],
        )
        .await
        .unwrap();
    (v[0].as_u64().unwrap(), v[1].as_u64().unwrap())
}

pub(crate) async fn assert_no_horizontal_scroll(c: &Client, page: &str) {
    let (scroll, inner) = widths(c).await;
    assert!(
        scroll <= inner,
        "{page}: the page is {scroll} px wide in a {inner} px window"
    );
}

/// Every visible control of the form has a label a keyboard or screen-reader user gets: text fields and
/// selects by `<label for=id>`, radio buttons by the `<label>` around them inside a fieldset with a legend.
/// Returns how many controls were checked.
pub(crate) async fn assert_labelled(c: &Client, form: &str) -> u64 {
    let v = c
        .execute(
            r#"const form = document.querySelector(arguments[0]);
               const controls = form.querySelectorAll('input:not([type=hidden]), select, textarea');
               const bad = [];
               for (const el of controls) {
                 const named = el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]');
                 const ok = (el.type === 'radio' || el.type === 'checkbox')
                   ? (named || el.closest('label')) && el.closest('fieldset') && el.closest('fieldset').querySelector('legend')
                   : named;
                 if (!ok || el.labels.length === 0 || el.tabIndex < 0) bad.push(el.outerHTML);
               }
               return [controls.length, bad];"#,
            vec![serde_json::json!(form)],
        )
        .await
        .unwrap();
    assert_eq!(v[1], serde_json::json!([]), "unlabelled controls in {form}");
    v[0].as_u64().unwrap()
}

#[tokio::test]
async fn an_invited_employee_consents_logs_a_task_and_answers_a_ping_on_a_phone() {
    let Some(driver) = start_driver() else { return };
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    let html = app.follow(send_invitations(&app, id).await).await;
    assert!(html.contains("20 invitations are on their way"), "{html}");
    let (participant, _, body) = outbox_of_kind(&app, "invitation").await.remove(0);
    let c = phone(&driver).await;
    c.goto(&app.url(&link_path(&body))).await.unwrap();
    assert_eq!(widths(&c).await.1, 360, "a phone-sized window");

    // Consent: the text is there, in full, and fits the screen.
    let page = text(&c).await;
    assert!(
        page.contains("Will you take part?")
            && page.contains("your manager does not see your answers")
            && page.contains("Consent text version 1"),
        "{page}"
    );
    assert_no_horizontal_scroll(&c, "consent").await;
    shot(&c, "10-phone-consent").await;
    click(&c, "button[name=decision][value=accept]").await;
    let page = text(&c).await;
    assert!(
        page.contains("Your task diary") && page.contains("0 of 5 tasks logged"),
        "{page}"
    );

    // The diary: every control labelled, nothing wider than the phone.
    let diary = "main form[action$='/diary']";
    assert_eq!(
        assert_labelled(&c, diary).await,
        8,
        "category, description, four outcomes, two times"
    );
    assert_no_horizontal_scroll(&c, "diary").await;
    c.find(Locator::Id("category"))
        .await
        .unwrap()
        .select_by_label("Code")
        .await
        .unwrap();
    fill(&c, "description", "Refactored the invoice parser").await;
    // A tap on the words of an answer chooses it.
    c.find(Locator::Css(
        "label.check:has(input[name=outcome][value=most])",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    assert!(
        c.find(Locator::Css("input[name=outcome][value=most]"))
            .await
            .unwrap()
            .is_selected()
            .await
            .unwrap()
    );
    // By keyboard: the first time, Tab to the second, and Enter sends the form.
    fill(&c, "minutes_with_ai", &format!("20{}45", Key::Tab)).await;
    let focused = c
        .execute("return document.activeElement.id", vec![])
        .await
        .unwrap();
    assert_eq!(focused, "minutes_without_ai", "Tab moves to the next field");
    c.execute(
        "document.querySelector('fieldset').scrollIntoView()",
        vec![],
    )
    .await
    .unwrap();
    shot(&c, "11-phone-diary").await;
    keys_and_load(&c, "minutes_without_ai", &Key::Enter.to_string()).await;
    let page = text(&c).await;
    assert!(
        page.contains("Task logged") && page.contains("1 of 5 tasks logged"),
        "{page}"
    );
    assert!(
        page.contains("20 min with AI, about 45 min without"),
        "{page}"
    );
    let entry: (String, String, i64, i64) = sqlx::query_as(
        "SELECT category, outcome, minutes_with_ai, minutes_without_ai FROM diary_entries WHERE participant = ?",
    )
    .bind(participant)
    .fetch_one(&app.state.pool)
    .await
    .unwrap();
    assert_eq!(entry, ("Code".into(), "most".into(), 20, 45));
    assert_no_horizontal_scroll(&c, "diary with an entry").await;

    // The first check-in falls due; the tick mails it.
    let (ping, due): (i64, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
        "SELECT id, due_at FROM pings WHERE participant = ? ORDER BY due_at LIMIT 1",
    )
    .bind(participant)
    .fetch_one(&app.state.pool)
    .await
    .unwrap();
    app.clock.advance(due - t0());
    let tick = run_due(&app.state, app.clock_now()).await.unwrap();
    assert!(tick.pings.sent >= 1, "{tick:?}");
    let mails: Vec<String> = outbox_of_kind(&app, "ping")
        .await
        .into_iter()
        .filter(|(p, _, _)| *p == participant)
        .map(|(_, _, body)| body)
        .collect();
    assert_eq!(mails.len(), 1);
    c.goto(&app.url(&link_path(&mails[0]))).await.unwrap();
    let page = text(&c).await;
    assert!(
        page.contains("30-second check-in")
            && page.contains("In the last hour, did you use the copilot?"),
        "{page}"
    );
    let form = format!("main form[action$='/ping/{ping}']");
    assert_eq!(
        assert_labelled(&c, &form).await,
        7,
        "three answers, four times"
    );
    assert_no_horizontal_scroll(&c, "check-in").await;
    c.find(Locator::Css("label.check:has(input[name=used][value=yes])"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill(&c, "verification", "5").await;
    fill(&c, "correction", "3").await;
    shot(&c, "12-phone-ping").await;
    click(&c, &format!("{form} button[type=submit]")).await;
    let page = text(&c).await;
    assert!(
        page.contains("Thank you!") && page.contains("Your answer is saved."),
        "{page}"
    );
    assert_no_horizontal_scroll(&c, "thanks").await;
    shot(&c, "13-phone-thanks").await;
    let answer: (String, i64, i64) = sqlx::query_as(
        "SELECT used_copilot, verification_min, correction_min FROM ping_answers WHERE ping = ?",
    )
    .bind(ping)
    .fetch_one(&app.state.pool)
    .await
    .unwrap();
    assert_eq!(answer, ("yes".into(), 5, 3));
    c.close().await.unwrap();
}

#[tokio::test]
async fn an_analyst_reads_the_report_prints_the_readout_and_downloads_a_csv() {
    let Some(driver) = start_driver() else { return };
    let app = spawn_app().await;
    let info = layer2::demo::seed(&app.state, 600).await.unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let c = session(
        &driver,
        serde_json::json!({"prefs": {
            "download.default_directory": downloads.path().to_str().unwrap(),
            "download.prompt_for_download": false
        }}),
    )
    .await;
    c.goto(&app.url("/login")).await.unwrap();
    fill(&c, "email", layer2::demo::ANALYST_EMAIL).await;
    fill(&c, "password", layer2::demo::ANALYST_PASSWORD).await;
    click(&c, "main button[type=submit]").await;
    let study = info.analysis_study_id;
    click(&c, &format!("table a[href='/studies/{study}']")).await;
    click(&c, "nav.tabs a[href$='/report']").await;
    let page = text(&c).await;
    assert!(
        page.contains("The headline") && page.contains("below the vendor's figure"),
        "{page}"
    );
    assert!(page.contains("Renewal economics") && !page.contains("Save assumptions"));
    // Four charts that really drew: each SVG has a size and text in it.
    let charts = c
        .execute(
            "return [...document.querySelectorAll('.chart svg')].filter(s => s.getBoundingClientRect().width > 200 && s.querySelectorAll('text').length > 5).length",
            vec![],
        )
        .await
        .unwrap();
    // Four profile charts and the cost per unit stack (issue 13).
    assert_eq!(charts, serde_json::json!(5));
    // The cost stack drew: a bar per layer plus +1 (grey, labelled), its interval whiskers, and the table
    // beside it with the same cost per unit as the sentence above it.
    let stack = c
        .execute(
            "const s = document.querySelector('#tco-chart svg'); const t = [...s.querySelectorAll('text')].map(x => x.textContent).join('|'); return [s.getBoundingClientRect().width, t, document.querySelector('#tco-result strong').textContent, document.querySelector('#tco-layers tr.total td').textContent]",
            vec![],
        )
        .await
        .unwrap();
    assert!(stack[0].as_f64().unwrap() > 200.0, "{stack}");
    let labels = stack[1].as_str().unwrap();
    for label in ["L0 inputs", "L2 oversight", "L3 rework", "+1 per unit"] {
        assert!(labels.contains(label), "{label} in {labels}");
    }
    assert_eq!(stack[2], stack[3], "the sentence and the table agree");
    assert!(stack[2].as_str().unwrap().starts_with("USD "), "{stack}");
    c.find(Locator::Css("#tco"))
        .await
        .unwrap()
        .screenshot()
        .await
        .map(|png| {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
            std::fs::write(dir.join("05b-cost-per-unit.png"), png).unwrap();
        })
        .unwrap();
    assert_no_horizontal_scroll(&c, "report").await;
    shot(&c, "05-analyst-report").await;
    click(&c, "a[href$='/readout']").await;
    let page = text(&c).await;
    assert!(
        page.contains("net hours saved per user per month")
            && page.contains("How this was measured, and its limits")
            && page.contains("Cost per unit of business output")
    );
    shot(&c, "06-executive-readout").await;
    // It prints on A4 and on US Letter (the PDFs are kept beside the screenshots), and at the width of
    // an A4 page's printable area nothing runs off the side.
    let artifacts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
    for (size, name) in [(PrintSize::A4, "a4"), (PrintSize::US_LETTER, "letter")] {
        let pdf = c
            .print(PrintConfiguration::builder().size(size).build().unwrap())
            .await
            .unwrap();
        assert!(pdf.starts_with(b"%PDF") && pdf.len() > 10_000, "{name}");
        std::fs::write(
            artifacts.join(format!("06-executive-readout-{name}.pdf")),
            &pdf,
        )
        .unwrap();
        // One page: Chromium writes each page's dictionary as plain text.
        let pages = pdf
            .windows(12)
            .filter(|w| w.starts_with(b"/Type /Page") && !w.ends_with(b"s"))
            .count();
        assert_eq!(pages, 1, "the readout prints on one {name} page");
    }
    c.set_window_size(720, 1000).await.unwrap();
    assert_no_horizontal_scroll(&c, "readout at A4 width").await;
    c.set_window_size(1280, 1000).await.unwrap();
    click(&c, "a[href$='/report']").await;
    click(&c, "nav.tabs a[href$='/export']").await;
    c.find(Locator::Css(
        "form[action$='/export'] input[value='participants.csv'] ~ button",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    let file = downloads
        .path()
        .join(format!("study-{study}-participants.csv"));
    // Bounded poll of the browser's download (not of our server).
    for _ in 0..500 {
        if file.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let csv = std::fs::read_to_string(&file).expect("the CSV was downloaded");
    // Quasi-identifiers are whole columns or absent, never "suppressed" in some rows; hours come in bands.
    let header = csv.lines().next().unwrap();
    assert!(
        header.starts_with("id,") && header.ends_with(",gross_hours_band"),
        "{header}"
    );
    assert!(!csv.contains("suppressed"));
    assert!(!csv.contains('@') && !csv.contains("E0"));
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'export' AND actor = ? AND detail LIKE 'participants.csv%'",
    )
    .bind(layer2::demo::ANALYST_EMAIL)
    .fetch_one(&app.state.pool)
    .await
    .unwrap();
    assert_eq!(audited, 1);
    shot(&c, "07-export").await;
    c.close().await.unwrap();
}

#[tokio::test]
async fn an_admin_imports_a_github_report_through_the_preview() {
    let Some(driver) = start_driver() else { return };
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("GitHub wave").await;
    let roster = "employee_id,email,function,hire_date,time_zone,login\n\
        E1,ide@example.org,Engineering,2020-01-01,UTC,ide-dev\n\
        E2,cli@example.org,Engineering,2020-01-01,UTC,cli-dev\n\
        E3,rev@example.org,Engineering,2020-01-01,UTC,reviewer\n\
        E7,none@example.org,Engineering,2020-01-01,UTC,\n";
    app.import_roster(id, "roster.csv", roster.as_bytes().to_vec())
        .await;
    let c = browser(&driver).await;
    c.goto(&app.url("/login")).await.unwrap();
    fill(&c, "email", ADMIN).await;
    fill(&c, "password", PASSWORD).await;
    click(&c, "main button[type=submit]").await;

    c.goto(&app.url(&format!("/studies/{id}/usage")))
        .await
        .unwrap();
    let report = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/usage/github_users_28_day.ndjson");
    c.find(Locator::Id("ufile"))
        .await
        .unwrap()
        .send_keys(report.to_str().unwrap())
        .await
        .unwrap();
    click(&c, "form[enctype] button[type=submit]").await;
    let page = text(&c).await;
    assert!(
        page.contains("GitHub Copilot usage metrics")
            && page.contains("per-user report, NDJSON, period from the report; UTF-8")
            && page.contains("2025-09-04 to 2025-10-01")
            && page.contains("6 in the file: 3 matched to the roster, 3 not on it"),
        "{page}"
    );
    // Not on the roster (agent-dev, chatter, idle), on it without usage (E7), and the first scores.
    assert!(page.contains("agent-dev") && page.contains("E7"), "{page}");
    assert!(page.contains("E2 3.26"), "CLI-only days count: {page}");
    shot(&c, "05-usage-preview").await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM usage_imports WHERE study_id = ?", id)
            .await,
        0,
        "nothing changes before the confirmation"
    );
    click(&c, "form.confirm button[type=submit]").await;
    let page = text(&c).await;
    assert!(
        page.contains("Imported 11 rows of GitHub Copilot usage metrics")
            && page.contains("3 people matched to the roster, 3 not on it"),
        "{page}"
    );
    assert!(page.contains("Read as"), "{page}");
    c.close().await.unwrap();
}

/// Signs in on a fresh session through the login form.
async fn sign_in(c: &Client, app: &TestApp, email: &str, password: &str) {
    c.goto(&app.url("/login")).await.unwrap();
    fill(c, "email", email).await;
    fill(c, "password", password).await;
    click(c, "main button[type=submit]").await;
}

/// Every page of a study a role can open, and the pages beside the studies.
fn study_pages(studies: &[i64], tabs: &[&str]) -> Vec<String> {
    let mut pages = vec!["/studies".to_string()];
    for id in studies {
        pages.push(format!("/studies/{id}"));
        pages.extend(tabs.iter().map(|t| format!("/studies/{id}/{t}")));
    }
    pages
}

#[tokio::test]
async fn every_admin_and_analyst_page_fits_a_phone_without_scrolling_sideways() {
    let Some(driver) = start_driver() else { return };
    let app = spawn_app().await;
    let info = layer2::demo::seed(&app.state, 600).await.unwrap();
    let studies = [
        info.study_id,
        info.collection_study_id,
        info.analysis_study_id,
        info.preview_study_id,
    ];
    let waves = format!(
        "/waves?ids={}&ids={}",
        info.analysis_study_id, info.collection_study_id
    );
    let admin_tabs = [
        "roster",
        "usage",
        "cohorts",
        "sample",
        "instrument",
        "messages",
        "privacy",
        "access",
        "collection",
        "baseline",
        "analysis",
        "report",
        "readout",
        "tco",
        "export",
        "status?to=pilot",
        "invitations",
        "extend",
        "cancel",
        "privacy/purge",
        "preview/consent",
        "preview/diary",
        "preview/ping",
    ];
    let mut admin_pages = study_pages(&studies, &admin_tabs);
    admin_pages.extend(
        [
            "/studies/new",
            "/admin/users",
            "/admin/audit",
            waves.as_str(),
        ]
        .into_iter()
        .map(String::from),
    );
    let analyst_tabs = [
        "collection",
        "baseline",
        "analysis",
        "report",
        "readout",
        "tco",
        "export",
    ];
    // The aggregate viewer reads released results of the study in analysis; the data analyst all four.
    let mut analyst_pages = study_pages(&studies, &analyst_tabs);
    analyst_pages.push(format!("/waves?ids={}", info.analysis_study_id));
    for (email, password, pages) in [
        (
            layer2::demo::ADMIN_EMAIL,
            layer2::demo::ADMIN_PASSWORD,
            &admin_pages,
        ),
        (
            layer2::demo::ANALYST_EMAIL,
            layer2::demo::ANALYST_PASSWORD,
            &analyst_pages,
        ),
        (
            layer2::demo::VIEWER_EMAIL,
            layer2::demo::VIEWER_PASSWORD,
            &analyst_pages,
        ),
    ] {
        let c = phone(&driver).await;
        sign_in(&c, &app, email, password).await;
        for page in pages.iter() {
            c.goto(&app.url(page)).await.unwrap();
            let title = c.title().await.unwrap();
            assert!(
                !title.starts_with("Not found") && !title.starts_with("Sign in"),
                "{email} {page}: {title}"
            );
            assert_no_horizontal_scroll(&c, &format!("{email} {page}")).await;
        }
        c.close().await.unwrap();
    }
}
