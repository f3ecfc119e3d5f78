//! Checks of the catalog against the specification and DESIGN.md: structure,
//! flags, corrections, serialization and the text listing; [`spot`] holds the
//! per-category spot checks.

use super::*;
use std::collections::HashSet;

mod spot;

pub(super) fn et(category: &str, event_type: &str) -> &'static EventType {
    catalog()
        .event_type(category, event_type)
        .unwrap_or_else(|| panic!("{category}/{event_type} is missing"))
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<&str> {
    items.iter().map(id).collect()
}

const CATEGORY_IDS: [&str; 13] = [
    "active-group",
    "call-logs",
    "chat-rooms",
    "community",
    "knowledge-base",
    "live-chat",
    "pop",
    "smtp",
    "survey",
    "task",
    "ticket",
    "user",
    "whos-on",
];

#[test]
fn thirteen_categories_in_the_specifications_order() {
    let c = catalog();
    assert_eq!(ids(c.categories(), |c| c.id), CATEGORY_IDS);
    assert!(c.category("tickets").is_none());
    assert_eq!(c.category("whos-on").unwrap().title, "Who's On");
}

#[test]
fn every_category_has_event_types_and_the_total_matches() {
    let per_category: Vec<usize> = catalog()
        .categories()
        .iter()
        .map(|c| c.event_types.len())
        .collect();
    assert!(per_category.iter().all(|n| *n >= 1), "{per_category:?}");
    assert_eq!(per_category, [4, 7, 3, 2, 13, 15, 4, 3, 1, 6, 21, 1, 7]);
    assert_eq!(per_category.iter().sum::<usize>(), 87);
}

fn assert_unique_kebab<'a>(scope: &str, ids: impl IntoIterator<Item = &'a str>) {
    let mut seen = HashSet::new();
    for id in ids {
        assert!(seen.insert(id), "{scope}: duplicate id {id:?}");
        assert!(!id.is_empty(), "{scope}: empty id");
        assert!(
            id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !id.starts_with('-')
                && !id.ends_with('-')
                && !id.contains("--"),
            "{scope}: {id:?} is not kebab-case"
        );
    }
}

#[test]
fn ids_are_unique_in_their_scope_kebab_case_and_follow_the_titles() {
    let c = catalog();
    assert_unique_kebab("categories", c.categories().iter().map(|c| c.id));
    for cat in c.categories() {
        assert_eq!(cat.id, kebab(cat.title));
        assert_unique_kebab(cat.id, cat.event_types.iter().map(|t| t.id.as_str()));
        for t in &cat.event_types {
            assert_eq!(t.id, kebab(t.title));
            let scope = format!("{}/{}", cat.id, t.id);
            assert_unique_kebab(&scope, t.conditions.iter().map(|c| c.id.as_str()));
            assert_unique_kebab(&scope, t.actions.iter().map(|a| a.id.as_str()));
            assert!(
                t.conditions.iter().all(|c| c.id == kebab(c.title)),
                "{scope}"
            );
            assert!(t.actions.iter().all(|a| a.id == kebab(a.title)), "{scope}");
            assert!(!t.conditions.is_empty() && !t.actions.is_empty(), "{scope}");
            assert!(t.actions.iter().all(|a| a.digest || a.per_item), "{scope}");
        }
    }
}

#[test]
fn descriptions_are_single_sentences() {
    let mut all: Vec<&str> = Vec::new();
    for cat in catalog().categories() {
        all.push(cat.description);
        for t in &cat.event_types {
            all.push(t.description);
            all.extend(t.conditions.iter().map(|c| c.description));
            all.extend(t.actions.iter().map(|a| a.description));
        }
    }
    for d in all {
        assert!(
            !d.is_empty() && d.ends_with('.') && !d.contains('\n') && d.len() <= 110,
            "{d:?}"
        );
    }
}

#[test]
fn typo_corrections_from_design() {
    assert!(catalog()
        .event_type("ticket", "ticket-comment-added")
        .is_some());
    assert!(catalog()
        .event_type("ticket", "ticket-commend-added")
        .is_none());
    let smtp = catalog().category("smtp").unwrap();
    assert_eq!(
        ids(&smtp.event_types, |t| t.id.as_str()),
        [
            "smtp-connection-failed",
            "smtp-delivery-failed",
            "smtp-login-failed"
        ]
    );
    assert!(et("pop", "pop-login-failed")
        .condition("login-username")
        .is_some());
}

#[test]
fn chat_rooms_has_the_three_types_from_design() {
    let rooms = catalog().category("chat-rooms").unwrap();
    assert_eq!(rooms.item, ItemKind::ChatRoom);
    assert_eq!(
        ids(&rooms.event_types, |t| t.id.as_str()),
        ["chat-room-invite", "chat-room-joined", "chat-room-left"]
    );
    for t in &rooms.event_types {
        assert_eq!(
            ids(&t.conditions, |c| c.id.as_str()),
            [
                "agent",
                "chat-room-name",
                "sent-message",
                "time-of-day",
                "day-of-week"
            ]
        );
        assert_eq!(
            ids(&t.actions, |a| a.id.as_str()),
            [
                "log-to-file",
                "notify-external-provider",
                "send-email",
                "use-my-notification-profile"
            ]
        );
        assert!(t.actions.iter().all(|a| a.digest && !a.per_item));
        assert!(!t.admin_only && !t.manual && !t.time_based);
    }
}

#[test]
fn admin_only_categories_and_event_types() {
    for cat in catalog().categories() {
        let admin = matches!(cat.id, "pop" | "smtp" | "active-group");
        assert_eq!(cat.admin_only, admin, "{}", cat.id);
        for t in &cat.event_types {
            let expected = admin
                || (cat.id == "whos-on"
                    && matches!(
                        t.id.as_str(),
                        "online-visitor-purged" | "online-visitor-removed"
                    ));
            assert_eq!(t.admin_only, expected, "{}/{}", cat.id, t.id);
        }
    }
    let visitors = et("whos-on", "online-activity");
    assert!(visitors.action("purge-from-list").unwrap().admin_only);
    assert!(visitors.action("remove-from-list").unwrap().admin_only);
    assert!(!visitors.action("send-email").unwrap().admin_only);
}

#[test]
fn exactly_the_manual_event_types_are_flagged_manual() {
    let manual: Vec<String> = catalog()
        .categories()
        .iter()
        .flat_map(|c| {
            c.event_types
                .iter()
                .filter(|t| t.manual)
                .map(|t| format!("{}/{}", c.id, t.id))
        })
        .collect();
    assert_eq!(
        manual,
        [
            "call-logs/manual-call-log-event",
            "knowledge-base/manual-kb-event",
            "live-chat/manual-live-chat-event",
            "task/manual-task-event",
            "ticket/manual-ticket-event",
        ]
    );
}

#[test]
fn exactly_the_time_driven_event_types_are_flagged_time_based() {
    let timed: HashSet<String> = catalog()
        .categories()
        .iter()
        .flat_map(|c| {
            c.event_types
                .iter()
                .filter(|t| t.time_based)
                .map(|t| format!("{}/{}", c.id, t.id))
        })
        .collect();
    let expected: HashSet<String> = [
        "active-group/agent-auto-inactive",
        "knowledge-base/kb-article-stale",
        "live-chat/live-chat-count-for-agent",
        "live-chat/live-chat-count-for-department",
        "live-chat/live-chat-count-for-group",
        "live-chat/live-chat-idle",
        "task/task-due",
        "ticket/ticket-count-for-agent",
        "ticket/ticket-count-for-group",
        "ticket/ticket-count-for-department",
        "ticket/ticket-duration",
        "ticket/ticket-follow-up-due",
        "ticket/ticket-idle",
        "whos-on/online-activity",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(timed, expected);
    assert!(catalog()
        .categories()
        .iter()
        .flat_map(|c| &c.event_types)
        .all(|t| !(t.manual && t.time_based)));
}

#[test]
fn count_thresholds_are_the_only_inferred_conditions() {
    for cat in catalog().categories() {
        for t in &cat.event_types {
            let inferred: Vec<&str> = t
                .conditions
                .iter()
                .filter(|c| c.inferred)
                .map(|c| c.id.as_str())
                .collect();
            let expected: &[&str] = if t.id.contains("-count-for-") {
                &["count"]
            } else {
                &[]
            };
            assert_eq!(inferred, expected, "{}/{}", cat.id, t.id);
        }
    }
    let count = et("ticket", "ticket-count-for-group")
        .condition("count")
        .unwrap();
    assert_eq!(count.value_type, ValueType::Number);
}

#[test]
fn business_hours_and_holidays_are_ticket_conditions() {
    let created = et("ticket", "ticket-created");
    let after_hours = created.condition("outside-business-hours").unwrap();
    let holidays = created.condition("during-holidays").unwrap();
    assert_eq!(after_hours.value_type, ValueType::OutsideBusinessHours);
    assert_eq!(holidays.value_type, ValueType::DuringHolidays);
    assert!(after_hours.is_calendar() && holidays.is_calendar());
    assert!(!created.condition("time-of-day").unwrap().is_calendar());
    for cat in catalog().categories().iter().filter(|c| c.id != "ticket") {
        for t in &cat.event_types {
            assert!(
                !t.conditions.iter().any(ConditionDef::is_calendar),
                "{}",
                t.id
            );
        }
    }
}

#[test]
fn custom_fields_where_the_specification_offers_them() {
    for cat in catalog().categories() {
        let has = matches!(cat.id, "ticket" | "live-chat" | "call-logs");
        for t in &cat.event_types {
            assert_eq!(t.has_custom_fields(), has, "{}/{}", cat.id, t.id);
        }
    }
    let idle = et("ticket", "ticket-idle");
    let cf = idle.condition("cf.billing_id").unwrap();
    assert_eq!(cf.value_type, ValueType::CustomField);
    assert!(idle.condition("cf.").is_none());
    assert!(idle.condition("custom-field").is_none());
    assert!(et("task", "task-due").condition("cf.billing_id").is_none());
}

#[test]
fn every_category_offers_time_of_day_and_day_of_week() {
    for cat in catalog().categories() {
        for t in &cat.event_types {
            assert_eq!(
                t.condition("time-of-day").unwrap().value_type,
                ValueType::TimeOfDay
            );
            assert_eq!(
                t.condition("day-of-week").unwrap().value_type,
                ValueType::DayOfWeek
            );
            assert!(t.action("send-email").unwrap().digest, "{}", t.id);
        }
    }
}

#[test]
fn conditions_map_onto_fields_and_kinds() {
    let t = et("ticket", "ticket-idle");
    let field = |id: &str| condition_field(t.condition(id).unwrap());
    assert_eq!(field("acting-agent"), (Field::Agent, ValueKind::Text));
    assert_eq!(
        field("time-of-day"),
        (Field::TimeOfDay, ValueKind::TimeOfDay)
    );
    assert_eq!(
        field("day-of-week"),
        (Field::DayOfWeek, ValueKind::DayOfWeek)
    );
    assert_eq!(
        field("outside-business-hours"),
        (Field::OutsideBusinessHours, ValueKind::Boolean)
    );
    assert_eq!(
        field("during-holidays"),
        (Field::DuringHolidays, ValueKind::Boolean)
    );
    assert_eq!(
        field("idle-minutes"),
        (Field::Item("idle-minutes".into()), ValueKind::Number)
    );
    let (_, kind) = field("priority");
    assert_eq!(
        kind,
        ValueKind::Enum(PRIORITIES.iter().map(|s| s.to_string()).collect())
    );
}

#[test]
fn serializes_to_json() {
    let json = serde_json::to_value(catalog()).unwrap();
    let categories = json["categories"].as_array().unwrap();
    assert_eq!(categories.len(), 13);
    let ticket = &categories[10];
    assert_eq!(ticket["id"], "ticket");
    assert_eq!(ticket["item"], "ticket");
    let idle = ticket["event_types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "ticket-idle")
        .unwrap();
    assert_eq!(idle["time_based"], true);
    let priority = idle["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "priority")
        .unwrap();
    assert_eq!(
        priority["value_type"],
        serde_json::json!({"type": "enum", "values": ["low", "normal", "high", "urgent"]})
    );
    let minutes = &idle["conditions"][4]["value_type"];
    assert_eq!(minutes, &serde_json::json!({"type": "minutes"}));
    let email = idle["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "send-email")
        .unwrap();
    assert_eq!(
        (email["digest"].clone(), email["per_item"].clone()),
        (true.into(), true.into())
    );
    assert_eq!(
        serde_json::to_value(ActionMode::PerItem).unwrap(),
        "per-item"
    );
    assert_eq!(
        serde_json::to_value(ItemKind::KbArticle).unwrap(),
        "kb-article"
    );
}

#[test]
fn text_listing_mentions_every_category_and_flag() {
    let text = catalog().render_text();
    for cat in catalog().categories() {
        assert!(
            text.contains(&format!("{} ({})", cat.title, cat.id)),
            "{}",
            cat.id
        );
        for t in &cat.event_types {
            assert!(
                text.contains(&format!("event {} ({})", t.title, t.id)),
                "{}",
                t.id
            );
        }
    }
    for line in [
        "POP (pop) [admin only]",
        "event Ticket Idle (ticket-idle) [time-based]",
        "event Manual Ticket Event (manual-ticket-event) [manual]",
        "event Online Visitor Purged (online-visitor-purged) [admin only]",
        "Priority (priority): one of low|normal|high|urgent",
        "Outside Business Hours (outside-business-hours): boolean, business-hours calendar",
        "Custom Field (cf.<name>): custom field cf.<name>, text",
        "Send Email (send-email): digest, per-item",
        "+ condition Count (count): number [not in the specification]",
        "Purge From List (purge-from-list): digest [admin only] [help-desk command]",
        "Use My Notification Profile (use-my-notification-profile): digest, per-item [agent rules only]",
    ] {
        assert!(text.contains(line), "missing {line:?}");
    }
}

#[test]
fn kebab_forms() {
    assert_eq!(kebab("Who's On"), "whos-on");
    assert_eq!(kebab("Ticket Follow-up Due"), "ticket-follow-up-due");
    assert_eq!(kebab("User's Email"), "users-email");
    assert_eq!(
        kebab("Use My Notification Profile (once per item)"),
        "use-my-notification-profile-once-per-item"
    );
    assert_eq!(kebab("  Agent Auto-Inactive "), "agent-auto-inactive");
}
