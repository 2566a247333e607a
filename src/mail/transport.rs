//! PLACEHOLDER until the real transport lands (same API): file and memory only.
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// One message to send.
#[derive(Clone, Debug)]
pub struct OutgoingEmail {
    /// Recipient.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
    /// Stable Message-ID without angle brackets.
    pub message_id: String,
}

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Retry later.
    Transient(String),
    /// Give up.
    Permanent(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Transient(m) | SendError::Permanent(m) => f.write_str(m),
        }
    }
}

/// A message the memory transport kept.
#[derive(Clone, Debug)]
pub struct SentEmail {
    /// Recipient.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Text.
    pub text: String,
    /// HTML.
    pub html: String,
    /// Message-ID.
    pub message_id: String,
}

/// Where mail goes.
pub enum Mailer {
    /// .eml files.
    File {
        /// Folder.
        dir: PathBuf,
    },
    /// Kept in memory.
    Memory {
        /// What was sent.
        sent: Arc<Mutex<Vec<SentEmail>>>,
    },
}

impl Mailer {
    /// From the config.
    pub fn from_config(
        _config: &crate::config::MailConfig,
        mail_dir: &Path,
    ) -> anyhow::Result<Mailer> {
        std::fs::create_dir_all(mail_dir)?;
        Ok(Mailer::File {
            dir: mail_dir.to_path_buf(),
        })
    }
    /// In memory.
    pub fn memory(_from: &str) -> (Mailer, Arc<Mutex<Vec<SentEmail>>>) {
        let sent = Arc::new(Mutex::new(Vec::new()));
        (Mailer::Memory { sent: sent.clone() }, sent)
    }
    /// Sends one message.
    pub async fn send(&self, email: &OutgoingEmail) -> Result<(), SendError> {
        match self {
            Mailer::File { dir } => std::fs::write(
                dir.join(format!("{}.eml", email.message_id.replace(['/', '@'], "_"))),
                format!(
                    "Message-ID: <{}>\nTo: {}\nSubject: {}\n\n{}",
                    email.message_id, email.to, email.subject, email.text
                ),
            )
            .map_err(|e| SendError::Transient(e.to_string())),
            Mailer::Memory { sent } => {
                sent.lock().unwrap().push(SentEmail {
                    to: email.to.clone(),
                    subject: email.subject.clone(),
                    text: email.text.clone(),
                    html: email.html.clone(),
                    message_id: email.message_id.clone(),
                });
                Ok(())
            }
        }
    }
    /// Kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Mailer::File { .. } => "file",
            Mailer::Memory { .. } => "memory",
        }
    }
}
