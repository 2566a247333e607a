//! Renewal economics (the "+1 layer"): what the measured net time is worth against the seat price. Pure.
//!
//! Every output is a monotone function of one estimate (net hours per user per month), so its interval is
//! the same function of the net interval's ends (exact for a linear function, and the transformed interval
//! for 1/x). Money is per month unless a name says otherwise.
use crate::stats::profile::Estimate;

/// What the admin enters per study.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Assumptions {
    /// Seat price per user per month.
    pub seat_price: f64,
    /// Seats licensed.
    pub seats: f64,
    /// Loaded labor cost per hour.
    pub hourly_cost: f64,
}

/// An estimate with its interval (either end may be unbounded).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    /// Point estimate.
    pub estimate: f64,
    /// Lower end (`None`: unbounded).
    pub low: Option<f64>,
    /// Upper end (`None`: unbounded).
    pub high: Option<f64>,
}

impl Range {
    fn linear(e: &Estimate, a: f64, b: f64) -> Self {
        // a·x + b with a ≥ 0 keeps the order of the ends.
        Range {
            estimate: a * e.estimate + b,
            low: Some(a * e.ci_lower + b),
            high: Some(a * e.ci_upper + b),
        }
    }
}

/// A cohort's (or the whole population's) economics.
#[derive(Clone, Debug, PartialEq)]
pub struct Economics {
    /// Seats this group holds: the licensed seats times its share of the roster.
    pub seats: f64,
    /// Value of net time saved per user per month (net hours × hourly cost).
    pub value_per_user: Range,
    /// Seat price per net hour saved; `None` when the net estimate is not positive.
    pub cost_per_net_hour: Option<Range>,
    /// Return per seat: (value − price) / price.
    pub return_per_seat: Range,
    /// Net value across the group's seats per month: seats × (value − price).
    pub total_per_month: Range,
    /// The vendor's figure priced the same way: gross hours × hourly cost per user per month.
    pub vendor_value_per_user: Option<f64>,
    /// The vendor-implied return per seat.
    pub vendor_return_per_seat: Option<f64>,
    /// Right-sizing: the estimate's value is below the seat price.
    pub below_price: bool,
    /// The whole interval is below the price (clearly), rather than only the estimate.
    pub clearly_below_price: bool,
    /// Seat spend per month of the group (seats × price): the money a right-sizing decision involves.
    pub spend_per_month: f64,
}

/// Checks the assumptions: positive, finite, within sane bounds. Messages are for the admin's form.
pub fn check(a: &Assumptions) -> Result<(), (Assumption, String)> {
    let ok = |v: f64, hi: f64| v.is_finite() && v > 0.0 && v <= hi;
    if !ok(a.seat_price, 100_000.0) {
        return Err((
            Assumption::SeatPrice,
            "The seat price must be a positive amount per user per month.".into(),
        ));
    }
    if !ok(a.seats, 10_000_000.0) || a.seats.fract() != 0.0 {
        return Err((
            Assumption::Seats,
            "The seats licensed must be a whole number above zero.".into(),
        ));
    }
    if !ok(a.hourly_cost, 100_000.0) {
        return Err((
            Assumption::HourlyCost,
            "The hourly labor cost must be a positive amount.".into(),
        ));
    }
    Ok(())
}

/// The ISO 4217 codes of currencies in use (2025 list; funds, metals and test codes left out), sorted.
const CURRENCIES: [&str; 156] = [
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

/// Whether `code` (upper case) is the ISO 4217 code of a currency in use.
pub fn is_currency(code: &str) -> bool {
    CURRENCIES.binary_search(&code).is_ok()
}

/// Which of the [`Assumptions`] a refusal is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assumption {
    /// The seat price.
    SeatPrice,
    /// The seats licensed.
    Seats,
    /// The hourly labor cost.
    HourlyCost,
}

/// The economics of a group with net hours `net`, vendor gross hours `gross` (per user per month) and
/// `share` of the roster (1 for everyone).
pub fn economics(
    a: &Assumptions,
    net: &Estimate,
    gross: Option<&Estimate>,
    share: f64,
) -> Economics {
    let seats = a.seats * share;
    let value = Range::linear(net, a.hourly_cost, 0.0);
    let cost_per_net_hour = (net.estimate > 0.0).then(|| Range {
        estimate: a.seat_price / net.estimate,
        // Larger net → cheaper hour: the ends swap; a lower net end at or below zero is unbounded.
        low: (net.ci_upper > 0.0).then(|| a.seat_price / net.ci_upper),
        high: (net.ci_lower > 0.0).then(|| a.seat_price / net.ci_lower),
    });
    let return_per_seat = Range::linear(net, a.hourly_cost / a.seat_price, -1.0);
    let total = Range::linear(net, seats * a.hourly_cost, -seats * a.seat_price);
    let vendor_value = gross.map(|g| g.estimate * a.hourly_cost);
    Economics {
        seats,
        below_price: value.estimate < a.seat_price,
        clearly_below_price: value.high.is_some_and(|h| h < a.seat_price),
        value_per_user: value,
        cost_per_net_hour,
        return_per_seat,
        total_per_month: total,
        vendor_value_per_user: vendor_value,
        vendor_return_per_seat: vendor_value.map(|v| v / a.seat_price - 1.0),
        spend_per_month: seats * a.seat_price,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_are_iso_4217_codes_in_use() {
        assert!(
            CURRENCIES.windows(2).all(|w| w[0] < w[1]),
            "sorted for the search"
        );
        for c in ["USD", "EUR", "GBP", "JPY", "CHF", "INR", "ZAR"] {
            assert!(is_currency(c), "{c}");
        }
        for c in ["DOL", "USS", "XAU", "usd", "US", ""] {
            assert!(!is_currency(c), "{c}");
        }
    }

    fn est(estimate: f64, lo: f64, hi: f64) -> Estimate {
        Estimate {
            estimate,
            se: 0.5,
            df: 20.0,
            ci_lower: lo,
            ci_upper: hi,
            interval: None,
        }
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }

    /// Worked by hand: net 3.5 h [2.5, 4.5], gross 10 h, $80 an hour, $30 a seat, 1,000 seats, a cohort with
    /// 40% of the roster.
    #[test]
    fn the_worked_case_by_hand() {
        let a = Assumptions {
            seat_price: 30.0,
            seats: 1000.0,
            hourly_cost: 80.0,
        };
        let e = economics(&a, &est(3.5, 2.5, 4.5), Some(&est(10.0, 9.0, 11.0)), 0.4);
        close(e.seats, 400.0);
        // 3.5 × 80 = 280 [200, 360]
        close(e.value_per_user.estimate, 280.0);
        close(e.value_per_user.low.unwrap(), 200.0);
        close(e.value_per_user.high.unwrap(), 360.0);
        // 30 / 3.5 = 8.5714 [30/4.5 = 6.6667, 30/2.5 = 12]
        let c = e.cost_per_net_hour.unwrap();
        close(c.estimate, 30.0 / 3.5);
        close(c.low.unwrap(), 30.0 / 4.5);
        close(c.high.unwrap(), 12.0);
        // (280 − 30) / 30 = 8.3333 [5.6667, 11]
        close(e.return_per_seat.estimate, 250.0 / 30.0);
        close(e.return_per_seat.low.unwrap(), 170.0 / 30.0);
        close(e.return_per_seat.high.unwrap(), 11.0);
        // 400 × (280 − 30) = 100,000 [400 × 170 = 68,000, 400 × 330 = 132,000]
        close(e.total_per_month.estimate, 100_000.0);
        close(e.total_per_month.low.unwrap(), 68_000.0);
        close(e.total_per_month.high.unwrap(), 132_000.0);
        // The vendor's 10 h priced the same: 800 a user, a return of 25.67 per seat.
        close(e.vendor_value_per_user.unwrap(), 800.0);
        close(e.vendor_return_per_seat.unwrap(), 770.0 / 30.0);
        assert!(!e.below_price && !e.clearly_below_price);
        close(e.spend_per_month, 12_000.0);
    }

    #[test]
    fn a_cohort_worth_less_than_its_seat_is_flagged_and_a_non_positive_net_has_no_cost_per_hour() {
        let a = Assumptions {
            seat_price: 30.0,
            seats: 200.0,
            hourly_cost: 60.0,
        };
        // 0.3 h × 60 = 18 < 30, interval [−0.2, 0.8] × 60 = [−12, 48] straddles the price.
        let e = economics(&a, &est(0.3, -0.2, 0.8), None, 1.0);
        assert!(e.below_price && !e.clearly_below_price);
        let c = e.cost_per_net_hour.unwrap();
        close(c.estimate, 100.0);
        assert_eq!(
            c.high, None,
            "a lower end at or below zero leaves the cost unbounded"
        );
        close(c.low.unwrap(), 30.0 / 0.8);
        // [0.1, 0.4] × 60 = [6, 24]: all below 30.
        assert!(economics(&a, &est(0.25, 0.1, 0.4), None, 1.0).clearly_below_price);
        assert_eq!(
            economics(&a, &est(-0.5, -1.0, 0.1), None, 1.0).cost_per_net_hour,
            None
        );
        assert_eq!(e.vendor_value_per_user, None);
    }

    #[test]
    fn bad_assumptions_are_refused() {
        let good = Assumptions {
            seat_price: 30.0,
            seats: 100.0,
            hourly_cost: 50.0,
        };
        assert!(check(&good).is_ok());
        for bad in [
            Assumptions {
                seat_price: 0.0,
                ..good
            },
            Assumptions {
                seats: 10.5,
                ..good
            },
            Assumptions {
                hourly_cost: f64::NAN,
                ..good
            },
            Assumptions {
                seat_price: -3.0,
                ..good
            },
        ] {
            assert!(check(&bad).is_err(), "{bad:?}");
        }
    }
}
