//! Concurrency slots: how many invocations of one plugin may run at once
//! (`grants.max-concurrent`). Further invocations wait for a slot; the wait
//! does not count against their deadline, which starts with the instance.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The slots of every plugin, by plugin id.
#[derive(Default)]
pub(crate) struct Slots {
    gates: Mutex<HashMap<String, Arc<Gate>>>,
}

/// One plugin's slots under one limit.
struct Gate {
    max: u32,
    semaphore: Arc<Semaphore>,
    waiting: AtomicUsize,
}

/// A slot held by a running invocation; dropping it frees the slot.
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
}

/// How busy a plugin is right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// Invocations running.
    pub running: usize,
    /// Invocations waiting for a slot.
    pub waiting: usize,
    /// The limit (`grants.max-concurrent`).
    pub max: u32,
}

impl Slots {
    /// Waits for a slot of `plugin` under the limit `max`. When the limit
    /// changed (new grants), later invocations count against the new limit;
    /// those already running finish under the old one.
    pub(crate) async fn enter(&self, plugin: &str, max: u32) -> Slot {
        let gate = self.gate(plugin, max);
        gate.waiting.fetch_add(1, Ordering::Relaxed);
        let permit = gate.semaphore.clone().acquire_owned().await;
        gate.waiting.fetch_sub(1, Ordering::Relaxed);
        // The semaphore is never closed, so acquiring cannot fail.
        let permit = permit.unwrap_or_else(|_| unreachable!("plugin slots are never closed"));
        Slot { _permit: permit }
    }

    /// How busy `plugin` is, if it was ever invoked.
    pub(crate) fn load(&self, plugin: &str) -> Option<Load> {
        let gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
        gates.get(plugin).map(|gate| Load {
            running: gate.max as usize - gate.semaphore.available_permits(),
            waiting: gate.waiting.load(Ordering::Relaxed),
            max: gate.max,
        })
    }

    fn gate(&self, plugin: &str, max: u32) -> Arc<Gate> {
        let max = max.max(1);
        let mut gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
        match gates.get(plugin) {
            Some(gate) if gate.max == max => gate.clone(),
            _ => {
                let gate = Arc::new(Gate {
                    max,
                    semaphore: Arc::new(Semaphore::new(max as usize)),
                    waiting: AtomicUsize::new(0),
                });
                gates.insert(plugin.to_string(), gate.clone());
                gate
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_plugin_makes_the_next_invocation_wait() {
        let slots = Arc::new(Slots::default());
        let first = slots.enter("p", 1).await;
        let second = {
            let slots = slots.clone();
            tokio::spawn(async move { slots.enter("p", 1).await })
        };
        while slots.load("p").unwrap().waiting == 0 {
            tokio::task::yield_now().await;
        }
        let load = slots.load("p").unwrap();
        assert_eq!(
            load,
            Load {
                running: 1,
                waiting: 1,
                max: 1
            }
        );
        assert!(!second.is_finished());
        drop(first);
        let _second = second.await.unwrap();
        assert_eq!(slots.load("p").unwrap().waiting, 0);
        assert_eq!(slots.load("p").unwrap().running, 1);
        // Other plugins have their own slots.
        let _other = slots.enter("q", 1).await;
        assert!(slots.load("missing").is_none());
    }

    #[tokio::test]
    async fn a_new_limit_applies_to_later_invocations() {
        let slots = Slots::default();
        let _old = slots.enter("p", 1).await;
        let _a = slots.enter("p", 2).await;
        let _b = slots.enter("p", 2).await;
        assert_eq!(slots.load("p").unwrap().running, 2);
        assert_eq!(slots.load("p").unwrap().max, 2);
    }
}
