//! The collection dashboard in a real Chromium (issue 14): the admin finds a participant by employee id,
//! nudges them, is refused a second nudge with the reason shown on their row, and the page opens at that
//! row each time; the dashboard, roster and audit log have no horizontal scroll at 360 px. Screenshots at
//! 1280 and 360 px land in `target/browser-artifacts/`.
use crate::browser::*;
use crate::helpers::*;
use fantoccini::{Client, Locator};

async fn sign_in(c: &Client, app: &TestApp) {
    c.goto(&app.url("/login")).await.unwrap();
    fill(c, "email", ADMIN).await;
    fill(c, "password", PASSWORD).await;
    click(c, "main button[type=submit]").await;
}

/// Whether the element is inside the window (the page opened at it), and how far the page is scrolled.
async fn in_view(c: &Client, css: &str) -> (bool, f64) {
    let v = c
        .execute(
            "const r = document.querySelector(arguments[0]).getBoundingClientRect();
             return [r.top >= 0 && r.bottom <= window.innerHeight, window.scrollY];",
            vec![serde_json::json!(css)],
        )
        .await
        .unwrap();
    (v[0].as_bool().unwrap(), v[1].as_f64().unwrap())
}

#[tokio::test]
async fn an_admin_finds_a_participant_is_refused_a_second_nudge_on_their_row_and_every_list_fits_a_phone()
 {
    let Some(driver) = start_driver() else { return };
    let app = spawn_app().await;
    let (id, people) = study_with_80_participants(&app).await;
    let by_id = by_employee_id(&app, &people).await;
    let c = browser(&driver).await;
    sign_in(&c, &app).await;

    // The whole list by employee id, 50 a page; a search finds one person.
    c.goto(&app.url(&format!("/studies/{id}/collection?sort=id")))
        .await
        .unwrap();
    assert!(text(&c).await.contains("1–50 of 80 matching"));
    shot(&c, "dashboard-01-collection-1280").await;
    let (employee, p) = by_id[7].clone();
    fill(&c, "f-q", &employee).await;
    click(&c, "form.filters button[type=submit]").await;
    let page = text(&c).await;
    assert!(
        page.contains("1–1 of 1 matching") && page.contains(&employee),
        "{page}"
    );

    // Near the bottom of a long page: the nudge comes back to the row, with its result on it.
    let (employee, p2) = by_id[46].clone();
    c.goto(&app.url(&format!("/studies/{id}/collection?sort=id")))
        .await
        .unwrap();
    click(&c, &format!("#p-{p2} button[type=submit]")).await;
    let url = c.current_url().await.unwrap();
    assert_eq!(url.fragment(), Some(format!("p-{p2}").as_str()));
    assert!(url.query().unwrap().contains("sort=id"));
    let message = c.find(Locator::Css("tr.row-message .flash")).await.unwrap();
    assert!(message.text().await.unwrap().contains("Reminder queued."));
    let (seen, scrolled) = in_view(&c, &format!("#p-{p2}")).await;
    assert!(
        seen && scrolled > 0.0,
        "the page opens at the row ({scrolled} px down)"
    );
    // The second click is refused; the reason is on the row, in view.
    click(&c, &format!("#p-{p2} button[type=submit]")).await;
    let message = c
        .find(Locator::Css("tr.row-message .flash.error"))
        .await
        .unwrap();
    let said = message.text().await.unwrap();
    assert!(
        said.contains(&format!("{employee} was already nudged"))
            && said.contains("nothing was sent"),
        "{said}"
    );
    assert!(in_view(&c, "tr.row-message .flash.error").await.0);
    assert_eq!(mail_to(&app, p2, &["nudge"]).await, 1);
    shot(&c, "dashboard-02-nudge-refused-1280").await;

    // The confirmation pages, the roster and the audit log at 1280.
    c.goto(&app.url(&format!("/studies/{id}/participants/{p}/erase")))
        .await
        .unwrap();
    assert!(text(&c).await.contains("This cannot be undone"));
    shot(&c, "dashboard-03-erase-confirmation-1280").await;
    c.goto(&app.url(&format!("/studies/{id}/roster?q=E001")))
        .await
        .unwrap();
    assert!(text(&c).await.contains("1–50 of 100 employees"));
    shot(&c, "dashboard-04-roster-1280").await;
    c.goto(&app.url("/admin/audit")).await.unwrap();
    let page = text(&c).await;
    assert!(
        page.contains(&format!("nudged participant {employee}")),
        "{page}"
    );
    shot(&c, "dashboard-05-audit-1280").await;
    c.close().await.unwrap();

    // At 360 px every list scrolls inside its own box; the page itself never does.
    let phone = phone(&driver).await;
    sign_in(&phone, &app).await;
    for (path, name) in [
        (format!("/studies/{id}/collection"), "collection"),
        (
            format!("/studies/{id}/collection?sort=id&at={p2}#p-{p2}"),
            "collection-row",
        ),
        (format!("/studies/{id}/participants/{p}/remove"), "remove"),
        (format!("/studies/{id}/participants/{p}/erase"), "erase"),
        (format!("/studies/{id}/roster"), "roster"),
        ("/admin/audit".to_string(), "audit"),
    ] {
        phone.goto(&app.url(&path)).await.unwrap();
        assert_eq!(widths(&phone).await.1, 360, "a phone-sized window");
        assert_no_horizontal_scroll(&phone, name).await;
        shot(&phone, &format!("dashboard-06-{name}-360")).await;
    }
    phone.close().await.unwrap();
}
