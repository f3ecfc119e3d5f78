//! User: portal accounts.

use super::parts::{build, cond, day_of_week, kind, notify_only, time_of_day, Spec};
use super::{Category, ItemKind, ValueType};

/// The User category.
pub(super) fn category() -> Category {
    build(
        "user",
        Spec {
            title: "User",
            description: "People signing up on the portal.",
            item: ItemKind::User,
            admin_only: false,
            conditions: vec![
                time_of_day(),
                day_of_week(),
                cond(
                    "Username",
                    ValueType::Text,
                    "Login name of the new account.",
                ),
                cond(
                    "Email Address",
                    ValueType::Text,
                    "Email address the account signed up with.",
                ),
                cond("Full Name", ValueType::Text, "Name given by the new user."),
                cond(
                    "Phone Number",
                    ValueType::Text,
                    "Phone number given by the new user.",
                ),
                cond(
                    "IP Address",
                    ValueType::Text,
                    "Address the sign-up came from.",
                ),
                cond(
                    "Brand",
                    ValueType::Brand,
                    "Brand the account was created under.",
                ),
            ],
            actions: notify_only(),
            kinds: vec![kind(
                "New User Registered",
                "A new account was created on the portal.",
            )],
        },
    )
}
