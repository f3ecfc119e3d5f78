//! Late entries: an item indexed behind its rule's cursor (a follow-up set
//! for ten minutes from now when the rule fires thirty minutes before, a
//! snapshot whose `last-activity` is older than the idle threshold). The
//! sweep never goes back, so each tick first looks at the entries written
//! since the last one (`t/n/`), and fires those a rule's cursor has already
//! passed, with the minutes as they are now (the due instant was never seen).
//! The firing's batch marks the entry for the rule (`t/f/`), so a restart
//! before the fresh note is cleared does not fire it twice.

use super::{calendar_of, due_of, fields_at, index, Plan, Scheduler, SchedulerError, TickReport};
use crate::event::{Event, ItemSnapshot};

impl Scheduler {
    /// Fires the fresh entries that came in behind a rule's cursor and are
    /// due; returns whether there were fresh entries at all.
    pub(super) async fn late(
        &self,
        plans: &[Plan],
        now: i64,
        report: &mut TickReport,
    ) -> Result<bool, SchedulerError> {
        let engine = &self.shared.engine;
        let tree = engine.tree();
        let fresh: Vec<sled::IVec> = tree
            .scan_prefix(index::FRESH)
            .keys()
            .collect::<Result<_, _>>()?;
        if fresh.is_empty() {
            return Ok(false);
        }
        let mut cursors = Vec::with_capacity(plans.len());
        for plan in plans {
            let prefix = index::prefix(plan.index, plan.kind.item_kind);
            let cursor = self.cursor(plan, &prefix)?;
            cursors.push((prefix, cursor));
        }
        let calendars = engine.calendars();
        let mut cleanup = sled::Batch::default();
        for note in fresh {
            let entry = &note[index::FRESH.len()..];
            let mut resolved = true;
            let mut marks = Vec::new();
            for (plan, (prefix, cursor)) in plans.iter().zip(&cursors) {
                // Ahead of the cursor (or no cursor yet): the sweep sees it.
                if cursor.as_deref().is_none_or(|c| entry > c) {
                    continue;
                }
                let Some((anchor, id)) = index::parse(prefix, entry) else {
                    continue;
                };
                let rule = &plan.rule.rule.id;
                let mark = index::mark(rule, entry);
                if tree.contains_key(&mark)? {
                    marks.push(mark);
                    continue;
                }
                let Some(mirror) = self.mirror_settled(plan, anchor, &id).await? else {
                    continue;
                };
                let calendar = plan.business.then(|| calendar_of(&calendars, &mirror));
                match due_of(plan, calendar, anchor) {
                    Some(due) if due <= now => {
                        if due < now - self.shared.config.stop_after_ms {
                            continue;
                        }
                    }
                    // A business-minutes item whose hours have not passed yet:
                    // looked at again next tick.
                    _ => {
                        resolved = false;
                        continue;
                    }
                }
                let event = Event {
                    id: None,
                    category: plan.kind.category.to_string(),
                    event_type: plan.kind.event_type.to_string(),
                    occurred_at: super::timestamp(now),
                    agent: None,
                    old_values: Default::default(),
                    items: vec![ItemSnapshot {
                        kind: plan.kind.item_kind.to_string(),
                        id,
                        fields: fields_at(plan, calendar, &mirror, anchor, now),
                    }],
                    idempotency_key: None,
                };
                if engine.passing(&event, rule).is_empty() {
                    report.skipped += 1;
                    continue;
                }
                engine
                    .ingest_scheduled(event, rule, vec![(mark.clone(), Some(Vec::new()))])
                    .await
                    .map_err(|source| SchedulerError::Ingest {
                        rule: rule.clone(),
                        source,
                    })?;
                marks.push(mark);
                report.events += 1;
                report.fired += 1;
                report.late += 1;
            }
            if resolved {
                cleanup.remove(note.to_vec());
                for mark in marks {
                    cleanup.remove(mark);
                }
            }
        }
        tree.apply_batch(cleanup)?;
        Ok(true)
    }
}
