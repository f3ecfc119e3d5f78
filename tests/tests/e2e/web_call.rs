//! The Call Web Page plugin against a real HTTP server on 127.0.0.1: what
//! arrives, how statuses map to outcomes, and the host's `http` grant gate.

use std::sync::{Arc, Mutex};
use tocsin::plugins::bindings::{FailureKind, Mode};
use tocsin::plugins::{Grants, InvokeError};
use tocsin_tests::*;

/// Requests the server saw: (method, path with query, content-type, body).
type Seen = Arc<Mutex<Vec<(String, String, String, String)>>>;

/// A server answering by path: `/busy` 503 with Retry-After: 7, `/missing`
/// 404, `/moved` 302 to `/ok`, `/slow` 200 after 3 s, anything else 200. Returns its base URL.
async fn server() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let addr = serve(move |req: Received| {
        let content_type = req.header("content-type");
        let body = String::from_utf8(req.body).unwrap();
        log.lock()
            .unwrap()
            .push((req.method, req.path.clone(), content_type, body));
        let path = req.path;
        async move {
            match path.as_str() {
                "/slow" => {
                    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                    answer(200, &[], b"answer")
                }
                "/busy" => answer(503, &[("retry-after", "7")], b"answer"),
                "/missing" => answer(404, &[], b"answer"),
                "/moved" => answer(302, &[("location", "/ok")], b"answer"),
                _ => answer(200, &[], b"answer"),
            }
        }
    })
    .await;
    (format!("http://{addr}"), seen)
}

fn http_grant(hosts: &[&str]) -> Arc<Grants> {
    Arc::new(Grants {
        http: hosts.iter().map(|h| h.to_string()).collect(),
        ..Grants::default()
    })
}

/// Runs `call-web-page` per item on ticket 42 with `settings`.
async fn call(settings: serde_json::Value, grants: Arc<Grants>) -> Result<String, InvokeError> {
    let rt = runtime();
    let plugin = load_plugin(&rt, "web-call").await.unwrap();
    let inv = invocation(
        "call-web-page",
        Mode::PerItem,
        settings,
        vec![ticket("42", "Printer")],
    );
    rt.invoke(&plugin, grants, inv).await.map(|o| o.summary)
}

fn failure(result: Result<String, InvokeError>) -> (FailureKind, String, Option<u64>) {
    match result {
        Err(InvokeError::Failed { failure, .. }) => {
            (failure.kind, failure.message, failure.retry_after_ms)
        }
        other => panic!("expected a plugin failure, got {other:?}"),
    }
}

/// Settings rendered by the host's template engine arrive as given: method,
/// URL with the item id, body text byte for byte.
#[tokio::test]
async fn templated_method_url_and_body_arrive() {
    let (base, seen) = server().await;
    let raw = serde_json::json!({
        "method": "PUT",
        "url": format!("{base}/tickets/{{{{ item.id }}}}?rule={{{{ rule.id }}}}"),
        "headers": {"content-type": "text/plain", "x-ticket": "{{ item.subject }}"},
        "body": "ticket {{ item.id }}: {{ item.subject }} é",
    });
    let context = serde_json::json!({
        "item": {"id": "42", "subject": "Printer"},
        "rule": {"id": "rule-1"},
    });
    let rendered = tocsin::templates::render_settings(raw.as_object().unwrap(), &context).unwrap();
    let summary = call(rendered.into(), http_grant(&["127.0.0.1"]))
        .await
        .unwrap();
    assert_eq!(summary, format!("PUT {base}/tickets/42?rule=rule-1 → 200"));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![(
            "PUT".to_string(),
            "/tickets/42?rule=rule-1".to_string(),
            "text/plain".to_string(),
            "ticket 42: Printer é".to_string(),
        )]
    );
}

/// Without a body setting: POST with a JSON account of the firing.
#[tokio::test]
async fn default_is_a_json_post_of_the_firing() {
    let (base, seen) = server().await;
    let summary = call(
        serde_json::json!({"url": format!("{base}/hook")}),
        http_grant(&["127.0.0.1"]),
    )
    .await
    .unwrap();
    assert_eq!(summary, format!("POST {base}/hook → 200"));
    let (method, _, content_type, body) = seen.lock().unwrap()[0].clone();
    assert_eq!(
        (method.as_str(), content_type.as_str()),
        ("POST", "application/json")
    );
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["event"]["type"], "ticket-idle");
    assert_eq!(body["items"][0]["id"], "42");
    assert_eq!(body["items"][0]["fields"]["subject"], "Printer");
    assert_eq!(body["rule"]["name"], "Test rule");
}

/// 503 with Retry-After: 7 is retryable after 7 s; 404 is permanent.
#[tokio::test]
async fn statuses_decide_retryable_or_permanent() {
    let (base, _seen) = server().await;
    let grants = http_grant(&["127.0.0.1"]);
    let busy = call(
        serde_json::json!({"url": format!("{base}/busy")}),
        grants.clone(),
    )
    .await;
    let (kind, message, retry_after_ms) = failure(busy);
    assert_eq!(kind, FailureKind::Retryable, "{message}");
    assert_eq!(retry_after_ms, Some(7000));
    assert!(message.contains("→ 503"), "{message}");
    let missing = call(
        serde_json::json!({"url": format!("{base}/missing")}),
        grants,
    )
    .await;
    let (kind, message, retry_after_ms) = failure(missing);
    assert_eq!(kind, FailureKind::Permanent, "{message}");
    assert_eq!(retry_after_ms, None);
    assert!(message.contains("→ 404: answer"), "{message}");
}

/// A redirect is followed with a new request, which the gate checks again.
#[tokio::test]
async fn redirects_are_followed() {
    let (base, seen) = server().await;
    let summary = call(
        serde_json::json!({"method": "GET", "url": format!("{base}/moved")}),
        http_grant(&["127.0.0.1"]),
    )
    .await
    .unwrap();
    assert_eq!(summary, format!("GET {base}/ok → 200"));
    let paths: Vec<String> = seen.lock().unwrap().iter().map(|s| s.1.clone()).collect();
    assert_eq!(paths, ["/moved", "/ok"]);
}

/// No grant, or a grant for another host: refused before anything is sent.
#[tokio::test]
async fn loopback_without_its_grant_is_refused() {
    let (base, seen) = server().await;
    for grants in [http_grant(&[]), http_grant(&["example.com"])] {
        let refused = call(serde_json::json!({"url": format!("{base}/hook")}), grants).await;
        let (kind, message, _) = failure(refused);
        assert_eq!(kind, FailureKind::Permanent, "{message}");
        assert!(message.contains("is not granted"), "{message}");
    }
    assert!(seen.lock().unwrap().is_empty());
}

/// Cloud metadata, private and loopback addresses, and an unlisted host are
/// refused before any connection, even with a grant for another host.
#[tokio::test]
async fn metadata_private_and_unlisted_hosts_are_refused() {
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://127.0.0.1:9/",
        "http://[::1]/",
        "http://unlisted.example.net/",
    ] {
        let refused = call(
            serde_json::json!({"url": url}),
            http_grant(&["*.example.com", "hooks.example.com"]),
        )
        .await;
        let (kind, message, _) = failure(refused);
        assert_eq!(kind, FailureKind::Permanent, "{url}: {message}");
        assert!(message.contains("is not granted"), "{url}: {message}");
    }
}

/// Unknown settings and a bad URL are the admin's to fix, naming the field.
#[tokio::test]
async fn bad_settings_name_the_field() {
    let (kind, message, _) = failure(
        call(
            serde_json::json!({"url": "ftp://127.0.0.1/x"}),
            http_grant(&["127.0.0.1"]),
        )
        .await,
    );
    assert_eq!(kind, FailureKind::BadSettings);
    assert!(message.contains("settings.url"), "{message}");
}

/// A host name granted by name but resolving to loopback is refused after DNS
/// resolution: the grant must list the address too.
#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused() {
    let (base, seen) = server().await;
    let url = base.replace("127.0.0.1", "localhost") + "/hook";
    let refused = call(
        serde_json::json!({ "url": url }),
        http_grant(&["localhost"]),
    )
    .await;
    let (kind, message, _) = failure(refused);
    assert_eq!(kind, FailureKind::Permanent, "{message}");
    assert!(message.contains("is not granted"), "{message}");
    assert!(seen.lock().unwrap().is_empty());
}

/// Listing the loopback addresses next to the name lets the same call through.
#[tokio::test]
async fn a_name_with_its_loopback_addresses_granted_is_called() {
    let (base, seen) = server().await;
    let url = base.replace("127.0.0.1", "localhost") + "/hook";
    let grants = http_grant(&["localhost", "127.0.0.1", "::1"]);
    grants.validate().unwrap();
    let summary = call(serde_json::json!({ "url": url.clone() }), grants)
        .await
        .unwrap();
    assert_eq!(summary, format!("POST {url} → 200"));
    assert_eq!(seen.lock().unwrap().len(), 1);
}

/// A server slower than `timeout_ms` is a retryable failure, well before the
/// server answers.
#[tokio::test]
async fn a_slow_server_times_out_retryably() {
    let (base, _seen) = server().await;
    let started = std::time::Instant::now();
    let slow = call(
        serde_json::json!({"url": format!("{base}/slow"), "timeout_ms": 300}),
        http_grant(&["127.0.0.1"]),
    )
    .await;
    let (kind, message, _) = failure(slow);
    assert_eq!(kind, FailureKind::Retryable, "{message}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{message}"
    );
}

/// Through the engine: a rule's Call Web Page gets 503 with Retry-After: 2 on
/// its first attempt; the engine waits those two seconds (on its clock) and
/// the second attempt, with the same templated method, URL and body, succeeds.
#[tokio::test]
async fn the_engine_retries_after_503_honouring_retry_after() {
    use tocsin::engine::EngineConfig;
    use tocsin_tests::engine::{attempts, clock, event, open, rule};
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let addr = serve(move |req: Received| {
        let content_type = req.header("content-type");
        let first = {
            let mut log = log.lock().unwrap();
            log.push((
                req.method,
                req.path,
                content_type,
                String::from_utf8(req.body).unwrap(),
            ));
            log.len() == 1
        };
        async move {
            if first {
                answer(503, &[("retry-after", "2")], b"busy")
            } else {
                answer(200, &[], b"ok")
            }
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let call = serde_json::json!({
        "plugin": "web-call", "action": "call-web-page", "mode": "digest",
        "settings": {"method": "PUT", "url": format!("http://{addr}/tickets/{{{{ items[0].id }}}}"),
                     "body": "subject={{ items[0].subject }}"}
    });
    let rules = [rule("hook", "ticket-created", serde_json::json!([call]))];
    let engine = open(dir.path(), clock.clone(), EngineConfig::default(), &rules).await;
    engine
        .ingest(event(
            "ticket-created",
            &["42"],
            serde_json::json!({"subject": "Printer"}),
        ))
        .await
        .unwrap();
    engine.run_due().await;
    let first = attempts(&engine, "hook");
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].0, "retry", "{first:?}");
    // Not due before Retry-After has passed.
    clock.advance(1_000);
    engine.run_due().await;
    assert_eq!(attempts(&engine, "hook").len(), 1);
    clock.advance(1_500);
    engine.run_due().await;
    let all = attempts(&engine, "hook");
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[1].0, "ok", "{all:?}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    for (method, path, _, body) in seen.iter() {
        assert_eq!(
            (method.as_str(), path.as_str(), body.as_str()),
            ("PUT", "/tickets/42", "subject=Printer")
        );
    }
}
