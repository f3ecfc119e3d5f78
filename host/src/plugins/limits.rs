//! What ends an invocation early, and how it is named: the wall-clock
//! bound around a call, the cut of long messages, and the fault reported
//! for a trap, a deadline, used-up fuel or a memory cap.

use super::error::InvokeError;
use super::grants::Grants;
use std::time::Duration;

/// Bounds a call in wall-clock time too: the epoch deadline stops guest
/// code, this also stops a host call (HTTP, say) that never returns.
pub(super) async fn guarded<T>(
    grants: &Grants,
    call: impl std::future::Future<Output = wasmtime::Result<T>>,
) -> wasmtime::Result<T> {
    let limit = grants.deadline() + Duration::from_millis(250);
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result,
        Err(_) => Err(wasmtime::Error::new(wasmtime::Trap::Interrupt)),
    }
}

/// Longest summary or failure message kept from a plugin (the audit keeps it).
pub const MAX_MESSAGE: usize = 4096;

/// Cuts a plugin's text to [`MAX_MESSAGE`] bytes, on a character boundary,
/// saying how long it was.
pub(super) fn cut(text: &mut String) {
    if text.len() <= MAX_MESSAGE {
        return;
    }
    let total = text.len();
    let mut end = MAX_MESSAGE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(&format!("… (cut: {total} bytes)"));
}

/// Names the fault that ended an invocation.
pub(super) fn fault(
    plugin: &str,
    grants: &Grants,
    refused: &Option<usize>,
    e: wasmtime::Error,
) -> InvokeError {
    let plugin = plugin.to_string();
    if let Some(wanted) = refused {
        return InvokeError::MemoryCap {
            plugin,
            cap_mib: grants.memory_mib,
            wanted_mib: (*wanted as u64).div_ceil(1024 * 1024),
        };
    }
    if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
        if *trap == wasmtime::Trap::Interrupt {
            return InvokeError::Deadline {
                plugin,
                deadline_ms: grants.deadline_ms,
            };
        }
        if let (wasmtime::Trap::OutOfFuel, Some(fuel)) = (trap, grants.fuel) {
            return InvokeError::Fuel { plugin, fuel };
        }
    }
    InvokeError::Trap {
        plugin,
        message: format!("{e:#}"),
    }
}
