//! Cost per unit of business output (issue 13): the unit, the stack and the outcome classes entered through
//! the page, the refusals, the analyst's read-only view and the audit log.
use crate::helpers::*;
use layer2::reports::text::money;
use layer2::study::StudyId;
use reqwest::StatusCode;

const CATEGORY: &str = "Writing and editing";
const OTHER: &str = "Email and messages";

/// The paper's support organisation: 10,000 resolved cases a month at $45 each before AI.
async fn enter_unit(app: &TestApp, study: i64) {
    app.post_ok(
        &format!("/studies/{study}/tco/unit"),
        &[
            ("unit", "resolved case"),
            ("units_per_month", "10000"),
            ("units_source", "ticket system, March"),
            ("before_per_unit", "45"),
            ("before_source", "finance cost model 2025"),
        ],
    )
    .await;
}

async fn enter_line(app: &TestApp, study: i64, line: &str, monthly: &str, source: &str) {
    app.post_ok(
        &format!("/studies/{study}/tco/line"),
        &[("line", line), ("monthly", monthly), ("source", source)],
    )
    .await;
}

/// Condition fields: each of the three met or not, with who confirmed it and the evidence.
fn dapm(met: [bool; 3]) -> Vec<(String, String)> {
    let mut f = Vec::new();
    for (i, m) in met.into_iter().enumerate() {
        let n = i + 1;
        if m {
            f.push((format!("met{n}"), "1".to_string()));
        }
        f.push((format!("by{n}"), "COO".to_string()));
        f.push((format!("evidence{n}"), format!("DoA 2026-0{n}")));
    }
    f
}

async fn post_class(
    app: &TestApp,
    study: i64,
    category: &str,
    class: &str,
    conditions: &[(String, String)],
) -> reqwest::Response {
    let mut fields = vec![
        ("category", category),
        ("class", class),
        ("reason", "drafts replies a person sends"),
    ];
    fields.extend(conditions.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    app.post(&format!("/studies/{study}/tco/class"), &fields)
        .await
}

async fn tco_rows(app: &TestApp, study: i64) -> [i64; 5] {
    [
        app.count("SELECT COUNT(*) FROM tco_units WHERE study_id = ?", study)
            .await,
        app.count("SELECT COUNT(*) FROM tco_lines WHERE study_id = ?", study)
            .await,
        app.count("SELECT COUNT(*) FROM tco_classes WHERE study_id = ?", study)
            .await,
        app.count("SELECT COUNT(*) FROM tco_dapm WHERE study_id = ?", study)
            .await,
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'tco.%' AND study_id = ?",
            study,
        )
        .await,
    ]
}

#[tokio::test]
async fn the_papers_worked_example_reads_36_per_resolved_case_beside_45_before_ai() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Support copilot").await;
    enter_unit(&app, id).await;
    enter_line(&app, id, "work", "280000", "time study with AI, April").await;
    enter_line(&app, id, "governance", "80000", "review and exception team").await;
    let (status, page) = app.get_text(&format!("/studies/{id}/tco")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("True cost per resolved case: USD 36.00 — against USD 45.00 before AI"),
        "{page}"
    );
    // The stack: $28 of remaining work, $8 of Layer 2, each with its source; the lines nobody entered
    // or measured yet are named, not silently zero.
    assert!(page.contains("USD 280,000</td><td class=\"nowrap\">USD 28.00</td><td><small>entered: time study with AI, April"), "{page}");
    assert!(page.contains("USD 80,000</td><td class=\"nowrap\">USD 8.00</td><td><small>entered: review and exception team"), "{page}");
    assert!(
        page.contains("not counted: needs the Layer 2 profile"),
        "{page}"
    );
    assert!(
        page.contains("not counted: needs the seats and seat price"),
        "{page}"
    );
    // The chart, grey and labelled, with its table beside it.
    assert!(
        page.contains("<svg role=\"img\" aria-label=\"Cost per resolved case, layer by layer\""),
        "{page}"
    );
    assert!(
        page.contains(
            "<th scope=\"row\">+1: cost per unit of output</th><td class=\"nowrap\">USD 36.00</td>"
        ),
        "{page}"
    );
    // Clearing the work's amount hands it to the diary, which has no tasks here: it is not counted.
    app.post_ok(
        &format!("/studies/{id}/tco/line"),
        &[("line", "work"), ("monthly", ""), ("source", "")],
    )
    .await;
    let (_, page) = app.get_text(&format!("/studies/{id}/tco")).await;
    assert!(
        page.contains("True cost per resolved case: USD 8.00"),
        "{page}"
    );
    assert!(
        page.contains("not counted: needs diary tasks whose output was used"),
        "{page}"
    );
    // A purge freezes the cost per unit with the other figures: the report and the page keep it.
    app.post_ok(
        &format!("/studies/{id}/privacy/purge"),
        &[("confirm", "yes"), ("warnings_read", "yes")],
    )
    .await;
    let (_, page) = app.get_text(&format!("/studies/{id}/tco")).await;
    assert!(
        page.contains("True cost per resolved case: USD 8.00"),
        "{page}"
    );
    let (_, report) = app.get_text(&format!("/studies/{id}/report")).await;
    assert!(report.contains("id=\"purged\""), "{report}");
    assert!(
        report.contains("True cost per resolved case: <strong>USD 8.00</strong>"),
        "{report}"
    );
}

#[tokio::test]
async fn measured_oversight_and_rework_carry_the_profiles_intervals_on_the_demo_study() {
    let app = spawn_app().await;
    let info = layer2::demo::seed(&app.state, 600).await.unwrap();
    app.login(layer2::demo::ADMIN_EMAIL, layer2::demo::ADMIN_PASSWORD)
        .await;
    let id = info.analysis_study_id;
    app.post_ok(
        &format!("/studies/{id}/tco/unit"),
        &[
            ("unit", "merged pull request"),
            ("units_per_month", "5000"),
            ("units_source", "git host, last quarter"),
            ("before_per_unit", ""),
            ("before_source", ""),
        ],
    )
    .await;
    let (status, page) = app.get_text(&format!("/studies/{id}/tco")).await;
    assert_eq!(status, StatusCode::OK);
    // Layer 2 from the profile the analysis page shows: G·O/60 hours × hourly cost × population, its
    // interval from the ends of G's and O's intervals.
    let inputs = layer2::reports::service::study_inputs(
        &app.state,
        StudyId(id),
        layer2::stats::MIN_COMPLIANCE,
    )
    .await
    .unwrap();
    let people: f64 = inputs.populations.values().sum();
    let computed = layer2::reports::compute::compute(inputs, layer2::stats::LEVEL, false)
        .await
        .unwrap();
    let overall = computed.profile.unwrap().overall;
    let (g, o) = (
        overall.gross_hours_month.unwrap(),
        overall.oversight_min_per_hour.unwrap(),
    );
    let e = layer2::reports::repo::economics(&app.state.pool, StudyId(id))
        .await
        .unwrap()
        .expect("the demo enters renewal assumptions");
    let cost = |gross: f64, minutes: f64| {
        money(&e.currency, gross * minutes * e.hourly_cost * people / 60.0)
    };
    let oversight = format!(
        "<th scope=\"row\">Oversight (measured)</th><td class=\"nowrap\">{} [{}, {}]</td>",
        cost(g.estimate, o.estimate),
        cost(g.ci_lower, o.ci_lower),
        cost(g.ci_upper, o.ci_upper)
    );
    assert!(page.contains(&oversight), "{oversight}\n{page}");
    assert!(page.contains("measured: (1 − yield"), "{page}");
    assert!(
        page.contains("Rework on unused output (measured)</th><td class=\"nowrap\">"),
        "{page}"
    );
    // Licences from the renewal assumptions, and the cost before AI derived from the baseline.
    assert!(
        page.contains(&format!(
            "renewal assumptions: {} seats × {} {}",
            e.seats, e.currency, e.seat_price
        )),
        "{page}"
    );
    assert!(page.contains("derived: Instrument C baseline"), "{page}");
    let head = page
        .split("True cost per merged pull request: ")
        .nth(1)
        .expect("a cost per unit");
    assert!(
        head.starts_with(&format!("{} ", e.currency)) && head[..40].contains('['),
        "the cost per unit carries an interval: {head}"
    );
}

#[tokio::test]
async fn each_refusal_says_why_and_changes_nothing() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Support copilot").await;
    let unit = |units: &'static str, before: &'static str, source: &'static str| {
        vec![
            ("unit", "resolved case"),
            ("units_per_month", units),
            ("units_source", "ticket system"),
            ("before_per_unit", before),
            ("before_source", source),
        ]
    };
    type Fields = Vec<(&'static str, &'static str)>;
    let refusals: Vec<(&str, Fields, &str)> = vec![
        ("unit", unit("0", "45", "finance"), "must be above zero"),
        (
            "unit",
            unit("ten", "45", "finance"),
            "must be a number above zero",
        ),
        (
            "unit",
            unit("10000", "-45", "finance"),
            "cannot be negative",
        ),
        (
            "unit",
            unit("10000", "45", ""),
            "source of the cost before AI",
        ),
        (
            "line",
            vec![("line", "data"), ("monthly", "-100"), ("source", "x")],
            "cannot be negative",
        ),
        (
            "line",
            vec![("line", "data"), ("monthly", "12,000"), ("source", "x")],
            "digits and a decimal point only",
        ),
        (
            "line",
            vec![("line", "data"), ("monthly", "lots"), ("source", "x")],
            "must be an amount",
        ),
        (
            "line",
            vec![("line", "oversight"), ("monthly", "100"), ("source", "x")],
            "Choose one of the lines",
        ),
    ];
    for (route, fields, message) in refusals {
        let page = app
            .follow(
                app.post(&format!("/studies/{id}/tco/{route}"), &fields)
                    .await,
            )
            .await;
        assert!(
            page.contains("class=\"flash error\"") && flash_text(&page).contains(message),
            "{message}: {}",
            flash_text(&page)
        );
    }
    // Process automation without its three conditions, an unknown category, no reason.
    let two = dapm([true, true, true])
        .into_iter()
        .filter(|(k, _)| !k.ends_with('3'))
        .collect::<Vec<_>>();
    for (category, class, conditions, message) in [
        (
            CATEGORY,
            "automation",
            two,
            "Process automation needs all three DAPM conditions",
        ),
        ("Astrology", "acceleration", vec![], "task categories"),
        (
            CATEGORY,
            "robots",
            vec![],
            "decision acceleration or process automation",
        ),
    ] {
        let page = app
            .follow(post_class(&app, id, category, class, &conditions).await)
            .await;
        assert!(
            flash_text(&page).contains(message),
            "{message}: {}",
            flash_text(&page)
        );
    }
    let page = app
        .follow(
            app.post(
                &format!("/studies/{id}/tco/class"),
                &[
                    ("category", CATEGORY),
                    ("class", "acceleration"),
                    ("reason", " "),
                ],
            )
            .await,
        )
        .await;
    assert!(flash_text(&page).contains("reason for the class"), "{page}");
    assert_eq!(
        tco_rows(&app, id).await,
        [0; 5],
        "nothing was stored or audited"
    );
    // A refusal after a good entry leaves the good one as it was.
    enter_unit(&app, id).await;
    let page = app
        .follow(
            app.post(
                &format!("/studies/{id}/tco/unit"),
                &unit("0", "45", "finance"),
            )
            .await,
        )
        .await;
    assert!(flash_text(&page).contains("must be above zero"));
    assert!(
        page.contains("<dd id=\"unit-count\">10000 <small>(ticket system, March)</small>"),
        "{page}"
    );
    assert_eq!(tco_rows(&app, id).await, [1, 0, 0, 0, 1]);
}

#[tokio::test]
async fn an_analyst_reads_the_entered_inputs_only_and_may_change_nothing() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Support copilot").await;
    enter_unit(&app, id).await;
    enter_line(&app, id, "work", "280000", "time study with AI, April").await;
    let page = app
        .follow(post_class(&app, id, OTHER, "automation", &dapm([true; 3])).await)
        .await;
    assert!(
        page.contains("Outcome class saved."),
        "{}",
        flash_text(&page)
    );
    let analyst = app.staff_member(ANALYST).await;
    app.grant(ANALYST, id, "analyst").await;
    let before = tco_rows(&app, id).await;

    let (status, page) = analyst.get_text(&format!("/studies/{id}/tco")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("<dd id=\"unit-name\">resolved case</dd>"),
        "{page}"
    );
    assert!(
        page.contains("USD 280,000</td><td>time study with AI, April"),
        "{page}"
    );
    assert!(
        page.contains("execution separated from authority: met, confirmed by COO: DoA 2026-01"),
        "{page}"
    );
    // No computed figure, no chart and no form for a non-admin before the results are released.
    assert!(page.contains("id=\"tco-not-released\""), "{page}");
    for absent in [
        "True cost per",
        "<svg",
        "USD 28.00",
        "id=\"automation\"",
        "<form method=\"post\" action=\"/studies/",
    ] {
        assert!(!page.contains(absent), "{absent} in the analyst's page");
    }
    let csrf = csrf_in(&analyst.get_text("/studies").await.1);
    for (route, fields) in [
        (
            "unit",
            vec![
                ("unit", "ticket"),
                ("units_per_month", "5"),
                ("units_source", "x"),
            ],
        ),
        (
            "line",
            vec![("line", "data"), ("monthly", "1"), ("source", "x")],
        ),
        (
            "class",
            vec![
                ("category", CATEGORY),
                ("class", "acceleration"),
                ("reason", "x"),
            ],
        ),
    ] {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend(fields);
        let r = analyst
            .post_form(&format!("/studies/{id}/tco/{route}"), &all)
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "POST {route}");
    }
    assert_eq!(
        tco_rows(&app, id).await,
        before,
        "the analyst changed nothing"
    );
}

#[tokio::test]
async fn automation_without_all_three_conditions_met_is_valued_as_acceleration_and_every_change_is_audited()
 {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Support copilot").await;
    enter_unit(&app, id).await;
    enter_line(&app, id, "data", "1500.50", "vector store invoice").await;
    for (category, met) in [(CATEGORY, [true, true, false]), (OTHER, [true; 3])] {
        let page = app
            .follow(post_class(&app, id, category, "automation", &dapm(met)).await)
            .await;
        assert!(
            page.contains("Outcome class saved."),
            "{}",
            flash_text(&page)
        );
    }
    let (_, page) = app.get_text(&format!("/studies/{id}/tco")).await;
    let accel =
        &page[page.find("id=\"acceleration\"").unwrap()..page.find("id=\"automation\"").unwrap()];
    let auto = &page[page.find("id=\"automation\"").unwrap()..];
    let auto = &auto[..auto.find("</div>").unwrap()];
    assert!(
        accel.contains(CATEGORY)
            && accel.contains("“decision rights deliberately redesigned” is not recorded as met, so it is valued as decision acceleration"),
        "{accel}"
    );
    assert!(
        auto.contains(&format!("<th scope=\"row\">{OTHER}</th>")) && !auto.contains(CATEGORY),
        "{auto}"
    );
    assert!(
        page.contains(
            "decision rights deliberately redesigned: not met, confirmed by COO: DoA 2026-03"
        ),
        "{page}"
    );
    // Reclassing as acceleration drops the DAPM record.
    let page = app
        .follow(post_class(&app, id, OTHER, "acceleration", &[]).await)
        .await;
    assert!(page.contains("Outcome class saved."));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM tco_dapm WHERE study_id = ?", id)
            .await,
        3
    );
    let audit: Vec<String> = [
        audit_rows(&app, "tco.unit", Some(id)).await,
        audit_rows(&app, "tco.line", Some(id)).await,
        audit_rows(&app, "tco.class", Some(id)).await,
    ]
    .concat()
    .into_iter()
    .map(|(who, detail)| format!("{who}: {detail}"))
    .collect();
    assert_eq!(
        audit,
        [
            format!(
                "{ADMIN}: unit \"resolved case\", 10000 per month (ticket system, March), cost per unit before AI 45 entered (finance cost model 2025)"
            ),
            format!("{ADMIN}: data: 1500.5 per month (vector store invoice)"),
            format!(
                "{ADMIN}: {CATEGORY}: process automation (drafts replies a person sends), DAPM conditions met: 2 of 3"
            ),
            format!(
                "{ADMIN}: {OTHER}: process automation (drafts replies a person sends), DAPM conditions met: 3 of 3"
            ),
            format!("{ADMIN}: {OTHER}: decision acceleration (drafts replies a person sends)"),
        ]
    );
}

/// The sheet's XML and the shared strings of a workbook, for reading the `cost_per_unit` sheet back.
fn workbook_sheet(bytes: &[u8], sheet: &str) -> (String, String, String) {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut read = |name: &str| {
        let mut s = String::new();
        zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
        s
    };
    let book = read("xl/workbook.xml");
    // Sheets are numbered in the order the workbook lists them.
    let n = book
        .split("<sheet ")
        .skip(1)
        .position(|s| s.contains(&format!("name=\"{sheet}\"")))
        .unwrap_or_else(|| panic!("no sheet {sheet}: {book}"))
        + 1;
    (
        book,
        read(&format!("xl/worksheets/sheet{n}.xml")),
        read("xl/sharedStrings.xml"),
    )
}

#[tokio::test]
async fn the_report_readout_export_json_and_workbook_carry_the_same_cost_per_unit_and_analysts_read_it_released()
 {
    let app = spawn_app().await;
    let info = layer2::demo::seed(&app.state, 600).await.unwrap();
    app.login(layer2::demo::ADMIN_EMAIL, layer2::demo::ADMIN_PASSWORD)
        .await;
    let id = info.analysis_study_id;
    let json: serde_json::Value = app
        .post(&format!("/studies/{id}/export"), &[("file", "export.json")])
        .await
        .json()
        .await
        .unwrap();
    let tco = &json["tco"];
    let stack = &tco["stack"];
    assert_eq!(stack["unit"], "completed work item", "{tco}");
    assert_eq!(stack["lines"].as_array().unwrap().len(), 10);
    assert_eq!(stack["layers"].as_array().unwrap().len(), 5);
    let per = &stack["cost_per_unit"];
    let (e, lo, hi) = (
        per["estimate"].as_f64().unwrap(),
        per["ci_lower"].as_f64().unwrap(),
        per["ci_upper"].as_f64().unwrap(),
    );
    assert!(
        lo < e && e < hi,
        "the measured layers give an interval: {per}"
    );
    // The cost per unit is the total per month over the units, and the total is the layers' sum.
    let units = stack["units_per_month"].as_f64().unwrap();
    let total = stack["total_monthly"]["estimate"].as_f64().unwrap();
    assert!((total / units - e).abs() < 1e-9);
    let layers: f64 = stack["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["monthly"]["estimate"].as_f64().unwrap())
        .sum();
    assert!((layers - total).abs() < 1e-6 * total);
    // Layer 2 is measured (an interval), Layer 1 entered (none).
    let layer = |key: &str| {
        stack["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["layer"] == key)
            .unwrap()["monthly"]
            .clone()
    };
    assert!(layer("oversight")["ci_lower"].as_f64() < layer("oversight")["ci_upper"].as_f64());
    assert_eq!(layer("systems")["ci_lower"], layer("systems")["ci_upper"]);
    // Two categories of each class; the automation claim with unmet conditions is valued as acceleration.
    let classes = tco["outcome_classes"].as_array().unwrap();
    let valued = |c: &str| classes.iter().filter(|x| x["valued_as"] == c).count();
    assert_eq!(
        (valued("acceleration"), valued("automation")),
        (3, 2),
        "{tco}"
    );
    let summaries = classes
        .iter()
        .find(|c| c["category"] == "Summarising documents")
        .unwrap();
    assert_eq!(summaries["class"], "automation");
    assert_eq!(summaries["valued_as"], "acceleration");
    assert!(
        summaries["why"]
            .as_str()
            .unwrap()
            .contains("not recorded as met")
    );
    assert_eq!(summaries["dapm"][1]["met"], false);

    // The report and the readout say the same figure, with its interval.
    let figure = format!("USD {e:.2} [{lo:.2}, {hi:.2}]");
    let (_, report) = app.get_text(&format!("/studies/{id}/report")).await;
    assert!(
        report.contains(&format!(
            "True cost per completed work item: <strong>{figure}</strong>"
        )),
        "{figure}\n{report}"
    );
    assert!(
        report.contains(
            "<svg role=\"img\" aria-label=\"Cost per completed work item, layer by layer\""
        )
    );
    assert!(
        report.contains("id=\"tco-lines\""),
        "the report lists every line"
    );
    let (_, readout) = app.get_text(&format!("/studies/{id}/readout")).await;
    assert!(readout.contains(&figure), "{readout}");
    assert!(readout.contains("<strong>Process automation</strong> (labour displaced per step, all three DAPM conditions met): Data and spreadsheets"));

    // The workbook's sheet carries the same numbers.
    let xlsx = app
        .post(
            &format!("/studies/{id}/export"),
            &[("file", "workbook.xlsx")],
        )
        .await
        .bytes()
        .await
        .unwrap();
    let (_, sheet, strings) = workbook_sheet(&xlsx, "cost_per_unit");
    assert!(
        strings.contains("cost per completed work item"),
        "{strings}"
    );
    for x in [e, lo, hi, units] {
        assert!(sheet.contains(&format!("<v>{x}</v>")), "{x} in {sheet}");
    }
    // Times of day are time cells (a fraction of a day, formatted hh:mm), not text.
    let (_, pings, _) = workbook_sheet(&xlsx, "pings");
    let cell = &pings[pings.find("<c r=\"C2\"").expect("a local_time cell")..];
    let cell = &cell[..cell.find("</c>").unwrap()];
    assert!(!cell.contains("t=\"s\""), "not a string: {cell}");
    let v: f64 = cell[cell.find("<v>").unwrap() + 3..cell.find("</v>").unwrap()]
        .parse()
        .unwrap();
    assert!((0.0..1.0).contains(&v), "{cell}");
    let styles = {
        use std::io::Read;
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&xlsx[..])).unwrap();
        let mut s = String::new();
        zip.by_name("xl/styles.xml")
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        s
    };
    assert!(styles.contains("formatCode=\"hh:mm\""), "{styles}");

    // The waves page follows the cost per unit across waves (both demo waves count the same unit).
    let (_, waves) = app
        .get_text(&format!("/waves?ids={id}&ids={}", info.collection_study_id))
        .await;
    assert!(waves.contains("id=\"waves-cost\""), "{waves}");
    assert!(waves.contains("aria-label=\"Cost per completed work item across waves (95% CI)\""));
    assert!(
        waves.contains(&format!("<td class=\"nowrap\">{figure}</td>")),
        "{waves}"
    );

    // Analysts read the cost per unit inside the release (collection ended): the same figures, on the
    // report, the cost per unit page and in their export.json.
    let analyst = app.stranger();
    analyst
        .login(layer2::demo::ANALYST_EMAIL, layer2::demo::ANALYST_PASSWORD)
        .await;
    let (_, page) = analyst.get_text(&format!("/studies/{id}/report")).await;
    assert!(page.contains("id=\"released\""), "{page}");
    assert!(page.contains(&figure), "{page}");
    let (_, page) = analyst.get_text(&format!("/studies/{id}/tco")).await;
    assert!(page.contains(&figure), "{page}");
    assert!(!page.contains("<form method=\"post\" action=\"/studies/"));
    let theirs: serde_json::Value = analyst
        .post(&format!("/studies/{id}/export"), &[("file", "export.json")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["tco"], json["tco"]);

    // A change of the inputs reaches the admin at once and analysts only with a new release.
    app.post_ok(
        &format!("/studies/{id}/tco/line"),
        &[
            ("line", "security"),
            ("monthly", "999999"),
            ("source", "new DLP suite"),
        ],
    )
    .await;
    let (_, page) = app.get_text(&format!("/studies/{id}/report")).await;
    assert!(!page.contains(&figure));
    let (_, page) = analyst.get_text(&format!("/studies/{id}/report")).await;
    assert!(page.contains(&figure), "analysts keep the released figure");
    app.post_ok(&format!("/studies/{id}/releases"), &[]).await;
    let (_, page) = analyst.get_text(&format!("/studies/{id}/report")).await;
    assert!(
        !page.contains(&figure),
        "an update release carries the new stack"
    );
    assert!(page.contains("entered: new DLP suite"), "{page}");
}

#[tokio::test]
async fn reading_the_cost_per_unit_or_baseline_page_writes_nothing() {
    let app = spawn_app().await;
    app.login_admin().await;
    let id = app.create_study("Support copilot").await;
    let analyst = app.staff_member(ANALYST).await;
    app.grant(ANALYST, id, "analyst").await;
    let versions = || {
        app.count(
            "SELECT COUNT(*) FROM instrument_versions WHERE study_id = ?",
            id,
        )
    };
    let before = versions().await;
    for reader in [&analyst, &app] {
        for page in ["tco", "baseline"] {
            let (status, _) = reader.get_text(&format!("/studies/{id}/{page}")).await;
            assert_eq!(status, StatusCode::OK, "{page}");
        }
    }
    // The admin's pages list the default categories all the same.
    let (_, html) = app.get_text(&format!("/studies/{id}/tco")).await;
    assert!(
        html.contains(&format!("<option>{CATEGORY}</option>")),
        "{html}"
    );
    assert_eq!(
        versions().await,
        before,
        "a read-only page created no wording"
    );
}
