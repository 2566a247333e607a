//! Magic links: minting one (only its hash is stored, always with an expiry), opening one, and slowing down
//! whoever guesses them.
use crate::auth::token::{hash_token, looks_like_token, new_token, throttle_key};
use crate::db::begin_write;
use crate::error::Result;
use crate::participants::repo::{self, LinkHorizon, ParticipantRow};
use crate::state::AppState;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sqlx::SqliteConnection;
use std::net::IpAddr;

/// Minutes a ping link keeps working after the ping's answer window closes: long enough to read the
/// "check-in closed" page and the participant's own page behind it, short enough that an old ping email
/// is no key to anything.
pub const PING_LINK_GRACE_MINUTES: i64 = 30;

/// Days an invitation, reminder or nudge link keeps working after the participant's diary and ping week are
/// over (or, before they consent, after the collection phase ends): a week to look at or correct what they
/// logged, and to leave; after that the study has nothing more to ask of them.
pub const PAGE_LINK_GRACE_DAYS: i64 = 7;

/// When a ping link stops working: the ping's answer window plus the grace.
pub fn ping_link_expiry(ping_closes: DateTime<Utc>) -> DateTime<Utc> {
    ping_closes + Duration::minutes(PING_LINK_GRACE_MINUTES)
}

/// The first moment after `day` in `tz` (the end of that local day).
fn end_of_day(day: NaiveDate, tz: chrono_tz::Tz) -> DateTime<Utc> {
    let next = day
        .succ_opt()
        .unwrap_or(day)
        .and_time(chrono::NaiveTime::MIN);
    next.and_local_timezone(tz)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| next.and_utc())
}

/// When a link to a participant's page stops working: after a consent, the end of their diary or their last
/// ping's window, whichever is later; before one (or after a decline, which may still become a consent), the
/// end of the study's collection phase. Then the grace. Without any of those dates: `now` plus the grace.
pub fn page_link_expires(h: &LinkHorizon, now: DateTime<Utc>) -> DateTime<Utc> {
    let diary = h
        .diary_closes_on
        .filter(|_| h.consented)
        .map(|d| end_of_day(d, crate::clock::zone(&h.time_zone)));
    let end = match diary {
        Some(d) => d.max(h.last_ping_closes.unwrap_or(d)),
        None => h
            .collection_ends_on
            .map(|d| end_of_day(d, crate::clock::zone(&h.study_time_zone)))
            .unwrap_or(now),
    };
    end + Duration::days(PAGE_LINK_GRACE_DAYS)
}

/// When a page link minted now for `participant` stops working.
pub async fn page_link_expiry(
    conn: &mut SqliteConnection,
    participant: i64,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>> {
    Ok(match repo::link_horizon(conn, participant).await? {
        Some(h) => page_link_expires(&h, now),
        None => now,
    })
}

/// After a consent the participant's page links (the invitation they consented with) expire with their
/// diary and ping week instead of the collection phase. Call after the ping week is laid out.
pub async fn redate_page_links(
    conn: &mut SqliteConnection,
    participant: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let expires = page_link_expiry(conn, participant, now).await?;
    repo::redate_page_links(conn, participant, expires).await?;
    Ok(())
}

/// After the study's timeline moved: the page links of everyone who has not consented expire with the new
/// collection phase (plus the grace), as if they had been minted now.
pub async fn redate_unconsented_links(
    conn: &mut SqliteConnection,
    study: crate::study::StudyId,
    now: DateTime<Utc>,
) -> Result<()> {
    for participant in repo::unconsented(conn, study).await? {
        redate_page_links(conn, participant, now).await?;
    }
    Ok(())
}

/// Bad links allowed per client address within 15 minutes before bad links get 429 (good links still work).
pub const BAD_LINK_LIMIT: usize = 30;

/// Stores a fresh link for a participant (for a ping, or to their page) and returns it with its
/// leave-the-study twin: (link, withdraw link). Called only while an email is being sent: the token lives in
/// that email and nowhere else.
pub async fn new_link(
    conn: &mut SqliteConnection,
    base_url: &str,
    participant: i64,
    ping: Option<i64>,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(String, String)> {
    let token = new_token();
    repo::insert_link(
        conn,
        &hash_token(&token),
        participant,
        ping,
        now,
        expires_at,
    )
    .await?;
    let link = format!("{base_url}/p/{token}");
    let withdraw = format!("{link}/withdraw");
    Ok((link, withdraw))
}

/// Finds the participant behind a magic link; malformed, unknown and expired links are all `None`.
pub async fn open_link(state: &AppState, token: &str) -> Result<Option<ParticipantRow>> {
    if !looks_like_token(token) {
        return Ok(None);
    }
    Ok(repo::by_link(&state.pool, &hash_token(token), state.clock.now()).await?)
}

/// What a link turned out to be.
pub enum LinkCheck {
    /// A working link, and whose it is.
    Valid(Box<ParticipantRow>),
    /// Malformed, unknown, expired: all look the same.
    Bad,
    /// Too many bad links from this client lately.
    Throttled,
}

/// Opens a link for a client; bad links are counted per client address (the one login uses, so a proxy's
/// `X-Forwarded-For` counts when configured) and slow a guesser down without ever refusing a valid link.
#[tracing::instrument(skip_all)]
pub async fn check_link(state: &AppState, token: &str, client: IpAddr) -> Result<LinkCheck> {
    if let Some(p) = open_link(state, token).await? {
        return Ok(LinkCheck::Valid(Box::new(p)));
    }
    let now = state.clock.now();
    let key = throttle_key(&format!("badlink:{client}"));
    let mut tx = begin_write(&state.pool).await?;
    let recent =
        crate::auth::repo::failures_since(&mut tx, &key, now - Duration::minutes(15)).await?;
    if recent.len() >= BAD_LINK_LIMIT {
        tx.commit().await?;
        return Ok(LinkCheck::Throttled);
    }
    crate::auth::repo::insert_failure(&mut tx, &key, now).await?;
    tx.commit().await?;
    Ok(LinkCheck::Bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn horizon(consented: bool) -> LinkHorizon {
        LinkHorizon {
            consented,
            diary_closes_on: NaiveDate::from_ymd_opt(2027, 1, 17),
            time_zone: "America/New_York".into(),
            last_ping_closes: Some(Utc.with_ymd_and_hms(2027, 1, 12, 21, 0, 0).unwrap()),
            collection_ends_on: NaiveDate::from_ymd_opt(2027, 2, 28),
            study_time_zone: "Europe/London".into(),
        }
    }

    #[test]
    fn a_page_link_ends_a_week_after_the_diary_or_before_consent_after_the_collection() {
        let now = Utc.with_ymd_and_hms(2027, 1, 4, 9, 0, 0).unwrap();
        // The diary's last day ends at midnight New York time (05:00 UTC), then seven days.
        assert_eq!(
            page_link_expires(&horizon(true), now),
            Utc.with_ymd_and_hms(2027, 1, 25, 5, 0, 0).unwrap()
        );
        assert_eq!(
            page_link_expires(&horizon(false), now),
            Utc.with_ymd_and_hms(2027, 3, 8, 0, 0, 0).unwrap()
        );
        let mut late_ping = horizon(true);
        late_ping.last_ping_closes = Some(Utc.with_ymd_and_hms(2027, 1, 20, 12, 0, 0).unwrap());
        assert_eq!(
            page_link_expires(&late_ping, now),
            Utc.with_ymd_and_hms(2027, 1, 27, 12, 0, 0).unwrap()
        );
        assert_eq!(
            ping_link_expiry(now),
            Utc.with_ymd_and_hms(2027, 1, 4, 9, 30, 0).unwrap()
        );
    }
}
