//! Version 2.0.0 of the test plugin `reloadable`: its one action answers
//! which version served the invocation.

use tocsin_sdk::prelude::*;

const VERSION: &str = "2.0.0";

struct Reloadable;

impl Plugin for Reloadable {
    fn describe() -> PluginInfo {
        PluginInfo::new("reloadable", VERSION).action(
            ActionInfo::new("whoami", "Who am I")
                .description("Answer the version that ran")
                .modes(&[Mode::Digest, Mode::PerItem]),
        )
    }

    fn run(_inv: Invocation) -> Result<Outcome, Failure> {
        Ok(Outcome::new(format!("served by {VERSION}")))
    }
}

export_plugin!(Reloadable);
