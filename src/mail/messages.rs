//! The rendered email (`Letter`) and the staff invitation's text (`templates/email/`). Participants' emails
//! are each study's editable texts (`crate::messages`), filled when they are sent; every one ends with whom
//! to ask about one's data, when the study or the organisation names someone.
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
