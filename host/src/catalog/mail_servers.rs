//! POP and SMTP: failures talking to mail servers (admins only).
//!
//! The specification's SMTP list repeats "POP Login Failed"; DESIGN.md calls it
//! a copy of the POP entry, so SMTP has "SMTP Login Failed" in its place (its
//! Requires Authentication condition points at a login step).

use super::parts::{build, cond, day_of_week, kind, notify_only, time_of_day, Spec};
use super::{Category, ConditionDef, ItemKind, ValueType};

fn server_port() -> ConditionDef {
    cond(
        "Server Port",
        ValueType::Number,
        "Port the connection was attempted on.",
    )
}

fn ssl() -> ConditionDef {
    cond(
        "SSL",
        ValueType::Boolean,
        "Whether the server is reached over SSL.",
    )
}

/// The POP category.
pub(super) fn pop() -> Category {
    build(
        "pop",
        Spec {
            title: "POP",
            description: "Problems fetching incoming mail from POP servers.",
            item: ItemKind::MailServer,
            admin_only: true,
            conditions: vec![
                time_of_day(),
                day_of_week(),
                cond(
                    "Server Name",
                    ValueType::Text,
                    "Host name of the POP server.",
                ),
                server_port(),
                cond(
                    "Login Username",
                    ValueType::Text,
                    "Account used to sign in to the server.",
                ),
                ssl(),
            ],
            actions: notify_only(),
            kinds: vec![
                kind(
                    "POP Connection Failed",
                    "The POP server could not be reached.",
                ),
                kind(
                    "POP Download Failed",
                    "Messages could not be fetched from the POP server.",
                ),
                kind(
                    "POP Import Failed",
                    "A fetched message could not be turned into a ticket.",
                ),
                kind(
                    "POP Login Failed",
                    "The POP server refused the account's credentials.",
                ),
            ],
        },
    )
}

/// The SMTP category.
pub(super) fn smtp() -> Category {
    build(
        "smtp",
        Spec {
            title: "SMTP",
            description: "Problems sending outgoing mail through SMTP servers.",
            item: ItemKind::MailServer,
            admin_only: true,
            conditions: vec![
                time_of_day(),
                day_of_week(),
                cond(
                    "SMTP Server",
                    ValueType::Text,
                    "Host name of the SMTP server.",
                ),
                server_port(),
                cond(
                    "Email Address",
                    ValueType::Text,
                    "Sender address the help desk mails from.",
                ),
                ssl(),
                cond(
                    "Requires Authentication",
                    ValueType::Boolean,
                    "Whether the server wants a login before accepting mail.",
                ),
                cond(
                    "Customer Email",
                    ValueType::Text,
                    "Address of the customer the message was meant for.",
                ),
            ],
            actions: notify_only(),
            kinds: vec![
                kind(
                    "SMTP Connection Failed",
                    "The SMTP server could not be reached.",
                ),
                kind(
                    "SMTP Delivery Failed",
                    "An outgoing message could not be handed over.",
                ),
                kind(
                    "SMTP Login Failed",
                    "The SMTP server refused the sending account's credentials.",
                ),
            ],
        },
    )
}
