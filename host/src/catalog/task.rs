//! Task: agents' to-do items.

use super::parts::{
    acting_agent, agent_assigned, build, call_web_page, cond, day_of_week, kind, log_to_file,
    notify_external_provider, send_email, time_of_day, use_default_notification_profile_for_user,
    use_my_notification_profile, Spec,
};
use super::{ActionDef, Category, ItemKind, ValueType, PRIORITIES, TASK_STATUSES};

/// The Task category.
pub(super) fn category() -> Category {
    build(
        "task",
        Spec {
            title: "Task",
            description: "Tasks agents plan and work through.",
            item: ItemKind::Task,
            admin_only: false,
            conditions: vec![
                time_of_day(),
                day_of_week(),
                cond(
                    "Subject",
                    ValueType::Text,
                    "Text of the task's subject line.",
                ),
                acting_agent(),
                agent_assigned(),
                cond(
                    "Old Agent Assigned",
                    ValueType::Agent,
                    "Agent who owned the task before the change.",
                ),
                cond(
                    "Status",
                    ValueType::Enum(TASK_STATUSES),
                    "Current state of the task.",
                ),
                cond(
                    "Priority",
                    ValueType::Enum(PRIORITIES),
                    "How urgent the task is.",
                ),
                cond(
                    "Related Item",
                    ValueType::Text,
                    "The ticket, chat or call log linked to the task.",
                ),
                cond(
                    "Description",
                    ValueType::Text,
                    "Text of the task's details.",
                ),
                cond(
                    "Start Date",
                    ValueType::DateTime,
                    "When work on the task begins.",
                ),
                cond(
                    "Due Date",
                    ValueType::DateTime,
                    "When the task must be done.",
                ),
            ],
            actions: vec![
                call_web_page(),
                ActionDef::new(
                    "Create Task",
                    "Opens a new task whose fields the rule sets.",
                )
                .command(),
                log_to_file().with_per_item(),
                notify_external_provider(),
                send_email().with_per_item(),
                ActionDef::new("Set Task Priority", "Changes the task's priority.").command(),
                ActionDef::new("Set Task Status", "Moves the task to another status.").command(),
                ActionDef::new("Transfer Task", "Hands the task to another agent.").command(),
                use_default_notification_profile_for_user().with_per_item(),
                use_my_notification_profile().with_per_item(),
            ],
            kinds: vec![
                kind(
                    "Manual Task Event",
                    "An agent ran the rule on chosen tasks.",
                )
                .manual(),
                kind("Task Created", "A task was added."),
                kind("Task Deleted", "A task was removed."),
                kind("Task Due", "A task reached its due time.").timed(),
                kind("Task Modified", "A task was edited."),
                kind("Task Started", "Work on a task began."),
            ],
        },
    )
}
