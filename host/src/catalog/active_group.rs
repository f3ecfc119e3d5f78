//! Active Group: agents' availability (admins only).

use super::parts::{
    build, cond, day_of_week, department, group, kind, notify_only, time_of_day, Spec,
};
use super::{Category, ItemKind, ValueType};

/// The Active Group category.
pub(super) fn category() -> Category {
    build(
        "active-group",
        Spec {
            title: "Active Group",
            description: "Changes in whether agents are available to take work.",
            item: ItemKind::Agent,
            admin_only: true,
            conditions: vec![
                time_of_day(),
                day_of_week(),
                department(),
                group(),
                cond(
                    "Agent",
                    ValueType::Agent,
                    "Agent whose availability changed.",
                ),
                cond(
                    "Status",
                    ValueType::Text,
                    "Availability the agent changed to.",
                ),
                cond(
                    "Is AFK",
                    ValueType::Boolean,
                    "Whether the agent is now marked away from keyboard.",
                ),
            ],
            actions: notify_only(),
            kinds: vec![
                kind(
                    "Agent Auto-Inactive",
                    "An agent was switched to inactive after a spell without activity.",
                )
                .timed(),
                kind(
                    "Agent Status AFK",
                    "An agent went away from keyboard or came back.",
                ),
                kind(
                    "Agent Status for Live Chat Changed",
                    "An agent's availability for live chats changed.",
                ),
                kind(
                    "Agent Status for Tickets Changed",
                    "An agent's availability for tickets changed.",
                ),
            ],
        },
    )
}
