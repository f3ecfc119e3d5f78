//! The mail outbox against a real SMTP server process on loopback
//! (tests/support/smtp_server.py): accepted mail arrives with its subject,
//! body and Message-ID; a 451 is retried later; a 550 fails for good.

use serde_json::Value;
use tocsin::mail::{Outbox, Pass, Security, SmtpConfig};
use tocsin::plugins::bindings::mail::Message;
use tocsin::plugins::Outbound;
use tocsin::store::Store;
use tocsin_tests::smtp::Server;

fn message(to: &str, subject: &str) -> Message {
    Message {
        to: vec![to.to_string()],
        cc: Vec::new(),
        bcc: Vec::new(),
        reply_to: None,
        subject: subject.to_string(),
        text: Some(format!("Body of {subject}")),
        html: None,
    }
}

fn outbox(store: &Store, port: u16) -> Outbox {
    let config = SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: Security::None,
        username: None,
        password: None,
        from: "Help Desk <help@example.com>".into(),
        timeout_ms: 10_000,
        max_attempts: 3,
        backoff_ms: 30_000,
    };
    Outbox::new(store.clone(), config).unwrap()
}

fn statuses(store: &Store) -> Vec<(String, String)> {
    store
        .queued_mail()
        .unwrap()
        .into_iter()
        .map(|m: Value| {
            (
                m["status"].as_str().unwrap().to_string(),
                m["last_error"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn mail_is_delivered_retried_on_4xx_and_failed_on_5xx() {
    let server = Server::start();
    let data = tempfile::tempdir().unwrap();
    let store = Store::open(data.path()).unwrap();
    let ok = store
        .queue_mail(
            "p",
            "inv-1",
            &message("ana@example.com", "Ticket 7 is idle"),
        )
        .unwrap();
    store
        .queue_mail("p", "inv-2", &message("later@example.com", "Busy relay"))
        .unwrap();
    store
        .queue_mail("p", "inv-3", &message("never@example.com", "Unknown user"))
        .unwrap();
    let outbox = outbox(&store, server.port);

    let first = outbox.deliver_due(0).await.unwrap();
    assert_eq!(
        first,
        Pass {
            sent: 1,
            retried: 1,
            failed: 1
        }
    );
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert!(
        received[0].contains("X-Envelope-To: ana@example.com"),
        "{}",
        received[0]
    );
    assert!(
        received[0].contains("Subject: Ticket 7 is idle"),
        "{}",
        received[0]
    );
    assert!(
        received[0].contains("Body of Ticket 7 is idle"),
        "{}",
        received[0]
    );
    assert!(
        received[0].contains(&format!("Message-ID: <{ok}@tocsin>")),
        "{}",
        received[0]
    );
    let s = statuses(&store);
    assert_eq!(s[0].0, "sent");
    assert_eq!(s[1].0, "queued");
    assert!(s[1].1.contains("451"), "{s:?}");
    assert_eq!(s[2].0, "failed");
    assert!(s[2].1.contains("550"), "{s:?}");

    // Not due yet: nothing is tried; after the backoff the 451 is retried
    // until max_attempts, then fails.
    assert_eq!(outbox.deliver_due(10_000).await.unwrap(), Pass::default());
    assert_eq!(
        outbox.deliver_due(30_000).await.unwrap(),
        Pass {
            retried: 1,
            ..Pass::default()
        }
    );
    assert_eq!(
        outbox.deliver_due(100_000).await.unwrap(),
        Pass {
            failed: 1,
            ..Pass::default()
        }
    );
    assert_eq!(statuses(&store)[1].0, "failed");
    assert_eq!(server.received().len(), 1, "nothing sent twice");
}

#[tokio::test]
async fn a_relay_that_is_down_is_retried() {
    let data = tempfile::tempdir().unwrap();
    let store = Store::open(data.path()).unwrap();
    store
        .queue_mail("p", "inv-1", &message("ana@example.com", "Down"))
        .unwrap();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let pass = outbox(&store, port).deliver_due(0).await.unwrap();
    assert_eq!(
        pass,
        Pass {
            retried: 1,
            ..Pass::default()
        }
    );
    assert_eq!(statuses(&store)[0].0, "queued");
}
