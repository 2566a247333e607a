//! Instrument C: the counterfactual baseline per task category, by method, with the bound across methods.
//! `compare` is pure; `repo` holds the SQL and `service` the rules.
pub mod repo;
pub mod service;

use statrs::distribution::{ContinuousCDF, StudentsT};
use std::collections::BTreeMap;

/// One method's estimate of a category's minutes without AI.
#[derive(Clone, Debug, PartialEq)]
pub struct MethodEstimate {
    /// `historical`, `expert` or `participants`.
    pub method: &'static str,
    /// Minutes per task without AI.
    pub minutes: f64,
    /// Lower end (an interval where the data allow).
    pub low: Option<f64>,
    /// Upper end.
    pub high: Option<f64>,
    /// How many values it rests on (entries, experts or diary tasks).
    pub n: usize,
}

/// A category's baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct CategoryBaseline {
    /// Task category.
    pub category: String,
    /// Mean minutes with AI from the diary, if any task was logged.
    pub with_ai: Option<f64>,
    /// The methods that have data.
    pub methods: Vec<MethodEstimate>,
    /// Lowest and highest estimate across methods.
    pub bound: Option<(f64, f64)>,
    /// Minutes saved per task implied by the bound (baseline − with AI).
    pub saving: Option<(f64, f64)>,
}

impl CategoryBaseline {
    /// SPEC: a baseline needs at least two methods; fewer is flagged.
    pub fn too_few_methods(&self) -> bool {
        self.methods.len() < 2
    }
}

/// Inputs: historical minutes, expert (low, likely, high), and diary tasks (with, without) per category.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// Category → minutes from records.
    pub historical: BTreeMap<String, f64>,
    /// Category → each expert's (low, likely, high).
    pub experts: BTreeMap<String, Vec<(f64, f64, f64)>>,
    /// Category → each diary task's (minutes with AI, participant's estimate without).
    pub diary: BTreeMap<String, Vec<(f64, f64)>>,
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

/// Each category's estimate per method, the bound across methods and the saving it implies.
/// Expert judgements combine as the mean of their PERT means ((low + 4·likely + high) / 6), spanning the
/// lowest low to the highest high.
pub fn compare(inputs: &Inputs) -> Vec<CategoryBaseline> {
    let mut categories: Vec<&String> = inputs
        .historical
        .keys()
        .chain(inputs.experts.keys())
        .chain(inputs.diary.keys())
        .collect();
    categories.sort();
    categories.dedup();
    categories
        .into_iter()
        .map(|c| {
            let mut methods = Vec::new();
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
            let tasks = inputs.diary.get(c).cloned().unwrap_or_default();
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
                methods,
                bound,
                saving,
            }
        })
        .collect()
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
}
