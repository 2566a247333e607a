//! Typed configuration: embedded defaults, then an optional TOML file, then `LAYER2_*` variables.
use anyhow::{Context, bail};
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A secret that never prints itself (Debug and Display show `***`).
#[derive(Clone, Default, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "" } else { "***" })
    }
}

/// The whole configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Folder holding the SQLite file and the mail folder.
    pub data_dir: PathBuf,
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// The address people use to reach the server; links in mail and the setup link use it.
    /// An `https://` URL also marks session cookies `Secure`. Empty: `http://` + the listen address.
    pub public_url: String,
    /// Set when a reverse proxy on this machine or network forwards the requests: the client address for
    /// login throttling is then the last entry of `X-Forwarded-For` (which the proxy must set).
    pub behind_proxy: bool,
    /// Whom a participant can reach about their data when no study is known (a broken or expired link),
    /// e.g. "Data Protection Office, privacy@example.org". Each study names its own contact too.
    pub privacy_contact: String,
    /// Reports never show a metric for a group of fewer participants than this (at least 3).
    pub min_cell_size: usize,
    /// Staff sessions.
    pub session: SessionConfig,
    /// Outgoing mail.
    pub mail: MailConfig,
    /// Limits on HTTP connections.
    pub http: HttpConfig,
    /// Whether `run` starts the 20-second tick (tests switch it off and call the tick themselves).
    #[serde(skip)]
    pub run_scheduler: bool,
}

/// Staff session lifetimes.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// A session unused this long ends.
    pub idle_minutes: i64,
    /// A session ends this long after login, used or not.
    pub absolute_hours: i64,
}

/// Limits on HTTP connections, so idle or slow clients cannot hold the server's sockets.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// A connection that has not sent a whole request head this long after opening, or after its last
    /// answer (an idle keep-alive connection), is closed.
    pub header_timeout_seconds: u64,
    /// At most this many connections are open at once; further ones wait in the listen queue.
    pub max_connections: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            header_timeout_seconds: 10,
            max_connections: 4096,
        }
    }
}

/// How mail leaves the server.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    /// `.eml` files in `<data_dir>/mail` (the default: a local run needs no mail server).
    File,
    /// An SMTP relay (used from the data-collection issue on).
    Smtp,
}

/// Outgoing mail settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// `file` or `smtp`.
    pub transport: MailTransport,
    /// The From address of every message.
    pub from: String,
    /// The SMTP relay, when `transport = "smtp"`.
    pub smtp: SmtpConfig,
}

/// SMTP relay settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// Relay host name.
    pub host: String,
    /// Relay port (587 for STARTTLS, 465 for TLS).
    pub port: u16,
    /// `starttls`, `tls` or `none` (none only for a relay on localhost).
    pub security: String,
    /// User name, if the relay needs one.
    pub username: String,
    /// Password; never printed.
    pub password: Secret,
    /// Sending-rate cap in messages per minute (Exchange Online allows 30).
    pub per_minute: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./layer2-data"),
            listen: "127.0.0.1:8080".parse().expect("valid default address"),
            public_url: String::new(),
            behind_proxy: false,
            privacy_contact: String::new(),
            min_cell_size: 5,
            session: SessionConfig::default(),
            mail: MailConfig::default(),
            http: HttpConfig::default(),
            run_scheduler: true,
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_minutes: 60,
            absolute_hours: 12,
        }
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            transport: MailTransport::File,
            from: "Layer 2 Study <study@localhost>".into(),
            smtp: SmtpConfig::default(),
        }
    }
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            security: "starttls".into(),
            username: String::new(),
            password: Secret::default(),
            per_minute: 30,
        }
    }
}

impl Config {
    /// Loads defaults, then `file` (if given), then the process environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the config file {}", path.display()))?;
                toml::from_str::<Config>(&text).map_err(|e| {
                    // toml's own Display quotes the offending line, which may hold a password: name the
                    // line and the reason only.
                    let line = e
                        .span()
                        .map(|r| text[..r.start].lines().count().max(1))
                        .unwrap_or(0);
                    anyhow::anyhow!(
                        "the config file {} is not valid at line {line}: {}",
                        path.display(),
                        e.message()
                    )
                })?
            }
            None => Config::default(),
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        config.validate()?;
        Ok(config)
    }

    /// Overrides fields from `LAYER2_*` variables; `get` is the environment (a closure so tests can fake it).
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        fn num<T: std::str::FromStr>(key: &str, v: String) -> anyhow::Result<T> {
            v.trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{key} must be a number, not {v:?}"))
        }
        if let Some(v) = get("LAYER2_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("LAYER2_LISTEN") {
            self.listen = v
                .parse()
                .map_err(|_| anyhow::anyhow!("LAYER2_LISTEN must be host:port, not {v:?}"))?;
        }
        if let Some(v) = get("LAYER2_PUBLIC_URL") {
            self.public_url = v;
        }
        if let Some(v) = get("LAYER2_BEHIND_PROXY") {
            self.behind_proxy = match v.trim() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" | "" => false,
                _ => bail!("LAYER2_BEHIND_PROXY must be true or false, not {v:?}"),
            };
        }
        if let Some(v) = get("LAYER2_PRIVACY_CONTACT") {
            self.privacy_contact = v;
        }
        if let Some(v) = get("LAYER2_MIN_CELL_SIZE") {
            self.min_cell_size = num("LAYER2_MIN_CELL_SIZE", v)?;
        }
        if let Some(v) = get("LAYER2_SESSION_IDLE_MINUTES") {
            self.session.idle_minutes = num("LAYER2_SESSION_IDLE_MINUTES", v)?;
        }
        if let Some(v) = get("LAYER2_SESSION_ABSOLUTE_HOURS") {
            self.session.absolute_hours = num("LAYER2_SESSION_ABSOLUTE_HOURS", v)?;
        }
        if let Some(v) = get("LAYER2_MAIL_TRANSPORT") {
            self.mail.transport = match v.trim() {
                "file" => MailTransport::File,
                "smtp" => MailTransport::Smtp,
                _ => bail!("LAYER2_MAIL_TRANSPORT must be file or smtp, not {v:?}"),
            };
        }
        if let Some(v) = get("LAYER2_MAIL_FROM") {
            self.mail.from = v;
        }
        if let Some(v) = get("LAYER2_SMTP_HOST") {
            self.mail.smtp.host = v;
        }
        if let Some(v) = get("LAYER2_SMTP_PORT") {
            self.mail.smtp.port = num("LAYER2_SMTP_PORT", v)?;
        }
        if let Some(v) = get("LAYER2_SMTP_SECURITY") {
            self.mail.smtp.security = v;
        }
        if let Some(v) = get("LAYER2_SMTP_USERNAME") {
            self.mail.smtp.username = v;
        }
        if let Some(v) = get("LAYER2_SMTP_PASSWORD") {
            self.mail.smtp.password = Secret::new(v);
        }
        if let Some(v) = get("LAYER2_SMTP_PER_MINUTE") {
            self.mail.smtp.per_minute = num("LAYER2_SMTP_PER_MINUTE", v)?;
        }
        if let Some(v) = get("LAYER2_HTTP_HEADER_TIMEOUT_SECONDS") {
            self.http.header_timeout_seconds = num("LAYER2_HTTP_HEADER_TIMEOUT_SECONDS", v)?;
        }
        if let Some(v) = get("LAYER2_HTTP_MAX_CONNECTIONS") {
            self.http.max_connections = num("LAYER2_HTTP_MAX_CONNECTIONS", v)?;
        }
        Ok(())
    }

    /// Refuses settings that cannot work, with a message naming the setting.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(self.public_url.is_empty()
            || self.public_url.starts_with("http://")
            || self.public_url.starts_with("https://"))
        {
            bail!(
                "public_url must start with http:// or https://, not {:?}",
                self.public_url
            );
        }
        if self.privacy_contact.chars().count() > 200 {
            bail!("privacy_contact must be at most 200 characters");
        }
        if self.min_cell_size < 3 {
            bail!(
                "min_cell_size must be at least 3, not {}",
                self.min_cell_size
            );
        }
        if self.session.idle_minutes < 1 || self.session.absolute_hours < 1 {
            bail!("session.idle_minutes and session.absolute_hours must be at least 1");
        }
        if !["starttls", "tls", "none"].contains(&self.mail.smtp.security.as_str()) {
            bail!(
                "mail.smtp.security must be starttls, tls or none, not {:?}",
                self.mail.smtp.security
            );
        }
        if self.http.header_timeout_seconds < 1 || self.http.max_connections < 1 {
            bail!("http.header_timeout_seconds and http.max_connections must be at least 1");
        }
        if self.mail.transport == MailTransport::Smtp && self.mail.smtp.host.is_empty() {
            bail!("mail.transport is smtp but mail.smtp.host is empty");
        }
        Ok(())
    }

    /// The SQLite database file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("layer2.sqlite3")
    }

    /// The folder `.eml` files are written to.
    pub fn mail_dir(&self) -> PathBuf {
        self.data_dir.join("mail")
    }

    /// Whether cookies must carry the `Secure` attribute.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The public URL without a trailing slash; `port` is the port actually bound (listen may say 0).
    pub fn base_url_for_port(&self, port: u16) -> String {
        if self.public_url.is_empty() {
            let host = if self.listen.ip().is_unspecified() {
                "127.0.0.1".to_string()
            } else {
                self.listen.ip().to_string()
            };
            format!("http://{host}:{port}")
        } else {
            self.public_url.trim_end_matches('/').to_string()
        }
    }

    /// The public URL without a trailing slash, for the configured listen port.
    pub fn base_url(&self) -> String {
        self.base_url_for_port(self.listen.port())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_the_file_and_the_defaults() {
        let mut c: Config =
            toml::from_str("listen = \"127.0.0.1:9000\"\n[mail.smtp]\nport = 25\n").unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.data_dir, PathBuf::from("./layer2-data"));
        c.apply_env(|k| (k == "LAYER2_SMTP_PORT").then(|| "2525".to_string()))
            .unwrap();
        assert_eq!(c.mail.smtp.port, 2525);
    }

    #[test]
    fn a_misspelt_setting_is_refused() {
        assert!(toml::from_str::<Config>("lisen = \"x\"").is_err());
    }

    #[test]
    fn the_smtp_password_never_prints() {
        let mut c = Config::default();
        c.apply_env(|k| (k == "LAYER2_SMTP_PASSWORD").then(|| "hunter2-secret".to_string()))
            .unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn a_broken_config_file_names_the_line_but_never_echoes_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("layer2.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:8080\"\n[mail.smtp]\npassword = hunter2-secret\n",
        )
        .unwrap();
        let err = format!("{:#}", Config::load(Some(&path)).unwrap_err());
        assert!(err.contains("line 3"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn a_bad_number_in_the_environment_names_the_variable() {
        let mut c = Config::default();
        let err = c
            .apply_env(|k| (k == "LAYER2_SMTP_PORT").then(|| "abc".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("LAYER2_SMTP_PORT"));
    }
}
