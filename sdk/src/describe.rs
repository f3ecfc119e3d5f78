//! Builders for what a plugin says about itself in `describe`.

use crate::{ActionInfo, Mode, PluginInfo, ProviderInfo};

impl PluginInfo {
    /// A plugin with an id (kebab-case, equal to its manifest's) and a version.
    pub fn new(id: &str, version: &str) -> Self {
        PluginInfo {
            id: id.to_string(),
            version: version.to_string(),
            actions: Vec::new(),
        }
    }

    /// Adds an action.
    pub fn action(mut self, action: ActionInfo) -> Self {
        self.actions.push(action);
        self
    }
}

impl ActionInfo {
    /// An action with an id (kebab-case, unique in the plugin) and a title. It
    /// starts with both modes, an empty description and a schema accepting any object.
    pub fn new(id: &str, title: &str) -> Self {
        ActionInfo {
            id: id.to_string(),
            title: title.to_string(),
            description: String::new(),
            settings_schema: r#"{"type":"object"}"#.to_string(),
            modes: vec![Mode::Digest, Mode::PerItem],
        }
    }

    /// Sets the one-line description.
    pub fn description(mut self, text: &str) -> Self {
        self.description = text.to_string();
        self
    }

    /// Sets the JSON Schema of the settings.
    pub fn schema(mut self, schema: serde_json::Value) -> Self {
        self.settings_schema = schema.to_string();
        self
    }

    /// Sets the supported modes.
    pub fn modes(mut self, modes: &[Mode]) -> Self {
        self.modes = modes.to_vec();
        self
    }
}

impl ProviderInfo {
    /// A provider with an id, a version and a description.
    pub fn new(id: &str, version: &str, description: &str) -> Self {
        ProviderInfo {
            id: id.to_string(),
            version: version.to_string(),
            description: description.to_string(),
        }
    }
}
