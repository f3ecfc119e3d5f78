//! Building blocks for the category tables: constructors for conditions,
//! actions and event types, the entries several categories share, and
//! [`build`], which gives every event type its category's conditions and
//! actions.

use super::{kebab, ActionDef, Category, ConditionDef, EventType, ItemKind, ValueType};

/// A condition named by the specification.
pub(super) fn cond(
    title: &'static str,
    value_type: ValueType,
    description: &'static str,
) -> ConditionDef {
    ConditionDef {
        id: kebab(title),
        title,
        description,
        value_type,
        inferred: false,
    }
}

/// A condition the specification does not name, added so an event type is usable.
pub(super) fn inferred(
    title: &'static str,
    value_type: ValueType,
    description: &'static str,
) -> ConditionDef {
    ConditionDef {
        inferred: true,
        ..cond(title, value_type, description)
    }
}

/// Time of Day, offered by every category.
pub(super) fn time_of_day() -> ConditionDef {
    cond(
        "Time of Day",
        ValueType::TimeOfDay,
        "Local clock time at which the event happened.",
    )
}

/// Day of Week, offered by every category.
pub(super) fn day_of_week() -> ConditionDef {
    cond(
        "Day of Week",
        ValueType::DayOfWeek,
        "Local weekday on which the event happened.",
    )
}

/// Department of the item.
pub(super) fn department() -> ConditionDef {
    cond(
        "Department",
        ValueType::Department,
        "Department the item belongs to.",
    )
}

/// Group of the item.
pub(super) fn group() -> ConditionDef {
    cond(
        "Group",
        ValueType::Group,
        "Agent group the item belongs to.",
    )
}

/// The agent behind the event.
pub(super) fn acting_agent() -> ConditionDef {
    cond(
        "Acting Agent",
        ValueType::ActingAgent,
        "Agent whose action caused the event.",
    )
}

/// The agent the item is assigned to.
pub(super) fn agent_assigned() -> ConditionDef {
    cond(
        "Agent Assigned",
        ValueType::Agent,
        "Agent who currently owns the item.",
    )
}

/// The custom-field entry (`cf.<name>` in rules).
pub(super) fn custom_field() -> ConditionDef {
    cond(
        "Custom Field",
        ValueType::CustomField,
        "Any custom field an admin defined, named cf.<name>.",
    )
}

/// The threshold of a count event type.
pub(super) fn count(of: &'static str) -> ConditionDef {
    inferred("Count", ValueType::Number, of)
}

impl ActionDef {
    /// A plain (digest-only) action.
    pub(super) fn new(title: &'static str, description: &'static str) -> Self {
        ActionDef {
            id: kebab(title),
            title,
            description,
            digest: true,
            per_item: false,
            admin_only: false,
            agent_only: false,
            helpdesk_command: false,
        }
    }

    /// Also has the "(once per item)" variant.
    pub(super) fn with_per_item(mut self) -> Self {
        self.per_item = true;
        self
    }

    /// Carried out by the help desk through a host command.
    pub(super) fn command(mut self) -> Self {
        self.helpdesk_command = true;
        self
    }

    /// Only admins' rules may use it.
    pub(super) fn admin(mut self) -> Self {
        self.admin_only = true;
        self
    }

    /// Only agents' rules may use it (it reads the owner's own profile).
    pub(super) fn agent(mut self) -> Self {
        self.agent_only = true;
        self
    }
}

/// Call Web Page.
pub(super) fn call_web_page() -> ActionDef {
    ActionDef::new(
        "Call Web Page",
        "Requests a configured URL so another system can react to the event.",
    )
}

/// Log to File.
pub(super) fn log_to_file() -> ActionDef {
    ActionDef::new(
        "Log to File",
        "Appends a line about the event to a text file.",
    )
}

/// Notify External Provider.
pub(super) fn notify_external_provider() -> ActionDef {
    ActionDef::new(
        "Notify External Provider",
        "Hands the event to an installed external provider, which may answer with values to apply.",
    )
}

/// Send Email.
pub(super) fn send_email() -> ActionDef {
    ActionDef::new(
        "Send Email",
        "Mails a message to the configured recipients.",
    )
}

/// Use My Notification Profile.
pub(super) fn use_my_notification_profile() -> ActionDef {
    ActionDef::new(
        "Use My Notification Profile",
        "Alerts the rule's owner at the email and SMS addresses of their own profile.",
    )
    .agent()
}

/// Use Default Notification Profile for User.
pub(super) fn use_default_notification_profile_for_user() -> ActionDef {
    ActionDef::new(
        "Use Default Notification Profile for User",
        "Alerts the agent tied to the item at the addresses of their default profile.",
    )
}

/// The notify-only set: Call Web Page, Log to File, Notify External Provider,
/// Send Email, Use My Notification Profile, all digest only.
pub(super) fn notify_only() -> Vec<ActionDef> {
    vec![
        call_web_page(),
        log_to_file(),
        notify_external_provider(),
        send_email(),
        use_my_notification_profile(),
    ]
}

/// An event type before it gets its category's conditions and actions.
pub(super) struct Kind {
    title: &'static str,
    description: &'static str,
    admin_only: bool,
    manual: bool,
    time_based: bool,
    extra: Vec<ConditionDef>,
}

/// An event type with a title and a one-line description.
pub(super) fn kind(title: &'static str, description: &'static str) -> Kind {
    Kind {
        title,
        description,
        admin_only: false,
        manual: false,
        time_based: false,
        extra: Vec::new(),
    }
}

impl Kind {
    /// Runs on demand.
    pub(super) fn manual(mut self) -> Self {
        self.manual = true;
        self
    }

    /// Driven by the scheduler.
    pub(super) fn timed(mut self) -> Self {
        self.time_based = true;
        self
    }

    /// Only admins' rules may use it.
    pub(super) fn admin(mut self) -> Self {
        self.admin_only = true;
        self
    }

    /// A condition of its own, after the category's.
    pub(super) fn with(mut self, condition: ConditionDef) -> Self {
        self.extra.push(condition);
        self
    }
}

/// A category before assembly.
pub(super) struct Spec {
    /// Title; the id is its kebab form.
    pub title: &'static str,
    /// One line on what it covers.
    pub description: &'static str,
    /// The kind of item.
    pub item: ItemKind,
    /// Only admins' rules may use it (and so each of its event types).
    pub admin_only: bool,
    /// Conditions every event type offers.
    pub conditions: Vec<ConditionDef>,
    /// Actions every event type allows.
    pub actions: Vec<ActionDef>,
    /// The event types.
    pub kinds: Vec<Kind>,
}

/// Assembles a category: the id is `kebab(title)`, and each event type gets the
/// category's conditions (then its own) and actions, and its admin-only flag.
pub(super) fn build(id: &'static str, spec: Spec) -> Category {
    debug_assert_eq!(id, kebab(spec.title));
    let event_types = spec
        .kinds
        .into_iter()
        .map(|k| {
            let mut conditions = spec.conditions.clone();
            conditions.extend(k.extra);
            EventType {
                id: kebab(k.title),
                title: k.title,
                description: k.description,
                admin_only: spec.admin_only || k.admin_only,
                manual: k.manual,
                time_based: k.time_based,
                conditions,
                actions: spec.actions.clone(),
            }
        })
        .collect();
    Category {
        id,
        title: spec.title,
        description: spec.description,
        item: spec.item,
        admin_only: spec.admin_only,
        event_types,
    }
}
