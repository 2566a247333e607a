//! Mail across processes and restarts, the shared cap, the clock beside a long drain, connection limits
//! and the operations commands, against a scripted SMTP server on 127.0.0.1 and the real binary.
use crate::cli::{layer2, text};
use crate::helpers::*;
use crate::mail::smtp_mailer;
use chrono::{DateTime, Duration, Utc};
use layer2::clock::{Clock, ManualClock};
use layer2::mail::outbox::{Stop, drain, drain_once};
use layer2::mail::transport::Mailer;
use layer2::state::AppState;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::watch;

/// A Message-ID and the app clock's time when the server accepted it.
type Accepted = (String, DateTime<Utc>);

/// What the scripted server saw: each accepted Message-ID with the app clock's time when it accepted it,
/// and every Message-ID whose DATA began.
#[derive(Clone, Default)]
struct Seen {
    accepted: Arc<Mutex<Vec<Accepted>>>,
    begun: Arc<Mutex<Vec<String>>>,
}

/// A minimal SMTP server on 127.0.0.1 that answers each message's final dot after `delay` (real time;
/// `None`: never), stamping acceptances with the app's clock. Each connection is served on its own task,
/// so several senders can talk to it at once. `begun` turns true when any DATA begins.
async fn scripted_smtp(
    delay: Option<std::time::Duration>,
    clock: ManualClock,
) -> (u16, Seen, watch::Receiver<usize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Seen::default();
    let (begun_tx, begun_rx) = watch::channel(0usize);
    let begun_tx = Arc::new(begun_tx);
    let s = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (seen, clock, begun_tx) = (s.clone(), clock.clone(), begun_tx.clone());
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 mx.test ESMTP\r\n").await;
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 mx.test\r\n",
                        "DATA" => {
                            let _ = write.write_all(b"354 go ahead\r\n").await;
                            let mut id = String::new();
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                if let Some(v) = l.strip_prefix("Message-ID: <") {
                                    id = v.trim_end_matches('>').to_string();
                                    seen.begun.lock().unwrap().push(id.clone());
                                    begun_tx.send_modify(|n| *n += 1);
                                }
                            }
                            match delay {
                                Some(d) => tokio::time::sleep(d).await,
                                None => std::future::pending::<()>().await,
                            }
                            seen.accepted.lock().unwrap().push((id, clock.now()));
                            b"250 queued\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    if write.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (port, seen, begun_rx)
}

/// A second "server": its own pool on the same SQLite file, with its own mailer, on the app's clock.
async fn other_process(app: &TestApp, mailer: Mailer) -> AppState {
    let pool = layer2::db::connect(&app._dir.path().join("layer2.sqlite3"))
        .await
        .unwrap();
    AppState::with_mailer(
        pool,
        (*app.state.config).clone(),
        Arc::new(app.clock.clone()),
        mailer,
    )
}

/// A study in pilot whose 20 invitations wait in the outbox.
async fn twenty_queued(app: &TestApp) -> i64 {
    let id = study_in_pilot(app).await;
    app.post_ok(
        &format!("/studies/{id}/invitations"),
        &[("confirm", "yes"), ("warnings_read", "yes")],
    )
    .await;
    assert_eq!(outbox_statuses(app).await.len(), 20);
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_file_deliver_each_message_once_and_keep_the_cap_together() {
    let app = spawn_app().await;
    twenty_queued(&app).await;
    // Each message takes the server 150 ms; the clock runs 100 times faster than real time meanwhile,
    // so a send lasts about 15 s of the clock, and the old 5-minute lease over a whole batch ran out.
    let (port, seen, _) = scripted_smtp(
        Some(std::time::Duration::from_millis(150)),
        app.clock.clone(),
    )
    .await;
    let a = other_process(&app, smtp_mailer(port)).await;
    let b = other_process(&app, smtp_mailer(port)).await;
    let clock = app.clock.clone();
    let ticking = tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            clock.advance(Duration::seconds(5));
        }
    });
    let cap = 5;
    let run = |state: AppState| async move {
        for _ in 0..2000 {
            drain_once(&state, &state.mailer, cap, state.clock.now())
                .await
                .unwrap();
            let left: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status <> 'sent'")
                    .fetch_one(&state.pool)
                    .await
                    .unwrap();
            if left == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the outbox never emptied");
    };
    tokio::join!(run(a), run(b));
    ticking.abort();

    let accepted = seen.accepted.lock().unwrap().clone();
    let mut ids: Vec<&str> = accepted.iter().map(|(id, _)| id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(accepted.len(), 20, "each message delivered once");
    assert_eq!(ids.len(), 20);
    for (_, start) in &accepted {
        let in_window = accepted
            .iter()
            .filter(|(_, t)| *t >= *start && *t < *start + Duration::seconds(60))
            .count();
        assert!(
            in_window <= cap as usize,
            "{in_window} accepted within 60 s of {start}"
        );
    }
    // `sent_at` is the moment the server accepted, not when the drain began.
    let stamps: Vec<DateTime<Utc>> =
        sqlx::query_scalar("SELECT sent_at FROM outbox ORDER BY sent_at")
            .fetch_all(&app.state.pool)
            .await
            .unwrap();
    assert!(*stamps.last().unwrap() - stamps[0] >= Duration::minutes(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_send_resends_at_once_with_the_same_message_id() {
    let app = spawn_app().await;
    twenty_queued(&app).await;
    // A server that never finishes accepting: the first server is stopped in the middle of sending.
    let (port, seen, mut begun) = scripted_smtp(None, app.clock.clone()).await;
    let first = other_process(&app, smtp_mailer(port)).await;
    let (stop_tx, flag) = watch::channel(false);
    let stop = Stop::new(flag, std::time::Duration::from_millis(200));
    let now = app.clock_now();
    let sending =
        tokio::spawn(async move { drain(&first, &first.mailer, 0, now, &stop).await.unwrap() });
    begun.wait_for(|n| *n > 0).await.unwrap();
    stop_tx.send(true).unwrap();
    let report = sending.await.unwrap();
    assert_eq!(report.sent, 0);
    // Nothing is left leased: every message is due again now, its attempt not counted.
    let rows = outbox_rows(&app).await;
    assert!(
        rows.iter()
            .all(|r| r.status == "pending" && r.attempts == 0)
    );

    // The restarted server sends at once, without waiting for any lease, with the same Message-IDs.
    let (mailer, sent) = Mailer::memory("study@example.org");
    let restarted = other_process(&app, mailer).await;
    let r = drain_once(&restarted, &restarted.mailer, 0, app.clock_now())
        .await
        .unwrap();
    assert_eq!(r.sent, 20);
    let resent: Vec<String> = sent
        .lock()
        .unwrap()
        .iter()
        .map(|m| m.message_id.clone())
        .collect();
    let begun_ids = seen.begun.lock().unwrap().clone();
    assert!(!begun_ids.is_empty());
    for id in &begun_ids {
        assert!(resent.contains(id), "{id} resent with its Message-ID");
    }
}

/// `n` reminders to the first invited participant, waiting in the outbox.
async fn bulk_reminders(app: &TestApp, n: i64) {
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO outbox (study_id, participant, kind, to_addr, message_id, next_attempt_at, created_at)
         SELECT o.study_id, o.participant, 'reminder', o.to_addr, 'bulk-' || n.i || '@layer2.invalid', ?, ?
         FROM n, (SELECT study_id, participant, to_addr FROM outbox WHERE kind = 'invitation' LIMIT 1) o",
    )
    .bind(n)
    .bind(app.clock_now())
    .bind(app.clock_now())
    .execute(&app.state.pool)
    .await
    .unwrap();
}

/// An uncapped drain over reused SMTP connections (8 at once, batches of 32) delivers every message exactly
/// once. It also prints the rate: with `LAYER2_THROUGHPUT_MESSAGES=5000` and `--release --nocapture` it is the
/// measurement in BENCHMARKS.md (speed is a benchmark's figure, never a test's assertion).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uncapped_drain_over_reused_smtp_connections_delivers_every_message_once() {
    let bulk: i64 = std::env::var("LAYER2_THROUGHPUT_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let app = spawn_app().await;
    twenty_queued(&app).await;
    bulk_reminders(&app, bulk).await;
    let (port, seen, _) = scripted_smtp(Some(std::time::Duration::ZERO), app.clock.clone()).await;
    let state = other_process(&app, smtp_mailer(port)).await;
    let started = std::time::Instant::now();
    let r = drain_once(&state, &state.mailer, 0, app.clock_now())
        .await
        .unwrap();
    let took = started.elapsed();
    println!(
        "{} messages in {took:.2?}: {:.0} a second",
        r.sent,
        r.sent as f64 / took.as_secs_f64()
    );
    let total = bulk as usize + 20;
    assert_eq!(r.sent, total);
    let accepted = seen.accepted.lock().unwrap().clone();
    assert_eq!(accepted.len(), total);
    let unique: std::collections::HashSet<_> = accepted.iter().map(|(id, _)| id).collect();
    assert_eq!(unique.len(), total, "no message accepted twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_of_ten_thousand_messages_does_not_delay_the_next_ticks_pings() {
    let app = spawn_app().await;
    let id = study_in_pilot(&app).await;
    app.follow(send_invitations(&app, id).await).await;
    for (_, _, body) in outbox_of_kind(&app, "invitation").await {
        let link = link_path(&body);
        app.post_form(&format!("{link}/consent"), &[("decision", "accept")])
            .await;
    }
    // 10,000 reminders to the first participant, waiting in the outbox.
    bulk_reminders(&app, 10_000).await;
    let (mailer, sent) = Mailer::memory("study@example.org");
    let state = other_process(&app, mailer).await;
    let (stop_tx, flag) = watch::channel(false);
    let sender = layer2::tick::spawn_sender(state.clone(), flag, std::time::Duration::ZERO);
    tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while sent.lock().unwrap().len() < 20 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the sender started");

    // The first check-ins fall due while the drain is under way.
    let due = earliest_due(&app).await;
    app.clock.set(due);
    let started = std::time::Instant::now();
    let tick = layer2::tick::clock_due(&state, due).await.unwrap();
    let took = started.elapsed();
    assert!(tick.pings.sent > 0, "{tick:?}");
    assert!(
        took < std::time::Duration::from_secs(5),
        "the tick took {took:?}"
    );
    // The check-ins go out next, ahead of the thousands still waiting.
    tokio::time::timeout(std::time::Duration::from_secs(60), async {
        loop {
            let n = sent
                .lock()
                .unwrap()
                .iter()
                .filter(|m| m.subject.contains("check-in"))
                .count();
            if n == tick.pings.sent {
                break;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the check-ins went out");
    let left: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'reminder' AND status = 'pending'",
    )
    .fetch_one(&app.state.pool)
    .await
    .unwrap();
    assert!(left > 5000, "the drain is still under way ({left} left)");
    stop_tx.send(true).unwrap();
    sender.await.unwrap();
    let leased: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status = 'sending'")
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(leased, 0, "a clean stop leaves no claim behind");
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_header_timeout_while_others_are_served() {
    use tokio::io::AsyncReadExt;
    let app = spawn_app_with(|c| c.http.header_timeout_seconds = 1).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Normal traffic is served meanwhile.
    let r = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "ok");
    let started = std::time::Instant::now();
    let mut buf = [0u8; 64];
    for conn in [&mut idle, &mut slow] {
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut buf))
            .await
            .expect("the server closed the connection")
            .unwrap_or(0);
        // Closed: end of stream (or a 408 before it, from a newer hyper).
        assert!(
            n == 0 || buf.starts_with(b"HTTP/1.1 408"),
            "{:?}",
            &buf[..n]
        );
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
}

#[tokio::test]
async fn study_list_on_a_missing_folder_fails_clearly_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("layer2-dta");
    let o = layer2(&missing, &["study", "list"], "");
    assert!(!o.status.success());
    assert!(
        text(&o).contains("there is no Layer 2 Study database"),
        "{}",
        text(&o)
    );
    assert!(!missing.exists(), "nothing was created");
}

#[tokio::test]
async fn demo_no_serve_succeeds_while_the_web_port_is_taken() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_layer2"))
        .args(["demo", "--no-serve", "--employees", "300", "--data-dir"])
        .arg(&demo)
        .env("LAYER2_LISTEN", format!("127.0.0.1:{port}"))
        .env("LAYER2_LOG", "warn")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(demo.join("layer2.sqlite3").exists());
}

#[tokio::test]
async fn backup_writes_a_consistent_private_copy_that_serves_as_the_data() {
    let dir = cli_data_dir_with_study("Backed up").await;
    let out = dir.path().join("copy.sqlite3");
    let o = layer2(dir.path(), &["backup", "--out", out.to_str().unwrap()], "");
    assert!(o.status.success(), "{}", text(&o));
    // Restore drill: the copy alone, as a data folder, lists the study.
    let restored = tempfile::tempdir().unwrap();
    std::fs::copy(&out, restored.path().join("layer2.sqlite3")).unwrap();
    let o = layer2(restored.path(), &["study", "list"], "");
    assert!(text(&o).contains("Backed up"), "{}", text(&o));
    // A second backup never overwrites the first.
    let o = layer2(dir.path(), &["backup", "--out", out.to_str().unwrap()], "");
    assert!(!o.status.success());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
