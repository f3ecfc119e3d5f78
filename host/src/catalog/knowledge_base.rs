//! Knowledge Base: articles and readers' feedback on them.

use super::parts::{
    build, call_web_page, cond, day_of_week, kind, log_to_file, notify_external_provider,
    send_email, time_of_day, use_my_notification_profile, Spec,
};
use super::{ActionDef, Category, ItemKind, ValueType};

/// The Knowledge Base category.
pub(super) fn category() -> Category {
    build(
        "knowledge-base",
        Spec {
            title: "Knowledge Base",
            description: "Knowledge base articles and the feedback readers leave on them.",
            item: ItemKind::KbArticle,
            admin_only: false,
            conditions: vec![
                time_of_day(),
                day_of_week(),
                cond(
                    "Agent",
                    ValueType::ActingAgent,
                    "Agent who wrote or changed the article.",
                ),
                cond("Folder", ValueType::Text, "Folder holding the article."),
                cond(
                    "Article Title",
                    ValueType::Text,
                    "Text of the article's title.",
                ),
                cond(
                    "Keywords",
                    ValueType::Text,
                    "Keywords attached to the article.",
                ),
                cond("Summary", ValueType::Text, "Text of the article's summary."),
                cond("Body Text", ValueType::Text, "Text of the article itself."),
                cond(
                    "Marked as Draft",
                    ValueType::Boolean,
                    "Whether the article is still a draft.",
                ),
                cond(
                    "Marked as Private",
                    ValueType::Boolean,
                    "Whether only agents can read the article.",
                ),
                cond(
                    "Flagged for Review",
                    ValueType::Boolean,
                    "Whether the article awaits a review.",
                ),
            ],
            actions: vec![
                ActionDef::new(
                    "Alter Item Properties",
                    "Switches the article's draft, private or review flags.",
                )
                .command(),
                call_web_page(),
                log_to_file().with_per_item(),
                notify_external_provider(),
                send_email().with_per_item(),
                use_my_notification_profile().with_per_item(),
            ],
            kinds: vec![
                kind("KB Article Created", "An article was written."),
                kind("KB Article Deleted", "An article was removed."),
                kind(
                    "KB Article Flagged for Review",
                    "An article was marked as needing a review.",
                ),
                kind("KB Article Modified", "An article was edited."),
                kind("KB Article Reviewed", "An article's review was completed."),
                kind(
                    "KB Article Stale",
                    "An article has gone unchanged for too long.",
                )
                .timed(),
                kind(
                    "KB Feedback Abuse Reported",
                    "Feedback on an article was reported as abusive.",
                ),
                kind(
                    "KB Feedback Approved",
                    "Feedback on an article was accepted for display.",
                ),
                kind("KB Feedback Blocked", "Feedback on an article was refused."),
                kind(
                    "KB Feedback Created",
                    "A reader left feedback on an article.",
                ),
                kind("KB Feedback Deleted", "Feedback on an article was removed."),
                kind("KB Feedback Edited", "Feedback on an article was changed."),
                kind(
                    "Manual KB Event",
                    "An agent ran the rule on chosen articles.",
                )
                .manual(),
            ],
        },
    )
}
