//! Analysts cannot re-identify anyone: the linking attack (collection page × raw export), the subtraction
//! attack (summary × raw participants), a hidden cohort rebuilt from the raw files, and thresholds one
//! person apart, each tried on the demo through the pages and downloads an analyst may use.
use crate::helpers::*;
use layer2::demo::{ADMIN_EMAIL, ADMIN_PASSWORD, ANALYST_EMAIL, ANALYST_PASSWORD, DemoInfo};
use layer2::study::StudyId;
use reqwest::StatusCode;
use std::collections::{BTreeMap, HashMap, HashSet};

const K: usize = 5;

pub(crate) async fn demo() -> (TestApp, DemoInfo) {
    let app = spawn_app().await;
    let info = layer2::demo::seed(&app.state, 600).await.unwrap();
    (app, info)
}

pub(crate) async fn download(app: &TestApp, study: i64, file: &str) -> (StatusCode, String) {
    let r = app
        .post(&format!("/studies/{study}/export"), &[("file", file)])
        .await;
    (r.status(), r.text().await.unwrap())
}

/// The pseudonyms of employees in a study's exports, from the study's export key (made by the first
/// export, here of the summary through `app`'s session if none was made before).
pub(crate) async fn pseudonyms_of(app: &TestApp, study: i64, employees: &[String]) -> Vec<String> {
    download(app, study, "summary.csv").await;
    let key: Vec<u8> = app
        .value(
            "SELECT key FROM export_keys WHERE study_id = ?",
            Some(study),
        )
        .await;
    employees
        .iter()
        .map(|e| layer2::export::pseudonym(&key, e))
        .collect()
}

/// The files `layer2 analyze` reads, as `app` downloads them, read back under `rules`.
pub(crate) async fn analysed_offline(
    app: &TestApp,
    study: i64,
    rules: layer2::stats::input::Rules,
) -> layer2::stats::input::Inputs {
    let dir = tempfile::tempdir().unwrap();
    // The four files `layer2 analyze` reads come first in the export's list.
    for file in &layer2::export::CSV_FILES[..4] {
        std::fs::write(dir.path().join(file), download(app, study, file).await.1).unwrap();
    }
    layer2::stats::input::read_dir(dir.path(), rules).unwrap()
}

/// A CSV file as a header and rows of fields (the files hold no quoted commas in these columns).
pub(crate) fn table(csv: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|x| x.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

fn column(header: &[String], name: &str) -> Option<usize> {
    header.iter().position(|h| h == name)
}

/// Every page a non-admin reaches for a study.
const PAGES: [&str; 13] = [
    "",
    "roster",
    "usage",
    "cohorts",
    "sample",
    "collection",
    "instrument",
    "baseline",
    "analysis",
    "report",
    "readout",
    "privacy",
    "export",
];

/// Words of a page or file (ids, emails and logins are whole words between these separators).
fn words(text: &str) -> HashSet<String> {
    text.split(|c: char| !(c.is_alphanumeric() || "@._-+".contains(c)))
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_matches('.').to_ascii_lowercase())
        .collect()
}

/// Per pseudonym: (diary entries, pings delivered, pings answered), from the raw export.
fn per_person(diary: &str, pings: &str) -> HashMap<String, (i64, i64, i64)> {
    let mut out: HashMap<String, (i64, i64, i64)> = HashMap::new();
    let (_, rows) = table(diary);
    for r in rows {
        out.entry(r[0].clone()).or_default().0 += 1;
    }
    let (h, rows) = table(pings);
    let answered = column(&h, "answer_delay_min").unwrap();
    for r in rows {
        let e = out.entry(r[0].clone()).or_default();
        e.1 += 1;
        e.2 += i64::from(!r[answered].is_empty());
    }
    out
}

/// The linking attack: how many pseudonyms' (diary, delivered, answered) appear as a row of the page.
fn linked(page: &str, people: &HashMap<String, (i64, i64, i64)>) -> usize {
    let num = |v: i64| format!("<td class=\"num\">{v}</td>");
    people
        .values()
        .filter(|(d, g, a)| *g > 0 && page.contains(&format!("{}{}{}", num(*d), num(*g), num(*a))))
        .count()
}

#[tokio::test]
async fn an_analyst_links_no_pseudonym_to_an_employee_on_any_page_or_download() {
    let (app, info) = demo().await;
    let roster: Vec<(String, String, Option<String>)> = app
        .rows("SELECT employee_id, email, login FROM employees", None)
        .await;
    let needles: HashSet<String> = roster
        .iter()
        .flat_map(|(id, email, login)| [Some(id.clone()), Some(email.clone()), login.clone()])
        .flatten()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    assert!(needles.len() > 1000, "the demo's roster: {}", needles.len());

    // The admin's collection page has a row per participant, so the attack works there: the test can fail.
    // (The study in analysis: analysts read released results, and the one still collecting has none.)
    let study = info.analysis_study_id;
    let admin = app.stranger();
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let people = per_person(
        &download(&admin, study, "diary.csv").await.1,
        &download(&admin, study, "pings.csv").await.1,
    );
    let (_, admin_page) = admin
        .get_text(&format!("/studies/{study}/collection"))
        .await;
    assert!(
        linked(&admin_page, &people) > 20,
        "the attack links people on the admin's page"
    );

    app.login(ANALYST_EMAIL, ANALYST_PASSWORD).await;
    let mut texts: Vec<(String, String)> = vec![];
    for path in ["/studies".to_string(), "/waves".to_string()] {
        let (status, html) = app.get_text(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        texts.push((path, html));
    }
    for s in [
        info.study_id,
        info.collection_study_id,
        info.analysis_study_id,
    ] {
        for page in PAGES {
            let path = format!("/studies/{s}/{page}");
            let path = path.trim_end_matches('/');
            let (status, html) = app.get_text(path).await;
            assert!(status.is_success(), "{path}: {status}");
            texts.push((path.to_string(), html));
        }
        for file in layer2::export::CSV_FILES.iter().chain(&["export.json"]) {
            let (status, body) = download(&app, s, file).await;
            if status == StatusCode::OK {
                texts.push((format!("{s}/{file}"), body));
            }
        }
    }
    // Every file of the released study was read (the others have no release, so no file).
    let released = info.analysis_study_id;
    for file in layer2::export::CSV_FILES.iter().chain(&["export.json"]) {
        let name = format!("{released}/{file}");
        assert!(texts.iter().any(|(w, _)| *w == name), "{name}");
    }
    assert!(texts.len() > 40, "{}", texts.len());
    for (what, text) in &texts {
        let found: Vec<&String> = words(text).iter().filter_map(|w| needles.get(w)).collect();
        assert!(found.is_empty(), "{what} names {found:?}");
        if what.ends_with("participants.csv") {
            assert!(
                !text.contains("suppressed"),
                "{what}: a row generalised on its own"
            );
        }
    }
    // The collection page: counts per cohort and the compliance distribution, no row per person.
    let (_, page) = app.get_text(&format!("/studies/{study}/collection")).await;
    assert!(page.contains("Compliance of the main sample"), "{page}");
    assert!(!page.contains("Participants, lowest compliance first"));
    assert_eq!(
        linked(&page, &people),
        0,
        "no participant's numbers on the page"
    );
    assert!(
        page.matches("<tr").count() <= 16,
        "group lines only: {page}"
    );
    for consent in ["declined</td>", "withdrawn</td>", "consented</td>"] {
        assert!(!page.contains(consent), "nobody's consent decision");
    }
}

#[tokio::test]
async fn an_admin_still_sees_each_participant_on_the_collection_page() {
    let (app, info) = demo().await;
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let study = info.collection_study_id;
    let ids: Vec<String> = app
        .rows::<(String,)>(
            "SELECT e.employee_id FROM participants p JOIN employees e ON e.id = p.employee WHERE p.study_id = ?",
            Some(study),
        )
        .await
        .into_iter()
        .map(|(id,)| id)
        .collect();
    // 50 a page since issue 14: every participant is on one of the pages, each once.
    let mut seen = 0;
    for page in 1..=ids.len().div_ceil(50) {
        let (_, html) = app
            .get_text(&format!("/studies/{study}/collection?page={page}"))
            .await;
        assert!(html.contains("Participants, lowest compliance first"));
        assert!(html.contains("Nudge") && html.contains("Erase"));
        seen += ids
            .iter()
            .filter(|id| html.contains(&format!("<td>{id}</td>")))
            .count();
    }
    assert!(
        ids.len() > 50 && seen == ids.len(),
        "{seen} of {}",
        ids.len()
    );
}

/// Pseudonyms meeting the study's compliance rule (what the summary counts), from pings.csv.
fn compliant(pings: &str) -> HashSet<String> {
    let (h, rows) = table(pings);
    let in_time = column(&h, "answered_in_time").unwrap();
    let mut per: HashMap<String, (f64, f64)> = HashMap::new();
    for r in rows {
        let e = per.entry(r[0].clone()).or_default();
        e.0 += 1.0;
        e.1 += f64::from(r[in_time] == "1");
    }
    per.into_iter()
        .filter(|(_, (d, v))| *d > 0.0 && v / d >= 1.0 / 3.0)
        .map(|(id, _)| id)
        .collect()
}

/// How many subsets of `size` of `values` sum to `target` within `tol` (counting stops at 2; `budget`
/// bounds the search, which then counts as "not unique").
fn subsets(values: &[f64], size: usize, target: f64, tol: f64, budget: &mut u64) -> usize {
    fn go(v: &[f64], size: usize, target: f64, tol: f64, budget: &mut u64, found: &mut usize) {
        if *found >= 2 || *budget == 0 {
            return;
        }
        *budget -= 1;
        if size == 0 {
            *found += usize::from(target.abs() <= tol);
            return;
        }
        if v.len() < size {
            return;
        }
        // Sorted ascending: the smallest and largest sums still reachable bound the search.
        let low: f64 = v[..size].iter().sum();
        let high: f64 = v[v.len() - size..].iter().sum();
        if target < low - tol || target > high + tol {
            return;
        }
        go(&v[1..], size - 1, target - v[0], tol, budget, found);
        go(&v[1..], size, target, tol, budget, found);
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mut found = 0;
    go(&v, size, target, tol, budget, &mut found);
    found
}

#[tokio::test]
async fn the_subtraction_attack_on_the_summary_and_the_raw_participants_restores_nothing() {
    let (app, info) = demo().await;
    app.login(ANALYST_EMAIL, ANALYST_PASSWORD).await;
    // The study still collecting has no release, so no file: the attack has nothing to work on there.
    let (status, _) = download(&app, info.collection_study_id, "participants.csv").await;
    assert_eq!(status, StatusCode::CONFLICT);
    for study in [info.analysis_study_id] {
        let (_, participants) = download(&app, study, "participants.csv").await;
        let (_, summary) = download(&app, study, "summary.csv").await;
        let (_, pings) = download(&app, study, "pings.csv").await;
        let (header, rows) = table(&participants);
        assert!(rows.len() > 50, "{study}: {}", rows.len());
        // No row is generalised on its own: a quasi-identifier is in every row or in none.
        for name in ["cohort", "function", "tenure"] {
            if let Some(c) = column(&header, name) {
                assert!(
                    rows.iter()
                        .all(|r| !r[c].is_empty() && r[c] != "suppressed"),
                    "{study}: {name} is generalised in some rows"
                );
            }
        }
        // Every value of every published column stands for at least k rows.
        for (c, name) in header.iter().enumerate().skip(1) {
            let mut groups: BTreeMap<&str, usize> = BTreeMap::new();
            for r in &rows {
                *groups.entry(r[c].as_str()).or_default() += 1;
            }
            assert!(
                groups.values().all(|n| *n >= K),
                "{study} {name}: {groups:?}"
            );
        }
        assert!(
            column(&header, "gross_hours_month").is_none(),
            "no exact hours in a raw file"
        );

        // The attack of issue 11: per function, published n minus the rows showing that function is how
        // many rows of unknown function belong to it; a subset of those whose gross hours add up to the
        // published figure attributes the function to them.
        let kept = compliant(&pings);
        let func = column(&header, "function");
        let band = column(&header, "gross_hours_band").unwrap();
        let hours = |r: &Vec<String>| layer2::stats::input::gross_band_value(&r[band]).unwrap();
        let (sh, srows) = table(&summary);
        let (g, n, m, e) = (
            column(&sh, "group").unwrap(),
            column(&sh, "n").unwrap(),
            column(&sh, "metric").unwrap(),
            column(&sh, "estimate").unwrap(),
        );
        let mut attacked = 0;
        for s in srows
            .iter()
            .filter(|s| s[g] == "function" && s[m] == "gross_hours_month" && !s[e].is_empty())
        {
            let n: usize = s[n].parse().unwrap();
            let estimate: f64 = s[e].parse().unwrap();
            let ours: Vec<&Vec<String>> = rows.iter().filter(|r| kept.contains(&r[0])).collect();
            let visible: Vec<f64> = ours
                .iter()
                .filter(|r| func.is_some_and(|f| r[f] == s[1]))
                .map(|r| hours(r))
                .collect();
            let unknown: Vec<f64> = ours
                .iter()
                .filter(|r| func.is_none_or(|f| r[f] == "suppressed" || r[f].is_empty()))
                .map(|r| hours(r))
                .collect();
            let deficit = n.saturating_sub(visible.len());
            if deficit == 0 {
                continue;
            }
            attacked += 1;
            let target = estimate * n as f64 - visible.iter().sum::<f64>();
            // A band's midpoint is at most 5 h from the truth: the attacker allows for that.
            let mut budget = 2_000_000;
            let found = subsets(&unknown, deficit, target, 5.0 * deficit as f64, &mut budget);
            assert_ne!(
                found, 1,
                "{study}: function {} attributed to {deficit} rows",
                s[1]
            );
        }
        // Before the fix the summary gave a function's figures although the rows carried no function, and
        // the search above had targets; now a summary row names only a column the rows carry: none left.
        assert_eq!(attacked, 0, "{study}: the attack still has a target");

        // The stronger attack of the review: diary.csv and pings.csv give each row's exact task counts,
        // so any exact figure for a group the rows don't name (a function's yield, say) is a subset-sum
        // target over small integers. The data analyst's summary breaks down only by the columns the
        // rows carry, and each of its figures follows from the rows: it adds nothing to them.
        for r in &srows {
            if r[g] != "overall" {
                assert!(
                    column(&header, &r[g]).is_some(),
                    "{study}: the summary breaks down by {} which participants.csv leaves out",
                    r[g]
                );
            }
        }
        assert!(srows.iter().all(|r| r[g] != "function"), "{study}");
        let (_, diary) = download(&app, study, "diary.csv").await;
        let (dh, drows) = table(&diary);
        let outcome = column(&dh, "outcome").unwrap();
        let cohort = column(&header, "cohort").expect("the demo's rows carry the cohort");
        let cohort_of: HashMap<&str, &str> = rows
            .iter()
            .map(|r| (r[0].as_str(), r[cohort].as_str()))
            .collect();
        let mut tasks: HashMap<&str, (f64, f64)> = HashMap::new();
        for r in &drows {
            if kept.contains(&r[0]) {
                let t = tasks.entry(cohort_of[r[0].as_str()]).or_default();
                t.0 += 1.0;
                t.1 += f64::from(r[outcome] == "all" || r[outcome] == "most");
            }
        }
        for r in srows
            .iter()
            .filter(|r| r[g] == "cohort" && r[m] == "yield" && !r[e].is_empty())
        {
            let people = rows
                .iter()
                .filter(|p| kept.contains(&p[0]) && p[cohort] == r[1])
                .count();
            assert_eq!(r[n].parse::<usize>().unwrap(), people, "{study} {}", r[1]);
            let (all, used) = tasks[r[1].as_str()];
            let published: f64 = r[e].parse().unwrap();
            assert!((published - used / all).abs() < 1e-9, "{study} {}", r[1]);
        }
    }
    // The review's second attack: the aggregate viewer's summary joined to the data analyst's rows. The
    // viewer's summary is the data analyst's: no breakdown the rows lack. Only an admin's has them.
    let viewer = app.stranger();
    viewer
        .login(layer2::demo::VIEWER_EMAIL, layer2::demo::VIEWER_PASSWORD)
        .await;
    let (status, _) = download(&viewer, info.collection_study_id, "summary.csv").await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "nothing released while collecting"
    );
    for study in [info.analysis_study_id] {
        let (status, summary) = download(&viewer, study, "summary.csv").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(summary, download(&app, study, "summary.csv").await.1);
        let (status, _) = download(&viewer, study, "diary.csv").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let admin = app.stranger();
    admin.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, summary) = download(&admin, info.analysis_study_id, "summary.csv").await;
    assert!(summary.contains("\nfunction,"), "{summary}");
}

#[test]
fn the_subset_sum_attack_finds_a_unique_attribution_when_exact_hours_leak() {
    // The attack itself works: with exact hours, the two rows that make up 12.5 h are found, alone.
    let mut budget = 1_000_000;
    assert_eq!(
        subsets(&[1.1, 2.3, 4.7, 7.8, 9.9], 2, 12.5, 1e-9, &mut budget),
        1
    );
    // With 5 h bands, many subsets fit: nothing is attributed.
    let mut budget = 1_000_000;
    assert_eq!(
        subsets(&[2.5, 2.5, 7.5, 7.5, 7.5], 2, 12.5, 10.0, &mut budget),
        2
    );
}

#[tokio::test]
async fn a_cohort_hidden_on_the_report_cannot_be_rebuilt_from_the_raw_files() {
    let (app, info) = demo().await;
    let study = info.analysis_study_id;
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    // Erase heavy users (as people may ask) until three remain: the report hides the heavy cohort.
    let heavy: Vec<(i64, String)> = app
        .rows(
            "SELECT p.id, e.employee_id FROM participants p JOIN employees e ON e.id = p.employee
             WHERE p.study_id = ? AND e.cohort = 'heavy' AND p.role = 'main' AND p.arm = 'copilot'
               AND p.consent = 'accepted' ORDER BY p.id",
            Some(study),
        )
        .await;
    assert!(heavy.len() > 5, "{}", heavy.len());
    for (pid, _) in &heavy[3..] {
        let r = app
            .post(
                &format!("/studies/{study}/participants/{pid}/erase"),
                &[("confirm", "erase")],
            )
            .await;
        assert!(app.follow(r).await.contains("Participant erased"));
    }
    let (_, report) = app.get_text(&format!("/studies/{study}/report")).await;
    assert!(report.contains("not shown"), "the heavy cohort is hidden");
    // The erasures republish nothing: analysts keep the release made when collection ended.
    let r = app.post(&format!("/studies/{study}/releases"), &[]).await;
    assert!(app.follow(r).await.contains("data changed since"));
    // The study's export key, to know which pseudonyms are the three.
    let three: Vec<String> = heavy[..3].iter().map(|(_, e)| e.clone()).collect();
    let hidden: HashSet<String> = pseudonyms_of(&app, study, &three)
        .await
        .into_iter()
        .collect();

    let analyst = app.stranger();
    analyst.login(ANALYST_EMAIL, ANALYST_PASSWORD).await;
    let (_, summary) = download(&analyst, study, "summary.csv").await;
    assert!(
        summary.contains(&format!("cohort,heavy,{},yield,0.", heavy.len())),
        "the released figures, from before the erasures: {summary}"
    );
    // The rows can't carry the cohort, and beside the cohort figures the data analyst sees they would
    // give it away: the raw files are withheld from them, and the export page says why.
    for file in ["participants.csv", "pings.csv", "export.json"] {
        let (status, body) = download(&analyst, study, file).await;
        assert_eq!(status, StatusCode::CONFLICT, "{file}");
        assert!(body.contains("raw files are withheld"), "{body}");
    }
    let (_, page) = analyst.get_text(&format!("/studies/{study}/export")).await;
    assert!(page.contains("id=\"withheld\"") && !page.contains("value=\"pings.csv\""));
    // An admin still exports them; a bundle of rows and summary breaks down by no column the rows lack.
    let (_, bundle) = download(&app, study, "export.json").await;
    let bundle: serde_json::Value = serde_json::from_str(&bundle).unwrap();
    let carried = |group: &str| {
        bundle["participants"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p.get(group).is_some_and(|v| !v.is_null()))
    };
    assert!(!carried("cohort"));
    for r in bundle["summary"].as_array().unwrap() {
        let group = r["group"].as_str().unwrap();
        assert!(group == "overall" || carried(group), "{r}");
    }
    let (_, participants) = download(&app, study, "participants.csv").await;
    let (header, rows) = table(&participants);
    assert!(
        hidden.iter().all(|h| rows.iter().any(|r| &r[0] == h)),
        "the three are in the file"
    );
    assert!(column(&header, "cohort").is_none(), "{header:?}");
    // No value of any column picks out the three (or any group under k) to recompute their cell from.
    for (c, name) in header.iter().enumerate().skip(1) {
        let mut groups: BTreeMap<&str, HashSet<String>> = BTreeMap::new();
        for r in &rows {
            groups
                .entry(r[c].as_str())
                .or_default()
                .insert(r[0].clone());
        }
        for (value, ids) in groups {
            assert!(
                ids.len() >= K && ids != hidden,
                "{name} = {value} singles out {}",
                ids.len()
            );
        }
    }
    // And the offline analysis of the files has no heavy cohort to report.
    let offline = analysed_offline(&app, study, Default::default()).await;
    assert!(
        offline
            .kept
            .iter()
            .all(|t| t.cohort == layer2::stats::input::ONE_STRATUM)
    );
}

#[tokio::test]
async fn threshold_views_one_person_apart_show_counts_only() {
    let (app, info) = demo().await;
    let study = info.analysis_study_id;
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let everyone = layer2::reports::study_inputs(&app.state, StudyId(study), 0.0)
        .await
        .unwrap();
    // The lowest compliance that meets the study's rule, and the people at it.
    let rates: Vec<f64> = everyone
        .kept
        .iter()
        .filter_map(|t| t.compliance())
        .collect();
    let lowest = rates
        .iter()
        .copied()
        .filter(|c| *c >= 1.0 / 3.0)
        .min_by(f64::total_cmp)
        .unwrap();
    let between = rates
        .iter()
        .filter(|c| **c >= 1.0 / 3.0 && **c <= lowest)
        .count();
    assert!((1..K).contains(&between), "{between} people at {lowest}");
    let just_above = format!("{:.6}", lowest * 100.0 + 1e-4);

    let (_, rule) = app.get_text(&format!("/studies/{study}/analysis")).await;
    let (status, apart) = app
        .get_text(&format!("/studies/{study}/analysis?min={just_above}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !rule.contains("counts only"),
        "the study's rule shows its metrics"
    );
    assert!(apart.contains("shows counts only"), "{apart}");
    assert!(apart.contains("counts only at this threshold"));
    // The rule's yield cells are there; a view one person apart has no metric at all to subtract.
    assert!(rule.matches(" [0.").count() > 5);
    assert_eq!(apart.matches(" [0.").count(), 0, "{apart}");
    assert!(apart.contains(&format!(
        "{} participants in the estimates",
        rates.len() - between - rates.iter().filter(|c| **c < 1.0 / 3.0).count()
    )));
    // The sizes stay: n per cohort.
    assert!(apart.contains("<th scope=\"row\">Heavy</th><td class=\"num\">"));
    // Analysts never choose a threshold.
    let analyst = app.stranger();
    analyst.login(ANALYST_EMAIL, ANALYST_PASSWORD).await;
    let r = analyst
        .get(&format!("/studies/{study}/analysis?min={just_above}"))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}
