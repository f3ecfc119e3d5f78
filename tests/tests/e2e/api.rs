//! The HTTP API (the authorisation matrix is in `api_matrix`): manual runs, explain,
//! malformed and oversized bodies, the OpenAPI document against the route
//! table, the server over TCP with a graceful stop, and `tocsin serve`.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};
use std::sync::Arc;
use tocsin::api::auth::Role;
use tocsin::api::routes::ROUTES;
use tocsin::api::{Api, ApiConfig};
use tocsin::engine::EngineConfig;
use tocsin_tests::engine::*;

pub(crate) struct Setup {
    pub(crate) api: Arc<Api>,
    pub(crate) admin: String,
    pub(crate) ana: String,
    pub(crate) bob: String,
    pub(crate) _dir: tempfile::TempDir,
}

pub(crate) fn helpdesk(action: &str, settings: Value) -> Value {
    json!({"plugin": "helpdesk", "action": action, "mode": "digest", "settings": settings})
}

pub(crate) fn ana_rule(id: &str) -> Value {
    json!({"id": id, "name": format!("Ana's {id}"), "owner": "ana", "category": "ticket",
           "event_type": "ticket-created",
           "conditions": [{"field": "priority", "op": "equals", "value": "urgent"}],
           "actions": [helpdesk("set-ticket-priority", json!({"priority": "high"}))]})
}

/// The body of `POST /v1/plugins` for a test guest, optionally under
/// another manifest.
pub(crate) fn upload(guest: &str, manifest_of: Option<&str>) -> Value {
    use base64::Engine as _;
    let dir = tocsin_tests::guests_dir();
    let wasm = std::fs::read(dir.join(format!("{guest}.wasm"))).unwrap();
    let manifest = match manifest_of {
        Some(other) => {
            std::fs::read_to_string(tocsin_tests::plugins_dir().join(format!("{other}.toml")))
                .unwrap()
        }
        None => std::fs::read_to_string(dir.join(format!("{guest}.toml"))).unwrap(),
    };
    json!({"manifest": manifest,
           "component": base64::engine::general_purpose::STANDARD.encode(wasm)})
}

pub(crate) async fn setup(config: ApiConfig) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let mut rules = vec![
        rule(
            "sys",
            "ticket-created",
            json!([helpdesk("set-ticket-status", json!({"status": "waiting"}))]),
        ),
        rule(
            "sys-survey",
            "ticket-created",
            json!([helpdesk("offer-survey", json!({"survey": "csat"}))]),
        ),
        ana_rule("ana-rule"),
        json!({"id": "ana-manual", "name": "Ana's one click", "owner": "ana",
               "category": "ticket", "event_type": "manual-ticket-event",
               "actions": [helpdesk("set-ticket-priority", json!({"priority": "urgent"})),
                           helpdesk("set-ticket-status", json!({"status": "closed"}))]}),
    ];
    for who in ["admin", "ana", "bob", "none"] {
        rules.push(ana_rule(&format!("del-{who}")));
    }
    let engine = open(dir.path(), clock(), EngineConfig::default(), &rules).await;
    // Ticket 1 exists; the survey on an open ticket dead-letters (for the replay route).
    engine
        .ingest(event(
            "ticket-created",
            &["1"],
            json!({"status": "active", "priority": "normal"}),
        ))
        .await
        .unwrap();
    engine.run_due().await;
    assert_eq!(engine.dead_letters().unwrap().len(), 1);
    let registry = engine_registry(&engine);
    let api = Arc::new(
        Api::new(engine, registry, config)
            .unwrap()
            .with_plugins_dir(tocsin_tests::plugins_dir())
            .with_installed_dir(dir.path().join("installed")),
    );
    let admin = api.tokens().create(Role::Admin, None).unwrap().1;
    let ana = api.tokens().create(Role::Agent, Some("ana")).unwrap().1;
    let bob = api.tokens().create(Role::Agent, Some("bob")).unwrap().1;
    Setup {
        api,
        admin,
        ana,
        bob,
        _dir: dir,
    }
}

/// The registry the engine's rules were validated with.
fn engine_registry(engine: &tocsin::engine::Engine) -> Arc<tocsin::plugins::Registry> {
    engine.registry().clone()
}

pub(crate) async fn call(
    api: &Api,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    call_raw(
        api,
        token,
        method,
        path,
        body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
    )
    .await
}

pub(crate) async fn call_raw(
    api: &Api,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut request = hyper::Request::builder().method(method).uri(path);
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    let request = request.body(Full::new(Bytes::from(body))).unwrap();
    let response = api.handle(request).await;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, value)
}

#[tokio::test]
async fn agents_cannot_take_other_owners_admin_plugins_or_create_when_not_allowed() {
    let s = setup(ApiConfig::default()).await;
    let mut theirs = ana_rule("x");
    theirs["owner"] = json!("bob");
    let (status, e) = call(&s.api, Some(&s.ana), "POST", "/v1/rules", Some(theirs)).await;
    assert_eq!((status, e["error"]["path"].as_str()), (403, Some("owner")));
    let mut web = ana_rule("y");
    web["actions"] = json!([{"plugin": "web-call", "action": "call-web-page", "mode": "digest",
                             "settings": {"url": "http://127.0.0.1/"}}]);
    let (status, e) = call(&s.api, Some(&s.ana), "POST", "/v1/rules", Some(web)).await;
    assert_eq!(
        (status, e["error"]["path"].as_str()),
        (403, Some("actions[0].plugin")),
        "{e}"
    );
    let mut pop = ana_rule("z");
    pop["category"] = json!("pop");
    pop["event_type"] = json!("pop-connection-failed");
    let (status, e) = call(&s.api, Some(&s.ana), "POST", "/v1/rules", Some(pop)).await;
    assert_eq!(status, 400, "{e}");

    let locked = setup(ApiConfig {
        agents_may_create_rules: false,
        ..ApiConfig::default()
    })
    .await;
    let (status, _) = call(
        &locked.api,
        Some(&locked.ana),
        "POST",
        "/v1/rules",
        Some(ana_rule("w")),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(
        &locked.api,
        Some(&locked.admin),
        "POST",
        "/v1/rules",
        Some(ana_rule("w")),
    )
    .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn a_manual_run_applies_every_action_in_order_on_the_chosen_items() {
    let s = setup(ApiConfig::default()).await;
    let items = json!({"items": [
        {"kind": "ticket", "id": "7", "fields": {"status": "active", "priority": "low"}},
        {"kind": "ticket", "id": "8", "fields": {"status": "waiting", "priority": "low"}}
    ]});
    let (status, result) = call(
        &s.api,
        Some(&s.ana),
        "POST",
        "/v1/rules/ana-manual/run",
        Some(items),
    )
    .await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["matched"], json!(["ana-manual"]), "only this rule");
    s.api.engine().run_due().await;
    for id in ["7", "8"] {
        let item = s.api.engine().item("ticket", id).unwrap().unwrap();
        assert_eq!(item["fields"]["priority"], "urgent", "{item}");
        assert_eq!(item["fields"]["status"], "closed", "{item}");
    }
    let commands = s.api.engine().commands().unwrap();
    let on_7: Vec<&str> = commands
        .iter()
        .filter(|c| c["item_id"] == "7")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(on_7, ["set-priority", "set-status"]);
    let (status, e) = call(
        &s.api,
        Some(&s.admin),
        "POST",
        "/v1/rules/ana-rule/run",
        Some(json!({"items": [{"kind": "ticket", "id": "7", "fields": {}}]})),
    )
    .await;
    assert_eq!(status, 409, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a manual event type"),
        "{e}"
    );
}

#[tokio::test]
async fn explain_gives_each_condition_and_runs_nothing() {
    let s = setup(ApiConfig::default()).await;
    let before_jobs = s.api.engine().pending_jobs().unwrap().len();
    let before_audit = s.api.engine().audit(&Default::default()).unwrap().len();
    let event = json!({"category": "ticket", "event_type": "ticket-created",
        "occurred_at": "2026-11-30T10:00:00Z",
        "items": [{"kind": "ticket", "id": "9", "fields": {"priority": "urgent"}},
                  {"kind": "ticket", "id": "10", "fields": {"priority": "low"}}]});
    let (status, out) = call(
        &s.api,
        Some(&s.ana),
        "POST",
        "/v1/explain",
        Some(json!({"event": event, "rule": "ana-rule"})),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let rule = &out["rules"][0];
    assert_eq!(rule["fires"], true);
    assert_eq!(rule["items"][0]["passed"], true);
    assert_eq!(rule["items"][1]["passed"], false);
    assert_eq!(rule["items"][1]["conditions"][0]["passed"], false, "{rule}");
    // Bob sees none of ana's rules in an explain of all rules.
    let (_, bobs) = call(
        &s.api,
        Some(&s.bob),
        "POST",
        "/v1/explain",
        Some(json!({"event": event})),
    )
    .await;
    assert_eq!(bobs["rules"], json!([]));
    let (_, all) = call(
        &s.api,
        Some(&s.admin),
        "POST",
        "/v1/explain",
        Some(json!({"event": event})),
    )
    .await;
    assert!(all["rules"].as_array().unwrap().len() >= 3, "{all}");
    assert_eq!(s.api.engine().pending_jobs().unwrap().len(), before_jobs);
    assert_eq!(
        s.api.engine().audit(&Default::default()).unwrap().len(),
        before_audit
    );
    assert!(s.api.engine().item("ticket", "9").unwrap().is_none());
}

#[tokio::test]
async fn bad_bodies_get_a_clear_4xx_naming_the_field_and_write_nothing() {
    let s = setup(ApiConfig {
        max_body_bytes: 4096,
        ..ApiConfig::default()
    })
    .await;
    let rules_before = s.api.engine().rules().list().unwrap().len();
    let admin = Some(s.admin.as_str());
    let (status, e) = call_raw(&s.api, admin, "POST", "/v1/rules", b"{\"id\": ".to_vec()).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("bad_request")),
        "{e}"
    );
    let mut unknown = ana_rule("u1");
    unknown["colour"] = json!("red");
    let (status, e) = call(&s.api, admin, "POST", "/v1/rules", Some(unknown)).await;
    assert_eq!(status, 400);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `colour`"),
        "{e}"
    );
    let mut wrong = ana_rule("u2");
    wrong["actions"][0]["mode"] = json!(7);
    let (status, e) = call(&s.api, admin, "POST", "/v1/rules", Some(wrong)).await;
    assert_eq!(
        (status, e["error"]["path"].as_str()),
        (400, Some("actions[0].mode")),
        "{e}"
    );
    let mut invalid = ana_rule("u3");
    invalid["actions"][0]["settings"]["priority"] = json!("sky-high");
    let (status, e) = call(&s.api, admin, "POST", "/v1/rules", Some(invalid)).await;
    assert_eq!(
        (status, e["error"]["path"].as_str()),
        (400, Some("actions[0].settings.priority")),
        "{e}"
    );
    let big = vec![b' '; 5000];
    let (status, e) = call_raw(&s.api, admin, "POST", "/v1/rules", big).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (413, Some("too_large")),
        "{e}"
    );
    let (status, e) = call(&s.api, admin, "POST", "/v1/events", Some(json!({"events": [
        {"category": "ticket", "event_type": "ticket-created", "occurred_at": "2026-11-30T10:00:00Z",
         "items": [{"kind": "ticket", "id": "20", "fields": {}}]},
        {"category": "ticket", "event_type": "no-such-type", "occurred_at": "2026-11-30T10:00:00Z",
         "items": [{"kind": "ticket", "id": "21", "fields": {}}]}
    ]}))).await;
    assert_eq!(
        (status, e["error"]["path"].as_str()),
        (400, Some("events[1].event_type")),
        "{e}"
    );
    assert_eq!(s.api.engine().rules().list().unwrap().len(), rules_before);
    // The batch was refused whole: its first, valid event was not stored.
    assert!(s.api.engine().item("ticket", "20").unwrap().is_none());
    let (status, e) = call(&s.api, admin, "PATCH", "/v1/rules/sys", None).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
    let (status, _) = call(&s.api, Some("tsn_forged"), "GET", "/v1/rules", None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_served() {
    let s = setup(ApiConfig::default()).await;
    let (status, doc) = call(&s.api, None, "GET", "/v1/openapi.json", None).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.0.3");
    let mut listed = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            listed.push((method.to_uppercase(), path.clone()));
        }
    }
    listed.sort();
    let mut served: Vec<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    served.sort();
    assert_eq!(listed, served);
    // Each listed route is served (whatever the answer, never "no route").
    for (method, path) in &listed {
        let concrete = path.replace("{kind}", "ticket").replace(['{', '}'], "");
        let (_, answer) = call(&s.api, Some(&s.admin), method, &concrete, None).await;
        assert_ne!(answer["error"]["code"], "no_route", "{method} {path}");
    }
    let (status, answer) = call(&s.api, Some(&s.admin), "GET", "/v1/unlisted", None).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("no_route"))
    );
}

#[tokio::test]
async fn profiles_canned_replies_calendars_and_plugins_through_the_api() {
    let s = setup(ApiConfig::default()).await;
    let admin = Some(s.admin.as_str());
    // Profiles: an agent keeps their own; errors name the field.
    let (status, p) = call(
        &s.api,
        Some(&s.ana),
        "PUT",
        "/v1/profiles/ana/phone",
        Some(json!({"sms": ["5551234@sms.example.net"], "sms_on": true, "default": true})),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["default"], true);
    let (status, e) = call(
        &s.api,
        Some(&s.ana),
        "PUT",
        "/v1/profiles/ana/bad",
        Some(json!({"emails": ["not an address"]})),
    )
    .await;
    assert_eq!(
        (status, e["error"]["path"].as_str()),
        (400, Some("emails[0]")),
        "{e}"
    );
    let (_, bobs) = call(&s.api, Some(&s.bob), "GET", "/v1/profiles", None).await;
    assert_eq!(bobs["profiles"], json!([]));
    let (_, all) = call(&s.api, admin, "GET", "/v1/profiles?agent=ana", None).await;
    assert_eq!(all["profiles"][0]["name"], "phone");

    // Canned replies: templates must compile.
    let (status, e) = call(
        &s.api,
        admin,
        "PUT",
        "/v1/canned-replies/broken",
        Some(json!({"title": "Broken", "body": "Hello {{ item.id "})),
    )
    .await;
    assert_eq!(
        (status, e["error"]["path"].as_str()),
        (400, Some("body")),
        "{e}"
    );
    let (status, _) = call(
        &s.api,
        admin,
        "PUT",
        "/v1/canned-replies/hello",
        Some(json!({"title": "Hello", "body": "Hello {{ item.id }}"})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, list) = call(&s.api, Some(&s.bob), "GET", "/v1/canned-replies", None).await;
    assert_eq!(list["canned_replies"][0]["id"], "hello");

    // Calendars: checked, naming the path.
    let (status, e) = call(
        &s.api,
        admin,
        "PUT",
        "/v1/calendars",
        Some(json!({"default": {"time-zone": "Mars/Olympus"}})),
    )
    .await;
    assert_eq!(status, 400, "{e}");
    assert!(
        e["error"]["path"]
            .as_str()
            .unwrap()
            .starts_with("calendars.default"),
        "{e}"
    );

    // Grants: checked, kept, shown in the plugin list.
    let (status, e) = call(
        &s.api,
        admin,
        "PUT",
        "/v1/plugins/helpdesk/grants",
        Some(json!({"memory-mib": 0})),
    )
    .await;
    assert_eq!(
        (status, e["error"]["path"].as_str()),
        (400, Some("grants.memory-mib")),
        "{e}"
    );
    let (status, _) = call(
        &s.api,
        admin,
        "PUT",
        "/v1/plugins/helpdesk/grants",
        Some(json!({"helpdesk": ["set-status"], "memory-mib": 32})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, plugins) = call(&s.api, admin, "GET", "/v1/plugins", None).await;
    let helpdesk = plugins["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "helpdesk")
        .unwrap();
    assert_eq!(helpdesk["grants"]["memory-mib"], 32);
    let stored = tocsin::config::stored_grants(s.api.engine().store()).unwrap();
    assert_eq!(stored["helpdesk"].helpdesk, ["set-status"]);

    // Removing a plugin reports the rules that no longer load.
    let (status, removed) = call(&s.api, admin, "DELETE", "/v1/plugins/helpdesk", None).await;
    assert_eq!(status, 200);
    let left_out: Vec<&str> = removed["rules_left_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert!(
        left_out.contains(&"sys") && left_out.contains(&"ana-rule"),
        "{removed}"
    );
    let (status, _) = call(&s.api, admin, "POST", "/v1/plugins/helpdesk/reload", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_uploaded_plugin_is_checked_kept_and_a_bad_one_changes_nothing() {
    let s = setup(ApiConfig::default()).await;
    let admin = Some(s.admin.as_str());
    let (status, e) = call(
        &s.api,
        admin,
        "POST",
        "/v1/plugins",
        Some(json!({"manifest": "id = \"x\"", "component": "not base64!"})),
    )
    .await;
    assert_eq!(status, 400, "{e}");
    // The echo provider under helpdesk's manifest: refused, helpdesk keeps serving.
    let (status, e) = call(
        &s.api,
        admin,
        "POST",
        "/v1/plugins",
        Some(upload("echo-provider", Some("helpdesk"))),
    )
    .await;
    assert_eq!(
        (status, e["error"]["path"].as_str()),
        (400, Some("component")),
        "{e}"
    );
    let (_, plugins) = call(&s.api, admin, "GET", "/v1/plugins", None).await;
    let helpdesk = plugins["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "helpdesk")
        .unwrap();
    assert_eq!(helpdesk["world"], "action-plugin");
    assert!(helpdesk["actions"].as_array().unwrap().len() > 20);
    // A good upload is installed and kept in the installed folder.
    let (status, ok) = call(
        &s.api,
        admin,
        "POST",
        "/v1/plugins",
        Some(upload("billing-provider", None)),
    )
    .await;
    assert_eq!(status, 201, "{ok}");
    assert_eq!(ok["plugin"], "billing-provider");
    assert!(s
        ._dir
        .path()
        .join("installed/billing-provider.wasm")
        .exists());
    assert!(s
        ._dir
        .path()
        .join("installed/billing-provider.toml")
        .exists());
}

/// Over TCP: a request whose body is still arriving when shutdown starts is
/// answered; a request slower than the timeout gets 503; then `serve` returns.
#[tokio::test]
async fn shutdown_finishes_requests_in_flight_and_slow_requests_time_out() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = setup(ApiConfig {
        request_timeout_ms: 1_000,
        ..ApiConfig::default()
    })
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tocsin::api::server::serve(s.api.clone(), listener, async {
        let _ = stopped.await;
    }));
    let head = |len: usize, token: &str| {
        format!(
            "POST /v1/tokens HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\
             Content-Length: {len}\r\nConnection: close\r\n\r\n"
        )
    };
    let body = r#"{"role": "agent", "agent": "dora"}"#;

    // Too slow: half a body, then nothing for longer than the timeout.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(head(body.len(), &s.admin).as_bytes())
        .await
        .unwrap();
    slow.write_all(&body.as_bytes()[..10]).await.unwrap();
    let mut answer = String::new();
    slow.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("\"timeout\""), "{answer}");

    // In flight when shutdown starts: still answered.
    let mut late = tokio::net::TcpStream::connect(addr).await.unwrap();
    late.write_all(head(body.len(), &s.admin).as_bytes())
        .await
        .unwrap();
    late.write_all(&body.as_bytes()[..10]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    late.write_all(&body.as_bytes()[10..]).await.unwrap();
    let mut answer = String::new();
    late.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    server.await.unwrap().unwrap();
    // New connections are refused once it has stopped.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    assert!(s
        .api
        .tokens()
        .list()
        .unwrap()
        .iter()
        .any(|t| t.agent.as_deref() == Some("dora")));
}
