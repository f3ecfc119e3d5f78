//! Rules: what to do when an event of a category and type happens.
//!
//! A rule names its category and event type, the conditions that must all
//! hold, and its actions in order; each action names a plugin action, its mode,
//! its maximum frequency and its settings.
//!
//! - [`validate`]: checks against the catalog, the owner's role and the
//!   installed plugins' settings schemas; errors name the path.
//! - [`repo`]: rules stored in sled: create, update, enable, delete, export, import.

pub mod repo;
pub mod validate;

pub use repo::RuleRepo;
pub use validate::{RuleError, Validator};

use crate::conditions::Condition;
use crate::plugins::bindings::Mode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A stored rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Identifier.
    pub id: String,
    /// Name shown to people.
    pub name: String,
    /// Disabled rules never fire.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `system` or an agent id.
    #[serde(default = "system")]
    pub owner: String,
    /// Folder, for grouping.
    #[serde(default)]
    pub folder: String,
    /// Catalog category id.
    pub category: String,
    /// Catalog event type id.
    pub event_type: String,
    /// Rules of one event type run by position, then id.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub position: i32,
    /// When this rule fires, later rules of the event type are not evaluated.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stop_processing: bool,
    /// Conditions; all must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Actions, run in this order.
    pub actions: Vec<RuleAction>,
    /// For time-based event types: idle, duration and past-due minutes count
    /// only the business hours of the item's calendar (weekends and holidays
    /// do not count).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub business_minutes: bool,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

impl Rule {
    /// Whether an agent (not the system) owns the rule.
    pub fn agent_owned(&self) -> bool {
        self.owner != "system"
    }
}

fn yes() -> bool {
    true
}

fn system() -> String {
    "system".to_string()
}

/// One action of a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleAction {
    /// Plugin id.
    pub plugin: String,
    /// Action id within the plugin.
    pub action: String,
    /// Digest (once per firing) or per item.
    pub mode: RuleMode,
    /// At most one invocation per window (`"15m"`, `"1h"`); absent: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_frequency: Option<String>,
    /// What a firing suppressed by `max_frequency` does: `skip` (default;
    /// recorded in the audit) or `coalesce` (its items are delivered together
    /// when the window ends).
    #[serde(default, skip_serializing_if = "OnSuppressed::is_skip")]
    pub on_suppressed: OnSuppressed,
    /// Settings, checked by the plugin's schema.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub settings: Map<String, Value>,
}

/// What happens to a firing inside a frequency window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnSuppressed {
    /// Not run; recorded in the audit.
    #[default]
    Skip,
    /// Its items wait and are delivered in one invocation at the window's end.
    Coalesce,
}

impl OnSuppressed {
    fn is_skip(&self) -> bool {
        *self == OnSuppressed::Skip
    }
}

/// Digest or per item, as written in rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleMode {
    /// Once per firing with every matching item.
    Digest,
    /// Once per item.
    PerItem,
}

impl RuleMode {
    /// The mode as rules spell it.
    pub fn name(self) -> &'static str {
        Mode::from(self).name()
    }
}

impl From<RuleMode> for Mode {
    fn from(m: RuleMode) -> Mode {
        match m {
            RuleMode::Digest => Mode::Digest,
            RuleMode::PerItem => Mode::PerItem,
        }
    }
}

/// A file of rules: `{"rules": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// The rules.
    pub rules: Vec<Rule>,
}
