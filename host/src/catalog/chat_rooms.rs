//! Chat Rooms: agents' internal chat rooms. The specification's page for this
//! category did not render; its content comes from DESIGN.md.

use super::parts::{
    build, cond, day_of_week, kind, log_to_file, notify_external_provider, send_email, time_of_day,
    use_my_notification_profile, Spec,
};
use super::{Category, ItemKind, ValueType};

/// The Chat Rooms category.
pub(super) fn category() -> Category {
    build(
        "chat-rooms",
        Spec {
            title: "Chat Rooms",
            description: "Agents coming and going in internal chat rooms.",
            item: ItemKind::ChatRoom,
            admin_only: false,
            conditions: vec![
                cond(
                    "Agent",
                    ValueType::ActingAgent,
                    "Agent who was invited, joined or left.",
                ),
                cond("Chat Room Name", ValueType::Text, "Name of the room."),
                cond(
                    "Sent Message",
                    ValueType::Text,
                    "Text of a message posted in the room.",
                ),
                time_of_day(),
                day_of_week(),
            ],
            actions: vec![
                log_to_file(),
                notify_external_provider(),
                send_email(),
                use_my_notification_profile(),
            ],
            kinds: vec![
                kind("Chat Room Invite", "An agent was asked to join a room."),
                kind("Chat Room Joined", "An agent entered a room."),
                kind("Chat Room Left", "An agent walked out of a room."),
            ],
        },
    )
}
