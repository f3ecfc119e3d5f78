//! Notification profiles: "Use My Notification Profile" alerts the rule's
//! owner, "Use Default Notification Profile for User" the agent assigned to
//! each item, at the addresses of their profile.
//!
//! A profile has two channels, each switched on or off by its agent: email
//! (one message to every email address, with the text body) and SMS (one short
//! message to each email-to-SMS gateway address, cut to 160 characters). The
//! subject, body and SMS text are templates the host renders before the plugin
//! runs. Every profile is read before anything is sent, so a refused lookup
//! (no `profiles` grant) sends nothing; it fails permanently, as retrying
//! would not change the grant.

use serde::Deserialize;
use tocsin_sdk::mail::{send, Message};
use tocsin_sdk::prelude::*;
use tocsin_sdk::profiles::{default_for, named, Profile};

/// The item field that names the agent an item is assigned to (the catalog's
/// "Agent Assigned" condition reads the same field).
const ASSIGNED: &str = "agent-assigned";
/// Longest SMS text, in characters.
const SMS_MAX: usize = 160;

/// Settings of both actions; `profile` only for "My".
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    subject: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    sms_text: Option<String>,
    #[serde(default)]
    profile: Option<String>,
}

/// What is sent to one profile.
struct Alert<'a> {
    subject: &'a str,
    body: String,
    sms: String,
}

/// What was sent to one profile.
#[derive(Default)]
struct Sent {
    emails: usize,
    sms: usize,
}

impl Sent {
    fn add(&mut self, other: &Sent) {
        self.emails += other.emails;
        self.sms += other.sms;
    }

    fn describe(&self, profile: &Profile) -> String {
        let channel = |on: bool, n: usize, what: &str| match (on, n) {
            (false, _) => format!("{what} off"),
            (true, 0) => format!("no {what} address"),
            (true, n) => format!("{n} {what}"),
        };
        format!(
            "{} (profile {:?}): {}, {}",
            profile.agent,
            profile.name,
            channel(profile.email_on, self.emails, "email"),
            channel(profile.sms_on, self.sms, "sms"),
        )
    }
}

fn settings_schema(with_profile: bool) -> serde_json::Value {
    let mut properties = serde_json::json!({
        "subject": {"type": "string", "minLength": 1, "description": "subject of the email"},
        "body": {"type": "string", "description": "plain-text body of the email; default: the subject"},
        "sms_text": {"type": "string", "description": "text of the SMS, cut to 160 characters; default: the subject"}
    });
    if with_profile {
        properties["profile"] = serde_json::json!({
            "type": "string", "minLength": 1,
            "description": "name of the owner's profile to use; default: the owner's default profile"
        });
    }
    serde_json::json!({
        "type": "object",
        "required": ["subject"],
        "additionalProperties": false,
        "properties": properties
    })
}

/// Queues the email and the SMS messages of one profile, for its switched-on channels.
fn deliver(profile: &Profile, alert: &Alert) -> Result<Sent, Failure> {
    let mut sent = Sent::default();
    // The host refuses malformed messages; that will not change on retry.
    let queue = |to: Vec<String>, subject: &str, text: &str| {
        send(&Message {
            to,
            cc: Vec::new(),
            bcc: Vec::new(),
            reply_to: None,
            subject: subject.to_string(),
            text: Some(text.to_string()),
            html: None,
        })
        .map_err(Failure::permanent)
    };
    if profile.email_on && !profile.emails.is_empty() {
        queue(profile.emails.clone(), alert.subject, &alert.body)?;
        sent.emails = 1;
    }
    if profile.sms_on {
        for address in &profile.sms {
            // Gateways turn the whole message into the SMS: no subject, short text.
            queue(vec![address.clone()], "", &alert.sms)?;
            sent.sms += 1;
        }
    }
    Ok(sent)
}

fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// Reads and checks the rendered settings.
fn read_settings(inv: &Invocation) -> Result<Settings, Failure> {
    let s: Settings = inv.settings()?;
    if s.subject.trim().is_empty() {
        return Err(Failure::bad_settings(
            "settings.subject: empty after rendering",
        ));
    }
    Ok(s)
}

fn alert<'a>(s: &'a Settings, footer: Option<String>) -> Alert<'a> {
    let mut body = s.body.clone().unwrap_or_else(|| s.subject.clone());
    if let Some(footer) = footer {
        body.push_str(&footer);
    }
    let sms = match s.sms_text.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => text,
        _ => s.subject.trim(),
    };
    Alert {
        subject: &s.subject,
        body,
        sms: cut(sms, SMS_MAX),
    }
}

/// "Use My Notification Profile": the rule owner's named or default profile.
fn use_mine(inv: &Invocation) -> Result<Outcome, Failure> {
    let s = read_settings(inv)?;
    let owner = &inv.rule.owner;
    if owner == "system" {
        return Err(Failure::bad_settings(format!(
            "rule `{}` is owned by `system`, which has no notification profile; \
             let an agent own the rule, or use use-default-notification-profile-for-user or send-email",
            inv.rule.id
        )));
    }
    let profile = match &s.profile {
        Some(name) => named(owner, name)
            .map_err(Failure::permanent)?
            .ok_or_else(|| {
                Failure::bad_settings(format!(
                    "settings.profile: agent `{owner}` has no profile named {name:?}"
                ))
            })?,
        None => default_for(owner)
            .map_err(Failure::permanent)?
            .ok_or_else(|| {
                Failure::permanent(format!(
                    "agent `{owner}` (the rule's owner) has no default notification profile"
                ))
            })?,
    };
    let sent = deliver(&profile, &alert(&s, None))?;
    Ok(Outcome::new(format!("alerted {}", sent.describe(&profile))))
}

/// "Use Default Notification Profile for User": the default profile of each
/// item's assigned agent, one alert per agent.
fn use_default_for_user(inv: &Invocation) -> Result<Outcome, Failure> {
    let s = read_settings(inv)?;
    // Agents in the order their first item came, each with its items.
    let mut agents: Vec<(String, Vec<&Item>)> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    for item in &inv.items {
        let agent = item.field_text(ASSIGNED);
        let agent = agent.trim();
        if agent.is_empty() {
            skipped.push(format!("{} {} (no assigned agent)", item.kind, item.id));
            continue;
        }
        match agents.iter_mut().find(|(a, _)| a == agent) {
            Some((_, items)) => items.push(item),
            None => agents.push((agent.to_string(), vec![item])),
        }
    }
    let mut found: Vec<(Profile, Vec<&Item>)> = Vec::new();
    for (agent, items) in agents {
        match default_for(&agent).map_err(Failure::permanent)? {
            Some(profile) => found.push((profile, items)),
            None => skipped.extend(items.iter().map(|i| {
                format!(
                    "{} {} (agent `{agent}` has no default profile)",
                    i.kind, i.id
                )
            })),
        }
    }
    if found.is_empty() {
        return Err(Failure::permanent(format!(
            "nothing sent: no item has an assigned agent with a default notification profile; skipped {}",
            skipped.join(", ")
        )));
    }
    let digest = inv.mode == Mode::Digest;
    let mut total = Sent::default();
    let mut lines = Vec::new();
    for (profile, items) in &found {
        // The rendered body is the same for every agent; a digest tells each
        // agent which of its items are theirs.
        let footer = digest.then(|| {
            let ids: Vec<String> = items
                .iter()
                .map(|i| format!("{} {}", i.kind, i.id))
                .collect();
            format!("\n\nAssigned to you: {}", ids.join(", "))
        });
        let sent = deliver(profile, &alert(&s, footer))?;
        lines.push(sent.describe(profile));
        total.add(&sent);
    }
    let mut summary = format!(
        "{} email(s) and {} sms to {} agent(s): {}",
        total.emails,
        total.sms,
        found.len(),
        lines.join("; ")
    );
    if !skipped.is_empty() {
        summary.push_str(&format!(
            "; skipped {} item(s): {}",
            skipped.len(),
            skipped.join(", ")
        ));
    }
    Ok(Outcome::new(summary))
}

struct Notify;

impl Plugin for Notify {
    fn describe() -> PluginInfo {
        PluginInfo::new("profile-alerts", env!("CARGO_PKG_VERSION"))
            .action(
                ActionInfo::new("use-my-notification-profile", "Use My Notification Profile")
                    .description(
                        "Alert the rule's owner at the email and SMS addresses of their profile",
                    )
                    .schema(settings_schema(true))
                    .modes(&[Mode::Digest, Mode::PerItem]),
            )
            .action(
                ActionInfo::new(
                    "use-default-notification-profile-for-user",
                    "Use Default Notification Profile for User",
                )
                .description("Alert each item's assigned agent at their default profile")
                .schema(settings_schema(false))
                .modes(&[Mode::Digest, Mode::PerItem]),
            )
    }

    fn run(inv: Invocation) -> Result<Outcome, Failure> {
        match inv.action.as_str() {
            "use-my-notification-profile" => use_mine(&inv),
            "use-default-notification-profile-for-user" => use_default_for_user(&inv),
            other => Err(Failure::permanent(format!(
                "notify has no action `{other}`"
            ))),
        }
    }
}

export_plugin!(Notify);
