//! Ticket: email tickets, the help desk's main item.

use super::parts::{
    acting_agent, agent_assigned, build, call_web_page, cond, count, custom_field, day_of_week,
    department, group, kind, log_to_file, notify_external_provider, send_email, time_of_day,
    use_default_notification_profile_for_user, use_my_notification_profile, Spec,
};
use super::{ActionDef, Category, ConditionDef, ItemKind, ValueType};
use super::{COMMENT_TYPES, PRIORITIES, TICKET_STATUSES};

fn conditions() -> Vec<ConditionDef> {
    vec![
        time_of_day(),
        cond(
            "During Holidays",
            ValueType::DuringHolidays,
            "Whether the event fell on a holiday of the department's or brand's calendar.",
        ),
        cond(
            "Outside Business Hours",
            ValueType::OutsideBusinessHours,
            "Whether the event fell outside that calendar's opening hours; holidays count as outside.",
        ),
        day_of_week(),
        cond(
            "Duration Minutes",
            ValueType::Minutes,
            "Minutes since the ticket was submitted.",
        ),
        acting_agent(),
        cond(
            "Old Department",
            ValueType::Department,
            "Department the ticket had before a transfer.",
        ),
        cond(
            "Old Group",
            ValueType::Group,
            "Group the ticket had before a transfer.",
        ),
        cond(
            "Old Agent Assigned",
            ValueType::Agent,
            "Agent who owned the ticket before a transfer.",
        ),
        department(),
        group(),
        agent_assigned(),
        cond(
            "Customer Email",
            ValueType::Text,
            "Email address of the customer.",
        ),
        cond("Subject", ValueType::Text, "Text of the ticket's subject line."),
        cond(
            "Priority",
            ValueType::Enum(PRIORITIES),
            "How urgent the ticket is.",
        ),
        cond(
            "Status",
            ValueType::Enum(TICKET_STATUSES),
            "Current state of the ticket.",
        ),
        cond(
            "Idle Minutes",
            ValueType::Minutes,
            "Minutes since the last activity on the ticket.",
        ),
        cond(
            "Follow-up Scheduled",
            ValueType::Boolean,
            "Whether a follow-up is set for the ticket.",
        ),
        cond(
            "Follow-up Due Minutes",
            ValueType::Minutes,
            "Minutes left until the follow-up is due.",
        ),
        cond(
            "Follow-up Past Due Minutes",
            ValueType::Minutes,
            "Minutes the follow-up has been overdue.",
        ),
        cond(
            "Pinned to Agent",
            ValueType::Boolean,
            "Whether a pin keeps the ticket with its agent.",
        ),
        cond(
            "Messages Sent",
            ValueType::Number,
            "How many outgoing messages the ticket has.",
        ),
        cond(
            "Messages Received",
            ValueType::Number,
            "How many incoming messages the ticket has.",
        ),
        cond(
            "Validation Hash",
            ValueType::Text,
            "Token that proves a ticket link shared outside the help desk.",
        ),
        cond(
            "Display Name",
            ValueType::Text,
            "Name shown for whoever submitted the ticket.",
        ),
        cond(
            "Email",
            ValueType::Text,
            "Email address of whoever submitted the ticket.",
        ),
        cond(
            "Body Text",
            ValueType::Text,
            "Text of the ticket's messages.",
        ),
        cond(
            "Comment Type",
            ValueType::Enum(COMMENT_TYPES),
            "Kind of comment that was added.",
        ),
        custom_field(),
    ]
}

fn actions() -> Vec<ActionDef> {
    let command = |title, description| ActionDef::new(title, description).command();
    vec![
        call_web_page(),
        log_to_file().with_per_item(),
        notify_external_provider(),
        command(
            "Offer Survey",
            "Asks the customer to rate the help; a closed ticket qualifies only if the customer wrote in it.",
        ),
        command("Pin Ticket to Agent", "Keeps the ticket with its current agent."),
        command("Send Canned Reply", "Answers the ticket with a stored reply."),
        send_email().with_per_item(),
        command("Send Form", "Sends a form for the ticket's sender to fill in."),
        command(
            "Send Reply to Ticket",
            "Answers the ticket by email with text written for this rule.",
        ),
        command("Set Ticket Priority", "Changes the ticket's priority."),
        command("Set Ticket Status", "Moves the ticket to another status."),
        command("Transfer Ticket", "Hands the ticket to another group and agent."),
        command(
            "Unpin Ticket from Agent",
            "Releases a pinned ticket so distribution rules place it again.",
        ),
        use_default_notification_profile_for_user().with_per_item(),
        use_my_notification_profile().with_per_item(),
    ]
}

/// The Ticket category.
pub(super) fn category() -> Category {
    build(
        "ticket",
        Spec {
            title: "Ticket",
            description:
                "Email tickets: their life cycle, replies, follow-ups, idle time and load.",
            item: ItemKind::Ticket,
            admin_only: false,
            conditions: conditions(),
            actions: actions(),
            kinds: vec![
                kind(
                    "Manual Ticket Event",
                    "An agent ran the rule on chosen tickets.",
                )
                .manual(),
                kind(
                    "Ticket Close Requested by User",
                    "The customer asked for the ticket to be closed.",
                ),
                kind(
                    "Ticket Comment Added",
                    "An agent added a comment to a ticket.",
                ),
                kind(
                    "Ticket Count for Agent",
                    "The number of tickets an agent holds crossed a threshold.",
                )
                .timed()
                .with(count("Number of tickets the agent holds.")),
                kind(
                    "Ticket Count for Group",
                    "The number of tickets in a group crossed a threshold.",
                )
                .timed()
                .with(count("Number of tickets in the group.")),
                kind(
                    "Ticket Count for Department",
                    "The number of tickets in a department crossed a threshold.",
                )
                .timed()
                .with(count("Number of tickets in the department.")),
                kind("Ticket Created", "A new ticket arrived."),
                kind("Ticket Deleted", "A ticket was removed."),
                kind(
                    "Ticket Duration",
                    "A ticket has been open for a given time.",
                )
                .timed(),
                kind(
                    "Ticket Followed Up",
                    "A scheduled follow-up on a ticket was done.",
                ),
                kind(
                    "Ticket Follow-up Due",
                    "A ticket's follow-up is nearly or already due.",
                )
                .timed(),
                kind(
                    "Ticket Follow-up Scheduled",
                    "A follow-up was set on a ticket.",
                ),
                kind("Ticket Form Created", "A form was made for a ticket."),
                kind("Ticket Form Sent", "A form was sent to a ticket's sender."),
                kind("Ticket Idle", "A ticket has seen no activity for a while.").timed(),
                kind(
                    "Ticket Messages Received",
                    "A customer message arrived on a ticket.",
                ),
                kind(
                    "Ticket Messages Sent",
                    "An agent message went out on a ticket.",
                ),
                kind("Ticket Priority Changed", "A ticket's priority changed."),
                kind("Ticket Status Changed", "A ticket's status changed."),
                kind(
                    "Ticket Time Log Created",
                    "Time spent was recorded against a ticket.",
                ),
                kind(
                    "Ticket Transferred",
                    "A ticket moved to another department, group or agent.",
                ),
            ],
        },
    )
}
