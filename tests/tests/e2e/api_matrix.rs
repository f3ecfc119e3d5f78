//! The authorisation matrix: every route of the API answered for admin, the
//! agent who owns the rule, another agent and no token, each cell asserted;
//! the matrix must have one row per route of the table.

use super::api::{ana_rule, call, setup, upload, Setup};
use serde_json::{json, Value};
use tocsin::api::routes::ROUTES;
use tocsin::api::ApiConfig;

/// One row of the matrix: the request for a caller, and the status each of
/// admin, owner (ana), other agent (bob) and no token gets.
struct Row {
    method: &'static str,
    path: &'static str,
    expect: [u16; 4],
}

const fn row(method: &'static str, path: &'static str, expect: [u16; 4]) -> Row {
    Row {
        method,
        path,
        expect,
    }
}

/// The concrete path and body of a row for caller `who`, read from the
/// server's state where the row needs an existing command, job or token.
async fn request_for(s: &Setup, r: &Row, who: &str) -> (String, Option<Value>) {
    let (_, commands) = call(&s.api, Some(&s.admin), "GET", "/v1/commands", None).await;
    let (_, dead) = call(&s.api, Some(&s.admin), "GET", "/v1/dead-letters", None).await;
    let (_, tokens) = call(&s.api, Some(&s.admin), "GET", "/v1/tokens", None).await;
    let command = commands["commands"][0]["id"]
        .as_str()
        .unwrap_or("cmd-0")
        .to_string();
    let job = dead["dead_letters"][0]["n"]
        .as_u64()
        .map(|n| format!("{n:x}"))
        .unwrap_or_else(|| "0".into());
    let carl = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["agent"] == "carl")
        .map(|t| t["token"].as_str().unwrap().to_string())
        .unwrap_or_else(|| "tok-none".into());
    let path = r
        .path
        .replace("{who}", who)
        .replace("{command}", &command)
        .replace("{job}", &job)
        .replace("{carl}", &carl);
    let body = match (r.method, r.path) {
        ("POST", "/v1/rules") => Some({
            let mut rule = ana_rule(&format!("new-{who}"));
            rule.as_object_mut().unwrap().remove("owner");
            rule
        }),
        ("PUT", "/v1/rules/import") => {
            let (_, export) = call(&s.api, Some(&s.admin), "GET", "/v1/rules/export", None).await;
            Some(export)
        }
        ("PUT", "/v1/rules/ana-rule") => Some(ana_rule("ana-rule")),
        ("POST", "/v1/rules/ana-manual/run") => {
            Some(json!({"items": [{"kind": "ticket", "id": "1", "fields": {"status": "active"}}]}))
        }
        ("POST", "/v1/events") => {
            Some(json!({"category": "ticket", "event_type": "ticket-created",
            "occurred_at": "2026-11-30T10:00:00Z",
            "items": [{"kind": "ticket", "id": "2", "fields": {"priority": "urgent"}}]}))
        }
        ("POST", "/v1/explain") => Some(json!({"event": {"category": "ticket",
            "event_type": "ticket-created", "occurred_at": "2026-11-30T10:00:00Z",
            "items": [{"kind": "ticket", "id": "3", "fields": {"priority": "urgent"}}]}})),
        ("POST", "/v1/tokens") => Some(json!({"role": "agent", "agent": "carl"})),
        ("PUT", "/v1/plugins/helpdesk/grants") => Some(json!({"helpdesk": ["*"]})),
        ("POST", "/v1/plugins") => Some(upload("echo-provider", None)),
        ("PUT", "/v1/profiles/ana/{who}") => {
            Some(json!({"emails": ["ana@example.com"], "email_on": true}))
        }
        ("PUT", "/v1/canned-replies/thanks-{who}") => {
            Some(json!({"title": "Thanks", "body": "Thanks, ticket {{ item.id }}"}))
        }
        ("PUT", "/v1/calendars") => {
            let (_, current) = call(&s.api, Some(&s.admin), "GET", "/v1/calendars", None).await;
            Some(current)
        }
        _ => None,
    };
    (path, body)
}

#[tokio::test]
async fn every_route_answers_each_role_as_the_matrix_says() {
    let s = setup(ApiConfig::default()).await;
    // [admin, owner agent, other agent, no token]
    let rows = [
        row("GET", "/healthz", [200, 200, 200, 200]),
        row("GET", "/metrics", [200, 200, 200, 200]),
        row("GET", "/v1/openapi.json", [200, 200, 200, 200]),
        row("GET", "/v1/catalog", [200, 200, 200, 401]),
        row("GET", "/v1/rules", [200, 200, 200, 401]),
        row("POST", "/v1/rules", [201, 201, 201, 401]),
        row("GET", "/v1/rules/export", [200, 403, 403, 401]),
        row("PUT", "/v1/rules/import", [200, 403, 403, 401]),
        row("GET", "/v1/rules/ana-rule", [200, 200, 404, 401]),
        row("PUT", "/v1/rules/ana-rule", [200, 200, 404, 401]),
        row("POST", "/v1/rules/ana-rule/disable", [200, 200, 404, 401]),
        row("POST", "/v1/rules/ana-rule/enable", [200, 200, 404, 401]),
        row("POST", "/v1/rules/ana-manual/run", [200, 200, 404, 401]),
        row("DELETE", "/v1/rules/del-{who}", [200, 200, 404, 401]),
        row("POST", "/v1/events", [200, 403, 403, 401]),
        row("POST", "/v1/explain", [200, 200, 200, 401]),
        row("GET", "/v1/items/ticket/1", [200, 200, 200, 401]),
        row("GET", "/v1/commands", [200, 403, 403, 401]),
        row("POST", "/v1/commands/{command}/ack", [200, 403, 403, 401]),
        row("GET", "/v1/plugins", [200, 403, 403, 401]),
        row("GET", "/v1/audit?rule=ana-rule", [200, 200, 403, 401]),
        row("GET", "/v1/dead-letters", [200, 403, 403, 401]),
        row(
            "POST",
            "/v1/dead-letters/{job}/replay",
            [200, 403, 403, 401],
        ),
        row("GET", "/v1/profiles", [200, 200, 200, 401]),
        row("PUT", "/v1/profiles/ana/{who}", [200, 200, 403, 401]),
        row("DELETE", "/v1/profiles/ana/{who}", [200, 200, 403, 401]),
        row("GET", "/v1/canned-replies", [200, 200, 200, 401]),
        row(
            "PUT",
            "/v1/canned-replies/thanks-{who}",
            [200, 403, 403, 401],
        ),
        row(
            "DELETE",
            "/v1/canned-replies/thanks-{who}",
            [200, 403, 403, 401],
        ),
        row("GET", "/v1/calendars", [200, 403, 403, 401]),
        row("PUT", "/v1/calendars", [200, 403, 403, 401]),
        row("POST", "/v1/plugins", [201, 403, 403, 401]),
        row("POST", "/v1/plugins/helpdesk/reload", [200, 403, 403, 401]),
        row("PUT", "/v1/plugins/helpdesk/grants", [200, 403, 403, 401]),
        row("DELETE", "/v1/plugins/misbehave", [200, 403, 403, 401]),
        row("GET", "/v1/tokens", [200, 403, 403, 401]),
        row("POST", "/v1/tokens", [201, 403, 403, 401]),
        row("DELETE", "/v1/tokens/{carl}", [200, 403, 403, 401]),
    ];
    // The matrix covers the route table exactly.
    let mut covered: Vec<(&str, String)> = rows
        .iter()
        .map(|r| {
            let path = r.path.split('?').next().unwrap();
            let (route, _) =
                tocsin::api::routes::find(r.method, &path.replace("{who}", "x")).unwrap();
            (route.method, route.path.to_string())
        })
        .collect();
    covered.sort();
    covered.dedup();
    let mut all: Vec<(&str, String)> = ROUTES
        .iter()
        .map(|r| (r.method, r.path.to_string()))
        .collect();
    all.sort();
    assert_eq!(covered, all, "the matrix must have one row per route");

    let callers = [
        ("admin", Some(s.admin.clone())),
        ("ana", Some(s.ana.clone())),
        ("bob", Some(s.bob.clone())),
        ("none", None),
    ];
    for r in &rows {
        for (i, (who, token)) in callers.iter().enumerate() {
            let (path, body) = request_for(&s, r, who).await;
            let (status, answer) = call(&s.api, token.as_deref(), r.method, &path, body).await;
            assert_eq!(
                status, r.expect[i],
                "{} {path} as {who}: {answer}",
                r.method
            );
            if status >= 400 {
                assert!(answer["error"]["code"].is_string(), "{answer}");
            }
        }
    }

    // What each saw of the rules: agents only their own; ana's new rule is hers.
    let ids = |v: &Value| -> Vec<String> {
        v["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, bob) = call(&s.api, Some(&s.bob), "GET", "/v1/rules", None).await;
    assert_eq!(ids(&bob), ["new-bob"]);
    let (_, ana) = call(&s.api, Some(&s.ana), "GET", "/v1/rules", None).await;
    assert!(
        ids(&ana)
            .iter()
            .all(|id| id.starts_with("ana-") || id.starts_with("del-") || id == "new-ana"),
        "{ana}"
    );
    let (_, global) = call(&s.api, Some(&s.admin), "GET", "/v1/rules?list=global", None).await;
    assert_eq!(ids(&global), ["new-admin", "sys", "sys-survey"]);
    let (_, new_ana) = call(&s.api, Some(&s.admin), "GET", "/v1/rules/new-ana", None).await;
    assert_eq!(new_ana["owner"], "ana");
}
