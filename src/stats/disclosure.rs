//! The confidentiality rule of every page and export: no metric for a group of fewer than k participants
//! (primary suppression), and no hidden group recoverable by subtraction (secondary suppression).
//!
//! A table shows a partition of the participants (cohorts, functions, tenure bands) beside its total. If
//! exactly one cell of the partition is hidden, the total and the other cells give it away: the overall
//! figure is Σ W_h·θ_h over cohorts, so θ of the one hidden cohort is (overall − the shown terms) / W_h,
//! and a filter beside its complement works the same way. So when one cell is hidden, the smallest shown
//! cell is hidden with it; and when the total itself is under k, everything is.
use std::collections::BTreeSet;

/// The names of the cells to hide in one partition. `cells`: (name, participants); `total`: participants
/// behind the total shown beside them; `k`: the minimum cell size.
pub fn hidden_cells(cells: &[(&str, usize)], total: usize, k: usize) -> BTreeSet<String> {
    if total < k {
        return cells.iter().map(|(n, _)| n.to_string()).collect();
    }
    let mut hidden: BTreeSet<String> = cells
        .iter()
        .filter(|(_, n)| *n < k)
        .map(|(name, _)| name.to_string())
        .collect();
    if hidden.len() == 1 {
        // Smallest shown cell (ties by name, so the choice is stable).
        if let Some((name, _)) = cells
            .iter()
            .filter(|(name, _)| !hidden.contains(*name))
            .min_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(b.0)))
        {
            hidden.insert(name.to_string());
        }
    }
    hidden
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn small_cells_are_hidden_and_a_lone_hidden_cell_takes_the_next_smallest_with_it() {
        // Nothing small: nothing hidden.
        assert!(hidden_cells(&[("a", 5), ("b", 9)], 14, 5).is_empty());
        // One small cell: the total minus the others would reveal it, so the smallest other goes too.
        assert_eq!(
            hidden_cells(&[("a", 3), ("b", 9), ("c", 6)], 18, 5),
            set(&["a", "c"])
        );
        // Two small cells already protect each other.
        assert_eq!(
            hidden_cells(&[("a", 3), ("b", 4), ("c", 20)], 27, 5),
            set(&["a", "b"])
        );
        // Two cells, one small: both.
        assert_eq!(
            hidden_cells(&[("a", 2), ("b", 30)], 32, 5),
            set(&["a", "b"])
        );
        // A total under k: all of it.
        assert_eq!(hidden_cells(&[("a", 2), ("b", 1)], 3, 5), set(&["a", "b"]));
        // Ties for the secondary cell are broken by name.
        assert_eq!(
            hidden_cells(&[("z", 7), ("a", 1), ("m", 7)], 15, 5),
            set(&["a", "m"])
        );
    }
}
