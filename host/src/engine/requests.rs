//! What the API asks of the engine besides ingestion: a dry run (explain),
//! a manual run of one rule on chosen items, and acknowledging pulled
//! help-desk commands.

use super::ingest::check;
use super::{keys, Engine, IngestError, IngestResult};
use crate::catalog::catalog;
use crate::event::{Event, EventError, ItemSnapshot};
use crate::matcher::RuleExplain;
use crate::rules::repo::RepoError;
use crate::rules::Validator;

/// Why a manual run was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManualError {
    /// No such rule.
    #[error(transparent)]
    Rule(#[from] RepoError),
    /// The rule's event type is not a manual one.
    #[error("rule `{rule}` is for {event_type}, which is not a manual event type; only rules of a manual event type can be run by hand")]
    NotManual {
        /// Rule id.
        rule: String,
        /// Its event type.
        event_type: String,
    },
    /// The rule is disabled.
    #[error("rule `{0}` is disabled")]
    Disabled(String),
    /// The items or the event built from them are not valid.
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

impl Engine {
    /// Checks an event against the catalog without storing it (what
    /// [`Engine::ingest`] checks first).
    pub fn check_event(&self, event: &Event) -> Result<(), EventError> {
        check(event)
    }

    /// Dry run: for every enabled rule of the event's type (or only `rule`,
    /// enabled or not), whether it would fire and each condition's result per
    /// item. Nothing is written and no action runs.
    pub fn explain(
        &self,
        event: &Event,
        rule: Option<&str>,
    ) -> Result<Vec<RuleExplain>, ExplainError> {
        check(event)?;
        let matcher = self.inner.matcher.read().expect("matcher lock");
        let at = event.at();
        match rule {
            None => Ok(matcher.explain(event, at)),
            Some(id) => {
                let stored = self.inner.repo.get(id)?;
                let validator = Validator {
                    catalog: catalog(),
                    plugins: &self.inner.registry,
                };
                let checked = validator
                    .check(&stored)
                    .map_err(|e| ExplainError::Rule(RepoError::Invalid(e)))?;
                Ok(vec![matcher.explain_rule(&checked, event, at)])
            }
        }
    }

    /// Runs a rule of a manual event type on the given items now: an event of
    /// that type is ingested (durably, through the gate, the outbox and the
    /// audit like any other) that only this rule may fire.
    pub async fn run_manual(
        &self,
        rule: &str,
        items: Vec<ItemSnapshot>,
        agent: Option<String>,
    ) -> Result<IngestResult, ManualError> {
        let stored = self.inner.repo.get(rule)?;
        let manual = catalog()
            .event_type(&stored.category, &stored.event_type)
            .is_some_and(|t| t.manual);
        if !manual {
            return Err(ManualError::NotManual {
                rule: rule.to_string(),
                event_type: format!("{}/{}", stored.category, stored.event_type),
            });
        }
        if !stored.enabled {
            return Err(ManualError::Disabled(rule.to_string()));
        }
        let now = self.inner.clock.now_ms();
        let event = Event {
            id: None,
            category: stored.category.clone(),
            event_type: stored.event_type.clone(),
            occurred_at: jiff::Timestamp::from_millisecond(now)
                .unwrap_or_else(|_| jiff::Timestamp::now())
                .to_string(),
            agent,
            old_values: Default::default(),
            items,
            idempotency_key: None,
        };
        Ok(self.inner.ingest(event, 0, Some(rule)).await?)
    }

    /// Removes a pulled help-desk command from the pull list; false when
    /// there is no such command (already acknowledged, or never listed).
    pub fn acknowledge_command(&self, id: &str) -> anyhow::Result<bool> {
        let seq = id
            .strip_prefix("cmd-")
            .and_then(|hex| u64::from_str_radix(hex, 16).ok());
        let Some(seq) = seq else {
            return Ok(false);
        };
        Ok(self.inner.tree.remove(keys::command(seq))?.is_some())
    }
}

/// Why a dry run was refused.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    /// The event is malformed or not in the catalog.
    #[error(transparent)]
    Event(#[from] EventError),
    /// The named rule does not exist or no longer validates.
    #[error(transparent)]
    Rule(#[from] RepoError),
}
