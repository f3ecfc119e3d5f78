//! # tocsin
//!
//! A help-desk event engine. A help desk sends events (a ticket was created, a
//! chat went idle); admins and agents keep rules (category, event type,
//! actions); the host matches events to rules and runs **every** action inside
//! a sandboxed WebAssembly component, enforcing deadlines, memory caps and
//! capability grants itself.
//!
//! ## Layout (one module per box of the data flow)
//! - [`api`]: the HTTP API: routes, tokens and roles, OpenAPI, metrics.
//! - [`catalog`]: every category, event type, condition and action, as data.
//! - [`rules`]: the stored rule definitions.
//! - [`conditions`]: typed conditions, compiled once, evaluated with explain.
//! - [`calendars`]: business hours and holidays per brand and department.
//! - [`matcher`]: which enabled rules an event fires.
//! - [`plugins`]: the WebAssembly runtime, manifests, grants, the registry.
//! - [`store`]: sled, one data directory: rules, events, queued mail and commands.
//! - [`event`]: what the help desk sends.
//! - [`dispatch`]: the contract's views of events and items.
//! - [`engine`]: durable ingestion, the frequency gate, the outbox and its
//!   workers, retries, dead letter and the audit trail.
//! - [`mail`]: the mail outbox, delivered by SMTP to the configured relay.
//! - [`profiles`]: agents' notification profiles (email and SMS addresses).
//! - [`templates`]: string settings rendered in a sandbox before a plugin runs.
//! - [`canned`]: canned replies kept by the host, rendered for the ticket
//!   when a `send-canned-reply` command is applied.
//! - [`scheduler`]: time-driven event types (idle, due, duration) fired from
//!   ordered indexes of the item mirror, through the same ingestion.
//! - [`config`]: the server's configuration file.
//! - [`cli`]: the `tocsin` command line.

pub mod api;
pub mod calendars;
pub mod canned;
pub mod catalog;
pub mod cli;
pub mod conditions;
pub mod config;
pub mod dispatch;
pub mod engine;
pub mod event;
pub mod mail;
pub mod matcher;
pub mod plugins;
pub mod profiles;
pub mod rules;
pub mod scheduler;
pub mod store;
pub mod templates;
