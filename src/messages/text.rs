//! Pure text work on messages: finding placeholders, checking a text, filling it, the HTML part made from
//! the plain text, and checking a sender.
use super::{MessageKind, PLACEHOLDERS, Sender};
use crate::mail::messages::Letter;
use lettre::Address;
use lettre::message::Mailbox;
use std::collections::HashMap;

/// Longest subject, in characters.
pub const SUBJECT_MAX: usize = 150;
/// Shortest and longest body, in characters.
pub const BODY_LEN: (usize, usize) = (20, 5000);

/// The placeholders of a text in order: every `{name}` with `name` of lower-case letters and `_`.
/// Any other brace is plain text.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close)
                if close > 0
                    && close <= 40
                    && after[..close]
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_') =>
            {
                found.push(&after[..close]);
                rest = &after[close + 1..];
            }
            _ => rest = after,
        }
    }
    found
}

/// Replaces every known placeholder by its value; anything else is left as written.
pub fn fill(text: &str, values: &HashMap<&'static str, String>) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after
            .find('}')
            .and_then(|close| values.get(&after[..close]).map(|v| (close, v)))
        {
            Some((close, value)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn has_control(s: &str, allow_newlines: bool) -> bool {
    s.chars()
        .any(|c| c.is_control() && !(allow_newlines && matches!(c, '\n' | '\r' | '\t')))
}

/// Checks a message's subject and body as an admin typed them; the refusal says what to fix.
pub fn check(kind: MessageKind, subject: &str, body: &str) -> Result<(), String> {
    let subject = subject.trim();
    if subject.is_empty() {
        return Err("The subject is empty: write one.".into());
    }
    if subject.contains(['\r', '\n']) {
        return Err("The subject must be one line: remove the line break.".into());
    }
    if has_control(subject, false) || has_control(body, true) {
        return Err("The text contains a control character: remove it.".into());
    }
    if subject.chars().count() > SUBJECT_MAX {
        return Err(format!(
            "The subject has {} characters; at most {SUBJECT_MAX}.",
            subject.chars().count()
        ));
    }
    let n = body.trim().chars().count();
    if n < BODY_LEN.0 || n > BODY_LEN.1 {
        return Err(format!(
            "The body has {n} characters; it must have between {} and {}.",
            BODY_LEN.0,
            thousands(BODY_LEN.1)
        ));
    }
    for (part, text) in [("subject", subject), ("body", body)] {
        for name in placeholders(text) {
            let Some(p) = PLACEHOLDERS.iter().find(|p| p.name == name) else {
                return Err(format!(
                    "Unknown placeholder {{{name}}} in the {part}: use one from the list on this page."
                ));
            };
            if p.link && part == "subject" {
                return Err(format!(
                    "{{{name}}} is a link: it belongs in the body, not the subject."
                ));
            }
            if let Some(only) = p.only
                && !only.contains(&kind)
            {
                return Err(format!(
                    "{{{name}}} has no value in this message ({}): see the list on this page.",
                    kind.label()
                ));
            }
        }
    }
    if !placeholders(body).contains(&"link") {
        return Err(
            "The body must contain {link}: without it the person cannot reach their page.".into(),
        );
    }
    Ok(())
}

fn thousands(n: usize) -> String {
    crate::reports::text::thousands(n as i64)
}

/// Checks a sender form; returns it trimmed, or the refusal.
pub fn check_sender(s: &Sender) -> Result<Sender, (&'static str, String)> {
    let t = Sender {
        name: s.name.trim().to_string(),
        address: s.address.trim().to_string(),
        organisation: s.organisation.trim().to_string(),
        contact: s.contact.trim().to_string(),
    };
    for (field, label, value, max) in [
        ("sender_name", "The sender's name", &t.name, 80),
        ("sender_address", "The sender's address", &t.address, 254),
        (
            "sender_organisation",
            "The organisation",
            &t.organisation,
            120,
        ),
        ("sender_contact", "The contact line", &t.contact, 200),
    ] {
        if value.contains(['\r', '\n']) || has_control(value, false) {
            return Err((
                field,
                format!("{label} must be one line without control characters."),
            ));
        }
        if value.chars().count() > max {
            return Err((field, format!("{label} has more than {max} characters.")));
        }
    }
    if t.name.is_empty() {
        return Err((
            "sender_name",
            "The sender's name is empty: write one (e.g. the study team).".into(),
        ));
    }
    // Mail programs often show only the name: a name that reads as an address ("it-support@bank.example")
    // or carries angle brackets would pass the message off as coming from somewhere else.
    if let Some(c) = t.name.chars().find(|c| IMITATING.contains(c)) {
        return Err((
            "sender_name",
            format!(
                "The sender's name cannot contain \"{c}\": a name that looks like an address hides the real one. Write a name such as \"Study team, Example Corp\"."
            ),
        ));
    }
    mailbox(&t).map_err(|m| ("sender_address", m))?;
    Ok(t)
}

/// Characters that make a display name look like an address: `@`, angle brackets, and their look-alikes.
const IMITATING: [char; 9] = ['@', '＠', '﹫', '<', '>', '＜', '＞', '‹', '›'];

/// The From mailbox of a sender (name and address), as lettre parses an address.
pub fn mailbox(s: &Sender) -> Result<Mailbox, String> {
    let address: Address = s
        .address
        .parse()
        .map_err(|_| "The sender's address is not a valid email address.".to_string())?;
    Ok(Mailbox::new(Some(s.name.clone()), address))
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One line of text as HTML: escaped, with every http(s) address made a link.
fn line_html(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = ["https://", "http://"]
        .iter()
        .filter_map(|p| rest.find(p))
        .min()
    {
        out.push_str(&escape(&rest[..at]));
        let tail = &rest[at..];
        let mut len = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
            .unwrap_or(tail.len());
        // A sentence's full stop or comma after a link is not part of it (all ASCII: byte steps are safe).
        while tail[..len].ends_with(['.', ',', ';', ':', ')', '!', '?']) {
            len -= 1;
        }
        let url = escape(&tail[..len]);
        out.push_str(&format!("<a href=\"{url}\">{url}</a>"));
        rest = &tail[len..];
    }
    out.push_str(&escape(rest));
    out
}

/// The paragraphs of the HTML part: escaped, one `<p>` per blank-line block, line breaks kept, addresses
/// as links. Every character of `text` is escaped, so a page may show the result as HTML.
pub fn html_paragraphs(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let lines: Vec<String> = p.lines().map(line_html).collect();
            format!("<p>{}</p>", lines.join("<br>\n"))
        })
        .collect();
    paragraphs.join("\n")
}

/// The HTML part made from the plain text (`html_paragraphs` in a minimal document).
pub fn html_of(text: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><body style=\"font-family: system-ui, sans-serif; line-height: 1.5; color: #1d2430;\">\n{}\n</body></html>\n",
        html_paragraphs(text)
    )
}

/// A message ready to send: the filled subject and body, then the withdraw line (unless the body has
/// `{withdraw_link}`) and whom to ask about one's data; the HTML part made from that text.
pub fn letter(
    subject: &str,
    body: &str,
    values: &HashMap<&'static str, String>,
    privacy: Option<&str>,
) -> Letter {
    let subject = fill(subject.trim(), values).replace(['\r', '\n'], " ");
    let mut text = fill(body.trim(), values);
    if !placeholders(body).contains(&"withdraw_link")
        && let Some(w) = values.get("withdraw_link")
    {
        text.push_str(&format!("\n\nLeave the study and stop all emails: {w}"));
    }
    if let Some(contact) = privacy {
        text.push_str(&format!("\n\nQuestions about your data: {contact}"));
    }
    text.push('\n');
    let html = html_of(&text);
    Letter {
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> HashMap<&'static str, String> {
        HashMap::from([
            ("study", "Wave <1>".to_string()),
            ("link", "https://x.example/p/abc".to_string()),
            (
                "withdraw_link",
                "https://x.example/p/abc/withdraw".to_string(),
            ),
            ("diary_target", "7".to_string()),
        ])
    }

    #[test]
    fn placeholders_are_found_and_other_braces_are_text() {
        assert_eq!(
            placeholders("Hi {study}, {not one} {} {link}{x_y}"),
            ["study", "link", "x_y"]
        );
        assert_eq!(fill("{study} {x} {", &values()), "Wave <1> {x} {");
    }

    #[test]
    fn a_text_is_checked_before_it_is_saved() {
        let ok = "Log {diary_target} tasks here: {link}";
        assert!(check(MessageKind::Invitation, "Hello {study}", ok).is_ok());
        let refused = |s: &str, b: &str| check(MessageKind::Invitation, s, b).unwrap_err();
        assert!(refused("", ok).contains("subject is empty"));
        assert!(refused("a\r\nBcc: x@y.z", ok).contains("one line"));
        assert!(refused(&"x".repeat(151), ok).contains("at most 150"));
        assert!(refused("Hi", "Log tasks here please: none").contains("{link}"));
        assert!(refused("Hi {name}", ok).contains("Unknown placeholder {name}"));
        assert!(refused("Hi {link}", ok).contains("belongs in the body"));
        assert!(refused("Hi", "Before {until}: {link} ok ok ok").contains("no value"));
        assert!(refused("Hi", &format!("{{link}} {}", "x".repeat(5000))).contains("5,000"));
        assert!(check(MessageKind::Ping, "Hi", "Before {until}: {link} ok").is_ok());
    }

    #[test]
    fn the_html_part_is_escaped_with_paragraphs_and_links() {
        let l = letter(
            "Hi {study}",
            "Dear <you> & co,\nline two\n\nGo: {link}.",
            &values(),
            Some("DPO, dpo@example.org"),
        );
        assert_eq!(l.subject, "Hi Wave <1>");
        assert!(
            l.text.contains("Go: https://x.example/p/abc.\n"),
            "{}",
            l.text
        );
        assert!(
            l.text
                .contains("Leave the study and stop all emails: https://x.example/p/abc/withdraw")
        );
        assert!(
            l.text
                .trim_end()
                .ends_with("Questions about your data: DPO, dpo@example.org")
        );
        assert!(
            l.html
                .contains("<p>Dear &lt;you&gt; &amp; co,<br>\nline two</p>"),
            "{}",
            l.html
        );
        assert!(
            l.html.contains(
                "Go: <a href=\"https://x.example/p/abc\">https://x.example/p/abc</a>.</p>"
            ),
            "{}",
            l.html
        );
    }

    #[test]
    fn a_sender_is_one_line_with_a_real_address() {
        let s = |name: &str, address: &str| Sender {
            name: name.into(),
            address: address.into(),
            ..Default::default()
        };
        assert!(check_sender(&s("Study team", "study@example.org")).is_ok());
        assert!(check_sender(&s("Study\r\nBcc: a@b.c", "study@example.org")).is_err());
        assert!(check_sender(&s("Study", "study@example.org\nBcc: a@b.c")).is_err());
        assert!(check_sender(&s("Study", "not an address")).is_err());
        assert!(check_sender(&s("", "study@example.org")).is_err());
        // A name that reads as another address is refused, with its field.
        for name in [
            "it-support@bank.example",
            "IT Support <it@bank.example>",
            "it＠bank.example",
            "Payroll ‹payroll›",
        ] {
            let (field, why) = check_sender(&s(name, "study@example.org")).unwrap_err();
            assert_eq!(field, "sender_name", "{name}");
            assert!(why.contains("looks like an address"), "{why}");
        }
        assert_eq!(
            check_sender(&s("Study", "not an address")).unwrap_err().0,
            "sender_address"
        );
        assert!(check_sender(&s("Study team, Example Corp (HR)", "study@example.org")).is_ok());
        let m = mailbox(&s("Team \"A\"", "a@example.org")).unwrap();
        assert_eq!(m.email.to_string(), "a@example.org");
    }
}
