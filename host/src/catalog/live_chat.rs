//! Live Chat: chats between customers and agents.

use super::parts::{
    acting_agent, agent_assigned, build, call_web_page, cond, count, custom_field, day_of_week,
    department, group, kind, log_to_file, notify_external_provider, send_email, time_of_day,
    use_default_notification_profile_for_user, use_my_notification_profile, Spec,
};
use super::{ActionDef, Category, ItemKind, ValueType};

/// The Live Chat category.
pub(super) fn category() -> Category {
    build(
        "live-chat",
        Spec {
            title: "Live Chat",
            description: "Live chats from their start to their end, and chat load per agent, group and department.",
            item: ItemKind::LiveChat,
            admin_only: false,
            conditions: vec![
                time_of_day(),
                day_of_week(),
                cond(
                    "Idle Minutes",
                    ValueType::Minutes,
                    "Minutes since anything was said in the chat.",
                ),
                acting_agent(),
                department(),
                group(),
                agent_assigned(),
                cond("Open Date", ValueType::DateTime, "When the chat began."),
                cond("Customer Name", ValueType::Text, "Name the customer gave."),
                cond(
                    "Customer Username",
                    ValueType::Text,
                    "Portal login of the customer.",
                ),
                cond("Customer Email", ValueType::Text, "Email address of the customer."),
                cond("Question", ValueType::Text, "Text of the conversation."),
                cond("Customer IP", ValueType::Text, "Network address of the customer."),
                cond("Language", ValueType::Text, "Language of the chat."),
                cond(
                    "Messages Sent",
                    ValueType::Number,
                    "How many messages agents wrote in the chat.",
                ),
                cond(
                    "Messages Received",
                    ValueType::Number,
                    "How many messages the customer wrote in the chat.",
                ),
                custom_field(),
            ],
            actions: vec![
                ActionDef::new(
                    "Add System Message",
                    "Posts a line into the chat that is marked as coming from the help desk itself.",
                )
                .command(),
                call_web_page(),
                ActionDef::new("End Chat", "Closes the chat on the agent's behalf.").command(),
                log_to_file().with_per_item(),
                notify_external_provider(),
                send_email().with_per_item(),
                ActionDef::new(
                    "Transfer Live Chat",
                    "Hands the chat to another group and agent.",
                )
                .command(),
                use_default_notification_profile_for_user().with_per_item(),
                use_my_notification_profile().with_per_item(),
            ],
            kinds: vec![
                kind("Live Chat Attached to Ticket", "A chat was linked to a ticket."),
                kind("Live Chat Comment Added", "An agent added a comment to a chat."),
                kind("Live Chat Count for Agent", "The number of chats an agent holds crossed a threshold.")
                    .timed()
                    .with(count("Number of live chats the agent holds.")),
                kind(
                    "Live Chat Count for Department",
                    "The number of chats in a department crossed a threshold.",
                )
                .timed()
                .with(count("Number of live chats in the department.")),
                kind("Live Chat Count for Group", "The number of chats in a group crossed a threshold.")
                    .timed()
                    .with(count("Number of live chats in the group.")),
                kind("Live Chat Deleted", "A chat was removed."),
                kind("Live Chat Detached from Ticket", "A chat was unlinked from its ticket."),
                kind("Live Chat Ended", "A chat was closed."),
                kind("Live Chat Idle", "A chat has been quiet for a while.").timed(),
                kind("Live Chat Incoming Message", "The customer wrote in a chat."),
                kind("Live Chat Outgoing Message", "An agent wrote in a chat."),
                kind("Live Chat Started", "A customer opened a chat."),
                kind("Live Chat Time Log Created", "Time spent was recorded against a chat."),
                kind("Live Chat Transferred", "A chat moved to another agent, group or department."),
                kind("Manual Live Chat Event", "An agent ran the rule on chosen chats.").manual(),
            ],
        },
    )
}
