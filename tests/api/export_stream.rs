//! Streamed exports (issue 17): every raw row of every participant, under its pseudonym, in pseudonym order,
//! the same rows in the CSV files and in export.json, written a slice of participants at a time.
use crate::reidentify::{demo, download, table};
use layer2::demo::{ADMIN_EMAIL, ADMIN_PASSWORD};
use reqwest::StatusCode;
use std::collections::BTreeMap;

/// Rows per pseudonym, from (employee id, rows) counted in the database, for the pseudonyms in `kept`.
fn by_pseudonym(
    key: &[u8],
    counts: Vec<(String, i64)>,
    kept: &[String],
) -> BTreeMap<String, usize> {
    counts
        .into_iter()
        .map(|(e, n)| (layer2::export::pseudonym(key, &e), n as usize))
        .filter(|(p, n)| *n > 0 && kept.contains(p))
        .collect()
}

/// Rows per participant_id of a downloaded file, checking they come in pseudonym order.
fn counted(rows: &[Vec<String>]) -> BTreeMap<String, usize> {
    assert!(
        rows.windows(2).all(|w| w[0][0] <= w[1][0]),
        "rows in pseudonym order"
    );
    let mut out = BTreeMap::new();
    for r in rows {
        *out.entry(r[0].clone()).or_default() += 1;
    }
    out
}

#[tokio::test]
async fn a_streamed_export_carries_every_row_of_every_participant_under_its_pseudonym_in_order() {
    let (app, info) = demo().await;
    let study = info.analysis_study_id;
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (status, participants) = download(&app, study, "participants.csv").await;
    assert_eq!(status, StatusCode::OK);
    let kept: Vec<String> = table(&participants)
        .1
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert!(
        kept.len() > 50,
        "the demo's analysis study has participants"
    );
    let key: Vec<u8> = app
        .value(
            "SELECT key FROM export_keys WHERE study_id = ?",
            Some(study),
        )
        .await;

    let diary_db = app
        .rows(
            "SELECT e.employee_id, (SELECT COUNT(*) FROM diary_entries d WHERE d.participant = p.id)
             FROM participants p JOIN employees e ON e.id = p.employee
             WHERE p.study_id = ? AND p.role = 'main' AND p.arm = 'copilot' AND p.consent = 'accepted'",
            Some(study),
        )
        .await;
    let (status, diary) = download(&app, study, "diary.csv").await;
    assert_eq!(status, StatusCode::OK);
    let (header, diary_rows) = table(&diary);
    assert_eq!(header[0], "participant_id");
    assert!(diary_rows.len() > 100, "{}", diary_rows.len());
    assert_eq!(counted(&diary_rows), by_pseudonym(&key, diary_db, &kept));

    let pings_db = app
        .rows(
            "SELECT e.employee_id, (SELECT COUNT(*) FROM pings g WHERE g.participant = p.id AND g.sent_at IS NOT NULL)
             FROM participants p JOIN employees e ON e.id = p.employee
             WHERE p.study_id = ? AND p.role = 'main' AND p.arm = 'copilot' AND p.consent = 'accepted'",
            Some(study),
        )
        .await;
    let (_, pings) = download(&app, study, "pings.csv").await;
    let pings_rows = table(&pings).1;
    assert_eq!(counted(&pings_rows), by_pseudonym(&key, pings_db, &kept));
    // Each participant's pings in the order they were scheduled.
    for w in pings_rows.windows(2).filter(|w| w[0][0] == w[1][0]) {
        let day = |r: &Vec<String>| (r[1].parse::<i64>().unwrap(), r[2].clone());
        assert!(day(&w[0]) <= day(&w[1]), "{w:?}");
    }

    let control_db: Vec<(String, i64)> = app
        .rows(
            "SELECT e.employee_id, (SELECT COUNT(*) FROM control_tasks t WHERE t.participant = p.id)
             FROM participants p JOIN employees e ON e.id = p.employee
             WHERE p.study_id = ? AND p.arm = 'control' AND p.consent = 'accepted'",
            Some(study),
        )
        .await;
    let everyone: Vec<String> = control_db
        .iter()
        .map(|(e, _)| layer2::export::pseudonym(&key, e))
        .collect();
    let (_, control) = download(&app, study, "control.csv").await;
    assert_eq!(
        counted(&table(&control).1),
        by_pseudonym(&key, control_db, &everyone)
    );

    // export.json carries the same rows in the same order.
    let (status, json) = download(&app, study, "export.json").await;
    assert_eq!(status, StatusCode::OK);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    for (name, rows) in [("diary", &diary_rows), ("pings", &pings_rows)] {
        let items = doc[name].as_array().unwrap();
        assert_eq!(items.len(), rows.len(), "{name}");
        for (item, row) in items.iter().zip(rows.iter()) {
            assert_eq!(item["participant_id"].as_str().unwrap(), row[0], "{name}");
            assert_eq!(item["study_day"].to_string(), row[1], "{name}");
        }
    }
    assert_eq!(doc["participants"].as_array().unwrap().len(), kept.len());
}
