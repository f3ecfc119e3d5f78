//! The help-desk command actions: each one submits a command through the
//! host's `helpdesk` import for every item it is given (one item per item,
//! every matching item as a digest). The action's settings are the command's
//! arguments; the host checks them against the item kind (a ticket status
//! must be a ticket status), applies the change to its item mirror, emits the
//! follow-on event and delivers the command to the help desk.

use serde_json::{json, Map, Value};
use tocsin_sdk::helpdesk::{submit, Command};
use tocsin_sdk::prelude::*;

/// One action: its id, title, the command it submits and its settings.
struct Spec {
    id: &'static str,
    title: &'static str,
    description: &'static str,
    command: &'static str,
    /// Settings properties: name and JSON schema.
    properties: fn() -> Value,
    /// Required settings.
    required: &'static [&'static str],
}

const TICKET_STATUSES: &[&str] = &["active", "waiting", "closed", "closed-and-locked"];
const TASK_STATUSES: &[&str] = &[
    "under-consideration",
    "in-progress",
    "on-hold",
    "in-review",
    "completed",
    "rejected",
    "approved",
];
const PRIORITIES: &[&str] = &["low", "normal", "high", "urgent"];

fn text(description: &str) -> Value {
    json!({"type": "string", "minLength": 1, "description": description})
}

fn flag(description: &str) -> Value {
    json!({"type": "boolean", "description": description})
}

fn choice(values: &[&str], description: &str) -> Value {
    json!({"type": "string", "enum": values, "description": description})
}

fn none() -> Value {
    json!({})
}

fn routing() -> Value {
    json!({
        "department": text("department to move it to"),
        "group": text("group to move it to"),
        "agent": text("agent to assign"),
    })
}

fn dept_or_agent() -> Value {
    json!({"department": text("department to move it to"), "agent": text("agent to assign")})
}

const SPECS: &[Spec] = &[
    Spec {
        id: "set-ticket-status",
        title: "Set Ticket Status",
        description: "Change the ticket's status",
        command: "set-status",
        properties: || json!({"status": choice(TICKET_STATUSES, "new status")}),
        required: &["status"],
    },
    Spec {
        id: "set-ticket-priority",
        title: "Set Ticket Priority",
        description: "Change the ticket's priority",
        command: "set-priority",
        properties: || json!({"priority": choice(PRIORITIES, "new priority")}),
        required: &["priority"],
    },
    Spec {
        id: "transfer-ticket",
        title: "Transfer Ticket",
        description: "Move the ticket to another department, group or agent",
        command: "transfer",
        properties: routing,
        required: &[],
    },
    Spec {
        id: "pin-ticket-to-agent",
        title: "Pin Ticket to Agent",
        description: "Keep the ticket with one agent",
        command: "pin",
        properties: || json!({"agent": text("agent the ticket stays with")}),
        required: &["agent"],
    },
    Spec {
        id: "unpin-ticket-from-agent",
        title: "Unpin Ticket from Agent",
        description: "Let the ticket move between agents again",
        command: "unpin",
        properties: none,
        required: &[],
    },
    Spec {
        id: "send-canned-reply",
        title: "Send Canned Reply",
        description:
            "Answer with one of the canned replies the host keeps, rendered for the ticket",
        command: "send-canned-reply",
        properties: || json!({"canned-reply": text("id of a canned reply kept by the host")}),
        required: &["canned-reply"],
    },
    Spec {
        id: "send-reply-to-ticket",
        title: "Send Reply to Ticket",
        description: "Answer the ticket's requester",
        command: "send-reply",
        properties: || json!({"subject": text("reply subject"), "body": text("reply text")}),
        required: &["body"],
    },
    Spec {
        id: "offer-survey",
        title: "Offer Survey",
        description: "Invite the requester of a closed ticket to a survey",
        command: "offer-survey",
        properties: || json!({"survey": text("id of the survey")}),
        required: &["survey"],
    },
    Spec {
        id: "send-form",
        title: "Send Form",
        description: "Send the requester a form to fill in",
        command: "send-form",
        properties: || json!({"form": text("id of the form")}),
        required: &["form"],
    },
    Spec {
        id: "transfer-call-log",
        title: "Transfer Call Log",
        description: "Move the call log to another department or agent",
        command: "transfer",
        properties: dept_or_agent,
        required: &[],
    },
    Spec {
        id: "transfer-live-chat",
        title: "Transfer Live Chat",
        description: "Move the chat to another department or agent",
        command: "transfer",
        properties: dept_or_agent,
        required: &[],
    },
    Spec {
        id: "end-chat",
        title: "End Chat",
        description: "End the live chat",
        command: "end",
        properties: none,
        required: &[],
    },
    Spec {
        id: "add-system-message",
        title: "Add System Message",
        description: "Post a system message into the chat",
        command: "add-system-message",
        properties: || json!({"message": text("message text")}),
        required: &["message"],
    },
    Spec {
        id: "alter-item-properties",
        title: "Alter Item Properties",
        description: "Mark the article draft, private or needing review",
        command: "alter-properties",
        properties: || {
            json!({
                "draft": flag("whether the article is a draft"),
                "private": flag("whether only agents see it"),
                "needs-review": flag("whether it is flagged for review"),
            })
        },
        required: &[],
    },
    Spec {
        id: "create-task",
        title: "Create Task",
        description: "Create a task about the item",
        command: "create-task",
        properties: || {
            json!({
                "subject": text("task subject"),
                "priority": choice(PRIORITIES, "task priority"),
                "agent": text("agent the task is for"),
                "description": text("task description"),
                "due": text("due date, RFC 3339"),
            })
        },
        required: &["subject"],
    },
    Spec {
        id: "set-task-status",
        title: "Set Task Status",
        description: "Change the task's status",
        command: "set-status",
        properties: || json!({"status": choice(TASK_STATUSES, "new status")}),
        required: &["status"],
    },
    Spec {
        id: "set-task-priority",
        title: "Set Task Priority",
        description: "Change the task's priority",
        command: "set-priority",
        properties: || json!({"priority": choice(PRIORITIES, "new priority")}),
        required: &["priority"],
    },
    Spec {
        id: "transfer-task",
        title: "Transfer Task",
        description: "Give the task to another agent",
        command: "transfer",
        properties: || json!({"agent": text("agent the task goes to")}),
        required: &["agent"],
    },
    Spec {
        id: "purge-from-list",
        title: "Purge From List",
        description: "Drop the visitor from Who's On and forget it",
        command: "purge",
        properties: none,
        required: &[],
    },
    Spec {
        id: "remove-from-list",
        title: "Remove From List",
        description: "Take the visitor off the Who's On list",
        command: "remove",
        properties: none,
        required: &[],
    },
    Spec {
        id: "send-live-chat-invitation",
        title: "Send Live Chat Invitation",
        description: "Invite the visitor to a live chat",
        command: "send-invitation",
        properties: || json!({"message": text("invitation text"), "agent": text("inviting agent")}),
        required: &[],
    },
    Spec {
        id: "subscribe-to-thread",
        title: "Subscribe to Thread",
        description: "Subscribe an agent to the community thread",
        command: "subscribe",
        properties: || json!({"agent": text("agent to subscribe")}),
        required: &["agent"],
    },
];

struct Helpdesk;

impl Plugin for Helpdesk {
    fn describe() -> PluginInfo {
        SPECS.iter().fold(
            PluginInfo::new("helpdesk", env!("CARGO_PKG_VERSION")),
            |info, spec| {
                info.action(
                    ActionInfo::new(spec.id, spec.title)
                        .description(spec.description)
                        .schema(json!({
                            "type": "object",
                            "additionalProperties": false,
                            "required": spec.required,
                            "properties": (spec.properties)(),
                        }))
                        .modes(&[Mode::Digest, Mode::PerItem]),
                )
            },
        )
    }

    fn run(inv: Invocation) -> Result<Outcome, Failure> {
        let Some(spec) = SPECS.iter().find(|s| s.id == inv.action) else {
            return Err(Failure::bad_settings(format!(
                "action {:?} is not provided by the helpdesk plugin",
                inv.action
            )));
        };
        let arguments: Map<String, Value> = inv.settings()?;
        if inv.items.is_empty() {
            return Err(Failure::permanent(format!(
                "{} needs an item; the event has none",
                spec.title
            )));
        }
        let arguments = Value::Object(arguments).to_string();
        let mut done = Vec::new();
        for item in &inv.items {
            let command = Command {
                item_kind: item.kind.clone(),
                item_id: item.id.clone(),
                name: spec.command.to_string(),
                arguments: arguments.clone(),
            };
            submit(&command).map_err(|e| refused(&e, &done))?;
            done.push(format!("{}#{}", item.kind, item.id));
        }
        Ok(Outcome::new(format!(
            "{} on {}",
            spec.command,
            done.join(", ")
        )))
    }
}

/// A refused command: wrong arguments are the rule's settings' fault;
/// anything else (wrong item kind or state, missing grant) will not change
/// by retrying. Commands already submitted for earlier items are named.
fn refused(message: &str, done: &[String]) -> Failure {
    let already = if done.is_empty() {
        String::new()
    } else {
        format!(" (already submitted for {})", done.join(", "))
    };
    let message = format!("{message}{already}");
    if message.contains(": arguments.") {
        Failure::bad_settings(message.replace(": arguments.", ": settings."))
    } else {
        Failure::permanent(message)
    }
}

export_plugin!(Helpdesk);
