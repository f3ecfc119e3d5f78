//! Who's On: visitors browsing the website or portal, and live chat
//! invitations offered to them.

use super::parts::{
    acting_agent, build, call_web_page, cond, day_of_week, department, group, kind, log_to_file,
    notify_external_provider, send_email, time_of_day, use_my_notification_profile, Spec,
};
use super::{ActionDef, Category, ConditionDef, ItemKind, ValueType};

fn conditions() -> Vec<ConditionDef> {
    let text = |title, description| cond(title, ValueType::Text, description);
    let number = |title, description| cond(title, ValueType::Number, description);
    let date = |title, description| cond(title, ValueType::DateTime, description);
    vec![
        time_of_day(),
        day_of_week(),
        acting_agent(),
        department(),
        group(),
        text("Sent Message", "Text an agent sent to the visitor."),
        text("Customer Name", "Name the visitor is known by."),
        text(
            "Customer Email Address",
            "Email address the visitor is known by.",
        ),
        text("IP Address", "Network address of the visitor."),
        text("Host Name", "Resolved host name of the visitor's address."),
        text("Host Domain", "Domain part of that host name."),
        date("Session Start Time", "When the visit began."),
        number("Hits", "Pages viewed during the visit."),
        cond(
            "Duration Minutes",
            ValueType::Minutes,
            "How long the visit has lasted, in minutes.",
        ),
        cond(
            "Idle Minutes",
            ValueType::Minutes,
            "Minutes since the visitor last did anything.",
        ),
        text("Country", "Country the visitor appears to be in."),
        text("Region", "Region the visitor appears to be in."),
        text("Language", "Language the visitor's browser prefers."),
        text("Browser", "Web browser the visitor uses."),
        text("Operating System", "Operating system the visitor uses."),
        text(
            "Live Chat Status",
            "Where the visitor stands with live chat.",
        ),
        text("Initial Page", "Address of the first page of the visit."),
        text(
            "Initial Virtual Page",
            "Virtual page name of the first page of the visit.",
        ),
        text(
            "Initial Page Title",
            "Title of the first page of the visit.",
        ),
        text(
            "Initial Referrer",
            "Page that sent the visitor to the site.",
        ),
        text("Current Page", "Address of the page being viewed."),
        text(
            "Current Virtual Page",
            "Virtual page name of the page being viewed.",
        ),
        text("Current Page Title", "Title of the page being viewed."),
        text("Current Referrer", "Page that led to the one being viewed."),
        number(
            "Live Chat Invites Sent",
            "Chat invitations agents sent to the visitor.",
        ),
        number(
            "Live Chat Invites Rejected",
            "Chat invitations the visitor declined.",
        ),
        number(
            "Live Chat Invites Accepted",
            "Chat invitations the visitor took up.",
        ),
        number(
            "Live Chat Invites Ignored",
            "Chat invitations the visitor let lapse.",
        ),
        date(
            "Invitation Last Sent Date",
            "When the visitor was last invited to chat.",
        ),
        date("Last Live Chat Date", "When the visitor last chatted."),
        date("First Live Chat Date", "When the visitor first chatted."),
    ]
}

/// The Who's On category.
pub(super) fn category() -> Category {
    build(
        "whos-on",
        Spec {
            title: "Who's On",
            description: "Visitors browsing the site or portal, and the chat invitations they get.",
            item: ItemKind::Visitor,
            admin_only: false,
            conditions: conditions(),
            actions: vec![
                call_web_page(),
                log_to_file(),
                notify_external_provider(),
                ActionDef::new(
                    "Purge From List",
                    "Erases the visitor's entry from Who's On altogether.",
                )
                .command()
                .admin(),
                ActionDef::new(
                    "Remove From List",
                    "Takes the visitor off the current Who's On list.",
                )
                .command()
                .admin(),
                send_email(),
                ActionDef::new(
                    "Send Live Chat Invitation",
                    "Offers the visitor a chat on the site or portal.",
                )
                .command(),
                use_my_notification_profile(),
            ],
            kinds: vec![
                kind("Live Chat Accepted", "A visitor took up a chat invitation."),
                kind("Live Chat Invitation Ignored", "A visitor let a chat invitation lapse."),
                kind("Live Chat Invited", "An agent invited a visitor to chat."),
                kind("Live Chat Rejected", "A visitor declined a chat invitation."),
                kind(
                    "Online Activity",
                    "A visitor is on the site; checked as time passes, for duration and idle thresholds.",
                )
                .timed(),
                kind("Online Visitor Purged", "A visitor's entry was erased from Who's On.").admin(),
                kind("Online Visitor Removed", "A visitor was taken off the Who's On list.").admin(),
            ],
        },
    )
}
