//! The admin's and the analyst's set-up flows in a real headless Chromium, driven through chromedriver.
//! Screenshots are kept in `target/browser-artifacts/` for a person to look at.
use crate::helpers::*;
use fantoccini::{Client, ClientBuilder, Locator};
use layer2::auth::Role;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A chromedriver on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(env: &str, default: &str) -> Option<PathBuf> {
    let p = PathBuf::from(std::env::var(env).unwrap_or_else(|_| default.to_string()));
    p.exists().then_some(p)
}

/// Starts chromedriver and waits for its "started successfully" line (no sleeping).
/// Without Chromium: fails under CI (`.ci/run` installs it), and is skipped with a notice elsewhere.
fn start_driver() -> Option<Driver> {
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

async fn browser(driver: &Driver) -> Client {
    let chromium = std::env::var("LAYER2_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--window-size=1280,1000"]
        }
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

async fn shot(c: &Client, name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{name}.png")),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
}

async fn fill(c: &Client, id: &str, value: &str) {
    let e = c.find(Locator::Id(id)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

/// Clicks something that loads a new page, and returns once the old page is gone and the new one is there.
async fn click(c: &Client, css: &str) {
    let old = c.find(Locator::Css("html")).await.unwrap();
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Bounded poll of the browser (not of our server): the old document goes stale on navigation.
    for _ in 0..500 {
        if old.tag_name().await.is_err() {
            c.wait().for_element(Locator::Css("main")).await.unwrap();
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("clicking {css} did not load a page within 10 s");
}

async fn text(c: &Client) -> String {
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

    // The analyst: reads everything, changes nothing.
    app.add_user(ANALYST, Role::Analyst).await;
    click(&c, "form.who button").await;
    fill(&c, "email", ANALYST).await;
    fill(&c, "password", PASSWORD).await;
    click(&c, "main button[type=submit]").await;
    click(&c, "table a[href='/studies/1']").await;
    let page = text(&c).await;
    assert!(
        page.contains("Browser wave <1>")
            && !page.contains("Edit details")
            && !page.contains("Record as approved")
    );
    click(&c, "nav.tabs a[href$='/sample']").await;
    let page = text(&c).await;
    assert!(
        page.contains("Sample against population")
            && !page.contains("Redraw")
            && !page.contains("Discard")
    );
    c.goto(&app.url("/admin/audit")).await.unwrap();
    assert!(text(&c).await.contains("Your role does not allow this"));
    shot(&c, "04-analyst-refused").await;
    c.close().await.unwrap();
}
