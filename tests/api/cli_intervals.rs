//! `layer2 analyze --interval`, `--bootstrap N --seed S` and their bad values, through the real binary
//! (issue 15).
use crate::cli::{layer2, text};
use serde_json::Value;

/// Two cohorts of 12 and 8 participants whose answers differ from person to person, a roster of 40 and
/// 30; `silent` more participants in "heavy" with no ping at all.
fn varied(dir: &std::path::Path, silent: usize) {
    let mut participants = String::from("id,cohort,function,tenure,gross_hours_month\n");
    let mut diary = String::from("participant_id,logged_at,outcome\n");
    let mut pings = String::from(
        "participant_id,sent_at,answered_at,used_copilot,verification_min,correction_min,context_min,trust_min\n",
    );
    let outcomes = ["all", "most", "some", "none", "most", "all", "none"];
    for (cohort, n) in [("heavy", 12), ("light", 8)] {
        for i in 0..n {
            let p = format!("{cohort}{i}");
            participants.push_str(&format!("{p},{cohort},Sales,1-3 y,{}\n", 4 + 3 * (i % 5)));
            for k in 0..(3 + i % 4) {
                let outcome = outcomes[(i + k) % outcomes.len()];
                diary.push_str(&format!("{p},2027-02-01T10:00:00Z,{outcome}\n"));
            }
            for h in 9..13 {
                let used = u8::from((i + h) % 3 != 0);
                let minutes = if used == 1 { (i * h) % 9 } else { 0 };
                pings.push_str(&format!(
                    "{p},2027-02-01T{h:02}:00:00Z,2027-02-01T{h:02}:10:00Z,{used},{minutes},1,0,0\n"
                ));
            }
        }
    }
    for i in 0..silent {
        participants.push_str(&format!("quiet{i},heavy,Sales,1-3 y,5\n"));
    }
    std::fs::write(dir.join("participants.csv"), participants).unwrap();
    std::fs::write(dir.join("diary.csv"), diary).unwrap();
    std::fs::write(dir.join("pings.csv"), pings).unwrap();
    std::fs::write(
        dir.join("population.csv"),
        "cohort,population\nheavy,40\nlight,30\n",
    )
    .unwrap();
}

fn analyze_json(dir: &std::path::Path, extra: &[&str]) -> Value {
    let folder = dir.to_str().unwrap();
    let mut args = vec!["analyze", folder, "--json"];
    args.extend_from_slice(extra);
    let o = layer2(dir, &args, "");
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn analyze_names_the_recommended_interval_and_keeps_rs_fields() {
    let dir = tempfile::tempdir().unwrap();
    varied(dir.path(), 0);
    let v = analyze_json(dir.path(), &[]);
    for group in [
        &v["cohorts"]["heavy"],
        &v["cohorts"]["light"],
        &v["overall"],
    ] {
        let y = &group["yield"];
        assert_eq!(y["interval"]["method"], "logit_t", "{y}");
        let (lo, hi) = (num(&y["interval"]["lower"]), num(&y["interval"]["upper"]));
        assert!(0.0 <= lo && lo < num(&y["estimate"]) && num(&y["estimate"]) < hi && hi <= 1.0);
        // R's symmetric interval stays beside it, and differs from the logit one.
        assert!((num(&y["ci_lower"]) - lo).abs() > 1e-9, "{y}");
        let o = &group["oversight_min_per_hour"];
        assert_eq!(o["interval"]["method"], "log_t", "{o}");
        assert!(num(&o["interval"]["lower"]) > 0.0);
        assert_eq!(group["gross_hours_month"]["interval"]["method"], "log_t");
        assert_eq!(group["net_hours_month"]["interval"]["method"], "t");
        assert_eq!(group["labor_multiplier"]["interval"]["method"], "t");
    }
    assert!(
        v.get("bootstrap").is_none(),
        "no bootstrap unless asked for"
    );
    let o = layer2(dir.path(), &["analyze", dir.path().to_str().unwrap()], "");
    let t = text(&o);
    assert!(
        t.contains("yield t interval on the logit scale") && t.contains("Satterthwaite"),
        "{t}"
    );
}

#[test]
fn analyze_interval_t_gives_rs_symmetric_interval_in_a_cohort() {
    let dir = tempfile::tempdir().unwrap();
    varied(dir.path(), 0);
    let v = analyze_json(dir.path(), &["--interval", "t"]);
    let y = &v["cohorts"]["heavy"]["yield"];
    assert_eq!(y["interval"]["method"], "t");
    // In a cohort both use df n_h − 1: the same interval as R's fields.
    assert!(
        (num(&y["interval"]["lower"]) - num(&y["ci_lower"])).abs() < 1e-12,
        "{y}"
    );
    assert!(
        (num(&y["interval"]["upper"]) - num(&y["ci_upper"])).abs() < 1e-12,
        "{y}"
    );
    // log_t applies to oversight and gross only; the others fall back to t, and say so.
    let v = analyze_json(dir.path(), &["--interval", "log_t"]);
    let h = &v["cohorts"]["heavy"];
    assert_eq!(h["gross_hours_month"]["interval"]["method"], "log_t");
    assert_eq!(h["yield"]["interval"]["method"], "t");
}

#[test]
fn analyze_bootstrap_is_reproducible_by_seed() {
    let dir = tempfile::tempdir().unwrap();
    varied(dir.path(), 0);
    let args = ["--bootstrap", "300", "--seed", "7"];
    let a = analyze_json(dir.path(), &args);
    let b = analyze_json(dir.path(), &args);
    assert_eq!(a["bootstrap"], b["bootstrap"], "same seed, same intervals");
    assert_eq!(a["bootstrap"]["resamples"], 300);
    assert_eq!(a["bootstrap"]["seed"], 7);
    let y = &a["bootstrap"]["cohorts"]["heavy"]["yield"];
    assert!(num(&y["ci_lower"]) < num(&y["estimate"]) && num(&y["estimate"]) < num(&y["ci_upper"]));
    let c = analyze_json(dir.path(), &["--bootstrap", "300", "--seed", "8"]);
    assert_ne!(a["bootstrap"], c["bootstrap"], "another seed, other draws");
    // The recommended interval is unchanged by asking for the bootstrap.
    assert_eq!(
        a["cohorts"]["heavy"]["yield"]["interval"]["method"],
        "logit_t"
    );
    let o = layer2(
        dir.path(),
        &[
            "analyze",
            dir.path().to_str().unwrap(),
            "--bootstrap",
            "300",
            "--seed",
            "7",
        ],
        "",
    );
    assert!(o.status.success());
    assert!(
        text(&o).contains("Rao–Wu bootstrap (finite population corrected): 300 resamples, seed 7"),
        "{}",
        text(&o)
    );
}

#[test]
fn analyze_interval_rao_wu_uses_the_bootstrap_percentiles() {
    let dir = tempfile::tempdir().unwrap();
    varied(dir.path(), 0);
    let v = analyze_json(
        dir.path(),
        &[
            "--interval",
            "rao_wu_percentile",
            "--bootstrap",
            "200",
            "--seed",
            "3",
        ],
    );
    let y = &v["cohorts"]["light"]["yield"];
    assert_eq!(y["interval"]["method"], "rao_wu_percentile");
    let b = &v["bootstrap"]["cohorts"]["light"]["yield"];
    assert_eq!(y["interval"]["lower"], b["ci_lower"]);
    assert_eq!(y["interval"]["upper"], b["ci_upper"]);
    assert_eq!(
        v["overall"]["yield"]["interval"]["method"],
        "rao_wu_percentile"
    );
}

#[test]
fn analyze_refuses_bad_interval_bootstrap_and_seed_values() {
    let dir = tempfile::tempdir().unwrap();
    varied(dir.path(), 0);
    let folder = dir.path().to_str().unwrap();
    let o = layer2(dir.path(), &["analyze", folder, "--interval", "bca"], "");
    assert!(!o.status.success());
    assert_ne!(o.status.code(), Some(0));
    let t = text(&o);
    assert!(
        t.contains("--interval") && t.contains("\"bca\"") && t.contains("logit_t"),
        "{t}"
    );
    assert!(o.stdout.is_empty(), "nothing printed as a result: {t}");
    for (flag, value) in [
        ("--bootstrap", "-5"),
        ("--bootstrap", "many"),
        ("--seed", "abc"),
        ("--seed", "-1"),
    ] {
        let o = layer2(
            dir.path(),
            &["analyze", folder, &format!("{flag}={value}")],
            "",
        );
        assert_eq!(o.status.code(), Some(2), "{flag}={value}");
        let t = text(&o);
        assert!(
            t.contains("invalid value") && t.contains(flag) && t.contains(value),
            "{flag}={value}: {t}"
        );
        assert!(o.stdout.is_empty(), "{t}");
    }
    // A negative count after a space is not taken for a value, and says which one it was.
    let o = layer2(dir.path(), &["analyze", folder, "--bootstrap", "-5"], "");
    assert!(
        !o.status.success() && text(&o).contains("'-5'"),
        "{}",
        text(&o)
    );
}

#[test]
fn analyze_counts_participants_with_no_pings() {
    let dir = tempfile::tempdir().unwrap();
    varied(dir.path(), 2);
    let v = analyze_json(dir.path(), &[]);
    assert_eq!(v["left_out"]["no_pings"], 2);
    assert_eq!(
        v["cohorts"]["heavy"]["n"], 12,
        "the two silent ones are left out"
    );
    let o = layer2(dir.path(), &["analyze", dir.path().to_str().unwrap()], "");
    let t = text(&o);
    assert!(t.contains("2 participant(s) had no ping delivered"), "{t}");
}
