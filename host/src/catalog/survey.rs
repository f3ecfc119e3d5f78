//! Survey: customers' survey answers.

use super::parts::{build, cond, day_of_week, kind, notify_only, time_of_day, Spec};
use super::{Category, ItemKind, ValueType};

/// The Survey category.
pub(super) fn category() -> Category {
    build(
        "survey",
        Spec {
            title: "Survey",
            description: "Customers answering satisfaction surveys.",
            item: ItemKind::SurveyResponse,
            admin_only: false,
            conditions: vec![
                time_of_day(),
                day_of_week(),
                cond("Survey Name", ValueType::Text, "Which survey was answered."),
                cond(
                    "Survey Rating",
                    ValueType::Number,
                    "Score the customer gave.",
                ),
            ],
            actions: notify_only(),
            kinds: vec![kind("Survey Answered", "A customer submitted a survey.")],
        },
    )
}
