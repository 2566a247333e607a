//! Where every email's text is written: subject lines here, bodies in `templates/email/` (text and HTML).
//! Every email ends with whom to ask about one's data (`privacy`), when the study or the organisation names someone.
use askama::Template;

/// A rendered email: subject, plain text and HTML.
pub struct Letter {
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

#[derive(Template)]
#[template(path = "email/invitation.txt")]
struct InvitationText<'a> {
    study: &'a str,
    link: &'a str,
    withdraw: &'a str,
    control: bool,
    privacy: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "email/invitation.html")]
struct InvitationHtml<'a> {
    study: &'a str,
    link: &'a str,
    withdraw: &'a str,
    control: bool,
    privacy: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "email/ping.txt")]
struct PingText<'a> {
    study: &'a str,
    link: &'a str,
    withdraw: &'a str,
    until: &'a str,
    privacy: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "email/ping.html")]
struct PingHtml<'a> {
    study: &'a str,
    link: &'a str,
    withdraw: &'a str,
    until: &'a str,
    privacy: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "email/reminder.txt")]
struct ReminderText<'a> {
    study: &'a str,
    reason: &'a str,
    link: &'a str,
    withdraw: &'a str,
    privacy: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "email/reminder.html")]
struct ReminderHtml<'a> {
    study: &'a str,
    reason: &'a str,
    link: &'a str,
    withdraw: &'a str,
    privacy: Option<&'a str>,
}

/// The invitation (to the copilot diary and pings, or with `control` to the control group's task log).
pub fn invitation(
    study: &str,
    link: &str,
    withdraw: &str,
    control: bool,
    privacy: Option<&str>,
) -> askama::Result<Letter> {
    Ok(Letter {
        subject: format!("You are invited: {study} (a few minutes a week)"),
        text: InvitationText {
            study,
            link,
            withdraw,
            control,
            privacy,
        }
        .render()?,
        html: InvitationHtml {
            study,
            link,
            withdraw,
            control,
            privacy,
        }
        .render()?,
    })
}

/// A ping: answerable until `until` (HH:MM in the participant's time).
pub fn ping(
    study: &str,
    link: &str,
    withdraw: &str,
    until: &str,
    privacy: Option<&str>,
) -> askama::Result<Letter> {
    Ok(Letter {
        subject: format!("30-second check-in: {study}"),
        text: PingText {
            study,
            link,
            withdraw,
            until,
            privacy,
        }
        .render()?,
        html: PingHtml {
            study,
            link,
            withdraw,
            until,
            privacy,
        }
        .render()?,
    })
}

/// A reminder or an admin's nudge; `reason` follows "A reminder from <study>:".
pub fn reminder(
    study: &str,
    reason: &str,
    link: &str,
    withdraw: &str,
    privacy: Option<&str>,
) -> askama::Result<Letter> {
    Ok(Letter {
        subject: format!("Reminder: {study}"),
        text: ReminderText {
            study,
            reason,
            link,
            withdraw,
            privacy,
        }
        .render()?,
        html: ReminderHtml {
            study,
            reason,
            link,
            withdraw,
            privacy,
        }
        .render()?,
    })
}

#[derive(Template)]
#[template(path = "email/staff_invite.txt")]
struct StaffInviteText<'a> {
    link: &'a str,
    role: &'a str,
    days: i64,
}

#[derive(Template)]
#[template(path = "email/staff_invite.html")]
struct StaffInviteHtml<'a> {
    link: &'a str,
    role: &'a str,
    days: i64,
}

/// A staff member's invitation: `link` lets them choose a password, once, within `days` days.
pub fn staff_invite(link: &str, role: &str, days: i64) -> askama::Result<Letter> {
    Ok(Letter {
        subject: "Your Layer 2 Study staff account".into(),
        text: StaffInviteText { link, role, days }.render()?,
        html: StaffInviteHtml { link, role, days }.render()?,
    })
}
