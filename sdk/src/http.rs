//! Outbound HTTP through `wasi:http/outgoing-handler@0.2`, the import every
//! action plugin and provider has. The host checks each request against the
//! plugin's `http` grant and refuses the rest with `error-code.http-request-denied`.
//!
//! These are the generated bindings, re-exported so a plugin needs no second
//! `wit-bindgen` run: build an [`types::OutgoingRequest`], hand it to
//! [`outgoing_handler::handle`], wait on the returned future's pollable.

pub use crate::wit::action::wasi::http::{outgoing_handler, types};
pub use crate::wit::action::wasi::io::{poll, streams};
