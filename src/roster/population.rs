//! Population tables: employees counted by cohort, function and tenure band (pure).
use super::cohort::Cohort;
use std::collections::BTreeMap;

/// One employee reduced to the three strata.
pub struct Unit<'a> {
    /// Adoption cohort.
    pub cohort: Cohort,
    /// Function.
    pub function: &'a str,
    /// Tenure band label.
    pub band: &'a str,
}

/// Counts per cohort (heavy, moderate, light) for one row of a table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts(pub [usize; 3]);

impl Counts {
    fn add(&mut self, c: Cohort) {
        self.0[index(c)] += 1;
    }
    /// The count for a cohort.
    pub fn get(&self, c: Cohort) -> usize {
        self.0[index(c)]
    }
    /// The row total.
    pub fn total(&self) -> usize {
        self.0.iter().sum()
    }
}

fn index(c: Cohort) -> usize {
    match c {
        Cohort::Heavy => 0,
        Cohort::Moderate => 1,
        Cohort::Light => 2,
    }
}

/// The cohort × function × tenure table, with subtotals per function and per band.
#[derive(Debug, Default)]
pub struct Population {
    /// Everyone.
    pub total: Counts,
    /// Per function.
    pub by_function: BTreeMap<String, Counts>,
    /// Per tenure band.
    pub by_band: BTreeMap<String, Counts>,
    /// Per (function, band).
    pub by_cell: BTreeMap<(String, String), Counts>,
}

/// Counts a roster into the table.
pub fn tabulate<'a>(units: impl IntoIterator<Item = Unit<'a>>) -> Population {
    let mut p = Population::default();
    for u in units {
        p.total.add(u.cohort);
        p.by_function
            .entry(u.function.to_string())
            .or_default()
            .add(u.cohort);
        p.by_band
            .entry(u.band.to_string())
            .or_default()
            .add(u.cohort);
        p.by_cell
            .entry((u.function.to_string(), u.band.to_string()))
            .or_default()
            .add(u.cohort);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_add_up_to_functions_bands_and_the_total() {
        let units = [
            Unit {
                cohort: Cohort::Heavy,
                function: "Sales",
                band: "< 1 y",
            },
            Unit {
                cohort: Cohort::Light,
                function: "Sales",
                band: "1–3 y",
            },
            Unit {
                cohort: Cohort::Light,
                function: "Finance",
                band: "< 1 y",
            },
        ];
        let p = tabulate(units);
        assert_eq!(p.total.0, [1, 0, 2]);
        assert_eq!(p.by_function["Sales"].total(), 2);
        assert_eq!(p.by_band["< 1 y"].get(Cohort::Heavy), 1);
        assert_eq!(
            p.by_cell[&("Finance".to_string(), "< 1 y".to_string())].get(Cohort::Light),
            1
        );
        let cells: usize = p.by_cell.values().map(Counts::total).sum();
        assert_eq!(cells, p.total.total());
    }
}
