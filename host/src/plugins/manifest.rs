//! The plugin manifest: who the plugin is, which world it implements, which
//! contract version it targets and which capabilities it asks for.
//!
//! ```toml
//! id = "log-file"
//! version = "0.1.0"
//! world = "action-plugin"
//! wit = "tocsin:plugin@0.1.0"
//! description = "Appends lines to a file"
//!
//! [capabilities]
//! directory = "read-write"   # or "read-only"; absent: no directory
//! http = true                # may ask for outbound HTTP
//! mail = true
//! helpdesk = ["set-status"]
//! profiles = true            # reads agents' notification profiles
//! ```

use super::grants::Access;
use serde::{Deserialize, Serialize};

/// The contract package this host implements.
pub const WIT_PACKAGE: &str = "tocsin:plugin";
/// Major and minor of the contract version this host implements.
pub const WIT_VERSION: (u64, u64) = (0, 1);

/// Which world of the contract a plugin exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    /// Provides actions that rules run.
    ActionPlugin,
    /// Receives events from "Notify External Provider".
    ExternalProvider,
}

impl World {
    /// The world's name in the WIT package.
    pub fn name(self) -> &'static str {
        match self {
            World::ActionPlugin => "action-plugin",
            World::ExternalProvider => "external-provider",
        }
    }

    /// The export that only this world has.
    pub fn distinctive_export(self) -> &'static str {
        match self {
            World::ActionPlugin => "run",
            World::ExternalProvider => "notify",
        }
    }
}

/// A plugin manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Plugin id, kebab-case.
    pub id: String,
    /// Plugin version (semver).
    pub version: String,
    /// The world it exports.
    pub world: World,
    /// The contract it targets, `tocsin:plugin@0.1.x`.
    pub wit: String,
    /// One line for admins.
    #[serde(default)]
    pub description: String,
    /// What it asks for; the admin grants all, some or none of it.
    #[serde(default)]
    pub capabilities: Capabilities,
}

/// Capabilities a plugin asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// A directory, read-only or read-write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<Access>,
    /// Outbound HTTP.
    #[serde(default)]
    pub http: bool,
    /// Mail.
    #[serde(default)]
    pub mail: bool,
    /// Help-desk commands it may submit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub helpdesk: Vec<String>,
    /// Calls external providers (which ones is up to the grant).
    #[serde(default)]
    pub providers: bool,
    /// Agents' notification profiles.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub profiles: bool,
}

/// A manifest that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not TOML, or a field is missing or of the wrong type.
    #[error("manifest: {0}")]
    Parse(#[from] toml::de::Error),
    /// A field has a value that is not accepted.
    #[error("manifest.{field}: {value:?} is not accepted; {accepted}")]
    Value {
        /// Field name.
        field: &'static str,
        /// The value given.
        value: String,
        /// What would be accepted.
        accepted: &'static str,
    },
}

impl Manifest {
    /// Parses and checks a manifest.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let manifest: Manifest = toml::from_str(text)?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Checks values serde cannot.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if !is_kebab(&self.id) {
            return Err(ManifestError::Value {
                field: "id",
                value: self.id.clone(),
                accepted: "use lowercase letters, digits and single dashes (`log-file`)",
            });
        }
        if !is_semver(&self.version) {
            return Err(ManifestError::Value {
                field: "version",
                value: self.version.clone(),
                accepted: "use a semantic version such as `1.2.3`",
            });
        }
        if !wit_supported(&self.wit) {
            return Err(ManifestError::Value {
                field: "wit",
                value: self.wit.clone(),
                accepted: "this host implements `tocsin:plugin@0.1.x`",
            });
        }
        Ok(())
    }
}

/// Whether a plugin targeting `wit` (`tocsin:plugin@0.1.3`) can run here: same
/// package, same major and minor (0.x versions break on the minor).
pub fn wit_supported(wit: &str) -> bool {
    let Some((package, version)) = wit.split_once('@') else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u64>());
    matches!(
        (package, parts.next(), parts.next(), parts.next(), parts.next()),
        (WIT_PACKAGE, Some(Ok(major)), Some(Ok(minor)), Some(Ok(_)), None)
            if (major, minor) == WIT_VERSION
    )
}

fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_semver(s: &str) -> bool {
    let core = s.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.parse::<u64>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        id = "log-file"
        version = "0.1.0"
        world = "action-plugin"
        wit = "tocsin:plugin@0.1.0"
        [capabilities]
        directory = "read-write"
    "#;

    #[test]
    fn parses_a_good_manifest() {
        let m = Manifest::parse(GOOD).unwrap();
        assert_eq!(m.world, World::ActionPlugin);
        assert_eq!(m.capabilities.directory, Some(Access::ReadWrite));
        assert!(!m.capabilities.mail);
    }

    #[test]
    fn errors_name_the_field() {
        let bad_id = GOOD.replace("\"log-file\"", "\"Log File\"");
        let err = Manifest::parse(&bad_id).unwrap_err().to_string();
        assert!(
            err.contains("manifest.id") && err.contains("Log File"),
            "{err}"
        );
        let bad_wit = GOOD.replace("@0.1.0", "@0.2.0");
        let err = Manifest::parse(&bad_wit).unwrap_err().to_string();
        assert!(
            err.contains("manifest.wit") && err.contains("0.1.x"),
            "{err}"
        );
        let unknown = format!("{GOOD}\nfuel = 1");
        let err = Manifest::parse(&unknown).unwrap_err().to_string();
        assert!(err.contains("fuel"), "{err}");
    }

    #[test]
    fn compatibility_rule() {
        assert!(wit_supported("tocsin:plugin@0.1.0"));
        assert!(wit_supported("tocsin:plugin@0.1.7"));
        assert!(!wit_supported("tocsin:plugin@0.2.0"));
        assert!(!wit_supported("tocsin:plugin@1.1.0"));
        assert!(!wit_supported("other:plugin@0.1.0"));
        assert!(!wit_supported("tocsin:plugin"));
    }
}
