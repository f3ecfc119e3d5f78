//! An external provider that answers `cf.echo=<item id>` for every item. Used to
//! check that the host tells the two worlds apart.

use tocsin_sdk::prelude::*;

struct Echo;

impl Provider for Echo {
    fn describe() -> ProviderInfo {
        ProviderInfo::new(
            "echo-provider",
            env!("CARGO_PKG_VERSION"),
            "echoes item ids",
        )
    }

    fn notify(request: ProviderRequest) -> Result<Vec<Variable>, Failure> {
        Ok(request
            .items
            .iter()
            .map(|item| Variable {
                key: "cf.echo".to_string(),
                value: item.id.clone(),
            })
            .collect())
    }
}

export_provider!(Echo);
