//! The participants' rules and transactions, one file per concept; the functions are re-exported here.
mod collection;
mod consent;
mod erasure;
mod home;
mod instrument;
mod invitation;
mod links;
mod progress;
mod reminders;

pub use collection::{Collection, collection, counts};
pub use consent::{
    CONSENT_METHOD, Leaving, NoticeLines, Seen, Shown, decide, notice, preview, remove, shown,
    shown_sha256, withdraw,
};
pub use erasure::{Erased, ErasureKey, erase, erase_by_key, erased_count, participant_actor};
pub use home::{Home, consent_wording, home};
pub use instrument::{
    InstrumentForm, SettingsForm, current_categories, edit_instrument, edit_settings, instrument,
    wording_and_settings,
};
pub use invitation::{CONTROL_BATCH_MAX, check_control, invite, invite_control, invite_label};
pub use links::{
    BAD_LINK_LIMIT, LinkCheck, PAGE_LINK_GRACE_DAYS, PING_LINK_GRACE_MINUTES, check_link, new_link,
    open_link, page_link_expires, page_link_expiry, ping_link_expiry, redate_page_links,
    redate_unconsented_links,
};
pub use progress::{
    AdminDashboard, BandLine, CohortLine, PEOPLE_PER_PAGE, PeopleFilter, PeoplePage, PeopleView,
    PersonSummary, Progress, SORTS, admin_dashboard, admin_progress, people, people_view, person,
    progress,
};
pub use reminders::{NUDGE_GAP_HOURS, next_reminder, nudge, reminder_tick};

use super::repo::ParticipantRow;
use chrono::{DateTime, NaiveDate, Utc};

/// The participant's local date today.
pub fn local_today(p: &ParticipantRow, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&p.tz()).date_naive()
}
