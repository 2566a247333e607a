//! Report rules: the main sample's totals read for analysis, and the renewal assumptions checked and saved.
use super::compute::{Audience, compute};
use super::service_cache::{Figures, What};
use super::{economics, repo};
use crate::error::Result;
use crate::roster::service as roster_service;
use crate::state::AppState;
use crate::stats::input::{Inputs, Totals};
use crate::study::StudyId;
use std::sync::Arc;

/// The main sample's per-participant totals (consented participants only; the pilot group is kept apart),
/// with the compliance rule applied, and the roster size per cohort.
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn study_inputs(state: &AppState, study: StudyId, min_compliance: f64) -> Result<Inputs> {
    let s = crate::study::service::get(state, study).await?;
    let bands = roster_service::bands(&s);
    let rows = repo::participant_totals(&state.pool, study).await?;
    let totals: Vec<Totals> = rows
        .into_iter()
        .map(|r| Totals {
            tenure: match (r.hire_date, r.tenure_band) {
                (Some(d), _) => bands.band_for(d, s.start_date),
                (None, Some(b)) => b,
                (None, None) => "unknown".into(),
            },
            id: r.employee_id,
            cohort: r.cohort.unwrap_or_else(|| "light".into()),
            function: r.function,
            gross_hours: r.gross_hours_month.unwrap_or(0.0),
            n_tasks: r.n_tasks as f64,
            used_tasks: r.used_tasks as f64,
            delivered: r.delivered as f64,
            valid: r.answered as f64,
            used_pings: r.used_pings as f64,
            oversight_min: (r.verification + r.correction + r.context + r.trust) as f64,
            oversight_by_category: [
                r.verification as f64,
                r.correction as f64,
                r.context as f64,
                r.trust as f64,
            ],
        })
        .collect();
    let populations = repo::cohort_sizes(&state.pool, study)
        .await?
        .into_iter()
        .map(|(c, n)| (c, n as f64))
        .collect();
    Ok(Inputs::split(totals, populations, min_compliance))
}

/// The participants under `min_compliance` and everything computed from them, for `audience`: a reader who
/// is not an admin sees only the breakdowns the raw files carry (see [`Audience`]); the ones withheld are
/// named. When the rows can't carry the cohort, no non-admin gets a raw file (`export::service::file`
/// refuses it), so nothing is withheld.
/// Reused until the study's data changes (see [`super::service_cache`]).
pub async fn computed_for(
    state: &AppState,
    study: StudyId,
    min_compliance: f64,
    with_bootstrap: bool,
    audience: Audience,
) -> Result<Figures> {
    let what = What::Figures(min_compliance, with_bootstrap, audience);
    // The version is read before the data, so an entry is never newer than its version says.
    let version = repo::data_version(&state.pool, study).await?;
    if let Some(figures) = state.reports.get::<Figures>(study, what, version) {
        return Ok((*figures).clone());
    }
    let figures =
        Arc::new(compute_for(state, study, min_compliance, with_bootstrap, audience).await?);
    state.reports.put(study, what, version, figures.clone());
    Ok(Arc::unwrap_or_clone(figures))
}

/// The readout's compliance by day (day, people, delivered, answered), days in a zone `offset_minutes`
/// from UTC; reused until the study's data changes.
pub async fn compliance_by_day(
    state: &AppState,
    study: StudyId,
    offset_minutes: i64,
) -> Result<Vec<(String, i64, i64, i64)>> {
    let what = What::DailyCompliance(offset_minutes);
    let version = repo::data_version(&state.pool, study).await?;
    if let Some(days) = state.reports.get::<Vec<_>>(study, what, version) {
        return Ok((*days).clone());
    }
    let days = Arc::new(repo::compliance_by_day(&state.pool, study, offset_minutes).await?);
    state.reports.put(study, what, version, days.clone());
    Ok(Arc::unwrap_or_clone(days))
}

async fn compute_for(
    state: &AppState,
    study: StudyId,
    min_compliance: f64,
    with_bootstrap: bool,
    audience: Audience,
) -> Result<Figures> {
    let level = crate::stats::LEVEL;
    if audience == Audience::Aggregates {
        let inputs = study_inputs(state, study, min_compliance).await?;
        let computed = compute(inputs.clone(), level, with_bootstrap).await?;
        return Ok((inputs, computed, vec![]));
    }
    let everyone = study_inputs(state, study, 0.0).await?;
    let inputs = everyone.with_min_compliance(min_compliance);
    let mut computed = compute(inputs.clone(), level, with_bootstrap).await?;
    let rule = crate::stats::MIN_COMPLIANCE;
    let k = state.config.min_cell_size;
    let columns = if (min_compliance - rule).abs() < 1e-12 {
        crate::export::service::raw_columns(&everyone, &computed, k)
    } else {
        let at_rule = compute(everyone.with_min_compliance(rule), level, false).await?;
        crate::export::service::raw_columns(&everyone, &at_rule, k)
    };
    let withheld = if columns.cohort {
        computed.withhold(&columns)
    } else {
        vec![]
    };
    Ok((inputs, computed, withheld))
}

/// Why a breakdown is missing for a data analyst, or `None` when nothing is withheld.
pub fn withheld_note(withheld: &[&str]) -> Option<String> {
    if withheld.is_empty() {
        return None;
    }
    Some(format!(
        "Breakdowns by {} are not shown for this study: its pseudonymous raw files leave {} out (some groups are too small), and next to exact group figures the rows would let someone put {} back on a participant. Only admins see them.",
        withheld.join(" and "),
        if withheld.len() == 1 {
            "that column"
        } else {
            "those columns"
        },
        if withheld.len() == 1 { "it" } else { "them" },
    ))
}

/// A number as a person types it: commas only as thousands separators ("1,000" or "12,500.50"); a comma
/// anywhere else ("29,99") is refused rather than guessed at.
fn number(v: &str, field: &'static str, what: &str) -> Result<f64> {
    let v = v.trim();
    let bad = || {
        crate::error::AppError::field(
            field,
            format!(
                "{what} must be a number such as 1200 or 1,200.50 (a comma only between thousands)."
            ),
        )
    };
    let plain = if v.contains(',') {
        let whole = v.split('.').next().unwrap_or("");
        let groups: Vec<&str> = whole.split(',').collect();
        let grouped = groups.len() > 1
            && (1..=3).contains(&groups[0].trim_start_matches('-').len())
            && groups[1..].iter().all(|g| g.len() == 3)
            && groups.iter().all(|g| {
                g.trim_start_matches('-')
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            });
        if !grouped {
            return Err(bad());
        }
        v.replace(',', "")
    } else {
        v.to_string()
    };
    plain.parse::<f64>().map_err(|_| bad())
}

/// Validates and saves a study's renewal assumptions (seat price, seats, hourly cost, currency), audited.
#[tracing::instrument(skip_all, fields(study = study.0))]
pub async fn set_economics(
    state: &AppState,
    actor: &crate::audit::Actor,
    study: StudyId,
    [price, seats, cost, currency]: [&str; 4],
) -> Result<()> {
    use crate::error::AppError;
    let a = economics::Assumptions {
        seat_price: number(price, "e-price", "The seat price")?,
        seats: if seats.contains('.') {
            return Err(AppError::field(
                "e-seats",
                "The seats licensed must be a whole number, without a decimal point.",
            ));
        } else {
            number(seats, "e-seats", "The seats licensed")?
        },
        hourly_cost: number(cost, "e-cost", "The hourly labor cost")?,
    };
    economics::check(&a).map_err(|(which, m)| {
        use economics::Assumption;
        let field = match which {
            Assumption::SeatPrice => "e-price",
            Assumption::Seats => "e-seats",
            Assumption::HourlyCost => "e-cost",
        };
        AppError::field(field, m)
    })?;
    let currency = currency.trim().to_ascii_uppercase();
    if !economics::is_currency(&currency) {
        return Err(AppError::field(
            "e-cur",
            "The currency must be the three-letter ISO 4217 code of a currency, such as USD or EUR.",
        ));
    }
    let now = state.clock.now();
    let mut tx = crate::db::begin_write(&state.pool).await?;
    if crate::study::repo::get(&mut *tx, study).await?.is_none() {
        return Err(AppError::NotFound);
    }
    repo::set_economics(
        &mut tx,
        study,
        (a.seat_price, a.seats as i64, a.hourly_cost, &currency),
        actor.user_id,
        now,
    )
    .await?;
    crate::audit::record(
        &mut tx,
        now,
        actor,
        "economics.set",
        Some(study.0),
        &format!(
            "seat {currency} {} per user per month, {} seats, labor {currency} {} per hour",
            a.seat_price, a.seats, a.hourly_cost
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn commas_are_thousands_separators_or_refused() {
        assert_eq!(number("1,000", "e-price", "x").unwrap(), 1000.0);
        assert_eq!(number(" 12,500.50 ", "e-price", "x").unwrap(), 12500.5);
        assert_eq!(number("39", "e-price", "x").unwrap(), 39.0);
        for bad in ["29,99", "1,00", "1.000,5", ",100", "1,,000", "abc", ""] {
            assert!(number(bad, "e-price", "The seat price").is_err(), "{bad:?}");
        }
    }
}
