//! The route table: every route the server serves, with who may call it.
//! The OpenAPI document is generated from this table, so the two cannot
//! drift apart.

use super::error::ApiError;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, no token.
    Public,
    /// Any valid token; the handler limits agents to what is theirs.
    Signed,
    /// Admin tokens only.
    Admin,
}

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Liveness.
    Health,
    /// Prometheus metrics.
    Metrics,
    /// This API's OpenAPI document.
    OpenApi,
    /// The catalog.
    Catalog,
    /// Rules visible to the caller, filtered.
    ListRules,
    /// A new rule.
    CreateRule,
    /// Every rule as one document.
    ExportRules,
    /// Replace every rule from one document.
    ImportRules,
    /// One rule.
    GetRule,
    /// Replace a rule.
    UpdateRule,
    /// Delete a rule.
    DeleteRule,
    /// Enable a rule.
    EnableRule,
    /// Disable a rule.
    DisableRule,
    /// Run a manual rule on chosen items.
    RunRule,
    /// Ingest one event or a batch.
    SendEvents,
    /// Dry run an event.
    Explain,
    /// An item's mirror.
    GetItem,
    /// Pending help-desk commands.
    ListCommands,
    /// Acknowledge a command.
    AckCommand,
    /// Installed plugins.
    ListPlugins,
    /// Audit records.
    Audit,
    /// Dead-lettered jobs.
    ListDeadLetters,
    /// Replay a dead-lettered job.
    ReplayDeadLetter,
    /// Notification profiles (admins: all or ?agent=; agents: their own).
    ListProfiles,
    /// Create or replace a profile.
    PutProfile,
    /// Delete a profile.
    DeleteProfile,
    /// Canned replies.
    ListCanned,
    /// Create or replace a canned reply.
    PutCanned,
    /// Delete a canned reply.
    DeleteCanned,
    /// The stored calendars.
    GetCalendars,
    /// Replace the calendars.
    PutCalendars,
    /// Install a plugin from an upload.
    InstallPlugin,
    /// Reload a plugin from the plugins folder.
    ReloadPlugin,
    /// Remove a plugin.
    RemovePlugin,
    /// Replace a plugin's grants.
    SetGrants,
    /// Tokens (never their secrets).
    ListTokens,
    /// A new token.
    CreateToken,
    /// Revoke a token.
    RevokeToken,
}

/// One route.
#[derive(Debug)]
pub struct Route {
    /// HTTP method.
    pub method: &'static str,
    /// Path; `{name}` matches one segment.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// What it does.
    pub op: Op,
    /// One line for the OpenAPI document.
    pub summary: &'static str,
}

const fn route(
    method: &'static str,
    path: &'static str,
    access: Access,
    op: Op,
    summary: &'static str,
) -> Route {
    Route {
        method,
        path,
        access,
        op,
        summary,
    }
}

use Access::{Admin, Public, Signed};

/// Every route.
pub static ROUTES: &[Route] = &[
    route("GET", "/healthz", Public, Op::Health, "Liveness: 200 while the server runs"),
    route("GET", "/metrics", Public, Op::Metrics, "Prometheus metrics (text format)"),
    route("GET", "/v1/openapi.json", Public, Op::OpenApi, "This document"),
    route("GET", "/v1/catalog", Signed, Op::Catalog, "Categories, event types, conditions and actions"),
    route("GET", "/v1/rules", Signed, Op::ListRules, "Rules the caller may see; admins: ?list=global|employees, ?owner=, ?category=, ?event_type=, ?enabled="),
    route("POST", "/v1/rules", Signed, Op::CreateRule, "Create a rule (agents: their own, when agents may create rules)"),
    route("GET", "/v1/rules/export", Admin, Op::ExportRules, "Every rule as one JSON document"),
    route("PUT", "/v1/rules/import", Admin, Op::ImportRules, "Replace every rule from one JSON document, all or nothing"),
    route("GET", "/v1/rules/{id}", Signed, Op::GetRule, "One rule"),
    route("PUT", "/v1/rules/{id}", Signed, Op::UpdateRule, "Replace a rule"),
    route("DELETE", "/v1/rules/{id}", Signed, Op::DeleteRule, "Delete a rule"),
    route("POST", "/v1/rules/{id}/enable", Signed, Op::EnableRule, "Enable a rule"),
    route("POST", "/v1/rules/{id}/disable", Signed, Op::DisableRule, "Disable a rule"),
    route("POST", "/v1/rules/{id}/run", Signed, Op::RunRule, "Run a rule of a manual event type on the items in the body"),
    route("POST", "/v1/events", Admin, Op::SendEvents, "Ingest one event, or {\"events\": [...]}; answers once durable"),
    route("POST", "/v1/explain", Signed, Op::Explain, "Dry run an event against every rule of its type, or one rule: per-condition results, no action runs"),
    route("GET", "/v1/items/{kind}/{id}", Signed, Op::GetItem, "The item mirror of one item"),
    route("GET", "/v1/commands", Admin, Op::ListCommands, "Help-desk commands waiting to be pulled"),
    route("POST", "/v1/commands/{id}/ack", Admin, Op::AckCommand, "Acknowledge a pulled command"),
    route("GET", "/v1/plugins", Admin, Op::ListPlugins, "Installed plugins: versions, actions, grants"),
    route("POST", "/v1/plugins", Admin, Op::InstallPlugin, "Install a plugin: {\"manifest\": toml text, \"component\": base64, \"grants\": optional}; checked before it replaces anything"),
    route("POST", "/v1/plugins/{id}/reload", Admin, Op::ReloadPlugin, "Load the plugin again from the plugins folder; a version that fails leaves the old one serving"),
    route("DELETE", "/v1/plugins/{id}", Admin, Op::RemovePlugin, "Remove a plugin; answers the rules left out"),
    route("PUT", "/v1/plugins/{id}/grants", Admin, Op::SetGrants, "Replace a plugin's grants (kept for the next start)"),
    route("GET", "/v1/profiles", Signed, Op::ListProfiles, "Notification profiles: admins all (or ?agent=), agents their own"),
    route("PUT", "/v1/profiles/{agent}/{name}", Signed, Op::PutProfile, "Create or replace a notification profile (agents: their own)"),
    route("DELETE", "/v1/profiles/{agent}/{name}", Signed, Op::DeleteProfile, "Delete a notification profile (agents: their own)"),
    route("GET", "/v1/canned-replies", Signed, Op::ListCanned, "Canned replies"),
    route("PUT", "/v1/canned-replies/{id}", Admin, Op::PutCanned, "Create or replace a canned reply; templates must compile"),
    route("DELETE", "/v1/canned-replies/{id}", Admin, Op::DeleteCanned, "Delete a canned reply"),
    route("GET", "/v1/calendars", Admin, Op::GetCalendars, "Business hours and holidays per brand and department"),
    route("PUT", "/v1/calendars", Admin, Op::PutCalendars, "Replace the calendars (checked, then used at once)"),
    route("GET", "/v1/audit", Signed, Op::Audit, "Audit records by ?event=, ?rule=, ?item=, ?plugin=, ?since_ms=, ?until_ms=, ?limit= (agents: ?rule= of their own rule)"),
    route("GET", "/v1/dead-letters", Admin, Op::ListDeadLetters, "Jobs that failed for good"),
    route("POST", "/v1/dead-letters/{job}/replay", Admin, Op::ReplayDeadLetter, "Put a dead-lettered job back in the outbox"),
    route("GET", "/v1/tokens", Admin, Op::ListTokens, "Tokens (ids, roles, agents; never secrets)"),
    route("POST", "/v1/tokens", Admin, Op::CreateToken, "Create a token: {\"role\": \"agent\", \"agent\": \"ana\"}; the secret is shown once"),
    route("DELETE", "/v1/tokens/{id}", Admin, Op::RevokeToken, "Revoke a token"),
];

/// Finds the route of a request and its path parameters, in order. A path
/// served with other methods gives 405; an unknown path, 404 `no_route`.
pub fn find(method: &str, path: &str) -> Result<(&'static Route, Vec<String>), ApiError> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut allowed = Vec::new();
    // Literal segments win over parameters (`/v1/rules/export` is not rule `export`).
    let mut best: Option<(usize, &'static Route, Vec<String>)> = None;
    for route in ROUTES {
        let Some(params) = matches(route.path, &segments) else {
            continue;
        };
        if route.method != method {
            allowed.push(route.method);
            continue;
        }
        let literal = route
            .path
            .split('/')
            .filter(|s| !s.starts_with('{'))
            .count();
        if best.as_ref().is_none_or(|(l, _, _)| literal > *l) {
            best = Some((literal, route, params));
        }
    }
    if let Some((_, route, params)) = best {
        return Ok((route, params));
    }
    if allowed.is_empty() {
        Err(ApiError::no_route(method, path))
    } else {
        allowed.sort();
        allowed.dedup();
        Err(ApiError::method_not_allowed(&allowed))
    }
}

fn matches(pattern: &str, segments: &[&str]) -> Option<Vec<String>> {
    let parts: Vec<&str> = pattern.split('/').collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut params = Vec::new();
    for (p, s) in parts.iter().zip(segments) {
        if p.starts_with('{') {
            if s.is_empty() {
                return None;
            }
            params.push(percent_decode(s)?);
        } else if p != s {
            return None;
        }
    }
    Some(params)
}

/// Decodes `%xx` escapes of a path segment or query value (`+` stays `+`
/// in paths; the query parser turns it into a space first).
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_segments_win_and_parameters_are_decoded() {
        let (r, p) = find("GET", "/v1/rules/export").unwrap();
        assert_eq!((r.op, p.len()), (Op::ExportRules, 0));
        let (r, p) = find("GET", "/v1/rules/idle%20one").unwrap();
        assert_eq!((r.op, p), (Op::GetRule, vec!["idle one".to_string()]));
        let (r, p) = find("GET", "/v1/items/ticket/7").unwrap();
        assert_eq!((r.op, p), (Op::GetItem, vec!["ticket".into(), "7".into()]));
    }

    #[test]
    fn unknown_paths_and_wrong_methods() {
        assert_eq!(find("GET", "/v1/nothing").unwrap_err().code, "no_route");
        let e = find("PATCH", "/v1/rules/a").unwrap_err();
        assert_eq!(e.code, "method_not_allowed");
        assert!(e.message.contains("DELETE, GET, PUT"), "{}", e.message);
    }

    #[test]
    fn every_route_is_unique() {
        let mut seen = std::collections::HashSet::new();
        for r in ROUTES {
            assert!(seen.insert((r.method, r.path)), "{} {}", r.method, r.path);
        }
    }
}
