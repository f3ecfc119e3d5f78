//! Routes for what the desk keeps besides rules: notification profiles,
//! canned replies, calendars, and the installed plugins' lifecycle.

use super::error::{parse, ApiError};
use super::{json_response, Api, Call};
use crate::calendars::CalendarConfig;
use crate::canned::{CannedError, CannedReplies, CannedReply};
use crate::catalog::catalog;
use crate::plugins::Grants;
use crate::profiles::{Profile, ProfileError, Profiles};
use crate::rules::Validator;
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};
use std::sync::Arc;

type Answer = Result<Response<Full<Bytes>>, ApiError>;

fn ok(body: Value) -> Answer {
    Ok(json_response(StatusCode::OK, &body))
}

impl From<ProfileError> for ApiError {
    fn from(e: ProfileError) -> Self {
        match &e {
            ProfileError::Invalid { field, .. } => ApiError::invalid(field.clone(), e.to_string()),
            ProfileError::NotFound { .. } => ApiError::not_found(e.to_string()),
            ProfileError::Import { .. } | ProfileError::Parse(_) => {
                ApiError::bad_request(e.to_string())
            }
            ProfileError::Store(_) | ProfileError::Corrupt(_) => ApiError::internal(e),
        }
    }
}

impl From<CannedError> for ApiError {
    fn from(e: CannedError) -> Self {
        match &e {
            CannedError::Invalid { field, .. } => ApiError::invalid(field.clone(), e.to_string()),
            CannedError::NotFound { .. } => ApiError::not_found(e.to_string()),
            CannedError::Render { .. } | CannedError::Parse(_) => {
                ApiError::bad_request(e.to_string())
            }
            CannedError::Store(_) => ApiError::internal(e),
        }
    }
}

impl Api {
    fn profiles(&self) -> Result<Profiles, ApiError> {
        Ok(Profiles::open(self.engine.store())?)
    }

    /// The agent of a profile path, if the caller may change its profiles.
    fn profile_owner<'a>(&self, call: &'a Call) -> Result<&'a str, ApiError> {
        let agent = call.params[0].as_str();
        let who = call.who();
        if who.is_admin() || who.agent() == Some(agent) {
            Ok(agent)
        } else {
            Err(ApiError::forbidden(format!(
                "an agent manages only their own notification profiles, not `{agent}`'s"
            )))
        }
    }

    pub(super) fn list_profiles(&self, call: &Call) -> Answer {
        let who = call.who();
        let agent = match who.agent() {
            Some(a) => Some(a.to_string()),
            None => call.query.get("agent").cloned(),
        };
        let profiles = self.profiles()?;
        let list = match agent {
            Some(a) => profiles.list(&a)?,
            None => profiles.export()?.profiles,
        };
        ok(json!({"profiles": list}))
    }

    pub(super) fn put_profile(&self, call: &Call) -> Answer {
        let agent = self.profile_owner(call)?;
        let name = &call.params[1];
        let mut value: Value = parse(&call.body)?;
        let Some(object) = value.as_object_mut() else {
            return Err(ApiError::invalid("", "a profile is a JSON object"));
        };
        for (key, want) in [("agent", agent), ("name", name.as_str())] {
            match object.get(key) {
                None => {
                    object.insert(key.into(), json!(want));
                }
                Some(v) if v == want => {}
                Some(v) => {
                    return Err(ApiError::invalid(
                        key,
                        format!("{v} differs from the path's `{want}`"),
                    ))
                }
            }
        }
        let profile: Profile = super::handlers::parse_value(value)?;
        let profiles = self.profiles()?;
        profiles.put(&profile)?;
        ok(json!(profiles.get(agent, name)?))
    }

    pub(super) fn delete_profile(&self, call: &Call) -> Answer {
        let agent = self.profile_owner(call)?;
        self.profiles()?.delete(agent, &call.params[1])?;
        ok(json!({"deleted": {"agent": agent, "name": call.params[1]}}))
    }

    fn canned(&self) -> Result<CannedReplies, ApiError> {
        Ok(CannedReplies::open(self.engine.store())?)
    }

    pub(super) fn list_canned(&self) -> Answer {
        ok(json!({"canned_replies": self.canned()?.list()?}))
    }

    pub(super) fn put_canned(&self, call: &Call) -> Answer {
        let id = &call.params[0];
        let mut value: Value = parse(&call.body)?;
        match value.get("id") {
            None => value["id"] = json!(id),
            Some(v) if v == id.as_str() => {}
            Some(v) => {
                return Err(ApiError::invalid(
                    "id",
                    format!("{v} differs from the path's `{id}`"),
                ))
            }
        }
        let reply: CannedReply = super::handlers::parse_value(value)?;
        let canned = self.canned()?;
        canned.put(&reply)?;
        ok(json!(canned.get(id)?))
    }

    pub(super) fn delete_canned(&self, call: &Call) -> Answer {
        self.canned()?.delete(&call.params[0])?;
        ok(json!({"deleted": call.params[0]}))
    }

    pub(super) fn get_calendars(&self) -> Answer {
        let config = crate::calendars::stored(self.engine.store())?.unwrap_or_default();
        ok(json!(config))
    }

    pub(super) fn put_calendars(&self, call: &Call) -> Answer {
        let config: CalendarConfig = parse(&call.body)?;
        match crate::calendars::store_config(self.engine.store(), &config)? {
            Ok(compiled) => {
                self.engine.set_calendars(Arc::new(compiled));
                ok(json!(config))
            }
            Err(e) => Err(ApiError::invalid(e.path.clone(), e.to_string())),
        }
    }

    /// Rules that no longer validate against the installed plugins.
    fn broken_rules(&self) -> Result<Vec<Value>, ApiError> {
        let validator = Validator {
            catalog: catalog(),
            plugins: &self.registry,
        };
        Ok(self
            .engine
            .rules()
            .list()?
            .iter()
            .filter_map(|r| {
                validator
                    .check(r)
                    .err()
                    .map(|e| json!({"rule": r.id, "problem": e.to_string()}))
            })
            .collect())
    }

    pub(super) async fn reload_plugin(&self, call: &Call) -> Answer {
        let id = &call.params[0];
        let Some(current) = self.registry.get(id) else {
            return Err(ApiError::not_found(format!(
                "no plugin `{id}` is installed"
            )));
        };
        let wasm = [&self.installed_dir, &self.plugins_dir]
            .into_iter()
            .flatten()
            .map(|dir| dir.join(format!("{id}.wasm")))
            .find(|p| p.exists())
            .ok_or_else(|| {
                ApiError::conflict(format!(
                    "no {id}.wasm in the installed or built-in plugins folders to reload from"
                ))
            })?;
        let grants = (*current.grants).clone();
        let installed = self
            .registry
            .install_file(&wasm, grants)
            .await
            .map_err(|e| {
                ApiError::invalid(
                    "",
                    format!("the new version was refused; the old one keeps serving: {e:#}"),
                )
            })?;
        self.engine.reload_rules()?;
        ok(json!({
            "plugin": id, "version": installed.plugin.info.version,
            "rules_left_out": self.broken_rules()?,
        }))
    }

    pub(super) fn remove_plugin(&self, call: &Call) -> Answer {
        let id = &call.params[0];
        if self.registry.remove(id).is_none() {
            return Err(ApiError::not_found(format!(
                "no plugin `{id}` is installed"
            )));
        }
        crate::config::store_grants(self.engine.store(), id, None)?;
        self.engine.reload_rules()?;
        ok(json!({"removed": id, "rules_left_out": self.broken_rules()?}))
    }

    pub(super) fn set_grants(&self, call: &Call) -> Answer {
        let id = &call.params[0];
        if self.registry.get(id).is_none() {
            return Err(ApiError::not_found(format!(
                "no plugin `{id}` is installed"
            )));
        }
        let grants: Grants = parse(&call.body)?;
        if let Err(e) = grants.validate() {
            let text = e.to_string();
            let path = text.split(':').next().unwrap_or("").to_string();
            return Err(ApiError::invalid(path, text));
        }
        let installed = self.registry.set_grants(id, grants.clone())?;
        crate::config::store_grants(self.engine.store(), id, Some(&grants))?;
        ok(json!({"plugin": id, "grants": *installed.grants}))
    }
}

impl Api {
    /// `POST /v1/plugins`: `{"manifest": "<plugin.toml text>", "component":
    /// "<base64 of the .wasm>", "grants": {...}}`. The component is checked
    /// (a component of a supported world, importing only what the manifest
    /// asks, `describe` agreeing with it) before it replaces anything; then it
    /// is kept in the installed folder so it loads again at the next start.
    pub(super) async fn install_plugin(&self, call: &Call) -> Answer {
        use base64::Engine as _;
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Upload {
            manifest: String,
            component: String,
            #[serde(default)]
            grants: Option<Grants>,
        }
        let upload: Upload = parse(&call.body)?;
        let manifest = crate::plugins::Manifest::parse(&upload.manifest)
            .map_err(|e| ApiError::invalid("manifest", e.to_string()))?;
        let wasm = base64::engine::general_purpose::STANDARD
            .decode(upload.component.trim())
            .map_err(|e| ApiError::invalid("component", format!("is not base64: {e}")))?;
        let Some(dir) = &self.installed_dir else {
            return Err(ApiError::conflict(
                "this server has no folder to keep installed plugins in",
            ));
        };
        let id = manifest.id.clone();
        let grants = match upload.grants {
            Some(g) => g,
            None => self
                .registry
                .get(&id)
                .map(|i| (*i.grants).clone())
                .unwrap_or_default(),
        };
        let installed = self
            .registry
            .install(manifest, &wasm, grants.clone())
            .await
            .map_err(|e| ApiError::invalid("component", format!("{e:#}")))?;
        std::fs::create_dir_all(dir).map_err(ApiError::internal)?;
        std::fs::write(dir.join(format!("{id}.wasm")), &wasm).map_err(ApiError::internal)?;
        std::fs::write(dir.join(format!("{id}.toml")), &upload.manifest)
            .map_err(ApiError::internal)?;
        crate::config::store_grants(self.engine.store(), &id, Some(&grants))?;
        self.engine.reload_rules()?;
        Ok(json_response(
            StatusCode::CREATED,
            &json!({"plugin": id, "version": installed.plugin.info.version,
                    "actions": installed.plugin.info.actions.iter().map(|a| a.id.clone()).collect::<Vec<_>>()}),
        ))
    }
}
