//! Distributions shown in bands that each hold at least k people (gross hours in raw files, compliance on
//! the collection page): a band under k is merged into its neighbour, so no band describes a few people.
//! Pure.

/// The lower limits of the bands kept: `limits` (ascending; the last band is open), with every empty band
/// joined to the band above it (the top one to the band below), then the highest band under `k` values
/// merged into the band below it (the lowest into the one above), until every band holds at least `k` of
/// `values` or one band is left.
pub fn bands_of_at_least(values: &[f64], limits: &[f64], k: usize) -> Vec<f64> {
    let mut limits = limits.to_vec();
    while limits.len() > 1 {
        let counts = band_counts(values, &limits);
        let last = limits.len() - 1;
        // An empty band says only that nobody is in it; joining it upwards keeps the limit below it.
        if let Some(empty) = (0..limits.len()).find(|&i| counts[i] == 0) {
            limits.remove(if empty == last { empty } else { empty + 1 });
            continue;
        }
        let Some(small) = (0..limits.len()).rev().find(|&i| counts[i] < k) else {
            break;
        };
        limits.remove(if small == 0 { 1 } else { small });
    }
    limits
}

/// The band `v` falls in (values under the lowest limit count in the lowest band).
pub fn band_index(limits: &[f64], v: f64) -> usize {
    limits.iter().rposition(|l| v >= *l).unwrap_or(0)
}

/// The number of values in each band.
pub fn band_counts(values: &[f64], limits: &[f64]) -> Vec<usize> {
    let mut counts = vec![0usize; limits.len()];
    for &v in values {
        counts[band_index(limits, v)] += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_bands_are_merged_until_each_holds_k() {
        let values = [0.1, 0.2, 0.2, 0.3, 0.35, 0.6, 0.9];
        // 0–0.33: 4, 0.33–0.5: 1, 0.5–0.75: 1, 0.75+: 1 → the top three merge, then the lowest is still 4.
        assert_eq!(
            bands_of_at_least(&values, &[0.0, 0.33, 0.5, 0.75], 3),
            vec![0.0, 0.33]
        );
        assert_eq!(band_counts(&values, &[0.0, 0.33]), vec![4, 3]);
        assert_eq!(
            bands_of_at_least(&values, &[0.0, 0.33, 0.5, 0.75], 5),
            vec![0.0]
        );
        assert_eq!(bands_of_at_least(&[], &[0.0, 1.0], 5), vec![0.0]);
        // An empty band joins the one above it, so the limit under it stays.
        assert_eq!(
            bands_of_at_least(&[0.1, 0.1, 0.9, 0.9], &[0.0, 0.33, 0.5, 0.75], 2),
            vec![0.0, 0.33]
        );
    }
}
