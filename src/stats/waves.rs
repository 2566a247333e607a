//! Comparing study waves: the difference between two independent estimates with its interval.
use super::linearization::t_quantile;
use super::profile::Estimate;

/// `later − earlier` for two independent samples: standard error √(se₁² + se₂²), Welch–Satterthwaite
/// degrees of freedom (se₁² + se₂²)² / (se₁⁴/df₁ + se₂⁴/df₂), and a t interval at `level`.
/// Two waves that share participants are not independent: the interval is then too wide or too narrow,
/// which the page says.
pub fn difference(earlier: &Estimate, later: &Estimate, level: f64) -> Result<Estimate, String> {
    let (v1, v2) = (earlier.se.powi(2), later.se.powi(2));
    let v = v1 + v2;
    let estimate = later.estimate - earlier.estimate;
    if v == 0.0 {
        // Two exact figures: their difference is exact.
        return Ok(Estimate {
            estimate,
            se: 0.0,
            df: earlier.df + later.df,
            ci_lower: estimate,
            ci_upper: estimate,
            interval: None,
        });
    }
    let denom = v1 * v1 / earlier.df + v2 * v2 / later.df;
    let df = if denom > 0.0 {
        v * v / denom
    } else {
        earlier.df.min(later.df)
    };
    let se = v.sqrt();
    let t = t_quantile(level, df)?;
    Ok(Estimate {
        estimate,
        se,
        df,
        ci_lower: estimate - t * se,
        ci_upper: estimate + t * se,
        interval: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(estimate: f64, se: f64, df: f64) -> Estimate {
        Estimate {
            estimate,
            se,
            df,
            ci_lower: f64::NAN,
            ci_upper: f64::NAN,
            interval: None,
        }
    }

    #[test]
    fn the_difference_of_two_waves_by_hand() {
        // se = √(0.03² + 0.04²) = 0.05; df = 0.0025² / (0.03⁴/20 + 0.04⁴/30) = 6.25e-6 / (4.05e-8 + 8.5333e-8)
        let d = difference(&est(0.35, 0.03, 20.0), &est(0.42, 0.04, 30.0), 0.95).unwrap();
        assert!((d.estimate - 0.07).abs() < 1e-12);
        assert!((d.se - 0.05).abs() < 1e-12);
        let df = 6.25e-6 / (0.03f64.powi(4) / 20.0 + 0.04f64.powi(4) / 30.0);
        assert!((d.df - df).abs() < 1e-9, "{} vs {df}", d.df);
        let t = t_quantile(0.95, df).unwrap();
        assert!((d.ci_upper - (0.07 + t * 0.05)).abs() < 1e-12);
        assert!(
            d.ci_lower < 0.0 && d.ci_upper > 0.0,
            "this change is within the noise"
        );
        let exact = difference(&est(1.0, 0.0, 5.0), &est(3.0, 0.0, 5.0), 0.95).unwrap();
        assert_eq!(
            (exact.estimate, exact.ci_lower, exact.ci_upper),
            (2.0, 2.0, 2.0)
        );
    }
}
