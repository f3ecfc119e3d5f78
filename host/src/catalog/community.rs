//! Community: the customer community's threads and abuse reports.

use super::parts::{
    build, call_web_page, cond, day_of_week, kind, log_to_file, notify_external_provider,
    send_email, time_of_day, use_my_notification_profile, Spec,
};
use super::{ActionDef, Category, ItemKind, ValueType};

/// The Community category.
pub(super) fn category() -> Category {
    build(
        "community",
        Spec {
            title: "Community",
            description: "New community threads and reports of abusive posts.",
            item: ItemKind::CommunityThread,
            admin_only: false,
            conditions: vec![
                time_of_day(),
                day_of_week(),
                cond(
                    "Thread Type",
                    ValueType::Text,
                    "Kind of thread (question, idea and so on).",
                ),
                cond(
                    "Display Name",
                    ValueType::Text,
                    "Public name of the thread's author.",
                ),
                cond(
                    "User's Email",
                    ValueType::Text,
                    "Email of the thread's author.",
                ),
                cond("Type", ValueType::Text, "What happened in the thread."),
                cond(
                    "Type of Abuse",
                    ValueType::Text,
                    "Category of abuse given in a report.",
                ),
                cond(
                    "Reported By",
                    ValueType::Text,
                    "Public name of whoever filed the report (their username if unset).",
                ),
                cond(
                    "Email of Reporter",
                    ValueType::Text,
                    "Email address of whoever filed the report.",
                ),
            ],
            actions: vec![
                call_web_page(),
                log_to_file(),
                notify_external_provider(),
                send_email(),
                ActionDef::new(
                    "Subscribe to Thread",
                    "Follows the thread for the rule's owner, so it appears in their community summaries.",
                )
                .command(),
                use_my_notification_profile(),
            ],
            kinds: vec![
                kind("New Community Thread Created", "Someone started a community thread."),
                kind("New Reported Abuse", "A community post was reported as abusive."),
            ],
        },
    )
}
