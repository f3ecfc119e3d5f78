//! What the scheduler needs from the engine: the tree its indexes live in,
//! the enabled rules of an event type, which items a rule passes, and an
//! ingestion scoped to one rule whose batch also carries the rule's cursor.

use super::{Clock, Engine, IngestError, IngestResult};
use crate::event::Event;
use crate::rules::validate::CheckedRule;
use crate::scheduler::upkeep::{self, Kept};
use std::sync::Arc;

impl Engine {
    /// The engine's clock.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.inner.clock.clone()
    }

    /// The business calendars rules are evaluated with.
    pub(crate) fn calendars(&self) -> Arc<crate::calendars::Calendars> {
        self.inner
            .matcher
            .read()
            .expect("matcher lock")
            .calendars()
            .clone()
    }

    /// The sled tree of the item mirror and its time indexes.
    pub(crate) fn tree(&self) -> &sled::Tree {
        &self.inner.tree
    }

    /// Waits until no ingestion is part-way through storing its keys. A
    /// help desk's event is stored key by key (index entries, then the item
    /// mirror, then the rest), so a reader can meet an index entry whose
    /// mirror write has not landed yet; after this, any such write has.
    pub(crate) async fn settled(&self) {
        drop(self.inner.decide.lock().await);
    }

    /// The kept time indexes and count sets that are filled.
    pub(crate) fn filled(&self) -> Arc<Kept> {
        self.inner.filled.read().expect("filled lock").clone()
    }

    /// Starts keeping every time index and count set the enabled rules need
    /// and fills it from the item mirror (see [`upkeep`]); returns whether
    /// any was filled. Ingestion goes on between chunks.
    pub(crate) async fn keep_needed(&self) -> Result<bool, sled::Error> {
        let needed = {
            let matcher = self.inner.matcher.read().expect("matcher lock");
            upkeep::needed(|c, t| !matcher.rules_for(c, t).is_empty())
        };
        let filled = self.filled();
        let missing: Vec<upkeep::Family> =
            needed.into_iter().filter(|f| !filled.contains(f)).collect();
        let tree = &self.inner.tree;
        for family in &missing {
            tracing::info!(?family, "filling from the item mirror: a rule needs it");
            {
                let _one_at_a_time = self.inner.decide.lock().await;
                if !self.inner.kept().contains(family) {
                    // Not written since it was last kept, if ever: what is
                    // left of it is out of date.
                    upkeep::clear(tree, family)?;
                    let mut kept = self.inner.kept.write().expect("kept lock");
                    *kept = Arc::new(kept.with(*family));
                }
            }
            let mut from = None;
            loop {
                let _one_at_a_time = self.inner.decide.lock().await;
                from = upkeep::fill_chunk(tree, family, from)?;
                if from.is_none() {
                    break;
                }
            }
            tree.insert(family.marker(), Vec::new())?;
            let mut filled = self.inner.filled.write().expect("filled lock");
            *filled = Arc::new(filled.with(*family));
        }
        Ok(!missing.is_empty())
    }

    /// The enabled rules of an event type, in order.
    pub(crate) fn enabled_rules(&self, category: &str, event_type: &str) -> Vec<Arc<CheckedRule>> {
        self.inner
            .matcher
            .read()
            .expect("matcher lock")
            .rules_for(category, event_type)
            .to_vec()
    }

    /// Positions of the event's items that pass `rule`'s conditions.
    pub(crate) fn passing(&self, event: &Event, rule: &str) -> Vec<usize> {
        let matcher = self.inner.matcher.read().expect("matcher lock");
        matcher
            .matches(event, event.at())
            .into_iter()
            .find(|f| f.rule.rule.id == rule)
            .map(|f| f.items.to_vec())
            .unwrap_or_default()
    }

    /// Ingests a scheduler's event: through the gate, outbox and audit like
    /// any event, but firing only `rule`, leaving the item mirror as it is
    /// and adding `writes` (`None`: remove the key) to the same atomic batch.
    pub(crate) async fn ingest_scheduled(
        &self,
        event: Event,
        rule: &str,
        writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<IngestResult, IngestError> {
        self.inner
            .ingest_with(event, 0, Some(rule), false, writes)
            .await
    }
}
