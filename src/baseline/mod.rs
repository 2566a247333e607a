//! Instrument C: the counterfactual baseline per task category, by method, with the bound across methods.
//!
//! `compare` is pure; `repo` holds the SQL, `service` the rules and `view` what the pages show.
pub mod repo;
pub mod service;
pub mod view;

use statrs::distribution::{ContinuousCDF, StudentsT};
use std::collections::BTreeMap;

/// One method's estimate of a category's minutes without AI.
#[derive(Clone, Debug, PartialEq)]
pub struct MethodEstimate {
    /// `control`, `historical`, `expert` or `participants`.
    pub method: &'static str,
    /// Minutes per task without AI.
    pub minutes: f64,
    /// Lower end (an interval where the data allow).
    pub low: Option<f64>,
    /// Upper end.
    pub high: Option<f64>,
    /// How many values it rests on (control participants, entries, experts or diary tasks).
    pub n: usize,
}

/// A category's baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct CategoryBaseline {
    /// Task category.
    pub category: String,
    /// Mean minutes with AI from the diary, if any task was logged.
    pub with_ai: Option<f64>,
    /// Diary tasks (main sample) in the category: the weight in the vendor comparison.
    pub tasks: usize,
    /// The methods that have data.
    pub methods: Vec<MethodEstimate>,
    /// Lowest and highest estimate across methods.
    pub bound: Option<(f64, f64)>,
    /// Minutes saved per task implied by the bound (baseline − with AI).
    pub saving: Option<(f64, f64)>,
    /// Methods left out for resting on fewer than `min_people` people: (method, people).
    pub hidden: Vec<(&'static str, usize)>,
}

impl CategoryBaseline {
    /// SPEC: a baseline needs at least two methods; fewer is flagged.
    pub fn too_few_methods(&self) -> bool {
        self.methods.len() < 2
    }
}

/// Inputs: control-group tasks, historical minutes, expert (low, likely, high), and diary tasks (with,
/// without) per category.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// Category → each control-group task as (participant, minutes).
    pub control: BTreeMap<String, Vec<(i64, f64)>>,
    /// Category → minutes from records.
    pub historical: BTreeMap<String, f64>,
    /// Category → each expert's (low, likely, high).
    pub experts: BTreeMap<String, Vec<(f64, f64, f64)>>,
    /// Category → each diary task's (minutes with AI, participant's estimate without).
    pub diary: BTreeMap<String, Vec<(f64, f64)>>,
    /// Category → how many people the diary tasks come from.
    pub diary_people: BTreeMap<String, usize>,
    /// The minimum cell size: a method resting on fewer people (control group, participants' estimates,
    /// the minutes with AI) is not shown, and does not enter the bound.
    pub min_people: usize,
}

fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// The mean of the participants' own estimates with a 95% t interval (none with fewer than two tasks).
fn participants(values: &[f64]) -> Option<MethodEstimate> {
    let m = mean(values)?;
    let n = values.len();
    let (low, high) = if n >= 2 {
        let var = values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1) as f64;
        let se = (var / n as f64).sqrt();
        let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
            .ok()?
            .inverse_cdf(0.975);
        (Some((m - t * se).max(0.0)), Some(m + t * se))
    } else {
        (None, None)
    };
    Some(MethodEstimate {
        method: "participants",
        minutes: m,
        low,
        high,
        n,
    })
}

/// The control group's minutes per task: the ratio of total minutes to tasks, with a t interval clustered
/// by participant (a person's tasks are not independent), df = participants − 1. One participant gives the
/// estimate without an interval.
fn control(tasks: &[(i64, f64)]) -> Option<MethodEstimate> {
    let mut people: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for &(p, m) in tasks {
        let e = people.entry(p).or_default();
        e.0 += m;
        e.1 += 1.0;
    }
    let k = people.len();
    let (total, n) = people
        .values()
        .fold((0.0, 0.0), |(y, n), &(py, pn)| (y + py, n + pn));
    if n == 0.0 {
        return None;
    }
    let r = total / n;
    let (low, high) = if k >= 2 {
        let mean_n = n / k as f64;
        let ss: f64 = people
            .values()
            .map(|&(y, m)| ((y - r * m) / mean_n).powi(2))
            .sum();
        let se = (ss / (k as f64 * (k - 1) as f64)).sqrt();
        let t = StudentsT::new(0.0, 1.0, (k - 1) as f64)
            .ok()?
            .inverse_cdf(0.975);
        (Some((r - t * se).max(0.0)), Some(r + t * se))
    } else {
        (None, None)
    };
    Some(MethodEstimate {
        method: "control",
        minutes: r,
        low,
        high,
        n: k,
    })
}

/// Each category's estimate per method, the bound across methods and the saving it implies.
/// Expert judgements combine as the mean of their PERT means ((low + 4·likely + high) / 6), spanning the
/// lowest low to the highest high.
pub fn compare(inputs: &Inputs) -> Vec<CategoryBaseline> {
    let mut categories: Vec<&String> = inputs
        .control
        .keys()
        .chain(inputs.historical.keys())
        .chain(inputs.experts.keys())
        .chain(inputs.diary.keys())
        .collect();
    categories.sort();
    categories.dedup();
    categories
        .into_iter()
        .map(|c| {
            let mut methods = Vec::new();
            let mut hidden = Vec::new();
            if let Some(m) = inputs.control.get(c).and_then(|t| control(t)) {
                if m.n < inputs.min_people {
                    hidden.push(("control", m.n));
                } else {
                    methods.push(m);
                }
            }
            if let Some(&m) = inputs.historical.get(c) {
                methods.push(MethodEstimate {
                    method: "historical",
                    minutes: m,
                    low: None,
                    high: None,
                    n: 1,
                });
            }
            if let Some(e) = inputs.experts.get(c).filter(|e| !e.is_empty()) {
                let pert: Vec<f64> = e.iter().map(|(l, m, h)| (l + 4.0 * m + h) / 6.0).collect();
                methods.push(MethodEstimate {
                    method: "expert",
                    minutes: mean(&pert).unwrap_or(0.0),
                    low: e.iter().map(|x| x.0).reduce(f64::min),
                    high: e.iter().map(|x| x.2).reduce(f64::max),
                    n: e.len(),
                });
            }
            let mut tasks = inputs.diary.get(c).cloned().unwrap_or_default();
            let people = inputs.diary_people.get(c).copied().unwrap_or(tasks.len());
            if !tasks.is_empty() && people < inputs.min_people {
                // The diary's figures of a category would describe one or two people.
                hidden.push(("participants", people));
                tasks.clear();
            }
            let without: Vec<f64> = tasks.iter().map(|t| t.1).collect();
            if let Some(p) = participants(&without) {
                methods.push(p);
            }
            let with_ai = mean(&tasks.iter().map(|t| t.0).collect::<Vec<_>>());
            let bound =
                methods
                    .iter()
                    .map(|m| m.minutes)
                    .fold(None, |acc: Option<(f64, f64)>, x| {
                        Some(acc.map_or((x, x), |(lo, hi)| (lo.min(x), hi.max(x))))
                    });
            let saving = match (bound, with_ai) {
                (Some((lo, hi)), Some(w)) => Some((lo - w, hi - w)),
                _ => None,
            };
            CategoryBaseline {
                category: c.clone(),
                with_ai,
                tasks: tasks.len(),
                methods,
                bound,
                saving,
                hidden,
            }
        })
        .collect()
}

/// The "replace vendor claims with defensible economics" check: what the baseline says an AI-assisted task
/// saves, set against the vendor's gross hours.
#[derive(Clone, Debug, PartialEq)]
pub struct VendorCheck {
    /// Diary tasks the comparison rests on (categories with both a baseline and minutes with AI).
    pub tasks: usize,
    /// Minutes saved per AI-assisted task, weighted by the diary's task mix: (lowest, highest) across the
    /// methods' bound.
    pub saving_per_task: (f64, f64),
    /// The same as a share of the no-AI minutes.
    pub share_saved: (f64, f64),
    /// The vendor's gross AI hours per user per month.
    pub vendor_hours: f64,
    /// AI-assisted tasks per user per month the vendor's figure needs at that saving (most, fewest);
    /// `None` where the baseline shows no saving.
    pub tasks_for_vendor: (Option<f64>, Option<f64>),
    /// The same for the measured net hours, when the profile has them.
    pub tasks_for_net: Option<(Option<f64>, Option<f64>)>,
}

/// Sets the baseline-implied saving per task against the vendor's gross hours (and the measured net hours).
/// The diary logs a sample of tasks, not all of them, so the check does not invent a monthly task count:
/// it says how many AI-assisted tasks a month each figure would take at the saving the baseline supports,
/// which a CIO can hold against what people actually do. `None` without a category that has both.
pub fn vendor_check(
    categories: &[CategoryBaseline],
    vendor_hours: f64,
    net_hours: Option<f64>,
) -> Option<VendorCheck> {
    let (mut tasks, mut lo, mut hi, mut base_lo, mut base_hi) = (0usize, 0.0, 0.0, 0.0, 0.0);
    for c in categories {
        if let (Some((s_lo, s_hi)), Some((b_lo, b_hi))) = (c.saving, c.bound) {
            if c.tasks == 0 {
                continue;
            }
            let w = c.tasks as f64;
            tasks += c.tasks;
            lo += w * s_lo;
            hi += w * s_hi;
            base_lo += w * b_lo;
            base_hi += w * b_hi;
        }
    }
    if tasks == 0 || !vendor_hours.is_finite() {
        return None;
    }
    let n = tasks as f64;
    let (lo, hi) = (lo / n, hi / n);
    let needed = |hours: f64| {
        let per = |saving: f64| (saving > 0.0).then(|| hours * 60.0 / saving);
        (per(lo), per(hi))
    };
    Some(VendorCheck {
        tasks,
        saving_per_task: (lo, hi),
        share_saved: (lo * n / base_lo, hi * n / base_hi),
        vendor_hours,
        tasks_for_vendor: needed(vendor_hours),
        tasks_for_net: net_hours.map(needed),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_method_the_bound_and_the_saving_per_category() {
        let mut i = Inputs::default();
        i.historical.insert("Code".into(), 60.0);
        i.experts
            .insert("Code".into(), vec![(30.0, 45.0, 90.0), (40.0, 50.0, 60.0)]);
        i.diary.insert(
            "Code".into(),
            vec![(20.0, 40.0), (30.0, 50.0), (25.0, 45.0)],
        );
        i.diary.insert("Email".into(), vec![(5.0, 8.0)]);
        let out = compare(&i);
        let code = &out[0];
        assert_eq!(code.category, "Code");
        assert_eq!(
            code.methods.iter().map(|m| m.method).collect::<Vec<_>>(),
            ["historical", "expert", "participants"]
        );
        let expert = &code.methods[1];
        assert!(
            (expert.minutes - (50.0 + 50.0) / 2.0).abs() < 1e-12,
            "PERT means 50 and 50"
        );
        assert_eq!((expert.low, expert.high), (Some(30.0), Some(90.0)));
        let p = &code.methods[2];
        assert!((p.minutes - 45.0).abs() < 1e-12);
        // s = 5, se = 5/√3, t(2) = 4.3027: 45 ± 12.42
        assert!((p.high.unwrap() - 57.4210).abs() < 1e-3, "{:?}", p.high);
        assert_eq!(code.bound, Some((45.0, 60.0)));
        assert_eq!(code.saving, Some((20.0, 35.0)));
        assert!(!code.too_few_methods());
        let email = &out[1];
        assert!(email.too_few_methods(), "one method is flagged");
        assert_eq!(email.methods[0].low, None, "no interval from one task");
    }

    #[test]
    fn the_control_group_is_a_ratio_clustered_by_participant() {
        let mut i = Inputs::default();
        // Person 1: 50 and 70 (total 120 over 2); person 2: 40 (1); person 3: 90 and 30 and 60 (180 over 3).
        i.control.insert(
            "Code".into(),
            vec![
                (1, 50.0),
                (1, 70.0),
                (2, 40.0),
                (3, 90.0),
                (3, 30.0),
                (3, 60.0),
            ],
        );
        let out = compare(&i);
        let c = &out[0].methods[0];
        assert_eq!((c.method, c.n), ("control", 3));
        // r = 340 / 6; z_i = (y_i − r·n_i) / 2: (120 − 113.33)/2, (40 − 56.67)/2, (180 − 170)/2.
        let r = 340.0 / 6.0;
        assert!((c.minutes - r).abs() < 1e-12);
        let z = [
            (120.0 - 2.0 * r) / 2.0,
            (40.0 - r) / 2.0,
            (180.0 - 3.0 * r) / 2.0,
        ];
        let se = (z.iter().map(|v| v * v).sum::<f64>() / 6.0).sqrt();
        // t(2, 0.975) = 4.302652729911275
        assert!((c.high.unwrap() - (r + 4.302652729911275 * se)).abs() < 1e-9);
        assert!(out[0].too_few_methods(), "one method alone is flagged");
        let mut one = Inputs::default();
        one.control
            .insert("Code".into(), vec![(7, 30.0), (7, 50.0)]);
        let c = &compare(&one)[0].methods[0];
        assert_eq!(
            (c.minutes, c.low, c.high),
            (40.0, None, None),
            "one person: no interval"
        );
    }

    #[test]
    fn methods_resting_on_fewer_than_k_people_are_left_out_of_the_table_and_the_bound() {
        let mut i = Inputs {
            min_people: 5,
            ..Inputs::default()
        };
        i.historical.insert("Code".into(), 60.0);
        i.control
            .insert("Code".into(), vec![(1, 40.0), (2, 50.0), (3, 45.0)]);
        i.diary
            .insert("Code".into(), vec![(20.0, 90.0), (25.0, 95.0)]);
        i.diary_people.insert("Code".into(), 2);
        let code = &compare(&i)[0];
        assert_eq!(
            code.methods.iter().map(|m| m.method).collect::<Vec<_>>(),
            ["historical"]
        );
        assert_eq!(code.hidden, [("control", 3), ("participants", 2)]);
        assert_eq!(
            code.bound,
            Some((60.0, 60.0)),
            "hidden methods do not shape the bound"
        );
        assert_eq!(
            (code.with_ai, code.saving, code.tasks),
            (None, None, 0),
            "nor the minutes with AI"
        );
    }

    #[test]
    fn the_vendor_check_weights_categories_by_the_diary_task_mix() {
        let mut i = Inputs::default();
        i.historical.insert("Code".into(), 60.0);
        i.historical.insert("Email".into(), 10.0);
        i.experts.insert("Code".into(), vec![(40.0, 40.0, 40.0)]);
        i.experts.insert("Email".into(), vec![(12.0, 12.0, 12.0)]);
        // Code: 3 tasks at 30 min with AI (bound 40–60: saves 10–30); Email: 1 task at 8 (bound 10–12: 2–4).
        i.diary.insert(
            "Code".into(),
            vec![(30.0, 45.0), (30.0, 45.0), (30.0, 45.0)],
        );
        i.diary.insert("Email".into(), vec![(8.0, 11.0)]);
        let cats = compare(&i);
        // The participants' own estimates join the bound: Code 40–60 (45 inside), Email 10–12 (11 inside).
        let v = vendor_check(&cats, 10.0, Some(3.5)).expect("two categories");
        assert_eq!(v.tasks, 4);
        // (3·10 + 1·2)/4 = 8 and (3·30 + 1·4)/4 = 23.5 minutes per task.
        assert_eq!(v.saving_per_task, (8.0, 23.5));
        // Shares: 32 / (3·40 + 10) and 94 / (3·60 + 12).
        assert!((v.share_saved.0 - 32.0 / 130.0).abs() < 1e-12);
        assert!((v.share_saved.1 - 94.0 / 192.0).abs() < 1e-12);
        // 600 min / 8 = 75 tasks a month at the low saving, 600 / 23.5 at the high one.
        assert_eq!(v.tasks_for_vendor.0, Some(75.0));
        assert!((v.tasks_for_vendor.1.unwrap() - 600.0 / 23.5).abs() < 1e-12);
        assert_eq!(v.tasks_for_net.unwrap().0, Some(26.25));
        // A baseline below the minutes with AI supports no saving: no task count, not a negative one.
        let mut worse = Inputs::default();
        worse.historical.insert("Code".into(), 20.0);
        worse.diary.insert("Code".into(), vec![(30.0, 25.0)]);
        let v = vendor_check(&compare(&worse), 10.0, None).unwrap();
        assert_eq!(v.tasks_for_vendor, (None, None));
        assert!(vendor_check(&[], 10.0, None).is_none());
    }
}
