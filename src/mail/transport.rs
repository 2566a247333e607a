//! Where mail goes: an SMTP relay, `.eml` files in the data folder, or memory (tests).
use crate::config::{MailConfig, MailTransport, Secret};
use anyhow::{Context, bail};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::error::Error as _;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long one SMTP command may take before the send counts as a (transient) failure.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// At most this many connections to the relay at once (a batch's further sends wait for one).
const SMTP_CONNECTIONS: u32 = 8;

/// One message to send (built by the outbox from templates).
#[derive(Clone, Debug)]
pub struct OutgoingEmail {
    /// Recipient, a bare address or `Name <address>`.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
    /// Without angle brackets, e.g. `outbox-12.study-3@layer2.invalid`; stable across retries.
    pub message_id: String,
}

/// Why a send failed: a transient failure is retried with back-off, a permanent one is shown to the admin.
/// Display is the reason alone: the outbox adds "temporary failure" or "refused by the mail server".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later (4xx replies, network, timeouts, TLS, local I/O).
    #[error("{0}")]
    Transient(String),
    /// Retrying the same message will not help (5xx replies, an unusable recipient).
    #[error("{0}")]
    Permanent(String),
}

/// A message the in-memory transport kept (tests).
#[derive(Clone, Debug)]
pub struct SentEmail {
    /// Recipient as given.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
    /// Without angle brackets.
    pub message_id: String,
    /// The From header as sent (the study's sender, or the configuration's).
    pub from: String,
}

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    /// An SMTP relay.
    Smtp {
        /// The lettre transport (a pool of reused connections).
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// The From mailbox.
        from: Mailbox,
        /// Kept only to scrub it from error text, should a server ever echo it.
        password: Secret,
    },
    /// `.eml` files in a folder.
    File {
        /// The folder, `<data_dir>/mail`.
        dir: PathBuf,
        /// The From mailbox.
        from: Mailbox,
    },
    /// Kept in memory (tests).
    Memory {
        /// The From mailbox.
        from: Mailbox,
        /// Every message "sent" so far.
        sent: Arc<Mutex<Vec<SentEmail>>>,
    },
}

// By hand so that neither credentials nor recipients held in memory can reach a log.
impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mailer({})", self.kind())
    }
}

impl Mailer {
    /// The mailer the config asks for; `mail_dir` (for `file`) is created if missing, and it and every
    /// `.eml` file already in it are made readable by the service only (0700 / 0600). Call it inside the
    /// Tokio runtime: the SMTP transport's connection pool starts a clean-up task.
    pub fn from_config(config: &MailConfig, mail_dir: &Path) -> anyhow::Result<Mailer> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|_| anyhow::anyhow!("mail.from is not a valid mailbox"))?;
        match config.transport {
            MailTransport::File => {
                restrict_mail_folder(mail_dir).with_context(|| {
                    format!("cannot create the mail folder {}", mail_dir.display())
                })?;
                Ok(Mailer::File {
                    dir: mail_dir.to_path_buf(),
                    from,
                })
            }
            MailTransport::Smtp => {
                let smtp = &config.smtp;
                if smtp.host.is_empty() {
                    bail!("mail.transport is smtp but mail.smtp.host is empty");
                }
                let tls = match smtp.security.as_str() {
                    "starttls" => Tls::Required(tls_parameters(&smtp.host)?),
                    "tls" => Tls::Wrapper(tls_parameters(&smtp.host)?),
                    "none" => {
                        // A password in clear text is acceptable only on this machine.
                        if !smtp.username.is_empty() && !is_loopback(&smtp.host) {
                            bail!(
                                "mail.smtp.security = none sends the password unencrypted; \
                                 use it only for a relay on localhost"
                            );
                        }
                        Tls::None
                    }
                    other => {
                        bail!("mail.smtp.security must be starttls, tls or none, not {other:?}")
                    }
                };
                let mut builder =
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
                        .port(smtp.port)
                        .tls(tls)
                        .timeout(Some(SMTP_TIMEOUT))
                        // Connections are kept and reused: one per message made a long drain wait
                        // on the network (about 22 a second).
                        .pool_config(
                            PoolConfig::new()
                                .max_size(SMTP_CONNECTIONS)
                                .idle_timeout(Duration::from_secs(30)),
                        );
                if !smtp.username.is_empty() {
                    builder = builder.credentials(Credentials::new(
                        smtp.username.clone(),
                        smtp.password.expose().to_string(),
                    ));
                }
                Ok(Mailer::Smtp {
                    transport: builder.build(),
                    from,
                    password: smtp.password.clone(),
                })
            }
        }
    }

    /// In-memory transport and a handle to what it "sent".
    ///
    /// # Panics
    /// If `from` is not a valid mailbox (it is a constant in tests).
    pub fn memory(from: &str) -> (Mailer, Arc<Mutex<Vec<SentEmail>>>) {
        let from = from.parse().expect("a valid From mailbox");
        let sent = Arc::new(Mutex::new(Vec::new()));
        (
            Mailer::Memory {
                from,
                sent: Arc::clone(&sent),
            },
            sent,
        )
    }

    /// Sends one message from the configured sender.
    pub async fn send(&self, email: &OutgoingEmail) -> Result<(), SendError> {
        self.send_as(email, None).await
    }

    /// Sends one message from `sender` (a study's own, checked when it was saved), else the configured one.
    pub async fn send_as(
        &self,
        email: &OutgoingEmail,
        sender: Option<&Mailbox>,
    ) -> Result<(), SendError> {
        match self {
            Mailer::Smtp {
                transport,
                from,
                password,
            } => {
                let message = build_message(sender.unwrap_or(from), email)?;
                transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| classify_smtp_error(&e, password))
            }
            Mailer::File { dir, from } => {
                let bytes = build_message(sender.unwrap_or(from), email)?.formatted();
                let dir = dir.clone();
                let name = file_stem(&email.message_id);
                tokio::task::spawn_blocking(move || write_atomically(&dir, &name, &bytes))
                    .await
                    .map_err(|e| SendError::Transient(format!("the mail writer stopped: {e}")))?
                    .map_err(|e| SendError::Transient(format!("cannot write the mail file: {e}")))
            }
            Mailer::Memory { from, sent } => {
                // Built anyway so that tests see the same refusals as the real transports.
                let from = sender.unwrap_or(from);
                build_message(from, email)?;
                sent.lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(SentEmail {
                        to: email.to.clone(),
                        subject: email.subject.clone(),
                        text: email.text.clone(),
                        html: email.html.clone(),
                        message_id: email.message_id.clone(),
                        from: from.to_string(),
                    });
                Ok(())
            }
        }
    }

    /// Takes back what `send` left on this machine for a message whose row vanished while it was being
    /// sent (its participant was erased, or its study purged, meanwhile): the file transport's `.eml`.
    /// Mail that already left through SMTP is out of reach, as it would be a second later anyway.
    pub async fn forget(&self, message_id: &str) -> std::io::Result<()> {
        if let Mailer::File { dir, .. } = self {
            let (dir, ids) = (dir.clone(), vec![message_id.to_string()]);
            tokio::task::spawn_blocking(move || remove_sent_files(&dir, &ids))
                .await
                .map_err(std::io::Error::other)??;
        }
        Ok(())
    }

    /// "file", "smtp" or "memory" (for logs).
    pub fn kind(&self) -> &'static str {
        match self {
            Mailer::Smtp { .. } => "smtp",
            Mailer::File { .. } => "file",
            Mailer::Memory { .. } => "memory",
        }
    }
}

/// The mail folder 0700 and every `.eml` in it 0600: the files hold names, addresses and links.
fn restrict_mail_folder(dir: &Path) -> std::io::Result<()> {
    crate::files::private_dir(dir)?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "eml") {
            crate::files::private_file(&path)?;
        }
    }
    Ok(())
}

/// Deletes the `.eml` files the file transport wrote (or would write) for these messages, where they
/// exist; returns how many went. A file that exists and cannot be deleted is an error, so an erasure or a
/// purge is never reported as done while a copy remains.
pub fn remove_sent_files(dir: &Path, message_ids: &[String]) -> std::io::Result<i64> {
    let mut n = 0;
    for id in message_ids {
        match std::fs::remove_file(dir.join(format!("{}.eml", file_stem(id)))) {
            Ok(()) => n += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The plain text of a `.eml` file the file transport wrote for `message_id` (quoted-printable soft line
/// breaks undone), e.g. for the demo to follow the links it sent.
pub fn read_sent_text(dir: &Path, message_id: &str) -> std::io::Result<String> {
    let raw = std::fs::read(dir.join(format!("{}.eml", file_stem(message_id))))?;
    Ok(decode_quoted_printable(&raw))
}

/// Undoes quoted-printable: `=\r\n` joins lines, `=XX` is a byte. Other text passes through.
fn decode_quoted_printable(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'=' {
            if raw[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if raw[i + 1..].starts_with(b"\n") {
                i += 2;
                continue;
            }
            let hex = raw
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(raw[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn tls_parameters(host: &str) -> anyhow::Result<TlsParameters> {
    TlsParameters::new(host.to_string())
        .map_err(|e| anyhow::anyhow!("cannot set up TLS for mail.smtp.host: {e}"))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// From, To, Subject, Date, Message-ID and a text-then-HTML multipart/alternative body.
fn build_message(from: &Mailbox, email: &OutgoingEmail) -> Result<Message, SendError> {
    // The address is not echoed: error text ends up in logs and on admin pages.
    let to: Mailbox = email
        .to
        .parse()
        .map_err(|_| SendError::Permanent("invalid recipient address".into()))?;
    if !is_valid_message_id(&email.message_id) {
        return Err(SendError::Permanent("invalid Message-ID".into()));
    }
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.as_str())
        .date_now()
        .message_id(Some(format!("<{}>", email.message_id)))
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))
}

/// `left@right` in printable ASCII, so it cannot break the header or the angle brackets around it.
fn is_valid_message_id(id: &str) -> bool {
    let printable = id
        .chars()
        .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>'));
    let parts = id.split_once('@');
    printable
        && id.len() <= 250
        && parts.is_some_and(|(l, r)| !l.is_empty() && !r.is_empty() && !r.contains('@'))
}

/// A file name for a Message-ID: the same id always gives the same name, so a resend replaces the file.
pub(crate) fn file_stem(message_id: &str) -> String {
    let mut stem: String = message_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@' | '+' | '=') {
                c
            } else {
                '_'
            }
        })
        .take(200)
        .collect();
    // No hidden files (the temporary files are the hidden ones) and never `.` or `..`.
    if stem.is_empty() || stem.starts_with('.') {
        stem.insert(0, '_');
    }
    stem
}

/// Writes `<dir>/<stem>.eml` through a temporary file and a rename, so a reader never sees half a message.
fn write_atomically(dir: &Path, stem: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    crate::files::private_dir(dir)?;
    let target = dir.join(format!("{stem}.eml"));
    let temp = dir.join(format!(
        ".{stem}.{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        // 0600 from its first byte; the rename keeps the mode.
        let mut file = crate::files::create_private(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, &target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// 5xx replies are permanent; 4xx replies, connection, timeout and TLS failures are worth a retry.
fn classify_smtp_error(err: &lettre::transport::smtp::Error, password: &Secret) -> SendError {
    let detail = || {
        let text = match (err.status(), err.source()) {
            (Some(code), Some(reply)) => format!("{code} {reply}"),
            _ => err.to_string(),
        };
        scrub(&text, password.expose())
    };
    // A reply reads as the server gave it ("550 Mailbox unavailable"); anything else gets a context.
    if err.is_permanent() {
        SendError::Permanent(detail())
    } else if err.is_transient() {
        SendError::Transient(detail())
    } else if err.is_timeout() {
        SendError::Transient(format!("the mail server timed out: {}", detail()))
    } else if err.is_tls() {
        SendError::Transient(format!("TLS with the mail server failed: {}", detail()))
    } else {
        SendError::Transient(format!("cannot reach the mail server: {}", detail()))
    }
}

/// Server text may quote the recipient (`<ann@example.org>: unknown user`): drop addresses and the
/// password, and keep the text short enough for a log line.
fn scrub(text: &str, password: &str) -> String {
    let text = if password.is_empty() {
        text.to_string()
    } else {
        text.replace(password, "***")
    };
    let words: Vec<&str> = text
        .split_whitespace()
        .map(|w| if w.contains('@') { "<address>" } else { w })
        .collect();
    let joined = words.join(" ");
    match joined.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &joined[..cut]),
        None => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(message_id: &str) -> OutgoingEmail {
        OutgoingEmail {
            to: "Ann Example <ann@example.org>".into(),
            subject: "Your weekly diary".into(),
            text: "Plain words for the diary.".into(),
            html: "<p>Rich words for the diary.</p>".into(),
            message_id: message_id.into(),
        }
    }

    fn file_mailer(dir: &Path) -> Mailer {
        Mailer::from_config(&MailConfig::default(), dir).unwrap()
    }

    fn eml_files(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
    }

    #[tokio::test]
    async fn the_file_transport_writes_one_eml_with_both_parts_and_the_message_id() {
        let dir = tempfile::tempdir().unwrap();
        let mail_dir = dir.path().join("mail");
        let mailer = file_mailer(&mail_dir);
        assert_eq!(mailer.kind(), "file");

        mailer
            .send(&email("outbox-12.study-3@layer2.invalid"))
            .await
            .unwrap();

        let files = eml_files(&mail_dir);
        assert_eq!(files.len(), 1, "{files:?}");
        assert!(files[0].ends_with("outbox-12.study-3@layer2.invalid.eml"));
        let eml = std::fs::read_to_string(&files[0]).unwrap();
        assert!(
            eml.contains("Message-ID: <outbox-12.study-3@layer2.invalid>"),
            "{eml}"
        );
        assert!(
            eml.contains("To: \"Ann Example\" <ann@example.org>"),
            "{eml}"
        );
        assert!(eml.contains("Subject: Your weekly diary"), "{eml}");
        assert!(eml.contains("Date: "), "{eml}");
        assert!(eml.contains("multipart/alternative"), "{eml}");
        let text = eml.find("Plain words for the diary.").expect("text part");
        let html = eml
            .find("<p>Rich words for the diary.</p>")
            .expect("html part");
        assert!(text < html, "the plain-text part comes first");
        assert!(eml.contains("text/plain; charset=utf-8"), "{eml}");
        assert!(eml.contains("text/html; charset=utf-8"), "{eml}");
    }

    #[tokio::test]
    async fn sending_the_same_message_twice_leaves_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = file_mailer(dir.path());
        let mut message = email("outbox-7@layer2.invalid");

        mailer.send(&message).await.unwrap();
        message.subject = "Second attempt".into();
        mailer.send(&message).await.unwrap();

        let files = eml_files(dir.path());
        assert_eq!(files.len(), 1, "{files:?}");
        let eml = std::fs::read_to_string(&files[0]).unwrap();
        assert!(eml.contains("Subject: Second attempt"), "{eml}");
    }

    #[tokio::test]
    async fn a_message_id_cannot_escape_the_mail_folder() {
        let dir = tempfile::tempdir().unwrap();
        let mail_dir = dir.path().join("mail");
        let mailer = file_mailer(&mail_dir);

        mailer.send(&email("../../x@y")).await.unwrap();

        assert_eq!(eml_files(&mail_dir).len(), 1);
        assert_eq!(eml_files(dir.path()), vec![mail_dir]);
    }

    #[tokio::test]
    async fn a_line_break_in_the_subject_cannot_add_a_header() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = file_mailer(dir.path());
        let mut message = email("m-3@layer2.invalid");
        message.subject = "Hello\r\nBcc: eve@example.org".into();

        mailer.send(&message).await.unwrap();

        let eml = std::fs::read_to_string(&eml_files(dir.path())[0]).unwrap();
        assert!(!eml.lines().any(|l| l.starts_with("Bcc:")), "{eml}");
    }

    #[tokio::test]
    async fn the_memory_transport_records_what_it_sent() {
        let (mailer, sent) = Mailer::memory("Layer 2 Study <study@localhost>");

        mailer.send(&email("m-1@layer2.invalid")).await.unwrap();

        let sent = sent.lock().unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].to, "Ann Example <ann@example.org>");
        assert_eq!(sent[0].subject, "Your weekly diary");
        assert_eq!(sent[0].message_id, "m-1@layer2.invalid");
        assert_eq!(mailer.kind(), "memory");
    }

    #[tokio::test]
    async fn an_invalid_recipient_is_permanent_and_not_echoed() {
        let dir = tempfile::tempdir().unwrap();
        let (memory, sent) = Mailer::memory("study@localhost");
        let mut message = email("m-2@layer2.invalid");
        message.to = "not an address, secret-person".into();

        for mailer in [memory, file_mailer(dir.path())] {
            let err = mailer.send(&message).await.unwrap_err();
            assert_eq!(
                err,
                SendError::Permanent("invalid recipient address".into())
            );
            assert!(!err.to_string().contains("secret-person"));
        }
        assert!(sent.lock().unwrap().is_empty());
        assert!(eml_files(dir.path()).is_empty());
    }

    #[test]
    fn an_unparsable_from_address_is_a_config_error() {
        let config = MailConfig {
            from: "not a mailbox".into(),
            ..MailConfig::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let err = Mailer::from_config(&config, dir.path()).unwrap_err();
        assert!(err.to_string().contains("mail.from"), "{err}");
    }

    // A runtime: the SMTP transport's connection pool starts its clean-up task when it is built.
    #[tokio::test]
    async fn a_password_is_never_sent_in_clear_text_to_another_host() {
        let mut config = MailConfig {
            transport: MailTransport::Smtp,
            ..MailConfig::default()
        };
        config.smtp.host = "smtp.example.org".into();
        config.smtp.security = "none".into();
        config.smtp.username = "study".into();
        config.smtp.password = Secret::new("hunter2-secret");
        let dir = tempfile::tempdir().unwrap();

        let err = Mailer::from_config(&config, dir.path()).unwrap_err();
        assert!(!format!("{err:#}").contains("hunter2"));

        config.smtp.host = "127.0.0.1".into();
        let mailer = Mailer::from_config(&config, dir.path()).unwrap();
        assert_eq!(mailer.kind(), "smtp");
        assert!(!format!("{mailer:?}").contains("hunter2"));
    }

    #[test]
    fn server_text_loses_addresses_and_the_password() {
        let text = scrub(
            "5.1.1 <ann@example.org>: Recipient unknown; auth hunter2 refused",
            "hunter2",
        );
        assert_eq!(text, "5.1.1 <address> Recipient unknown; auth *** refused");
    }
}
