//! Event JSON: the body of `POST /v1/events` (one event or `{"events": [...]}`)
//! and the JSON lines of `tocsin event send`. Any bytes give events or an
//! error naming a path, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin::event::Event;

fuzz_target!(|data: &[u8]| {
    // The HTTP body: parsed, then every event checked against the catalog.
    if let Ok((events, batch)) = tocsin::api::parse_events(data) {
        assert!(batch || events.len() == 1, "a single event body gives one event");
        for event in &events {
            // Accepted events have a time the engine can read.
            assert!(event.occurred_at.parse::<jiff::Timestamp>().is_ok());
            let _ = event.at();
        }
    }
    // The CLI: one event per line, each checked the same way.
    if let Ok(text) = std::str::from_utf8(data) {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if let Ok(event) = serde_json::from_str::<Event>(line) {
                if tocsin::engine::check_event(&event).is_ok() {
                    let _ = event.at();
                }
            }
        }
    }
});
