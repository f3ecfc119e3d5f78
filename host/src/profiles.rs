//! Notification profiles: where an agent wants to be alerted.
//!
//! A profile belongs to one agent and lists email addresses and email-to-SMS
//! gateway addresses (`5551234@sms.example.net`), each channel switched on or
//! off. An agent has at most one default profile. The "Use My Notification
//! Profile" and "Use Default Notification Profile for User" actions read them
//! through the `profiles` plugin import.
//!
//! Profiles live in the sled tree `profiles`, keyed `agent\0name`, as JSON.

use crate::store::Store;
use serde::{Deserialize, Serialize};

/// One notification profile of one agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The agent it belongs to.
    pub agent: String,
    /// Its name, unique per agent.
    pub name: String,
    /// Email addresses.
    #[serde(default)]
    pub emails: Vec<String>,
    /// Email-to-SMS gateway addresses.
    #[serde(default)]
    pub sms: Vec<String>,
    /// Whether alerts go to `emails`.
    #[serde(default)]
    pub email_on: bool,
    /// Whether alerts go to `sms`.
    #[serde(default)]
    pub sms_on: bool,
    /// Whether it is the agent's default profile.
    #[serde(default)]
    pub default: bool,
}

/// A file of profiles: `{"profiles": [...]}` in JSON, `[[profiles]]` in TOML.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSet {
    /// The profiles.
    #[serde(default)]
    pub profiles: Vec<Profile>,
}

/// Why a profile operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// A field has a value that is not accepted.
    #[error("profile.{field}: {value:?} is not accepted; {accepted}")]
    Invalid {
        /// Field path (`emails[1]`).
        field: String,
        /// The value given.
        value: String,
        /// What would be accepted.
        accepted: String,
    },
    /// No profile of that agent has that name.
    #[error("agent `{agent}` has no profile named {name:?}")]
    NotFound {
        /// Agent id.
        agent: String,
        /// Profile name.
        name: String,
    },
    /// An import file that is not a profile set.
    #[error("profiles file: {0}")]
    Parse(String),
    /// An imported profile is invalid, or two make the same agent's default.
    #[error("profiles[{index}]: {source}")]
    Import {
        /// Position in the file.
        index: usize,
        /// The problem.
        source: Box<ProfileError>,
    },
    /// The database failed.
    #[error("profile store: {0}")]
    Store(#[from] sled::Error),
    /// A stored profile is not readable.
    #[error("stored profile is corrupt: {0}")]
    Corrupt(#[from] serde_json::Error),
}

/// The profiles of every agent.
#[derive(Clone)]
pub struct Profiles {
    tree: sled::Tree,
}

fn key(agent: &str, name: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(agent.len() + name.len() + 1);
    k.extend_from_slice(agent.as_bytes());
    k.push(0);
    k.extend_from_slice(name.as_bytes());
    k
}

fn prefix(agent: &str) -> Vec<u8> {
    key(agent, "")
}

impl Profile {
    /// Checks the fields; the error names the first one at fault.
    pub fn validate(&self) -> Result<(), ProfileError> {
        for (field, value) in [("agent", &self.agent), ("name", &self.name)] {
            if value.trim().is_empty() || value.contains('\0') {
                return Err(ProfileError::Invalid {
                    field: field.into(),
                    value: value.clone(),
                    accepted: "use a non-empty text without NUL characters".into(),
                });
            }
        }
        for (field, list) in [("emails", &self.emails), ("sms", &self.sms)] {
            for (i, address) in list.iter().enumerate() {
                if let Err(e) = address.parse::<lettre::message::Mailbox>() {
                    return Err(ProfileError::Invalid {
                        field: format!("{field}[{i}]"),
                        value: address.clone(),
                        accepted: format!("use a mailbox such as `ana@example.com` ({e})"),
                    });
                }
            }
        }
        Ok(())
    }
}

impl Profiles {
    /// Opens the `profiles` tree of the store.
    pub fn open(store: &Store) -> anyhow::Result<Profiles> {
        Ok(Profiles {
            tree: store.tree("profiles")?,
        })
    }

    /// Creates or replaces a profile. A default profile makes the agent's
    /// other profiles non-default in the same batch: sled applies a batch
    /// atomically, so no reader sees two defaults.
    pub fn put(&self, profile: &Profile) -> Result<(), ProfileError> {
        profile.validate()?;
        let mut batch = sled::Batch::default();
        if profile.default {
            for other in self.list(&profile.agent)? {
                if other.default && other.name != profile.name {
                    let cleared = Profile {
                        default: false,
                        ..other
                    };
                    batch.insert(
                        key(&cleared.agent, &cleared.name),
                        serde_json::to_vec(&cleared)?,
                    );
                }
            }
        }
        batch.insert(
            key(&profile.agent, &profile.name),
            serde_json::to_vec(profile)?,
        );
        self.tree.apply_batch(batch)?;
        self.tree.flush()?;
        Ok(())
    }

    /// One profile.
    pub fn get(&self, agent: &str, name: &str) -> Result<Option<Profile>, ProfileError> {
        match self.tree.get(key(agent, name))? {
            Some(v) => Ok(Some(serde_json::from_slice(&v)?)),
            None => Ok(None),
        }
    }

    /// An agent's profiles, by name.
    pub fn list(&self, agent: &str) -> Result<Vec<Profile>, ProfileError> {
        self.tree
            .scan_prefix(prefix(agent))
            .values()
            .map(|v| Ok(serde_json::from_slice(&v?)?))
            .collect()
    }

    /// Deletes a profile; fails naming it when there is none.
    pub fn delete(&self, agent: &str, name: &str) -> Result<(), ProfileError> {
        match self.tree.remove(key(agent, name))? {
            Some(_) => {
                self.tree.flush()?;
                Ok(())
            }
            None => Err(ProfileError::NotFound {
                agent: agent.into(),
                name: name.into(),
            }),
        }
    }

    /// The agent's default profile, if it has one.
    pub fn default_for(&self, agent: &str) -> Result<Option<Profile>, ProfileError> {
        Ok(self.list(agent)?.into_iter().find(|p| p.default))
    }

    /// Every profile of every agent, by agent then name.
    pub fn export(&self) -> Result<ProfileSet, ProfileError> {
        let profiles = self
            .tree
            .iter()
            .values()
            .map(|v| Ok(serde_json::from_slice(&v?)?))
            .collect::<Result<_, ProfileError>>()?;
        Ok(ProfileSet { profiles })
    }

    /// Stores every profile of a set after checking all of them: nothing is
    /// stored when one is invalid or two are defaults of the same agent.
    /// Profiles already stored under other names are kept.
    pub fn import(&self, set: &ProfileSet) -> Result<usize, ProfileError> {
        let mut defaults = std::collections::HashMap::new();
        for (index, p) in set.profiles.iter().enumerate() {
            let wrap = |source| ProfileError::Import {
                index,
                source: Box::new(source),
            };
            p.validate().map_err(wrap)?;
            if p.default {
                if let Some(first) = defaults.insert(p.agent.as_str(), index) {
                    return Err(wrap(ProfileError::Invalid {
                        field: "default".into(),
                        value: "true".into(),
                        accepted: format!(
                            "profiles[{first}] is already the default of agent `{}`; an agent has at most one",
                            p.agent
                        ),
                    }));
                }
            }
        }
        for p in &set.profiles {
            self.put(p)?;
        }
        Ok(set.profiles.len())
    }
}

impl ProfileSet {
    /// Parses a set from a file's text: JSON when `path` ends in `.json`, TOML otherwise.
    pub fn parse(path: &std::path::Path, text: &str) -> Result<ProfileSet, ProfileError> {
        if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(text).map_err(|e| ProfileError::Parse(e.to_string()))
        } else {
            toml::from_str(text).map_err(|e| ProfileError::Parse(e.to_string()))
        }
    }

    /// Writes the set as JSON or TOML, by the same rule as [`ProfileSet::parse`].
    pub fn render(&self, path: &std::path::Path) -> anyhow::Result<String> {
        if path.extension().is_some_and(|e| e == "json") {
            Ok(serde_json::to_string_pretty(self)?)
        } else {
            Ok(toml::to_string(self)?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(agent: &str, name: &str, default: bool) -> Profile {
        Profile {
            agent: agent.into(),
            name: name.into(),
            emails: vec![format!("{agent}@example.com")],
            sms: vec!["5551234@sms.example.net".into()],
            email_on: true,
            sms_on: false,
            default,
        }
    }

    fn open() -> (tempfile::TempDir, Profiles) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, Profiles::open(&store).unwrap())
    }

    #[test]
    fn put_get_list_delete() {
        let (_dir, p) = open();
        p.put(&profile("ana", "work", false)).unwrap();
        p.put(&profile("ana", "home", false)).unwrap();
        p.put(&profile("anabel", "work", false)).unwrap();
        assert_eq!(
            p.get("ana", "work").unwrap(),
            Some(profile("ana", "work", false))
        );
        let names: Vec<String> = p.list("ana").unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            ["home", "work"],
            "the prefix stops at the NUL separator"
        );
        p.delete("ana", "home").unwrap();
        assert!(p.get("ana", "home").unwrap().is_none());
        let err = p.delete("ana", "home").unwrap_err().to_string();
        assert!(err.contains("no profile named \"home\""), "{err}");
    }

    #[test]
    fn a_new_default_clears_the_agents_other_default() {
        let (_dir, p) = open();
        p.put(&profile("ana", "work", true)).unwrap();
        p.put(&profile("bob", "desk", true)).unwrap();
        assert_eq!(p.default_for("ana").unwrap().unwrap().name, "work");
        p.put(&profile("ana", "home", true)).unwrap();
        let defaults: Vec<String> = p
            .list("ana")
            .unwrap()
            .into_iter()
            .filter(|p| p.default)
            .map(|p| p.name)
            .collect();
        assert_eq!(defaults, ["home"]);
        assert_eq!(p.default_for("bob").unwrap().unwrap().name, "desk");
        assert!(p.default_for("carol").unwrap().is_none());
    }

    #[test]
    fn errors_name_the_field() {
        let (_dir, p) = open();
        let mut bad = profile("ana", "work", false);
        bad.emails.push("ana at example".into());
        let err = p.put(&bad).unwrap_err().to_string();
        assert!(
            err.contains("profile.emails[1]") && err.contains("ana at example"),
            "{err}"
        );
        let mut bad = profile("ana", "work", false);
        bad.sms = vec!["5551234".into()];
        let err = p.put(&bad).unwrap_err().to_string();
        assert!(err.contains("profile.sms[0]"), "{err}");
        let err = p.put(&profile("", "work", false)).unwrap_err().to_string();
        assert!(err.contains("profile.agent"), "{err}");
        let err = p.put(&profile("ana", " ", false)).unwrap_err().to_string();
        assert!(err.contains("profile.name"), "{err}");
        assert!(p.list("ana").unwrap().is_empty());
    }

    #[test]
    fn export_and_import_round_trip_in_toml_and_json() {
        let (_dir, p) = open();
        p.put(&profile("ana", "work", true)).unwrap();
        p.put(&profile("bob", "desk", false)).unwrap();
        let set = p.export().unwrap();
        for file in ["profiles.toml", "profiles.json"] {
            let path = std::path::Path::new(file);
            let text = set.render(path).unwrap();
            let (_other_dir, q) = open();
            let parsed = ProfileSet::parse(path, &text).unwrap();
            assert_eq!(q.import(&parsed).unwrap(), 2);
            assert_eq!(q.export().unwrap(), set, "{file}");
        }
    }

    #[test]
    fn import_refuses_two_defaults_of_one_agent_and_stores_nothing() {
        let (_dir, p) = open();
        let set = ProfileSet {
            profiles: vec![profile("ana", "work", true), profile("ana", "home", true)],
        };
        let err = p.import(&set).unwrap_err().to_string();
        assert!(
            err.contains("profiles[1]") && err.contains("profiles[0] is already the default"),
            "{err}"
        );
        assert!(p.export().unwrap().profiles.is_empty());
        let err = ProfileSet::parse(std::path::Path::new("p.toml"), "[[profiles]]\nagent = 1")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("profiles file:"), "{err}");
    }
}
