//! The order groups are shown in, on every page and in every text: cohorts from heavy to light, then
//! overall; tenure bands in their natural order.

/// The sort key of a cohort: heavy, moderate, light, anything else by name, then the whole study
/// (`overall` or `Overall`) last.
pub fn cohort_order(name: &str) -> (usize, String) {
    let rank = match name {
        "heavy" => 0,
        "moderate" => 1,
        "light" => 2,
        "overall" | "Overall" => 4,
        _ => 3,
    };
    (rank, name.to_string())
}

/// The sort key of a segment among `bands` (the study's tenure band labels, in order): its place
/// there ("< 1 y" first, not as text), then by name for anything else (functions, "unknown").
pub fn band_order(bands: &[String], name: &str) -> (usize, String) {
    (
        bands.iter().position(|b| b == name).unwrap_or(usize::MAX),
        name.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cohorts_run_heavy_to_light_then_overall() {
        let mut names = ["overall", "light", "zeta", "heavy", "moderate", "Overall"];
        names.sort_by_key(|n| cohort_order(n));
        assert_eq!(
            names,
            ["heavy", "moderate", "light", "zeta", "Overall", "overall"]
        );
    }

    #[test]
    fn bands_keep_their_natural_order() {
        let bands: Vec<String> = ["< 1 y", "1–3 y", "3+ y"].map(String::from).to_vec();
        let mut names = ["unknown", "3+ y", "< 1 y", "1–3 y"];
        names.sort_by_key(|n| band_order(&bands, n));
        assert_eq!(names, ["< 1 y", "1–3 y", "3+ y", "unknown"]);
    }
}
