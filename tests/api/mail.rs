//! The SMTP transport against a real SMTP server (mailin-embedded) started inside each test.
use layer2::config::{MailConfig, MailTransport};
use layer2::mail::transport::{Mailer, OutgoingEmail, SendError};
use mailin_embedded::{Handler, Response, Server, response};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// One message as the server received it.
#[derive(Clone, Debug, Default)]
struct Received {
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

/// Stores every accepted message; answers RCPT with `rcpt_reply`.
#[derive(Clone)]
struct Inbox {
    received: Arc<Mutex<Vec<Received>>>,
    rcpt_reply: Response,
    current: Received,
}

impl Handler for Inbox {
    fn rcpt(&mut self, _to: &str) -> Response {
        self.rcpt_reply.clone()
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Received {
            from: from.to_string(),
            to: to.to_vec(),
            data: Vec::new(),
        };
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let message = std::mem::take(&mut self.current);
        self.received.lock().unwrap().push(message);
        response::OK
    }
}

/// Starts a server on 127.0.0.1 and returns its port and what it receives.
///
/// The listener is bound before the thread starts, so connections queue until the server accepts them:
/// no waiting for readiness. The thread blocks in `accept` until the test binary exits, holding nothing
/// but its socket.
fn start_smtp_server(rcpt_reply: Response) -> (u16, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let handler = Inbox {
        received: Arc::clone(&received),
        rcpt_reply,
        current: Received::default(),
    };
    let mut server = Server::new(handler);
    server
        .with_name("mx.test")
        .with_num_threads(1)
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        // Its error is not `Send`; a server that stops early shows up as a failed send anyway.
        let _ = server.serve();
    });
    (port, received)
}

/// An SMTP mailer to a server on 127.0.0.1 without TLS (also used by `delivery.rs`).
pub(crate) fn smtp_mailer(port: u16) -> Mailer {
    let mut config = MailConfig {
        transport: MailTransport::Smtp,
        from: "Layer 2 Study <study@layer2.test>".into(),
        ..MailConfig::default()
    };
    config.smtp.host = "127.0.0.1".into();
    config.smtp.port = port;
    config.smtp.security = "none".into();
    let dir = tempfile::tempdir().unwrap();
    Mailer::from_config(&config, dir.path()).unwrap()
}

fn invitation() -> OutgoingEmail {
    OutgoingEmail {
        to: "ann@example.org".into(),
        subject: "Your diary for this week".into(),
        text: "Please fill in your diary: http://localhost/d/abc".into(),
        html: "<p>Please fill in <a href=\"http://localhost/d/abc\">your diary</a>.</p>".into(),
        message_id: "outbox-12.study-3@layer2.invalid".into(),
    }
}

#[tokio::test]
async fn a_message_reaches_a_real_smtp_server_with_both_parts() {
    let (port, received) = start_smtp_server(response::OK);
    let mailer = smtp_mailer(port);
    assert_eq!(mailer.kind(), "smtp");

    mailer.send(&invitation()).await.unwrap();

    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.from, "study@layer2.test");
    assert_eq!(message.to, vec!["ann@example.org".to_string()]);
    let data = String::from_utf8(message.data.clone()).unwrap();
    assert!(data.contains("To: ann@example.org"), "{data}");
    assert!(data.contains("Subject: Your diary for this week"), "{data}");
    assert!(
        data.contains("Message-ID: <outbox-12.study-3@layer2.invalid>"),
        "{data}"
    );
    assert!(data.contains("multipart/alternative"), "{data}");
    let text = data.find("Please fill in your diary").expect("text part");
    let html = data.find("<a href=").expect("html part");
    assert!(text < html, "the plain-text part comes first");
}

#[tokio::test]
async fn a_450_for_the_recipient_is_a_transient_failure() {
    let (port, received) =
        start_smtp_server(Response::custom(450, "Mailbox busy, try later".into()));

    let err = smtp_mailer(port).send(&invitation()).await.unwrap_err();

    assert!(matches!(err, SendError::Transient(_)), "{err:?}");
    assert!(err.to_string().contains("450"), "{err}");
    assert!(received.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_550_for_the_recipient_is_a_permanent_failure_that_names_no_address() {
    let (port, received) = start_smtp_server(response::NO_MAILBOX);

    let err = smtp_mailer(port).send(&invitation()).await.unwrap_err();

    assert!(matches!(err, SendError::Permanent(_)), "{err:?}");
    assert!(err.to_string().contains("550"), "{err}");
    assert!(!err.to_string().contains("ann@example.org"), "{err}");
    assert!(received.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_server_that_is_not_there_is_a_transient_failure() {
    // A port that was free a moment ago and that nothing listens on now.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    let err = smtp_mailer(port).send(&invitation()).await.unwrap_err();

    assert!(matches!(err, SendError::Transient(_)), "{err:?}");
}

mod outbox {
    use crate::helpers::*;
    use chrono::Duration;
    use layer2::mail::outbox::{DrainReport, drain_once};
    use layer2::mail::transport::Mailer;

    /// A study in pilot whose 20 pilot invitations wait in the outbox; returns the study and the first
    /// invited participant.
    async fn queued(app: &TestApp) -> (i64, i64) {
        let id = study_in_pilot(app).await;
        app.post_ok(
            &format!("/studies/{id}/invitations"),
            &[("confirm", "yes"), ("warnings_read", "yes")],
        )
        .await;
        let first: i64 = sqlx::query_scalar("SELECT participant FROM outbox ORDER BY id LIMIT 1")
            .fetch_one(&app.state.pool)
            .await
            .unwrap();
        (id, first)
    }

    async fn row(app: &TestApp) -> (String, i64, Option<String>) {
        let first = outbox_rows(app).await.remove(0);
        (first.status, first.attempts, first.last_error)
    }

    /// An SMTP mailer pointed at a port nobody listens on.
    fn unreachable() -> Mailer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut config = layer2::config::MailConfig::default();
        config.transport = layer2::config::MailTransport::Smtp;
        config.smtp.host = "127.0.0.1".into();
        config.smtp.port = port;
        config.smtp.security = "none".into();
        Mailer::from_config(&config, std::path::Path::new("/nonexistent")).unwrap()
    }

    #[tokio::test]
    async fn a_temporary_failure_is_retried_with_back_off_then_given_up_and_shown() {
        let app = spawn_app().await;
        let (id, first) = queued(&app).await;
        let mailer = unreachable();
        let r = drain_once(&app.state, &mailer, 0, app.clock_now())
            .await
            .unwrap();
        assert_eq!(
            r,
            DrainReport {
                sent: 0,
                retrying: 20,
                failed: 0
            }
        );
        let (status, attempts, error) = row(&app).await;
        assert_eq!((status.as_str(), attempts), ("pending", 1));
        assert!(error.unwrap().contains("cannot reach the mail server"));
        // Not due again until the back-off has passed.
        assert_eq!(
            drain_once(&app.state, &mailer, 0, app.clock_now())
                .await
                .unwrap(),
            DrainReport::default()
        );
        for _ in 0..7 {
            app.clock.advance(Duration::minutes(61));
            drain_once(&app.state, &mailer, 0, app.clock_now())
                .await
                .unwrap();
        }
        let (status, attempts, error) = row(&app).await;
        assert_eq!((status.as_str(), attempts), ("failed", 8));
        assert!(error.unwrap().starts_with("gave up after 8 attempts"));
        app.login(ADMIN, PASSWORD).await;
        let html = app.get_text(&format!("/studies/{id}/collection")).await.1;
        assert!(
            html.contains("Mail problems")
                && html.contains("gave up after 8 attempts")
                && html.contains(&email_of(&app, first).await)
        );
    }

    #[tokio::test]
    async fn a_permanent_failure_is_marked_failed_after_one_attempt() {
        let app = spawn_app().await;
        let (_, first) = queued(&app).await;
        // An address the mail server refuses (a state no page can reach: addresses are checked on import).
        sqlx::query("UPDATE outbox SET to_addr = 'not an address' WHERE participant = ?")
            .bind(first)
            .execute(&app.state.pool)
            .await
            .unwrap();
        let (mailer, _) = Mailer::memory("study@example.org");
        let r = drain_once(&app.state, &mailer, 0, app.clock_now())
            .await
            .unwrap();
        assert_eq!(
            r,
            DrainReport {
                sent: 19,
                retrying: 0,
                failed: 1
            }
        );
        let (status, attempts, error) = row(&app).await;
        assert_eq!((status.as_str(), attempts), ("failed", 1));
        assert!(error.unwrap().contains("invalid recipient address"));
    }

    #[tokio::test]
    async fn a_message_claimed_by_a_crashed_sender_is_resent_with_the_same_message_id() {
        let app = spawn_app().await;
        queued(&app).await;
        // A sender claimed it and died before marking it sent.
        crash_while_sending(&app, app.clock_now() + Duration::minutes(5)).await;
        let (mailer, sent) = Mailer::memory("study@example.org");
        assert_eq!(
            drain_once(&app.state, &mailer, 0, app.clock_now())
                .await
                .unwrap()
                .sent,
            0,
            "still leased"
        );
        app.clock.advance(Duration::minutes(6));
        assert_eq!(
            drain_once(&app.state, &mailer, 0, app.clock_now())
                .await
                .unwrap()
                .sent,
            20
        );
        let stored = outbox_rows(&app).await.remove(0).message_id;
        assert_eq!(sent.lock().unwrap()[0].message_id, stored);
    }

    #[tokio::test]
    async fn the_sending_rate_cap_holds_within_a_minute() {
        let app = spawn_app().await;
        queued(&app).await;
        let (mailer, sent) = Mailer::memory("study@example.org");
        assert_eq!(
            drain_once(&app.state, &mailer, 2, app.clock_now())
                .await
                .unwrap()
                .sent,
            2
        );
        assert_eq!(
            drain_once(&app.state, &mailer, 2, app.clock_now())
                .await
                .unwrap()
                .sent,
            0
        );
        app.clock.advance(Duration::seconds(61));
        assert_eq!(
            drain_once(&app.state, &mailer, 2, app.clock_now())
                .await
                .unwrap()
                .sent,
            2
        );
        assert_eq!(sent.lock().unwrap().len(), 4);
    }

    #[tokio::test]
    async fn a_ping_email_past_its_window_is_never_sent_and_pings_go_before_other_mail() {
        use layer2::mail::Kind;
        use layer2::mail::outbox::{NewMessage, enqueue};
        let app = spawn_app().await;
        let (id, first) = queued(&app).await;
        let now = app.clock_now();
        let to = email_of(&app, first).await;
        let mut conn = app.state.pool.acquire().await.unwrap();
        let ping = |not_after| NewMessage {
            not_after: Some(not_after),
            ..NewMessage::to_participant(id, first, Kind::Ping, &to)
        };
        enqueue(&mut conn, &ping(now + Duration::minutes(30)), now)
            .await
            .unwrap();
        enqueue(&mut conn, &ping(now - Duration::minutes(1)), now)
            .await
            .unwrap();
        drop(conn);
        let (mailer, sent) = Mailer::memory("study@example.org");
        // A cap of one a minute: the ping still inside its window goes before the 20 invitations.
        drain_once(&app.state, &mailer, 1, now).await.unwrap();
        let subjects: Vec<String> = sent
            .lock()
            .unwrap()
            .iter()
            .map(|m| m.subject.clone())
            .collect();
        assert_eq!(subjects, ["30-second check-in: Wave"]);
        // The last message: the ping whose window had already closed.
        assert_eq!(outbox_statuses(&app).await.last().unwrap(), "expired");
    }
}
