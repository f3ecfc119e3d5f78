//! Plugin manifests: the TOML beside each component (`plugin.toml`), read on
//! install and on upload. Any text parses to a manifest or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tocsin::plugins::{manifest, Manifest};

fuzz_target!(|data: &[u8]| {
    // Manifests are read as UTF-8 text; other bytes fail before the parser.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = Manifest::parse(text) {
        // An accepted manifest names a supported contract and survives a
        // round trip through TOML unchanged.
        assert!(manifest::wit_supported(&parsed.wit));
        let again = toml::to_string(&parsed).expect("a parsed manifest serialises");
        assert_eq!(Manifest::parse(&again).expect("re-parses"), parsed);
    }
});
