//! Sample size and margin of error for a proportion (Cochran, finite population correction).

use statrs::distribution::{ContinuousCDF, Normal};

/// Worst-case proportion: maximises p(1−p), so the sizes hold for any true proportion.
const P: f64 = 0.5;

/// Two-sided standard-normal critical value for a confidence level in (0.5, 1).
pub fn z_score(confidence: f64) -> Result<f64, String> {
    if !confidence.is_finite() || confidence <= 0.5 || confidence >= 1.0 {
        // A common slip is typing 95 for 95%; say so explicitly.
        let hint = if (50.0..100.0).contains(&confidence) {
            format!(" (did you mean {}?)", confidence / 100.0)
        } else {
            String::new()
        };
        return Err(format!(
            "the confidence level must be between 0.5 and 1 (e.g. 0.95 for 95%), got {confidence}{hint}"
        ));
    }
    Ok(Normal::standard().inverse_cdf(1.0 - (1.0 - confidence) / 2.0))
}

/// n0 = z²·p(1−p)/e² with p = 0.5, n = n0 / (1 + (n0 − 1)/N), rounded up.
pub fn required_sample_size(margin: f64, confidence: f64, population: u64) -> Result<u64, String> {
    if !margin.is_finite() || margin <= 0.0 || margin > 0.5 {
        return Err(format!(
            "the margin of error must be above 0 and at most 0.5 (e.g. 0.05 for ±5%), got {margin}"
        ));
    }
    let z = z_score(confidence)?;
    if population == 0 {
        return Err("the population must have at least 1 person".to_string());
    }
    let n0 = z * z * P * (1.0 - P) / (margin * margin);
    let big_n = population as f64;
    let n = n0 / (1.0 + (n0 - 1.0) / big_n);
    // Shave float noise before rounding up, so an exact 80.0 computed as 80.000000001
    // does not become 81.
    let rounded = (n - 1e-9).ceil().max(1.0);
    Ok((rounded as u64).min(population))
}

/// Margin of error at p = 0.5 for n of N: z·sqrt(p(1−p)/n)·sqrt((N−n)/(N−1)); None when n = 0 or N = 0 or n > N; 0 when n = N.
pub fn margin_of_error(n: u64, population: u64, confidence: f64) -> Option<f64> {
    if n == 0 || population == 0 || n > population {
        return None;
    }
    let z = z_score(confidence).ok()?;
    if n == population {
        // A census has no sampling error; also avoids 0/0 when N = 1.
        return Some(0.0);
    }
    let (n, big_n) = (n as f64, population as f64);
    let fpc = ((big_n - n) / (big_n - 1.0)).sqrt();
    Some(z * (P * (1.0 - P) / n).sqrt() * fpc)
}

/// One stratum's part of a sample split in proportion to stratum size, and the margin that part buys.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StratumMargin<K> {
    /// The stratum (e.g. a cohort).
    pub stratum: K,
    /// People in the stratum.
    pub population: u64,
    /// Its proportional share of the sample: rounded, at least 1, at most the stratum.
    pub n: u64,
    /// The margin of error of that share within the stratum.
    pub margin: Option<f64>,
}

/// Splits `n` of `population` over the strata in proportion to their sizes (empty strata are left out)
/// and gives each share's margin: small strata get wide margins.
pub fn proportional_margins<K: Copy>(
    strata: &[(K, u64)],
    n: u64,
    population: u64,
    confidence: f64,
) -> Vec<StratumMargin<K>> {
    if population == 0 {
        return Vec::new();
    }
    strata
        .iter()
        .filter(|(_, size)| *size > 0)
        .map(|&(stratum, size)| {
            let nh = ((n as f64 * size as f64 / population as f64)
                .round()
                .max(1.0) as u64)
                .min(size);
            StratumMargin {
                stratum,
                population: size,
                n: nh,
                margin: margin_of_error(nh, size, confidence),
            }
        })
        .collect()
}

/// How a drawn sample compares with its population in one group: people, and those drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Composition {
    /// People in the group.
    pub population: u64,
    /// Of them, in the main sample.
    pub main: u64,
    /// Of them, in the pilot.
    pub pilot: u64,
}

impl Composition {
    /// The margin of error of the main sample within the group.
    pub fn margin(&self, confidence: f64) -> Option<f64> {
        margin_of_error(self.main, self.population, confidence)
    }
}

/// Counts each group's population, main sample and pilot; a unit is `(group, in main, in pilot)`.
pub fn composition<K: Ord>(
    units: impl IntoIterator<Item = (K, bool, bool)>,
) -> std::collections::BTreeMap<K, Composition> {
    let mut groups = std::collections::BTreeMap::<K, Composition>::new();
    for (group, main, pilot) in units {
        let c = groups.entry(group).or_default();
        c.population += 1;
        c.main += u64::from(main);
        c.pilot += u64::from(pilot);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z_for_common_levels() {
        assert!((z_score(0.95).unwrap() - 1.959964).abs() < 1e-6);
        assert!((z_score(0.90).unwrap() - 1.644854).abs() < 1e-6);
        assert!((z_score(0.99).unwrap() - 2.575829).abs() < 1e-6);
    }

    #[test]
    fn cochran_with_fpc() {
        assert_eq!(required_sample_size(0.05, 0.95, 25_000), Ok(379));
        assert_eq!(required_sample_size(0.05, 0.95, 100), Ok(80));
        assert_eq!(required_sample_size(0.05, 0.95, 1), Ok(1));
        // Very large N approaches n0 = 384.15 → 385.
        assert_eq!(required_sample_size(0.05, 0.95, 100_000_000), Ok(385));
        // Never more than the population, even for a tiny margin.
        assert_eq!(required_sample_size(0.001, 0.99, 50), Ok(50));
        assert_eq!(required_sample_size(0.5, 0.95, 1_000), Ok(4));
    }

    #[test]
    fn margin_of_error_values() {
        let m300 = margin_of_error(300, 25_000, 0.95).unwrap();
        assert!((m300 - 0.0562).abs() < 5e-5, "{m300}");
        assert_eq!(format!("±{:.1}%", m300 * 100.0), "±5.6%");
        let m500 = margin_of_error(500, 25_000, 0.95).unwrap();
        assert!((m500 - 0.0434).abs() < 5e-5, "{m500}");
        assert_eq!(format!("±{:.1}%", m500 * 100.0), "±4.3%");
        assert_eq!(margin_of_error(25_000, 25_000, 0.95), Some(0.0));
        assert_eq!(margin_of_error(1, 1, 0.95), Some(0.0));
        assert_eq!(margin_of_error(0, 100, 0.95), None);
        assert_eq!(margin_of_error(5, 0, 0.95), None);
        assert_eq!(margin_of_error(101, 100, 0.95), None);
        assert_eq!(margin_of_error(10, 100, 95.0), None);
    }

    #[test]
    fn size_and_margin_agree() {
        // The required size must actually achieve the margin, and one fewer must not.
        for &pop in &[100u64, 1_000, 25_000] {
            let n = required_sample_size(0.05, 0.95, pop).unwrap();
            assert!(margin_of_error(n, pop, 0.95).unwrap() <= 0.05);
            assert!(margin_of_error(n - 1, pop, 0.95).unwrap() > 0.05);
        }
    }

    #[test]
    fn validation_messages() {
        for bad in [0.0, -0.1, 0.51, f64::NAN, f64::INFINITY] {
            let e = required_sample_size(bad, 0.95, 100).unwrap_err();
            assert!(e.contains("margin of error"), "{e}");
        }
        for bad in [0.5, 1.0, 0.3, f64::NAN] {
            let e = required_sample_size(0.05, bad, 100).unwrap_err();
            assert!(e.contains("confidence level"), "{e}");
        }
        let e = required_sample_size(0.05, 95.0, 100).unwrap_err();
        assert!(e.contains("did you mean 0.95?"), "{e}");
        let e = required_sample_size(0.05, 0.95, 0).unwrap_err();
        assert!(e.contains("population"), "{e}");
    }

    #[test]
    fn proportional_margins_split_n_by_stratum_size_and_skip_empty_strata() {
        let strata = [
            ("heavy", 2_500),
            ("moderate", 12_500),
            ("empty", 0),
            ("light", 10_000),
        ];
        let m = proportional_margins(&strata, 300, 25_000, 0.95);
        let got: Vec<_> = m.iter().map(|s| (s.stratum, s.population, s.n)).collect();
        assert_eq!(
            got,
            vec![
                ("heavy", 2_500, 30),
                ("moderate", 12_500, 150),
                ("light", 10_000, 120)
            ]
        );
        assert_eq!(format!("±{:.1}%", m[0].margin.unwrap() * 100.0), "±17.8%");
        // A tiny stratum still gets one person, and never more than it has.
        let tiny = proportional_margins(&[('a', 1), ('b', 999)], 10, 1_000, 0.95);
        assert_eq!((tiny[0].n, tiny[0].margin), (1, Some(0.0)));
        assert!(proportional_margins(&[('a', 0)], 10, 0, 0.95).is_empty());
    }

    #[test]
    fn composition_counts_population_main_and_pilot_per_group() {
        let units = [
            ("b", true, false),
            ("a", false, false),
            ("b", false, true),
            ("b", false, false),
            ("a", true, false),
        ];
        let c = composition(units);
        assert_eq!(c.keys().copied().collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!(
            c["a"],
            Composition {
                population: 2,
                main: 1,
                pilot: 0
            }
        );
        assert_eq!(
            c["b"],
            Composition {
                population: 3,
                main: 1,
                pilot: 1
            }
        );
        assert_eq!(c["a"].margin(0.95), margin_of_error(1, 2, 0.95));
    }
}
