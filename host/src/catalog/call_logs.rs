//! Call Logs: records of phone calls.

use super::parts::{
    acting_agent, agent_assigned, build, call_web_page, cond, custom_field, day_of_week,
    department, group, kind, log_to_file, notify_external_provider, send_email, time_of_day,
    use_default_notification_profile_for_user, use_my_notification_profile, Spec,
};
use super::{ActionDef, Category, ItemKind, ValueType};

/// The Call Logs category.
pub(super) fn category() -> Category {
    build(
        "call-logs",
        Spec {
            title: "Call Logs",
            description: "Phone calls recorded in the help desk.",
            item: ItemKind::CallLog,
            admin_only: false,
            conditions: vec![
                time_of_day(),
                day_of_week(),
                cond(
                    "Subject",
                    ValueType::Text,
                    "Text of the call log's subject line.",
                ),
                acting_agent(),
                department(),
                group(),
                agent_assigned(),
                cond(
                    "Phone Number",
                    ValueType::Text,
                    "Number of the other party.",
                ),
                cond("Name", ValueType::Text, "Name of the other party."),
                cond(
                    "Email Address",
                    ValueType::Text,
                    "Email address recorded on the call log.",
                ),
                cond(
                    "Incoming Call",
                    ValueType::Boolean,
                    "True when the customer placed the call.",
                ),
                cond("Start Date", ValueType::DateTime, "When the call began."),
                cond("End Date", ValueType::DateTime, "When the call finished."),
                cond(
                    "Description",
                    ValueType::Text,
                    "Text of the call log's notes.",
                ),
                custom_field(),
            ],
            actions: vec![
                call_web_page(),
                log_to_file().with_per_item(),
                notify_external_provider(),
                send_email().with_per_item(),
                ActionDef::new(
                    "Transfer Call Log",
                    "Hands the call log to another group and agent.",
                )
                .command(),
                use_default_notification_profile_for_user().with_per_item(),
                use_my_notification_profile().with_per_item(),
            ],
            kinds: vec![
                kind(
                    "Call Log Attached to Ticket",
                    "A call log was linked to a ticket.",
                ),
                kind("Call Log Created", "A call was logged."),
                kind("Call Log Deleted", "A call log was removed."),
                kind(
                    "Call Log Detached from Ticket",
                    "A call log was unlinked from its ticket.",
                ),
                kind("Call Log Modified", "A call log was edited."),
                kind(
                    "Call Log Time Log Created",
                    "Time spent was recorded against a call log.",
                ),
                kind(
                    "Manual Call Log Event",
                    "An agent ran the rule on chosen call logs.",
                )
                .manual(),
            ],
        },
    )
}
