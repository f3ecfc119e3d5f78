//! Rules stored in sled (tree `rules`, id → JSON): create, update, enable or
//! disable, delete, and export/import of the whole set as one JSON file.

use super::validate::{CheckedRule, Validator};
use super::{Rule, RuleError, RuleSet};
use crate::store::Store;

/// Why a rule operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// No rule with that id.
    #[error("rule `{0}` does not exist")]
    NotFound(String),
    /// A rule with that id exists already.
    #[error("rule `{0}` exists already")]
    Exists(String),
    /// The rule is not valid.
    #[error(transparent)]
    Invalid(#[from] RuleError),
    /// Two rules of an import share an id.
    #[error("rules[{index}].id: `{id}` appears twice in the import")]
    Duplicate {
        /// Position of the second one.
        index: usize,
        /// The id.
        id: String,
    },
    /// The store failed.
    #[error("rule store: {0:#}")]
    Store(#[from] anyhow::Error),
}

impl From<sled::Error> for RepoError {
    fn from(e: sled::Error) -> Self {
        RepoError::Store(e.into())
    }
}

/// The rule repository.
#[derive(Clone)]
pub struct RuleRepo {
    store: Store,
    tree: sled::Tree,
}

impl RuleRepo {
    /// Opens the `rules` tree of a store.
    pub fn open(store: &Store) -> anyhow::Result<RuleRepo> {
        Ok(RuleRepo {
            tree: store.tree("rules")?,
            store: store.clone(),
        })
    }

    /// Every rule, by id.
    pub fn list(&self) -> Result<Vec<Rule>, RepoError> {
        self.tree
            .iter()
            .values()
            .map(|v| Ok(serde_json::from_slice(&v?).map_err(anyhow::Error::from)?))
            .collect()
    }

    /// One rule.
    pub fn get(&self, id: &str) -> Result<Rule, RepoError> {
        let bytes = self
            .tree
            .get(id.as_bytes())?
            .ok_or_else(|| RepoError::NotFound(id.to_string()))?;
        Ok(serde_json::from_slice(&bytes).map_err(anyhow::Error::from)?)
    }

    /// Validates and stores a new rule.
    pub fn create(&self, rule: &Rule, validator: &Validator<'_>) -> Result<CheckedRule, RepoError> {
        let checked = validator.check(rule)?;
        let json = serde_json::to_vec(rule).map_err(anyhow::Error::from)?;
        if self
            .tree
            .compare_and_swap(rule.id.as_bytes(), None as Option<&[u8]>, Some(json))?
            .is_err()
        {
            return Err(RepoError::Exists(rule.id.clone()));
        }
        self.store.flush()?;
        Ok(checked)
    }

    /// Validates and replaces an existing rule.
    pub fn update(&self, rule: &Rule, validator: &Validator<'_>) -> Result<CheckedRule, RepoError> {
        self.get(&rule.id)?;
        let checked = validator.check(rule)?;
        self.tree.insert(
            rule.id.as_bytes(),
            serde_json::to_vec(rule).map_err(anyhow::Error::from)?,
        )?;
        self.store.flush()?;
        Ok(checked)
    }

    /// Enables or disables a rule; returns it.
    pub fn set_enabled(&self, id: &str, enabled: bool) -> Result<Rule, RepoError> {
        let mut rule = self.get(id)?;
        rule.enabled = enabled;
        self.tree.insert(
            id.as_bytes(),
            serde_json::to_vec(&rule).map_err(anyhow::Error::from)?,
        )?;
        self.store.flush()?;
        Ok(rule)
    }

    /// Deletes a rule.
    pub fn delete(&self, id: &str) -> Result<(), RepoError> {
        if self.tree.remove(id.as_bytes())?.is_none() {
            return Err(RepoError::NotFound(id.to_string()));
        }
        self.store.flush()?;
        Ok(())
    }

    /// All rules as one pretty JSON document, by id.
    pub fn export(&self) -> Result<String, RepoError> {
        let set = RuleSet {
            rules: self.list()?,
        };
        let mut text = serde_json::to_string_pretty(&set).map_err(anyhow::Error::from)?;
        text.push('\n');
        Ok(text)
    }

    /// Replaces every rule with the set, all or nothing: every rule is
    /// validated first, and the store changes in one batch.
    pub fn import(
        &self,
        set: &RuleSet,
        validator: &Validator<'_>,
    ) -> Result<Vec<CheckedRule>, RepoError> {
        let checked = check_set(set, validator)?;
        let mut batch = sled::Batch::default();
        for key in self.tree.iter().keys() {
            batch.remove(key?);
        }
        for rule in &set.rules {
            batch.insert(
                rule.id.as_bytes(),
                serde_json::to_vec(rule).map_err(anyhow::Error::from)?,
            );
        }
        self.tree.apply_batch(batch)?;
        self.store.flush()?;
        Ok(checked)
    }
}

/// Validates a rule import as [`RuleRepo::import`] does before it writes:
/// ids are unique and every rule passes the validator; errors name the rule's
/// position (`rules[3].conditions[0].value`).
pub fn check_set(set: &RuleSet, validator: &Validator<'_>) -> Result<Vec<CheckedRule>, RepoError> {
    let mut seen = std::collections::HashSet::new();
    let mut checked = Vec::new();
    for (index, rule) in set.rules.iter().enumerate() {
        if !seen.insert(rule.id.as_str()) {
            return Err(RepoError::Duplicate {
                index,
                id: rule.id.clone(),
            });
        }
        checked.push(validator.check(rule).map_err(|mut e| {
            e.path = format!("rules[{index}].{}", e.path);
            e
        })?);
    }
    Ok(checked)
}
