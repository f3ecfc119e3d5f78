//! One function per route, each a thin layer over the library. Agents see
//! and change only their own rules; a rule they may not see answers 404, as
//! if it did not exist.

use super::auth::{Principal, Role};
use super::error::{parse, ApiError};
use super::routes::Op;
use super::{json_response, Api, Call};
use crate::catalog::catalog;
use crate::engine::audit::Query;
use crate::event::{Event, ItemSnapshot};
use crate::rules::{Rule, RuleSet, Validator};
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use serde::Deserialize;
use serde_json::{json, Value};

type Answer = Result<Response<Full<Bytes>>, ApiError>;

fn ok(body: Value) -> Answer {
    Ok(json_response(StatusCode::OK, &body))
}

fn created(body: Value) -> Answer {
    Ok(json_response(StatusCode::CREATED, &body))
}

impl Api {
    pub(super) async fn dispatch(&self, op: Op, call: Call) -> Answer {
        match op {
            Op::Health => ok(json!({"status": "ok"})),
            Op::Metrics => Ok(self.metrics_text()),
            Op::OpenApi => ok(super::openapi::document()),
            Op::Catalog => ok(serde_json::to_value(catalog()).map_err(ApiError::internal)?),
            Op::ListRules => self.list_rules(&call),
            Op::CreateRule => self.create_rule(&call),
            Op::ExportRules => {
                let text = self.engine.rules().export()?;
                ok(serde_json::from_str(&text).map_err(ApiError::internal)?)
            }
            Op::ImportRules => self.import_rules(&call),
            Op::GetRule => ok(json!(self.visible_rule(&call)?)),
            Op::UpdateRule => self.update_rule(&call),
            Op::DeleteRule => {
                let rule = self.visible_rule(&call)?;
                self.engine.rules().delete(&rule.id)?;
                self.engine.reload_rules()?;
                ok(json!({"deleted": rule.id}))
            }
            Op::EnableRule | Op::DisableRule => {
                let rule = self.visible_rule(&call)?;
                let rule = self
                    .engine
                    .rules()
                    .set_enabled(&rule.id, op == Op::EnableRule)?;
                self.engine.reload_rules()?;
                ok(json!(rule))
            }
            Op::RunRule => self.run_rule(&call).await,
            Op::SendEvents => self.send_events(&call).await,
            Op::Explain => self.explain(&call),
            Op::GetItem => {
                let (kind, id) = (&call.params[0], &call.params[1]);
                match self.engine.item(kind, id)? {
                    Some(item) => ok(item),
                    None => Err(ApiError::not_found(format!(
                        "no {kind} {id} in the item mirror"
                    ))),
                }
            }
            Op::ListCommands => ok(json!({"commands": self.engine.commands()?})),
            Op::AckCommand => {
                let id = &call.params[0];
                if self.engine.acknowledge_command(id)? {
                    ok(json!({"acknowledged": id}))
                } else {
                    Err(ApiError::not_found(format!(
                        "no pending command `{id}` (already acknowledged?)"
                    )))
                }
            }
            Op::ListPlugins => ok(self.plugins()),
            Op::Audit => self.audit(&call),
            Op::ListDeadLetters => ok(json!({"dead_letters": self.engine.dead_letters()?})),
            Op::ReplayDeadLetter => {
                let job = u64::from_str_radix(&call.params[0], 16).map_err(|_| {
                    ApiError::invalid("job", "is not a job number (hex, as listed)")
                })?;
                let is_dead = self.engine.dead_letters()?.iter().any(|j| j.n == job);
                if !is_dead {
                    return Err(ApiError::not_found(format!(
                        "job {job:016x} is not in the dead-letter list"
                    )));
                }
                ok(json!({"replayed": self.engine.replay(job).await?}))
            }
            Op::ListProfiles => self.list_profiles(&call),
            Op::PutProfile => self.put_profile(&call),
            Op::DeleteProfile => self.delete_profile(&call),
            Op::ListCanned => self.list_canned(),
            Op::PutCanned => self.put_canned(&call),
            Op::DeleteCanned => self.delete_canned(&call),
            Op::GetCalendars => self.get_calendars(),
            Op::PutCalendars => self.put_calendars(&call),
            Op::InstallPlugin => self.install_plugin(&call).await,
            Op::ReloadPlugin => self.reload_plugin(&call).await,
            Op::RemovePlugin => self.remove_plugin(&call),
            Op::SetGrants => self.set_grants(&call),
            Op::ListTokens => ok(json!({"tokens": self.tokens.list()?})),
            Op::CreateToken => {
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct New {
                    role: Role,
                    #[serde(default)]
                    agent: Option<String>,
                }
                let new: New = parse(&call.body)?;
                let (principal, secret) = self
                    .tokens
                    .create(new.role, new.agent.as_deref())
                    .map_err(|e| ApiError::invalid("agent", e.to_string()))?;
                created(json!({"token": principal, "secret": secret}))
            }
            Op::RevokeToken => {
                let id = &call.params[0];
                if self.tokens.revoke(id)? {
                    ok(json!({"revoked": id}))
                } else {
                    Err(ApiError::not_found(format!("no token `{id}`")))
                }
            }
        }
    }

    fn validator(&self) -> Validator<'_> {
        Validator {
            catalog: catalog(),
            plugins: &self.registry,
        }
    }

    /// The rule named in the path, if the caller may see it.
    fn visible_rule(&self, call: &Call) -> Result<Rule, ApiError> {
        let id = &call.params[0];
        let not_found = || ApiError::not_found(format!("rule `{id}` does not exist"));
        let rule = self.engine.rules().get(id).map_err(|_| not_found())?;
        if may_see(call.who(), &rule) {
            Ok(rule)
        } else {
            Err(not_found())
        }
    }

    fn list_rules(&self, call: &Call) -> Answer {
        let who = call.who();
        let q = &call.query;
        let enabled = match q.get("enabled").map(String::as_str) {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(other) => {
                return Err(ApiError::invalid(
                    "enabled",
                    format!("{other:?} is not accepted; use true or false"),
                ))
            }
        };
        let list = q.get("list").map(String::as_str);
        if !matches!(list, None | Some("global") | Some("employees")) {
            return Err(ApiError::invalid(
                "list",
                "is not accepted; use global (system rules) or employees (agents' rules)",
            ));
        }
        let rules: Vec<Rule> = self
            .engine
            .rules()
            .list()?
            .into_iter()
            .filter(|r| may_see(who, r))
            .filter(|r| match list {
                Some("global") => !r.agent_owned(),
                Some("employees") => r.agent_owned(),
                _ => true,
            })
            .filter(|r| q.get("owner").is_none_or(|o| *o == r.owner))
            .filter(|r| q.get("category").is_none_or(|c| *c == r.category))
            .filter(|r| q.get("event_type").is_none_or(|t| *t == r.event_type))
            .filter(|r| q.get("folder").is_none_or(|f| *f == r.folder))
            .filter(|r| enabled.is_none_or(|e| e == r.enabled))
            .collect();
        ok(json!({"rules": rules}))
    }

    /// Parses a rule body and applies what an agent may and may not do.
    fn rule_from_body(&self, call: &Call) -> Result<Rule, ApiError> {
        let value: Value = parse(&call.body)?;
        let owner_given = value.get("owner").is_some();
        let mut rule: Rule = parse_value(value)?;
        let who = call.who();
        if let Some(agent) = who.agent() {
            if owner_given && rule.owner != agent {
                return Err(ApiError {
                    path: Some("owner".into()),
                    ..ApiError::forbidden(format!(
                        "an agent's rules are their own: owner must be `{agent}`, not `{}`",
                        rule.owner
                    ))
                });
            }
            rule.owner = agent.to_string();
            for (i, action) in rule.actions.iter().enumerate() {
                if !self.config.agent_may_use(&action.plugin) {
                    return Err(ApiError {
                        path: Some(format!("actions[{i}].plugin")),
                        ..ApiError::forbidden(format!(
                            "plugin `{}` is not available to agents; available: {}",
                            action.plugin,
                            self.config.agent_plugins.join(", ")
                        ))
                    });
                }
            }
        }
        Ok(rule)
    }

    fn create_rule(&self, call: &Call) -> Answer {
        if !call.who().is_admin() && !self.config.agents_may_create_rules {
            return Err(ApiError::forbidden(
                "agents may not create rules on this server (agents_may_create_rules = false)",
            ));
        }
        let rule = self.rule_from_body(call)?;
        self.engine.rules().create(&rule, &self.validator())?;
        self.engine.reload_rules()?;
        created(json!(self.engine.rules().get(&rule.id)?))
    }

    fn update_rule(&self, call: &Call) -> Answer {
        let existing = self.visible_rule(call)?;
        let mut rule = self.rule_from_body(call)?;
        if rule.id != existing.id {
            return Err(ApiError::invalid(
                "id",
                format!(
                    "{:?} differs from the rule in the path, `{}`; a rule's id cannot change",
                    rule.id, existing.id
                ),
            ));
        }
        if !call.who().is_admin() {
            rule.owner = existing.owner.clone();
        }
        self.engine.rules().update(&rule, &self.validator())?;
        self.engine.reload_rules()?;
        ok(json!(self.engine.rules().get(&rule.id)?))
    }

    fn import_rules(&self, call: &Call) -> Answer {
        let set: RuleSet = parse(&call.body)?;
        let checked = self.engine.rules().import(&set, &self.validator())?;
        self.engine.reload_rules()?;
        ok(json!({"imported": checked.len()}))
    }

    async fn run_rule(&self, call: &Call) -> Answer {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Run {
            items: Vec<ItemSnapshot>,
        }
        let rule = self.visible_rule(call)?;
        let run: Run = parse(&call.body)?;
        if run.items.is_empty() {
            return Err(ApiError::invalid(
                "items",
                "is empty; name the items to run the rule on",
            ));
        }
        let agent = call.who().agent().map(str::to_string);
        let result = self.engine.run_manual(&rule.id, run.items, agent).await?;
        ok(json!(result))
    }

    async fn send_events(&self, call: &Call) -> Answer {
        let (events, batch) = parse_events(&call.body)?;
        // Ingested together, the events share group-commit flushes.
        let results =
            futures::future::join_all(events.into_iter().map(|e| self.engine.ingest(e))).await;
        let mut out = Vec::new();
        for result in results {
            let result = result?;
            self.metrics.ingested(result.matched.len());
            out.push(result);
        }
        if batch {
            ok(json!({"results": out}))
        } else {
            ok(json!(out.remove(0)))
        }
    }

    fn explain(&self, call: &Call) -> Answer {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Dry {
            event: Event,
            #[serde(default)]
            rule: Option<String>,
        }
        let dry: Dry = parse(&call.body)?;
        let who = call.who();
        if let Some(id) = &dry.rule {
            let rule = self
                .engine
                .rules()
                .get(id)
                .ok()
                .filter(|r| may_see(who, r))
                .ok_or_else(|| ApiError::not_found(format!("rule `{id}` does not exist")))?;
            let results = self.engine.explain(&dry.event, Some(&rule.id))?;
            return ok(json!({"rules": results}));
        }
        let results: Vec<_> = self
            .engine
            .explain(&dry.event, None)?
            .into_iter()
            .filter(|r| {
                who.is_admin()
                    || self
                        .engine
                        .rules()
                        .get(&r.rule)
                        .is_ok_and(|rule| may_see(who, &rule))
            })
            .collect();
        ok(json!({"rules": results}))
    }

    fn plugins(&self) -> Value {
        let list: Vec<Value> = self
            .registry
            .list()
            .iter()
            .map(|i| {
                let p = &i.plugin;
                json!({
                    "id": p.id(), "version": p.info.version, "world": p.manifest.world.name(),
                    "description": p.manifest.description,
                    "actions": p.info.actions.iter().map(|a| json!({
                        "id": a.id, "title": a.title,
                        "modes": a.modes.iter().map(|m| m.name()).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                    "grants": *i.grants,
                    "last_error": self.registry.last_error(p.id()),
                })
            })
            .collect();
        json!({"plugins": list})
    }

    fn audit(&self, call: &Call) -> Answer {
        let q = &call.query;
        let number = |key: &str| -> Result<Option<i64>, ApiError> {
            q.get(key)
                .map(|v| {
                    v.parse::<i64>()
                        .map_err(|_| ApiError::invalid(key, format!("{v:?} is not a number")))
                })
                .transpose()
        };
        let query = Query {
            event: q.get("event").cloned(),
            rule: q.get("rule").cloned(),
            item: q.get("item").cloned(),
            plugin: q.get("plugin").cloned(),
            since_ms: number("since_ms")?,
            until_ms: number("until_ms")?,
            limit: number("limit")?.map(|n| n.clamp(1, 10_000) as usize),
        };
        let who = call.who();
        if !who.is_admin() {
            let own = query
                .rule
                .as_ref()
                .and_then(|id| self.engine.rules().get(id).ok())
                .is_some_and(|r| may_see(who, &r));
            if !own {
                return Err(ApiError::forbidden(
                    "agents read the audit of their own rules: add ?rule=<one of your rules>",
                ));
            }
        }
        ok(json!({"records": self.engine.audit(&query)?}))
    }
}

/// Whether a principal may see a rule: admins all, agents their own.
fn may_see(who: &Principal, rule: &Rule) -> bool {
    who.is_admin() || who.agent() == Some(rule.owner.as_str())
}

/// Parses an already-read JSON value, naming the bad field.
pub(super) fn parse_value<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        ApiError::invalid(
            if path == "." { String::new() } else { path },
            e.into_inner().to_string(),
        )
    })
}

/// Parses and checks the body of `POST /v1/events`: one event, or
/// `{"events": [...]}` (then `true` is returned beside them). Every event is
/// checked ([`crate::engine::check_event`]) before any is stored, so a bad
/// one refuses the batch; the error names its path (`events[2].items[0].id`).
pub fn parse_events(body: &[u8]) -> Result<(Vec<Event>, bool), ApiError> {
    let value: Value = parse(body)?;
    let batch = value.get("events").is_some();
    let events: Vec<Event> = if batch {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Batch {
            events: Vec<Event>,
        }
        parse_value::<Batch>(value)?.events
    } else {
        vec![parse_value::<Event>(value)?]
    };
    for (i, event) in events.iter().enumerate() {
        if let Err(e) = crate::engine::check_event(event) {
            let path = if batch {
                format!("events[{i}].{}", e.field)
            } else {
                e.field.clone()
            };
            return Err(ApiError::invalid(path, e.to_string()));
        }
    }
    Ok((events, batch))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"{"category":"ticket","event_type":"ticket-created",
        "occurred_at":"2026-11-28T09:00:00Z","items":[{"kind":"ticket","id":"1"}]}"#;

    #[test]
    fn parse_events_takes_one_event_or_a_batch_and_names_the_bad_one() {
        let (events, batch) = parse_events(ONE.as_bytes()).unwrap();
        assert_eq!((events.len(), batch), (1, false));
        let two = format!(r#"{{"events":[{ONE},{ONE}]}}"#);
        let (events, batch) = parse_events(two.as_bytes()).unwrap();
        assert_eq!((events.len(), batch), (2, true));
        let bad = format!(
            r#"{{"events":[{ONE},{}]}}"#,
            ONE.replace("ticket-created", "ticket-exploded")
        );
        let err = parse_events(bad.as_bytes()).unwrap_err();
        assert_eq!(err.path.as_deref(), Some("events[1].event_type"));
        let err = parse_events(ONE.replace(r#""id":"1""#, r#""id":" ""#).as_bytes()).unwrap_err();
        assert_eq!(err.path.as_deref(), Some("items[0].id"));
    }
}
