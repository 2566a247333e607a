//! A collection-phase study for the benchmarks: consented participants with a stored week of pings each
//! and, on request, a sent first ping with a link token. The study and roster go through the service
//! functions; there is no public "seed participants" API, so the rest is written with plain SQL.
use super::err;
use chrono::{DateTime, Duration as TimeDelta, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use layer2::audit::Actor;
use layer2::auth::token::{hash_token, new_token};
use layer2::pings::schedule::{ScheduleSpec, participant_seed, ping_times};
use layer2::state::AppState;
use sqlx::{QueryBuilder, Sqlite};

/// Rows per multi-row INSERT while seeding (not timed).
pub const CHUNK: usize = 500;
/// The study's schedule seed (stored in collection_settings, so the stored pings are the app's own).
pub const STUDY_SEED: u64 = 2027;
pub const ZONES: [&str; 6] = [
    "Europe/London",
    "America/New_York",
    "Asia/Singapore",
    "Europe/Berlin",
    "America/Los_Angeles",
    "Australia/Sydney",
];
/// The minute every seeded ping falls due: Monday 2027-03-22 13:00 UTC.
pub fn due() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 22, 13, 0, 0).unwrap()
}

/// (participant, slot, due, expires, status, sent_at) of one stored ping.
pub type PingRowSeed = (
    i64,
    i64,
    DateTime<Utc>,
    DateTime<Utc>,
    &'static str,
    Option<DateTime<Utc>>,
);

/// First local day of the stored ping weeks (the day after `due()`, as consent on the Monday would give).
pub fn week_start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 3, 23).unwrap()
}

pub fn roster(n: usize) -> String {
    let functions = [
        "Engineering",
        "Sales",
        "Finance",
        "Support",
        "Marketing",
        "Operations",
    ];
    super::roster(n, &functions, &ZONES)
}

/// What `seed` wrote.
pub struct Seeded {
    /// Rows in `pings`.
    pub pings: usize,
    /// For each participant, a link token for their first ping and that ping's id (only when it was sent).
    pub links: Vec<(String, i64)>,
}

/// A study with `n` consented participants, each with a stored week of pings (15) whose first one is
/// moved to `due()`; that first ping is `sent` (with a fresh link token) when `first_sent`, else `scheduled`.
pub async fn seed(state: &AppState, n: usize, first_sent: bool) -> anyhow::Result<Seeded> {
    let study = super::study(state, "2027-03-01").await?;
    let id = study.id;
    let imported = layer2::roster::service::import_roster(
        state,
        &Actor::cli(),
        &study,
        "r.csv",
        roster(n).into_bytes(),
    )
    .await
    .map_err(err)?
    .map_err(|p| anyhow::anyhow!("{:?}", p.first().map(|x| x.to_string())))?;
    assert_eq!(imported, n);

    let at = due();
    let invited = at - TimeDelta::days(3);
    let consented = at - TimeDelta::days(1);
    let mut tx = layer2::db::begin_write(&state.pool).await?;
    layer2::participants::service::instrument(&mut tx, id, invited)
        .await
        .map_err(err)?;
    sqlx::query("INSERT INTO collection_settings (study_id, schedule_seed) VALUES (?, ?)")
        .bind(id)
        .bind(STUDY_SEED as i64)
        .execute(&mut *tx)
        .await?;
    let employees: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM employees WHERE study_id = ? ORDER BY id")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
    for chunk in employees.chunks(CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO sample_members (study_id, employee, role, invited_at) ",
        );
        q.push_values(chunk, |mut b, e| {
            b.push_bind(id)
                .push_bind(*e)
                .push_bind("main")
                .push_bind(invited);
        });
        q.build().execute(&mut *tx).await?;
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO participants (study_id, employee, role, invited_at, consent, consent_at, consent_version,
               diary_opens_on, diary_closes_on) ",
        );
        q.push_values(chunk, |mut b, e| {
            b.push_bind(id)
                .push_bind(*e)
                .push_bind("main")
                .push_bind(invited)
                .push_bind("accepted")
                .push_bind(consented)
                .push_bind(1i64)
                .push_bind(consented.date_naive())
                .push_bind(consented.date_naive() + TimeDelta::days(13));
        });
        q.build().execute(&mut *tx).await?;
    }
    let participants: Vec<(i64, String)> = sqlx::query_as(
        "SELECT p.id, e.time_zone FROM participants p JOIN employees e ON e.id = p.employee
         WHERE p.study_id = ? ORDER BY p.id",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    assert_eq!(participants.len(), n);

    let spec = ScheduleSpec::default();
    let expiry = TimeDelta::minutes(60);
    let mut rows: Vec<PingRowSeed> = Vec::with_capacity(n * 15);
    for (pid, zone) in &participants {
        let tz: Tz = zone.parse().map_err(err)?;
        let week = ping_times(
            &spec,
            tz,
            week_start(),
            7,
            participant_seed(STUDY_SEED, *pid),
        )
        .map_err(err)?;
        for s in week {
            assert!(s.at > at, "the rest of the week is after the due minute");
            if s.slot == 0 {
                let (status, sent) = if first_sent {
                    ("sent", Some(at))
                } else {
                    ("scheduled", None)
                };
                rows.push((*pid, 0, at, at + expiry, status, sent));
            } else {
                rows.push((*pid, s.slot.into(), s.at, s.at + expiry, "scheduled", None));
            }
        }
    }
    for chunk in rows.chunks(CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO pings (participant, slot, due_at, expires_at, status, sent_at) ",
        );
        q.push_values(chunk, |mut b, r| {
            b.push_bind(r.0)
                .push_bind(r.1)
                .push_bind(r.2)
                .push_bind(r.3)
                .push_bind(r.4)
                .push_bind(r.5);
        });
        q.build().execute(&mut *tx).await?;
    }

    let mut links = Vec::new();
    if first_sent {
        let first: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT g.id, g.participant FROM pings g JOIN participants p ON p.id = g.participant
             WHERE p.study_id = ? AND g.slot = 0 ORDER BY g.id",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let tokens: Vec<(String, i64, i64)> = first
            .into_iter()
            .map(|(ping, participant)| (new_token(), ping, participant))
            .collect();
        for chunk in tokens.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO link_tokens (token_hash, participant, ping, created_at, expires_at) ",
            );
            q.push_values(chunk, |mut b, (token, ping, participant)| {
                b.push_bind(hash_token(token))
                    .push_bind(*participant)
                    .push_bind(*ping)
                    .push_bind(at)
                    .push_bind(at + expiry + TimeDelta::days(30));
            });
            q.build().execute(&mut *tx).await?;
        }
        links = tokens.into_iter().map(|(t, ping, _)| (t, ping)).collect();
    }
    tx.commit().await?;
    Ok(Seeded {
        pings: rows.len(),
        links,
    })
}
