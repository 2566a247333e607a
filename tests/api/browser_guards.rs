//! Issue 14, guards in a real browser: a status move goes through its confirmation page, which warns, at
//! 1280 and at 360 px, without horizontal scrolling.
use crate::browser::*;
use crate::helpers::*;
use fantoccini::{Client, Locator};
use layer2::study::Status;

async fn sign_in(c: &Client, app: &TestApp) {
    c.goto(&app.url("/login")).await.unwrap();
    fill(c, "email", ADMIN).await;
    fill(c, "password", PASSWORD).await;
    click(c, "main button[type=submit]").await;
}

#[tokio::test]
async fn a_status_move_goes_through_its_confirmation_page_with_its_warnings_on_a_laptop_and_a_phone()
 {
    let Some(driver) = start_driver() else { return };
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;

    // On a phone first: the overview and the confirmation page fit 360 px.
    let p = phone(&driver).await;
    sign_in(&p, &app).await;
    p.goto(&app.url(&format!("/studies/{id}"))).await.unwrap();
    assert_eq!(widths(&p).await.1, 360, "a phone-sized window");
    assert_no_horizontal_scroll(&p, "study overview at 360 px").await;
    shot(&p, "guards-01-study-360").await;
    click(&p, "a.button[href$='/status?to=collection']").await;
    assert!(text(&p).await.contains("Move to Collection?"));
    assert_no_horizontal_scroll(&p, "confirmation page at 360 px").await;
    shot(&p, "guards-02-confirm-360").await;
    p.close().await.unwrap();

    let c = browser(&driver).await;
    sign_in(&c, &app).await;
    c.goto(&app.url(&format!("/studies/{id}"))).await.unwrap();
    assert_no_horizontal_scroll(&c, "study overview").await;
    shot(&c, "guards-03-study-1280").await;
    click(&c, "a.button[href$='/status?to=collection']").await;
    let page = text(&c).await;
    assert!(
        page.contains("Too early: the collection phase starts on 2027-02-01")
            && page.contains("No pilot answers: nobody of the pilot group was invited"),
        "{page}"
    );
    assert!(page.contains("The wording is frozen"), "{page}");
    assert_no_horizontal_scroll(&c, "confirmation page").await;
    shot(&c, "guards-04-confirm-1280").await;

    // The button does nothing until the warnings are marked as read (the box is required).
    c.find(Locator::Css("#confirm button[name=confirm]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(text(&c).await.contains("Move to Collection?"), "still here");
    assert_eq!(app.study_status(id).await, Status::Pilot);
    c.find(Locator::Css("input[name=warnings_read]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click(&c, "#confirm button[name=confirm]").await;
    let page = text(&c).await;
    assert!(page.contains("The study is now in Collection."), "{page}");
    assert_eq!(app.study_status(id).await, Status::Collection);
    shot(&c, "guards-05-moved-1280").await;
    c.close().await.unwrap();
}
