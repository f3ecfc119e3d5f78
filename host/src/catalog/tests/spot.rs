//! Spot checks taken from the specification: a few condition types and action
//! modes per category, and how conditions map onto rule fields.

use super::et;
use crate::catalog::*;

/// (category, event type, condition, value type)
#[test]
fn spot_checks_of_condition_types() {
    let checks = [
        (
            "active-group",
            "agent-status-afk",
            "is-afk",
            ValueType::Boolean,
        ),
        (
            "active-group",
            "agent-auto-inactive",
            "agent",
            ValueType::Agent,
        ),
        (
            "call-logs",
            "call-log-created",
            "incoming-call",
            ValueType::Boolean,
        ),
        (
            "call-logs",
            "call-log-modified",
            "start-date",
            ValueType::DateTime,
        ),
        (
            "call-logs",
            "manual-call-log-event",
            "acting-agent",
            ValueType::ActingAgent,
        ),
        (
            "chat-rooms",
            "chat-room-left",
            "chat-room-name",
            ValueType::Text,
        ),
        (
            "community",
            "new-reported-abuse",
            "users-email",
            ValueType::Text,
        ),
        (
            "knowledge-base",
            "kb-article-stale",
            "marked-as-draft",
            ValueType::Boolean,
        ),
        (
            "live-chat",
            "live-chat-idle",
            "idle-minutes",
            ValueType::Minutes,
        ),
        (
            "live-chat",
            "live-chat-ended",
            "messages-received",
            ValueType::Number,
        ),
        (
            "pop",
            "pop-connection-failed",
            "server-port",
            ValueType::Number,
        ),
        (
            "smtp",
            "smtp-delivery-failed",
            "requires-authentication",
            ValueType::Boolean,
        ),
        (
            "survey",
            "survey-answered",
            "survey-rating",
            ValueType::Number,
        ),
        ("task", "task-due", "status", ValueType::Enum(TASK_STATUSES)),
        (
            "task",
            "task-modified",
            "old-agent-assigned",
            ValueType::Agent,
        ),
        (
            "ticket",
            "ticket-idle",
            "priority",
            ValueType::Enum(PRIORITIES),
        ),
        (
            "ticket",
            "ticket-status-changed",
            "status",
            ValueType::Enum(TICKET_STATUSES),
        ),
        (
            "ticket",
            "ticket-comment-added",
            "comment-type",
            ValueType::Enum(COMMENT_TYPES),
        ),
        (
            "ticket",
            "ticket-transferred",
            "old-department",
            ValueType::Department,
        ),
        (
            "ticket",
            "ticket-follow-up-due",
            "follow-up-past-due-minutes",
            ValueType::Minutes,
        ),
        ("user", "new-user-registered", "brand", ValueType::Brand),
        (
            "whos-on",
            "online-activity",
            "duration-minutes",
            ValueType::Minutes,
        ),
        (
            "whos-on",
            "live-chat-invited",
            "first-live-chat-date",
            ValueType::DateTime,
        ),
        (
            "whos-on",
            "online-visitor-purged",
            "hits",
            ValueType::Number,
        ),
    ];
    for (cat, t, cond, ty) in checks {
        let c = et(cat, t)
            .condition(cond)
            .unwrap_or_else(|| panic!("{cat}/{t}: no {cond}"));
        assert_eq!(c.value_type, ty, "{cat}/{t}/{cond}");
    }
    assert!(et("ticket", "ticket-created")
        .condition("question")
        .is_none());
    assert!(et("survey", "survey-answered")
        .condition("priority")
        .is_none());
    assert_eq!(TICKET_STATUSES.len(), 4);
    assert_eq!(TASK_STATUSES.len(), 7);
}

/// (category, event type, action, digest, per item)
#[test]
fn spot_checks_of_action_modes() {
    let checks = [
        (
            "active-group",
            "agent-status-afk",
            "use-my-notification-profile",
            true,
            false,
        ),
        ("call-logs", "call-log-created", "send-email", true, true),
        (
            "call-logs",
            "call-log-deleted",
            "transfer-call-log",
            true,
            false,
        ),
        (
            "call-logs",
            "call-log-created",
            "use-default-notification-profile-for-user",
            true,
            true,
        ),
        (
            "community",
            "new-community-thread-created",
            "subscribe-to-thread",
            true,
            false,
        ),
        (
            "community",
            "new-reported-abuse",
            "log-to-file",
            true,
            false,
        ),
        (
            "knowledge-base",
            "kb-article-created",
            "alter-item-properties",
            true,
            false,
        ),
        (
            "knowledge-base",
            "kb-feedback-created",
            "use-my-notification-profile",
            true,
            true,
        ),
        ("live-chat", "live-chat-idle", "end-chat", true, false),
        ("live-chat", "live-chat-started", "log-to-file", true, true),
        ("pop", "pop-import-failed", "call-web-page", true, false),
        ("smtp", "smtp-login-failed", "send-email", true, false),
        ("survey", "survey-answered", "log-to-file", true, false),
        ("task", "task-due", "set-task-status", true, false),
        (
            "task",
            "task-created",
            "use-default-notification-profile-for-user",
            true,
            true,
        ),
        ("ticket", "ticket-idle", "send-email", true, true),
        ("ticket", "ticket-idle", "transfer-ticket", true, false),
        (
            "ticket",
            "ticket-created",
            "unpin-ticket-from-agent",
            true,
            false,
        ),
        (
            "user",
            "new-user-registered",
            "notify-external-provider",
            true,
            false,
        ),
        (
            "whos-on",
            "online-activity",
            "send-live-chat-invitation",
            true,
            false,
        ),
    ];
    for (cat, t, action, digest, per_item) in checks {
        let a = et(cat, t)
            .action(action)
            .unwrap_or_else(|| panic!("{cat}/{t}: no {action}"));
        assert_eq!(
            (a.digest, a.per_item),
            (digest, per_item),
            "{cat}/{t}/{action}"
        );
        assert_eq!(a.supports(ActionMode::PerItem), per_item);
    }
    // Categories without a "(once per item)" variant anywhere.
    for cat in [
        "active-group",
        "chat-rooms",
        "community",
        "pop",
        "smtp",
        "survey",
        "user",
        "whos-on",
    ] {
        for t in &catalog().category(cat).unwrap().event_types {
            assert!(t.actions.iter().all(|a| !a.per_item), "{cat}/{}", t.id);
        }
    }
    assert!(et("survey", "survey-answered")
        .action("set-ticket-status")
        .is_none());
    assert!(
        et("ticket", "ticket-created")
            .action("set-ticket-status")
            .unwrap()
            .helpdesk_command
    );
    assert!(
        !et("ticket", "ticket-created")
            .action("send-email")
            .unwrap()
            .helpdesk_command
    );
    assert_eq!(
        et("ticket", "ticket-idle")
            .action("log-to-file")
            .unwrap()
            .modes(),
        [ActionMode::Digest, ActionMode::PerItem]
    );
}
