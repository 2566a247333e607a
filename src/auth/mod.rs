//! Staff accounts: roles, passwords, sessions, login throttling, CSRF and the extractors that check them.
pub mod extract;
pub mod password;
pub mod repo;
pub mod service;
pub mod token;

use std::fmt;
use std::str::FromStr;

/// A staff account's database id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type, serde::Serialize)]
#[sqlx(transparent)]
pub struct UserId(pub i64);

/// What a staff member may do; stored as `admin` or `analyst` (a CHECK constraint keeps it so).
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "TEXT", rename_all = "lowercase")]
pub enum Role {
    /// Schedules and changes studies.
    Admin,
    /// Reads and exports.
    Analyst,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "analyst" => Ok(Role::Analyst),
            other => Err(format!("role must be admin or analyst, not {other:?}")),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A syntactically valid, lower-cased email address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Checks the shape of an address (one `@`, a dotted domain, no spaces) and lower-cases it.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let ok = s.len() <= 254
            && !s.chars().any(char::is_whitespace)
            && s.split('@').count() == 2
            && s.split_once('@').is_some_and(|(l, d)| {
                !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
            });
        if ok {
            Ok(Self(s.to_lowercase()))
        } else {
            Err("enter a valid email address".into())
        }
    }
    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets the policy; the text itself is never logged or printed.
pub struct NewPassword(String);

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted (refused, never truncated): bounds the work one request can cause.
pub const MAX_PASSWORD_BYTES: usize = 1024;

impl NewPassword {
    /// Applies the policy for the account `email`: length, not a common password (after normalising: see
    /// [`password::is_common`]), and not containing the account's email, its local part or a part of it
    /// (the name, as in `ada.lovelace@…`), also with substitutions such as `0` for `o` undone.
    pub fn parse(s: String, email: &Email) -> Result<Self, String> {
        if s.chars().count() < MIN_PASSWORD_CHARS {
            return Err(format!(
                "the password must have at least {MIN_PASSWORD_CHARS} characters"
            ));
        }
        if s.len() > MAX_PASSWORD_BYTES {
            return Err(format!(
                "the password must be at most {MAX_PASSWORD_BYTES} bytes long"
            ));
        }
        if password::is_common(&s) {
            return Err(
                "this password is on a list of commonly used passwords; choose another".into(),
            );
        }
        if account_words(email).any(|w| password::contains_word(&s, w)) {
            return Err("the password must not contain your email address or name".into());
        }
        Ok(Self(s))
    }

    /// A password published with the demo (its accounts' passwords contain their names): the demo's
    /// logins are public, so the policy has nothing to protect there.
    pub(crate) fn published_demo_password(s: &'static str) -> Self {
        Self(s.to_string())
    }

    /// The password text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// What a password may not contain for this account: the address, its local part and the parts of the
/// local part of at least 3 characters (`ada.lovelace` gives `ada` and `lovelace`).
fn account_words(email: &Email) -> impl Iterator<Item = &str> {
    let local = email.as_str().split('@').next().unwrap_or_default();
    [email.as_str(), local]
        .into_iter()
        .chain(local.split(['.', '_', '-', '+']))
        .filter(|w| w.chars().count() >= 3)
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_lowercased() {
        assert_eq!(
            Email::parse(" Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@x.org",
            "a b@x.org",
            "a@b@x.org",
            "ada@localhost",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn short_and_huge_passwords_are_refused_not_truncated() {
        let ada = Email::parse("ada@example.org").unwrap();
        assert!(NewPassword::parse("short".into(), &ada).is_err());
        assert!(NewPassword::parse("x".repeat(MAX_PASSWORD_BYTES + 1), &ada).is_err());
        assert!(NewPassword::parse("correct horse battery".into(), &ada).is_ok());
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        let ada = Email::parse("ada@example.org").unwrap();
        for common in [
            "password1234",
            "123456789012",
            "PassWord1234",
            "QWERTYUIOP12",
        ] {
            let e = NewPassword::parse(common.into(), &ada).unwrap_err();
            assert!(e.contains("commonly used"), "{common}: {e}");
        }
    }

    #[test]
    fn passwords_with_the_accounts_email_or_name_are_refused() {
        let ada = Email::parse("Ada.Lovelace@Example.org").unwrap();
        for bad in [
            "ada.lovelace@example.org",
            "my name is LOVELACE!",
            "ada.lovelace rules",
            "hello ada, it is me",
        ] {
            let e = NewPassword::parse(bad.into(), &ada).unwrap_err();
            assert!(e.contains("email address or name"), "{bad}: {e}");
        }
        // Parts shorter than three characters are not words to avoid.
        let jo = Email::parse("jo.x@example.org").unwrap();
        assert!(NewPassword::parse("a job well done today".into(), &jo).is_ok());
    }
}
